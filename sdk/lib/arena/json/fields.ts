// Several members of an object in one pass: JsonKeys holds member names encoded to UTF-8
// once, at start-up; JsonFields.pick walks an object's members once and matches each name
// against all of them by length and first 8 bytes (then the rest), instead of one pass per
// `get`. The values are read through the same JsonValue handles, one per field read.

import { JsonCursor, memberKeyOk, memberValueFramed, memberValuePlain, rootCloseOk } from "./nav";
import { JsonIndex } from "./index";
import { JsonValue } from "./value";
import { stringEquals } from "./strings";
import { T_OBJECT } from "./kind";
import { PICK_MEMO_MEMBERS } from "../limits";

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
  // No name repeats: one match per member, so a remembered match is the whole answer.
  @unsafe unique: bool = true;

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
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < i; k++) if (names[k] == names[i]) this.unique = false;
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
  // What the member at each position (up to PICK_MEMO_MEMBERS) was in the object picked
  // before: its name's length and first 16 bytes (names up to 16 bytes are remembered),
  // and the slot it matched (-1: none). Objects of one shape list their members in the
  // same order, so a member whose name equals the remembered one is decided by one
  // comparison instead of a pass over every key.
  private memo: StaticArray<u64> = new StaticArray<u64>(PICK_MEMO_MEMBERS * 2);
  private memoLen: StaticArray<i32> = new StaticArray<i32>(PICK_MEMO_MEMBERS * 2);

  /** Empty fields for `keys`. `new JsonFields(PRODUCT)` */
  constructor(keys: JsonKeys) {
    this.keys = keys;
    this.slots = new StaticArray<i32>(keys.length);
    for (let m = 0; m < PICK_MEMO_MEMBERS; m++) unchecked(this.memoLen[m * 2] = -1);
  }

  /** Fills the slots from the members of `obj` (all MISSING when it is not an object).
   *  `f.pick(p)` */
  pick(obj: JsonValue): JsonFields {
    let slots = this.slots;
    let n = slots.length;
    for (let i = 0; i < n; i++) unchecked(slots[i] = -1);
    this.obj = obj;
    if (obj.t != T_OBJECT) return this;
    pickMembers(obj, this.keys, slots, this.memo, this.memoLen);
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
    if (e >= 0) v.toMemberValue(<u32>e, obj.d + 1);
    return v;
  }

  /** Whether slot `i` was found in the object picked last. `if (f.has(2)) …` */
  has(i: i32): bool {
    return i >= 0 && i < this.slots.length && unchecked(this.slots[i]) >= 0;
  }
}

