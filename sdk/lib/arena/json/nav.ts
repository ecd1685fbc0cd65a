// Walking an indexed document (index.ts): JsonCursor is the state of a JsonValue handle and
// the moves between values. A handle *lands* on a value when get/at/first/next reach it;
// landing decides its kind from its first byte and, for a document read on demand
// (Json.read), checks the value there: a string's escapes, a number's or literal's grammar
// and what follows it, the depth. A value that fails reads as MISSING and its error is
// recorded on the document (the first one stands). Values the walk only passes over are
// skipped through the index, not checked.

import { JSON_DEPTH_MAX } from "../limits";
import { JsonIndex } from "./index";
import { scanScalar, scalarTag, checkEscapes } from "./scan";
import { T_STRING, T_ARRAY, T_OBJECT } from "./kind";

const AFTER_ELEMENT = "expected ',' or ']' after an array element";
const AFTER_MEMBER = "expected ',' or '}' after an object member";

/**
 * Where a handle is: its value's first index entry `j` (for a scalar, the entry after it;
 * -1 when MISSING), byte offset `off`, end `end` (a scalar's end, a string's closing
 * quote), the key's entry `k` when reached through an object, the tag `t` and the depth
 * `d` (the root is 0). JsonValue is its public face. `class JsonValue extends JsonCursor`
 */
export class JsonCursor {
  @unsafe ix: JsonIndex;
  @unsafe j: i32 = -1;
  @unsafe off: u32 = 0;
  @unsafe end: u32 = 0;
  @unsafe k: i32 = -1;
  @unsafe t: u32 = 0;
  @unsafe d: i32 = 0;

  // @ts-ignore: decorator
  @unsafe constructor(ix: JsonIndex) {
    this.ix = ix;
  }

  /** Becomes MISSING; returns false. */
  toMissing(): bool {
    this.j = -1;
    this.k = -1;
    this.t = 0;
    return false;
  }

  /** What a bad byte after this value is called, by what holds the value. */
  private afterMsg(): string {
    return this.k >= 0 ? AFTER_MEMBER : this.d > 0 ? AFTER_ELEMENT : "unexpected data after the JSON value";
  }

  /** Lands on the value at byte `v`, whose next index entry is `e`, reached through key
   *  entry `k` (-1: none) at depth `d`. False (MISSING) when it is not a valid value. */
  land(v: u32, e: u32, k: i32, d: i32): bool {
    let ix = this.ix;
    this.k = k;
    this.d = d;
    this.off = v;
    if (v >= ix.inputLength) {
      ix.fail("unexpected end of input", v);
      return this.toMissing();
    }
    let c = <u32>load<u8>(ix.input + <usize>v);
    this.j = <i32>e;
    if (e < ix.entries && ix.at(e) == v) {
      if (c == 0x22) {
        if (e + 1 >= ix.entries) return this.toMissing(); // unterminated: stage 1 said so
        let end = ix.at(e + 1);
        this.end = end;
        if (!ix.checked && ix.hasBackslash(v + 1, end) && !checkEscapes(ix, v + 1, end)) return this.toMissing();
        this.t = T_STRING;
        return true;
      }
      if (c == 0x5b || c == 0x7b) {
        if (d >= JSON_DEPTH_MAX) {
          ix.fail("nesting deeper than JSON_DEPTH_MAX (" + JSON_DEPTH_MAX.toString() + ")", v);
          return this.toMissing();
        }
        this.t = c == 0x5b ? T_ARRAY : T_OBJECT;
        return true;
      }
      ix.fail("expected a value", v);
      return this.toMissing();
    }
    let end = scanScalar(ix, c, v);
    if (end == 0) return this.toMissing();
    this.end = end;
    if (!ix.checked) {
      let next = ix.skipWs(end);
      if (next != ix.at(e)) {
        ix.fail(this.afterMsg(), next);
        return this.toMissing();
      }
    }
    this.t = scalarTag;
    return true;
  }

  /** Lands on the value of the member whose key's opening quote is entry `e`, at depth `d`;
   *  on demand, checks the key and its colon first. */
  toMember(e: u32, d: i32): bool {
    let ix = this.ix;
    if (!ix.checked && !memberKeyOk(ix, e)) return this.toMissing();
    return this.toMemberValue(e, d);
  }

