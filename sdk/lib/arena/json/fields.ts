// Several members of an object in one pass: JsonKeys holds member names encoded to UTF-8
// once, at start-up; JsonFields.pick walks an object's members once and matches each name
// against all of them by length and first 8 bytes (then the rest), instead of one pass per
// `get`. The values are read through the same JsonValue handles, one per field read.

import { JsonCursor } from "./nav";
import { JsonIndex } from "./index";
import { JsonValue } from "./value";
import { stringEquals } from "./strings";
import { T_OBJECT } from "./kind";

/**
 * A fixed list of member names, encoded once. Make it at module top level (start-up), then
 * pick the fields of each object with a `JsonFields` made once per request.
 *
 * ```ts
 * const PRODUCT = new JsonKeys(["id", "title", "price"]);
 * // in a handler:
 * const f = new JsonFields(PRODUCT);
 * for (let p = doc.root.first(); p.exists; p.next()) {
 *   f.pick(p);
 *   h.int(f.at(0).intOr(0)).textJson(f.at(1));
 * }
 * ```
 */
export class JsonKeys {
  /** The names, in slot order. `PRODUCT.names[1]` */
  readonly names: string[];
  // Per name: its UTF-8 length, its first 8 bytes (zero-padded, little-endian) and the
  // offset of its bytes in `bytes`; names with a backslash only match escaped keys.
  private lens: StaticArray<i32>;
  private heads: StaticArray<u64>;
  private offsets: StaticArray<i32>;
  private bytes: ArrayBuffer;

  /** Encodes `names` (the slot of a name is its index here). `new JsonKeys(["id", "name"])` */
  constructor(names: string[]) {
    let n = names.length;
    this.names = names;
    this.lens = new StaticArray<i32>(n);
    this.heads = new StaticArray<u64>(n);
    this.offsets = new StaticArray<i32>(n);
    let total = 0;
    for (let i = 0; i < n; i++) total += String.UTF8.byteLength(names[i]) + 8;
    this.bytes = new ArrayBuffer(total);
    let at = 0;
    for (let i = 0; i < n; i++) {
      let dst = changetype<usize>(this.bytes) + <usize>at;
      let len = String.UTF8.encodeUnsafe(changetype<usize>(names[i]), names[i].length, dst, false);
      unchecked(this.lens[i] = names[i].includes("\\") ? -1 : <i32>len);
      unchecked(this.heads[i] = load<u64>(dst) & headMask(<i32>len));
      unchecked(this.offsets[i] = at);
      at += <i32>len + 8;
    }
  }

  /** How many names. `PRODUCT.length` */
  get length(): i32 {
    return this.names.length;
  }

  /** Picks the fields of `obj` into a new JsonFields (one allocation; reuse a JsonFields
   *  across objects to avoid it). `PRODUCT.pick(p).at(0).intOr(0)` */
  pick(obj: JsonValue): JsonFields {
    return new JsonFields(this).pick(obj);
  }

  /** The slot whose name has the `len` bytes at `p` (head: their first 8, masked), or -1;
   *  `from` is the first slot to try, so duplicate names in the list each get a match. */
  @unsafe match(p: usize, len: i32, head: u64, from: i32): i32 {
    let n = this.names.length;
    for (let i = from; i < n; i++) {
      if (unchecked(this.lens[i]) == len && unchecked(this.heads[i]) == head &&
        (len <= 8 || memory.compare(p + 8, changetype<usize>(this.bytes) + <usize>unchecked(this.offsets[i]) + 8, <usize>(len - 8)) == 0)) {
        return i;
      }
    }
    return -1;
  }
}

/** The mask of the first `len` bytes of a u64 (all of it from 8). */
// @ts-ignore: decorator
@inline function headMask(len: i32): u64 {
  return len >= 8 ? <u64>-1 : (<u64>1 << (<u64>len << 3)) - 1;
}

