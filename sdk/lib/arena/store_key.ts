// Keys and values of the Store (store.ts) as UTF-8 bytes, read straight from the caller's
// string or Uint8Array: a string key is hashed, compared and copied by walking its UTF-16
// units, so a lookup allocates nothing. A string and a Uint8Array that hold the same UTF-8
// bytes are the same key. A lone surrogate counts as U+FFFD, as TextEncoder encodes it.
//
// The key and value of the call in progress live in module globals: a Store call never
// suspends, so one set serves every store and no object is made to carry them.

// @ts-ignore: decorator
@inline const FNV_OFFSET: u32 = 0x811c9dc5;
// @ts-ignore: decorator
@inline const FNV_PRIME: u32 = 0x01000193;

/** Where the current key's UTF-16 units (keyUnits >= 0) or bytes (keyUnits < 0) are. */
export let keyPtr: usize = 0;
export let keyUnits: i32 = -1;
/** The current key's UTF-8 length and hash. */
export let keyLen: usize = 0;
export let keyHash: u32 = 0;
/** The current value, the same way. */
export let valuePtr: usize = 0;
export let valueUnits: i32 = -1;
export let valueLen: usize = 0;

// Units the last codePointAt consumed (1, or 2 for a surrogate pair).
let unitsRead: usize = 1;

/** The code point of the UTF-16 units at `p` (before `end`); a lone surrogate is U+FFFD. */
// @ts-ignore: decorator
@inline function codePointAt(p: usize, end: usize): u32 {
  let c = <u32>load<u16>(p);
  unitsRead = 1;
  if (c - 0xd800 >= 0x800) return c;
  if (c < 0xdc00 && p + 2 < end) {
    let d = <u32>load<u16>(p, 2);
    if (d - 0xdc00 < 0x400) {
      unitsRead = 2;
      return 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
    }
  }
  return 0xfffd;
}