  /** Lands on the value of the member at key entry `e` whose key is known good (checked by
   *  memberKeyOk, or the document is checked). */
  toMemberValue(e: u32, d: i32): bool {
    let ix = this.ix;
    return this.land(ix.skipWs(ix.at(e + 2) + 1), e + 3, <i32>e, d);
  }

  /** The first element or member's value of the container this handle is on. */
  toFirstOf(c: JsonCursor): bool {
    let ix = c.ix;
    let j = <u32>c.j;
    let v = ix.skipWs(ix.at(j) + 1);
    if (c.t == T_ARRAY) {
      if (ix.ch(j + 1) == 0x5d && ix.at(j + 1) == v) return this.emptyOf(c);
      return this.land(v, j + 1, -1, c.d + 1);
    }
    if (ix.ch(j + 1) == 0x7d && ix.at(j + 1) == v) return this.emptyOf(c);
    return this.toMember(j + 1, c.d + 1);
  }

  /** On demand, for the root: only whitespace after it (a scalar has no index entry
   *  after it, a string or container none past its close); else records the error and
   *  the root reads as MISSING. */
  checkRootEnd(): bool {
    let ix = this.ix;
    // A container's is checked when a walk or a member pass reaches its close (rootCloseOk):
    // finding the close now would scan the whole document before anything is read.
    if (this.t == T_ARRAY || this.t == T_OBJECT) return true;
    let next = this.afterEntry();
    let w = ix.skipWs(this.t == T_STRING ? ix.at(next - 1) + 1 : this.end);
    if (next >= ix.entries && w >= ix.inputLength) return true;
    ix.fail("unexpected data after the JSON value", w);
    return this.toMissing();
  }

  /** MISSING: container `c` is empty; on demand, an empty root is at its close. */
  private emptyOf(c: JsonCursor): bool {
    if (c.d == 0 && !this.ix.checked) rootCloseOk(this.ix, <u32>c.j + 1);
    return this.toMissing();
  }

  /** The entry just past this value. */
  afterEntry(): u32 {
    let t = this.t;
    let j = <u32>this.j;
    if (t == T_STRING) return j + 2;
    if (t == T_ARRAY || t == T_OBJECT) return this.ix.closeOf(j) + 1;
    return j;
  }

  /** Moves to the next element or member of the container this value is in. */
  toNext(): bool {
    if (this.t == 0) return false;
    let ix = this.ix;
    let t = this.t;
    let e = this.afterEntry();
    if (e > ix.entries) {
      ix.fail("unexpected end of input", ix.inputLength);
      return this.toMissing();
    }
    if (!ix.checked && (t == T_STRING || t == T_ARRAY || t == T_OBJECT)) {
      let next = ix.skipWs(ix.at(e - 1) + 1);
      if (next != ix.at(e)) {
        ix.fail(next >= ix.inputLength ? "unexpected end of input" : this.afterMsg(), next);
        return this.toMissing();
      }
    }
    let c = ix.ch(e);
    if (c == 0x2c) {
      if (this.k >= 0) return this.toMember(e + 1, this.d);
      return this.land(ix.skipWs(ix.at(e) + 1), e + 1, -1, this.d);
    }
    if (!ix.checked) {
      if (c != (this.k >= 0 ? 0x7d : 0x5d)) ix.fail(e >= ix.entries ? "unexpected end of input" : this.afterMsg(), ix.at(e));
      else if (this.d == 1) rootCloseOk(ix, e); // the walk reached the root's close
    }
    return this.toMissing();
  }

  /** Elements or members of this container, counted once and remembered in aux. */
  count(): i32 {
    let ix = this.ix;
    let j = <u32>this.j;
    let close = ix.closeOf(j);
    let known = close < ix.entries ? ix.auxAt(close) : 0;
    if (known != 0) return <i32>(known - 1);
    let isObject = this.t == T_OBJECT;
    let v = ix.skipWs(ix.at(j) + 1);
    if (ix.at(j + 1) == v && ix.ch(j + 1) == (isObject ? 0x7d : 0x5d)) return 0;
    let n = 0;
    let e = j + 1;
    for (;;) {
      if (isObject) e += 3;
      e = ix.skipValue(e);
      n++;
      if (e >= close || ix.ch(e) != 0x2c) break;
      e++;
    }
    if (close < ix.entries) ix.setAux(close, n + 1);
    return n;
  }
}