/**
 * The fields of one object, by the slots of a `JsonKeys`: `pick(obj)` fills them in one
 * pass over the object's members (when a name repeats, the last wins, as for `get`), `at`
 * reads one as a JsonValue. Make one per request and reuse it for every object.
 *
 * ```ts
 * const f = new JsonFields(PRODUCT);
 * for (let p = doc.root.first(); p.exists; p.next()) {
 *   f.pick(p);
 *   const id = f.at(0).intOr(0);
 * }
 * ```
 */
export class JsonFields {
  /** The names. `f.keys.names` */
  readonly keys: JsonKeys;
  // Per slot: the index entry of the matched key's opening quote, or -1.
  private slots: StaticArray<i32>;
  // The object picked last (its document and depth); null before the first pick.
  private obj: JsonValue | null = null;

  /** Empty fields for `keys`. `new JsonFields(PRODUCT)` */
  constructor(keys: JsonKeys) {
    this.keys = keys;
    this.slots = new StaticArray<i32>(keys.length);
  }

  /** Fills the slots from the members of `obj` (all MISSING when it is not an object).
   *  `f.pick(p)` */
  pick(obj: JsonValue): JsonFields {
    let slots = this.slots;
    let n = slots.length;
    for (let i = 0; i < n; i++) unchecked(slots[i] = -1);
    this.obj = obj;
    if (obj.t != T_OBJECT) return this;
    pickMembers(obj, this.keys, slots);
    return this;
  }

  /** The value of slot `i` in the object picked last, or MISSING. `f.at(0).intOr(0)` */
  at(i: i32): JsonValue {
    let obj = this.obj;
    // Before any pick: a MISSING handle, which never reads its document.
    if (obj === null) return new JsonValue(changetype<JsonIndex>(0));
    let v = new JsonValue(obj.ix);
    if (i < 0 || i >= this.slots.length) return v;
    let e = unchecked(this.slots[i]);
    if (e >= 0) v.toMember(<u32>e, obj.d + 1);
    return v;
  }

  /** Whether slot `i` was found in the object picked last. `if (f.has(2)) …` */
  has(i: i32): bool {
    return i >= 0 && i < this.slots.length && unchecked(this.slots[i]) >= 0;
  }
}

// The pass: each member's name is matched by length and first 8 bytes; a name holding an
// escape is compared decoded (it cannot match byte for byte). Values are skipped unread.
function pickMembers(obj: JsonCursor, keys: JsonKeys, slots: StaticArray<i32>): void {
  let ix = obj.ix;
  let input = ix.input;
  let limit = ix.inputLength;
  let e = <u32>obj.j + 1;
  while (ix.ch(e) == 0x22) {
    let a = ix.at(e) + 1;
    let len = <i32>(ix.at(e + 1) - a);
    let p = input + <usize>a;
    // Eight bytes may be read only while they lie inside the input.
    let head = a + 8 <= limit ? load<u64>(p) & headMask(len) : tailHead(p, len);
    let s = keys.match(p, len, head, 0);
    if (s >= 0) {
      do {
        unchecked(slots[s] = <i32>e);
        s = keys.match(p, len, head, s + 1);
      } while (s >= 0);
    } else if (ix.hasBackslash(a, a + <u32>len)) {
      let names = keys.names;
      for (let i = 0; i < names.length; i++) {
        if (stringEquals(p, len, true, unchecked(names[i]))) unchecked(slots[i] = <i32>e);
      }
    }
    if (ix.ch(e + 2) != 0x3a) break;
    e = ix.skipValue(e + 3);
    if (ix.ch(e) != 0x2c) break;
    e++;
  }
}

// The first min(len, 8) bytes at `p`, a byte at a time (near the input's end).
function tailHead(p: usize, len: i32): u64 {
  let h: u64 = 0;
  let n = len < 8 ? len : 8;
  for (let i = 0; i < n; i++) h |= <u64>load<u8>(p + <usize>i) << (<u64>i << 3);
  return h;
}
