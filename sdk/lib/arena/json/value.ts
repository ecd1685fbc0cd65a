// A JSON document and the handles that read it. A JsonValue is a JsonCursor (nav.ts): a
// position in the document's structural index (index.ts) that reads the value from the
// input bytes only when asked, so walking a document allocates one handle per step and no
// strings. JsonDoc and JsonValue share this file because each refers to the other (root).

import { ByteWriter } from "../bytes";
import { parseJsonInt, parseJsonNumber, intOverflow } from "./numbers";
import { decodeJsonString, stringEquals, writeJsonStringDecoded } from "./strings";
import { JsonKind, T_NULL, T_FALSE, T_TRUE, T_NUMBER, T_STRING, T_ARRAY, T_OBJECT } from "./kind";
import { JsonIndex } from "./index";
import { JsonCursor } from "./nav";
import { findKey } from "./members";
import { isPlainInteger } from "./scan";
import { strictCheck } from "./validate";

/**
 * A JSON text: its input bytes, their structural index and the first error found.
 *
 * ```ts
 * const doc = Json.parse(req.body);
 * if (!doc.ok) return Response.text(doc.error + "\n", 400);
 * for (let item = doc.root.first(); item.exists; item.next()) { … }
 * ```
 */
export class JsonDoc extends JsonIndex {
  /** Made by `Json.parse` / `Json.read` (parser.ts), which build its index. */
  // @ts-ignore: decorator
  @unsafe constructor(input: usize, inputLength: u32) {
    super(input, inputLength);
  }

  /** True while no error is recorded: after `Json.parse`, when the input is one valid JSON
   *  text; after `Json.read`, when nothing read so far (nor validate()) found one. `if (!doc.ok) …` */
  get ok(): bool {
    return this.errPos < 0;
  }

  /** Why the document is not ok, or "". `doc.error` */
  get error(): string {
    return this.err;
  }

  /** Byte offset of that error, or -1. `doc.errorPos` */
  get errorPos(): i32 {
    return this.errPos;
  }

  /** The top-level value; MISSING when a strict parse failed or the input failed stage 1
   *  (invalid UTF-8, a control character in a string, an unterminated string).
   *  `doc.root.get("id")` */
  get root(): JsonValue {
    // The check build stops here, naming the scratch arena, when the document was made in
    // one since disposed (or moved away).
    if (isDefined(ARENA_CHECK)) __arena_check_live(changetype<usize>(this));
    let v = new JsonValue(this);
    if (!this.dead && v.land(this.skipWs(0), 0, -1, 0) && !this.checked) v.checkRootEnd();
    return v;
  }

  /**
   * Checks the whole document strictly, as `Json.parse` does (grammar, escapes, numbers,
   * depth, nothing after the value), for a document from `Json.read`; true when it is valid.
   * Otherwise the first error found is recorded, unless reading had recorded one already.
   * Values read afterwards skip their on-demand checks.
   *
   * ```ts
   * const doc = Json.read(req.body);
   * if (!doc.validate()) return Response.text(doc.error + "\n", 400);
   * ```
   */
  validate(): bool {
    if (this.checked || this.truncated) return this.ok;
    // A document that failed stage 1 is checked whole, so its first error is the one
    // Json.parse would report; errors found by reading stand (the first one recorded).
    if (this.dead) this.errPos = -1;
    strictCheck(this, this.inputLength);
    return this.ok;
  }
}

/**
 * A handle on one value of a `JsonDoc` (a position in its index; 48 bytes in the arena). Reading never
 * traps: asking an absent or mistyped value gives MISSING, "", NaN, 0 or false, and the
 * `…Or(default)` getters say what to use instead.
 *
 * ```ts
 * const user = doc.root.get("user");
 * const name = user.get("name").strOr("anonymous");   // decoded UTF-16 string
 * const age = user.get("age").intOr(0);
 * if (user.get("role").strEquals("admin")) { … }      // compares without allocating
 * for (let tag = user.get("tags").first(); tag.exists; tag.next()) tag.writeStrTo(w);
 * ```
 */
export class JsonValue extends JsonCursor {
  /** Made by `doc.root` and the walking methods. */
  // @ts-ignore: decorator
  @unsafe constructor(doc: JsonIndex) {
    super(doc);
  }

  /** What this value is. `v.kind == JsonKind.STRING` */
  get kind(): JsonKind {
    switch (this.t) {
      case T_NULL: return JsonKind.NULL;
      case T_FALSE:
      case T_TRUE: return JsonKind.BOOL;
      case T_NUMBER: return JsonKind.NUMBER;
      case T_STRING: return JsonKind.STRING;
      case T_ARRAY: return JsonKind.ARRAY;
      case T_OBJECT: return JsonKind.OBJECT;
    }
    return JsonKind.MISSING;
  }