/** UTF-8 length of code point `cp`. */
// @ts-ignore: decorator
@inline function utf8Width(cp: u32): usize {
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/** The UTF-8 bytes of `cp` (at least 2 of them, `k` in all), first byte lowest. */
// @ts-ignore: decorator
@inline function utf8Packed(cp: u32, k: usize): u32 {
  if (k == 2) return (0xc0 | (cp >> 6)) | ((0x80 | (cp & 0x3f)) << 8);
  if (k == 3) return (0xe0 | (cp >> 12)) | ((0x80 | ((cp >> 6) & 0x3f)) << 8) | ((0x80 | (cp & 0x3f)) << 16);
  return (0xf0 | (cp >> 18)) | ((0x80 | ((cp >> 12) & 0x3f)) << 8) | ((0x80 | ((cp >> 6) & 0x3f)) << 16) | ((0x80 | (cp & 0x3f)) << 24);
}

// @ts-ignore: decorator
@inline function fnv(h: u32, byte: u32): u32 {
  return (h ^ byte) * FNV_PRIME;
}

/** UTF-8 length of the `n` UTF-16 units at `p`, and into keyHash their UTF-8 bytes'
 *  FNV-1a hash from `h`: one pass, ASCII one unit at a time without decoding. */
function stringScan(p: usize, n: i32, h: u32): usize {
  let len: usize = 0;
  let end = p + (<usize>n << 1);
  while (p < end) {
    let c = <u32>load<u16>(p);
    if (c < 0x80) {
      h = fnv(h, c);
      len++;
      p += 2;
      continue;
    }
    let cp = codePointAt(p, end);
    p += unitsRead << 1;
    let k = utf8Width(cp);
    let b = utf8Packed(cp, k);
    h = fnv(fnv(h, b & 0xff), (b >> 8) & 0xff);
    if (k > 2) h = fnv(h, (b >> 16) & 0xff);
    if (k > 3) h = fnv(h, b >> 24);
    len += k;
  }
  keyHash = h;
  return len;
}

/** Whether the `len` bytes at `bytes` are the UTF-8 of the `n` UTF-16 units at `p`. */
function stringEquals(bytes: usize, len: usize, p: usize, n: i32): bool {
  let off: usize = 0;
  let end = p + (<usize>n << 1);
  while (p < end) {
    let c = <u32>load<u16>(p);
    if (c < 0x80) {
      if (off >= len || <u32>load<u8>(bytes + off) != c) return false;
      off++;
      p += 2;
      continue;
    }
    let cp = codePointAt(p, end);
    p += unitsRead << 1;
    let k = utf8Width(cp);
    if (off + k > len) return false;
    let stored = <u32>load<u16>(bytes + off);
    if (k == 3) stored |= <u32>load<u8>(bytes + off, 2) << 16;
    else if (k == 4) stored = load<u32>(bytes + off);
    if (stored != utf8Packed(cp, k)) return false;
    off += k;
  }
  return off == len;
}

/** Writes the UTF-8 of the `n` UTF-16 units at `p` to `dst` (a lone surrogate as U+FFFD). */
// @ts-ignore: decorator
@inline function stringWrite(dst: usize, p: usize, n: i32): void {
  String.UTF8.encodeUnsafe(p, n, dst, false, String.UTF8.ErrorMode.REPLACE);
}

/** Stops the build unless T is a string or a Uint8Array. A nullable type is accepted (a
 *  local checked for null keeps its declared type): a null at run time stops the request. */
// @ts-ignore: decorator
@inline function checkBytesType<T>(ptr: usize): void {
  if (!isString<T>()) {
    if (!isReference<T>()) ERROR("Store keys and values are a string or a Uint8Array");
    else if (idof<NonNullable<T>>() != idof<Uint8Array>()) ERROR("Store keys and values are a string or a Uint8Array");
  }
  if (isNullable<T>()) {
    if (ptr == 0) abort("Store: a key or value is null (check for null first)");
  }
}

/** Makes `key` the current key: its UTF-8 length and its hash, seeded with `seed`. */
// @ts-ignore: decorator
@inline export function loadKey<K>(key: K, seed: u32): void {
  checkBytesType<K>(changetype<usize>(key));
  let h = FNV_OFFSET ^ seed;
  if (isString<K>()) {
    let s = changetype<string>(changetype<usize>(key));
    keyPtr = changetype<usize>(s);
    keyUnits = s.length;
    keyLen = stringScan(keyPtr, keyUnits, h);
    h = keyHash;
  } else {
    let b = changetype<Uint8Array>(changetype<usize>(key));
    keyPtr = b.dataStart;
    keyUnits = -1;
    keyLen = <usize>b.length;
    for (let i: usize = 0; i < keyLen; i++) h = (h ^ <u32>load<u8>(keyPtr + i)) * FNV_PRIME;
  }
  // FNV-1a's low bits depend only on the low bits of each byte, and the table uses the low
  // bits: murmur3's finaliser spreads the high ones down.
  h ^= h >> 16;
  h *= 0x85ebca6b;
  h ^= h >> 13;
  h *= 0xc2b2ae35;
  keyHash = h ^ (h >> 16);
}

/** Makes `value` the current value (its UTF-8 length). */
// @ts-ignore: decorator
@inline export function loadValue<V>(value: V): void {
  checkBytesType<V>(changetype<usize>(value));
  if (isString<V>()) {
    let s = changetype<string>(changetype<usize>(value));
    valuePtr = changetype<usize>(s);
    valueUnits = s.length;
    valueLen = <usize>String.UTF8.byteLength(s);
  } else {
    let b = changetype<Uint8Array>(changetype<usize>(value));
    valuePtr = b.dataStart;
    valueUnits = -1;
    valueLen = <usize>b.length;
  }
}

/** Whether the `len` bytes at `bytes` are the current key. */
export function keyEquals(bytes: usize, len: usize): bool {
  if (len != keyLen) return false;
  if (keyUnits < 0) return memory.compare(bytes, keyPtr, len) == 0;
  return stringEquals(bytes, len, keyPtr, keyUnits);
}

/** Writes the current key's UTF-8 bytes to `dst`. */
export function writeKey(dst: usize): void {
  if (keyUnits < 0) memory.copy(dst, keyPtr, keyLen);
  else stringWrite(dst, keyPtr, keyUnits);
}

/** Writes the current value's UTF-8 bytes to `dst`. */
export function writeValue(dst: usize): void {
  if (valueUnits < 0) memory.copy(dst, valuePtr, valueLen);
  else stringWrite(dst, valuePtr, valueUnits);
}