// The pass: each member's name is matched by length and first 8 bytes; a name holding an
// escape is compared decoded (it cannot match byte for byte). Values are skipped unread,
// but the members' frame is checked as the pass walks it (on demand: only whitespace
// around names, colons and commas, no empty value, a comma or the close after each value,
// nothing after the root's close), so a picked object that is not well formed sets
// `doc.ok` false. At the object's end the pass records where it closes and how many
// members it has (the index's aux), so moving past the object afterwards is O(1).
function pickMembers(obj: JsonCursor, keys: JsonKeys, slots: StaticArray<i32>, memo: StaticArray<u64>, memoLen: StaticArray<i32>): void {
  let ix = obj.ix;
  // The index's fields in locals: the pass stores into memory (slots, memo), after which
  // the engine would otherwise load them again.
  let input = ix.input;
  let limit = ix.inputLength;
  let idx = ix.idx;
  let entries = ix.entries;
  let checked = ix.checked;
  let unique = keys.unique;
  let e = <u32>obj.j + 1;
  let m = 0;
  while (e + 2 < entries) {
    let q = load<u32>(idx + (<usize>e << 2));
    if (load<u8>(input + <usize>q) != 0x22) break;
    let a = q + 1;
    let kend = load<u32>(idx + (<usize>e << 2), 4);
    let colon = load<u32>(idx + (<usize>e << 2), 8);
    if (load<u8>(input + <usize>colon) != 0x3a) {
      if (!checked) memberKeyOk(ix, e); // records what is wrong
      return;
    }
    let len = <i32>(kend - a);
    let p = input + <usize>a;
    // Eight bytes may be read only while they lie inside the input.
    let head = a + 8 <= limit ? load<u64>(p) & headMask(len) : tailHead(p, len);
    let tail: u64 = len <= 8 ? 0 : a + 16 <= limit ? load<u64>(p, 8) & headMask(len - 8) : tailHead(p + 8, len - 8);
    let s: i32;
    if (m < PICK_MEMO_MEMBERS && unchecked(memoLen[m * 2]) == len && unchecked(memo[m * 2]) == head && unchecked(memo[m * 2 + 1]) == tail) {
      s = unchecked(memoLen[m * 2 + 1]);
      if (s >= 0) unchecked(slots[s] = <i32>e);
    } else {
      s = matchMember(ix, keys, slots, p, a, len, head, <i32>e);
      if (m < PICK_MEMO_MEMBERS) {
        unchecked(memoLen[m * 2] = unique && len <= 16 ? len : -1);
        unchecked(memoLen[m * 2 + 1] = s);
        unchecked(memo[m * 2] = head);
        unchecked(memo[m * 2 + 1] = tail);
      }
    }
    // On demand every key walked is checked here, once (at() then only lands on a value);
    // the common case from what this pass has loaded already: the quote right after the `{`
    // or `,`, the colon (checked above) right after the closing quote, no backslash.
    if (!checked && !(q == ix.at(e - 1) + 1 && colon == kend + 1 && !ix.hasBackslash(a, kend)) && !memberKeyOk(ix, e)) {
      return clearSlots(slots, <i32>e);
    }
    m++;
    let key = e;
    e = ix.skipValue(e + 3);
    if (!checked && !memberValuePlain(ix, key, e) && !memberValueFramed(ix, key, e)) return;
    let c = ix.ch(e);
    if (c == 0x2c) {
      e++;
      continue;
    }
    if (c == 0x7d) {
      closeObject(ix, <u32>obj.j, e, m);
    } else if (!checked) {
      ix.fail("expected ',' or '}' after an object member", e < entries ? ix.at(e) : limit);
    }
    return;
  }
  // An empty object; else a member that does not start with a name (after a comma, even a
  // close is one: a trailing comma).
  if (m == 0 && ix.ch(e) == 0x7d) closeObject(ix, <u32>obj.j, e, 0);
  else if (!checked) memberKeyOk(ix, e); // records what is wrong
}

// The object opened at entry `j` closes at entry `e` after `m` members: remembered in the
// index's aux (its close, its count); on demand, the root's close is checked for what follows.
function closeObject(ix: JsonIndex, j: u32, e: u32, m: i32): void {
  ix.setAux(j, e + 1);
  ix.setAux(e, <u32>m + 1);
  if (j == 0 && !ix.checked) rootCloseOk(ix, e);
}

// A malformed key stops the pick: every slot that points at it reads as MISSING (the
// error is recorded on the document).
function clearSlots(slots: StaticArray<i32>, e: i32): void {
  for (let i = 0; i < slots.length; i++) if (unchecked(slots[i]) == e) unchecked(slots[i] = -1);
}

// Fills every slot whose name is the member's (name bytes at `p`, input offset `a`, entry
// `e`); returns the first such slot, or -1.
function matchMember(ix: JsonIndex, keys: JsonKeys, slots: StaticArray<i32>, p: usize, a: u32, len: i32, head: u64, e: i32): i32 {
  let s = keys.match(p, len, head, 0);
  let first = s;
  while (s >= 0) {
    unchecked(slots[s] = e);
    s = keys.match(p, len, head, s + 1);
  }
  if (first < 0 && ix.hasBackslash(a, a + <u32>len)) {
    let names = keys.names;
    for (let i = 0; i < names.length; i++) {
      if (stringEquals(p, len, true, unchecked(names[i]))) {
        unchecked(slots[i] = e);
        if (first < 0) first = i;
      }
    }
  }
  return first;
}

// The first min(len, 8) bytes at `p`, a byte at a time (near the input's end).
function tailHead(p: usize, len: i32): u64 {
  let h: u64 = 0;
  let n = len < 8 ? len : 8;
  for (let i = 0; i < n; i++) h |= <u64>load<u8>(p + <usize>i) << (<u64>i << 3);
  return h;
}