  /** False for MISSING (absent member, index out of range, failed parse, a value that
   *  failed its check). `if (v.exists) …` */
  get exists(): bool { return this.t != 0; }
  /** `v.isNull` */
  get isNull(): bool { return this.t == T_NULL; }
  /** `v.isBool` */
  get isBool(): bool { return this.t == T_TRUE || this.t == T_FALSE; }
  /** `v.isNumber` */
  get isNumber(): bool { return this.t == T_NUMBER; }
  /** `v.isString` */
  get isString(): bool { return this.t == T_STRING; }
  /** `v.isArray` */
  get isArray(): bool { return this.t == T_ARRAY; }
  /** `v.isObject` */
  get isObject(): bool { return this.t == T_OBJECT; }

  /** Elements of an array or members of an object (counted once, then O(1)); 0 for
   *  anything else. In a document read on demand (`Json.read`) the count walks the
   *  container's commas without checking its elements: walk them, or `doc.validate()`,
   *  to know they are valid. `doc.root.get("items").length` */
  get length(): i32 {
    return this.t == T_ARRAY || this.t == T_OBJECT ? this.count() : 0;
  }

  /**
   * The member `key` of an object (compared after decoding escapes), or MISSING. When a key
   * repeats, the last one wins, as in JavaScript's JSON.parse, so that two readers of the
   * same bytes agree. One pass over the members; to read several members of each object,
   * `JsonKeys` / `JsonFields.pick` match them all in one pass. `doc.root.get("a").get("b").strOr("")`
   */
  get(key: string): JsonValue {
    let v = new JsonValue(this.ix);
    let e = this.t == T_OBJECT ? findKey(this.ix, <u32>this.j, key) : -1;
    if (e >= 0) v.toMember(<u32>e, this.d + 1);
    return v;
  }

  /** True when this is an object with member `key` (no allocation). `if (v.has("id")) …` */
  has(key: string): bool {
    return this.t == T_OBJECT && findKey(this.ix, <u32>this.j, key) >= 0;
  }

  /** Element `index` of an array (or the value of member `index` of an object), or
   *  MISSING. O(index): use first()/next() to walk. `doc.root.at(0).num()` */
  at(index: i32): JsonValue {
    let v = this.first();
    if (index < 0) v.toMissing();
    for (let n = 0; n < index && v.exists; n++) v.next();
    return v;
  }

  /**
   * The first element of an array or the first member's value of an object (MISSING when
   * empty or not a container). With next() it walks a container allocating one handle:
   *
   * ```ts
   * for (let m = obj.first(); m.exists; m.next()) w.str(m.key()).str("=").str(m.strOr("?"));
   * ```
   */
  first(): JsonValue {
    let v = new JsonValue(this.ix);
    if (this.t == T_ARRAY || this.t == T_OBJECT) v.toFirstOf(this);
    return v;
  }

  /** Moves this handle, in place, to the next element or member (MISSING past the last)
   *  and returns it. Handles are not shared, so only this one moves. `v.next()` */
  next(): JsonValue {
    this.toNext();
    return this;
  }

  private keyEquals(e: i32, s: string): bool {
    let ix = this.ix;
    let a = ix.at(<u32>e) + 1;
    let b = ix.at(<u32>e + 1);
    return stringEquals(ix.input + <usize>a, <i32>(b - a), ix.hasBackslash(a, b), s);
  }

  /** The member's key when this value was reached through an object (get, first/next),
   *  else "". `m.key()` */
  key(): string {
    return this.k < 0 || this.t == 0 ? "" : this.decode(this.k);
  }

  /** Whether the member's key is `s`, without allocating. `if (m.keyIs("id")) …` */
  keyIs(s: string): bool {
    return this.k >= 0 && this.t != 0 && this.keyEquals(this.k, s);
  }

  /** Appends the member's decoded key as UTF-8. `m.writeKeyTo(w)` */
  writeKeyTo(w: ByteWriter): void {
    if (this.k >= 0 && this.t != 0) this.writeDecoded(this.k, w);
  }

  /** Appends the member's key as written in the input, escapes kept (valid inside JSON
   *  quotes). `m.writeKeyRawTo(w)` */
  writeKeyRawTo(w: ByteWriter): void {
    if (this.k < 0 || this.t == 0) return;
    let a = this.ix.at(<u32>this.k) + 1;
    w.raw(this.ix.input + <usize>a, <i32>(this.ix.at(<u32>this.k + 1) - a));
  }

  /** The string, escapes decoded (lone surrogates become U+FFFD); "" when not a string.
   *  `v.str()` */
  str(): string {
    return this.t == T_STRING ? this.decode(this.j) : "";
  }

  /** The string, or `fallback` when this is not a string. `v.get("name").strOr("anon")` */
  strOr(fallback: string): string {
    return this.t == T_STRING ? this.decode(this.j) : fallback;
  }

  /** Whether this is a string equal to `s` after decoding, without allocating.
   *  `v.get("type").strEquals("user")` */
  strEquals(s: string): bool {
    return this.t == T_STRING && this.keyEquals(this.j, s);
  }