/**
 * On demand: whether entry `e` starts a well-formed member key (only whitespace since the
 * `{` or `,` before it, a string whose escapes are valid, then only whitespace before its
 * colon); records the error when not. The member passes (get's findKey, pick) check every
 * key they walk with it; the common case is decided by two comparisons.
 * `if (!memberKeyOk(ix, e)) return …`
 */
export function memberKeyOk(ix: JsonIndex, e: u32): bool {
  let before = ix.at(e - 1) + 1;
  if (ix.ch(e) != 0x22) {
    let at = ix.skipWs(before);
    return ix.fail(at >= ix.inputLength ? "unexpected end of input" : "expected a string key", at);
  }
  if (e + 1 >= ix.entries) return false; // unterminated: stage 1 said so
  let q = ix.at(e);
  if (q != before && ix.skipWs(before) != q) return ix.fail("expected a string key", ix.skipWs(before));
  let kend = ix.at(e + 1);
  if (ix.hasBackslash(q + 1, kend) && !checkEscapes(ix, q + 1, kend)) return false;
  let colon = ix.at(e + 2);
  if ((colon != kend + 1 && ix.skipWs(kend + 1) != colon) || ix.ch(e + 2) != 0x3a) {
    let at = ix.skipWs(kend + 1);
    return ix.fail(at >= ix.inputLength ? "unexpected end of input" : "expected ':' after an object key", at);
  }
  return true;
}

/**
 * On demand: whether the value of the member at key entry `e`, which ends before entry
 * `next`, is followed by nothing but whitespace up to that entry (for a string or a
 * container), or is not empty (for a scalar, whose own bytes are checked when it is read);
 * records the error when not. `if (!memberValueFramed(ix, e, next)) return …`
 */
export function memberValueFramed(ix: JsonIndex, e: u32, next: u32): bool {
  let at = next < ix.entries ? ix.at(next) : ix.inputLength;
  if (next == e + 3) {
    let v = ix.skipWs(ix.at(e + 2) + 1);
    return v < at ? true : ix.fail(v >= ix.inputLength ? "unexpected end of input" : "expected a value", v);
  }
  let after = ix.at(next - 1) + 1;
  if (after == at) return true;
  let w = ix.skipWs(after);
  return w == at ? true : ix.fail(w >= ix.inputLength ? "unexpected end of input" : AFTER_MEMBER, w);
}

/** On demand, at entry `e`, the close of the root container: only whitespace may follow it;
 *  records the error when something else does. */
export function rootCloseOk(ix: JsonIndex, e: u32): bool {
  let w = ix.skipWs(ix.at(e) + 1);
  if (e + 1 >= ix.entries && w >= ix.inputLength) return true;
  return ix.fail("unexpected data after the JSON value", w);
}

/** memberKeyOk's common case without a call: the key's quote right after the `{` or `,`,
 *  its colon right after its closing quote, no backslash in it. */
// @ts-ignore: decorator
@inline export function memberKeyPlain(ix: JsonIndex, e: u32): bool {
  let q = ix.at(e);
  let kend = ix.at(e + 1);
  return q == ix.at(e - 1) + 1 && ix.at(e + 2) == kend + 1 && ix.ch(e) == 0x22 && ix.ch(e + 2) == 0x3a && !ix.hasBackslash(q + 1, kend);
}

/** memberValueFramed's common case without a call: a string or container value followed
 *  at once by the next entry, or a scalar whose first byte follows the colon at once. */
// @ts-ignore: decorator
@inline export function memberValuePlain(ix: JsonIndex, e: u32, next: u32): bool {
  if (next >= ix.entries) return false;
  if (next == e + 3) {
    let v = ix.at(e + 2) + 1;
    return v < ix.at(next) && <u32>load<u8>(ix.input + <usize>v) > 0x20;
  }
  return ix.at(next - 1) + 1 == ix.at(next);
}