  /** Appends the decoded string as UTF-8 (nothing when not a string): straight from the
   *  input bytes, no UTF-16 string. `v.get("name").writeStrTo(w)` */
  writeStrTo(w: ByteWriter): void {
    if (this.t == T_STRING) this.writeDecoded(this.j, w);
  }

  /** The number (correctly rounded, like JavaScript), or NaN when not a number. `v.num()` */
  num(): f64 {
    if (this.t != T_NUMBER) return NaN;
    return parseJsonNumber(this.rawPtr, this.rawLength);
  }

  /** The number, or `fallback` when this is not a number. `v.get("ratio").numOr(1.0)` */
  numOr(fallback: f64): f64 {
    return this.t == T_NUMBER ? parseJsonNumber(this.rawPtr, this.rawLength) : fallback;
  }

  /** True for a number written as an integer (no fraction or exponent) that fits an i64.
   *  `if (v.isInteger) id = v.int()` */
  get isInteger(): bool {
    if (this.t != T_NUMBER || !isPlainInteger(this.ix.input, this.off, this.end)) return false;
    parseJsonInt(this.rawPtr, this.rawLength);
    return !intOverflow;
  }

  /**
   * The number as an i64: exact for integers that fit; anything else is num() truncated
   * toward zero and clamped to the i64 range (NaN and non-numbers give 0). `v.int()`
   */
  int(): i64 {
    return this.intOr(0);
  }

  /** The number as an i64 (see int()), or `fallback` when this is not a number.
   *  `v.get("page").intOr(1)` */
  intOr(fallback: i64): i64 {
    if (this.t != T_NUMBER) return fallback;
    if (isPlainInteger(this.ix.input, this.off, this.end)) {
      let v = parseJsonInt(this.rawPtr, this.rawLength);
      if (!intOverflow) return v;
    }
    let f = parseJsonNumber(this.rawPtr, this.rawLength);
    if (f >= 9223372036854775807.0) return i64.MAX_VALUE;
    if (f <= -9223372036854775808.0) return i64.MIN_VALUE;
    return <i64>f;
  }

  /** True for `true`; false for anything else. `v.bool()` */
  bool(): bool {
    return this.t == T_TRUE;
  }

  /** The boolean, or `fallback` when this is not one. `v.get("admin").boolOr(false)` */
  boolOr(fallback: bool): bool {
    let t = this.t;
    return t == T_TRUE ? true : t == T_FALSE ? false : fallback;
  }

  /** Address of the raw token: a string's content (inside the quotes), a number's or a
   *  literal's text, a container's opening bracket; 0 when MISSING. `w.raw(v.rawPtr, v.rawLength)` */
  get rawPtr(): usize {
    if (this.t == 0) return 0;
    return this.ix.input + <usize>this.off + (this.t == T_STRING ? 1 : 0);
  }

  /** Length of the raw token at rawPtr in bytes (a container's span up to and including its
   *  closing bracket); 0 when MISSING. `w.raw(v.rawPtr, v.rawLength)` */
  get rawLength(): i32 {
    let t = this.t;
    if (t == 0) return 0;
    if (t == T_STRING) return <i32>(this.end - this.off - 1);
    if (t == T_ARRAY || t == T_OBJECT) {
      let close = this.ix.closeOf(<u32>this.j);
      if (close >= this.ix.entries) return <i32>(this.ix.inputLength - this.off);
      return <i32>(this.ix.at(close) + 1 - this.off);
    }
    return <i32>(this.end - this.off);
  }

  /** True when the string holds backslash escapes, so its raw bytes are not its value.
   *  Writers use it to copy escape-free strings in one piece.
   *  `if (v.isString && !v.hasEscapes) w.raw(v.rawPtr, v.rawLength)` */
  get hasEscapes(): bool {
    return this.t == T_STRING && this.ix.hasBackslash(this.off + 1, this.end);
  }

  /** A copy of the value's JSON text exactly as in the input (strings with their quotes);
   *  empty when MISSING. `Response.bytes(v.raw(), "application/json")` */
  raw(): Uint8Array {
    let p = this.rawPtr;
    let n = this.rawLength;
    if (this.t == T_STRING) {
      p -= 1;
      n += 2;
    }
    // A copy: the input need not be an ArrayBuffer of its own (see Json.parseAt).
    let out = new Uint8Array(n);
    memory.copy(out.dataStart, p, <usize>n);
    return out;
  }

  // The string whose opening quote is entry `e` (a key or a string value).
  private decode(e: i32): string {
    let ix = this.ix;
    let a = ix.at(<u32>e) + 1;
    let b = ix.at(<u32>e + 1);
    return decodeJsonString(ix.input + <usize>a, <i32>(b - a), ix.hasBackslash(a, b));
  }

  private writeDecoded(e: i32, w: ByteWriter): void {
    let ix = this.ix;
    let a = ix.at(<u32>e) + 1;
    let b = ix.at(<u32>e + 1);
    writeJsonStringDecoded(w, ix.input + <usize>a, <i32>(b - a), ix.hasBackslash(a, b));
  }
}
