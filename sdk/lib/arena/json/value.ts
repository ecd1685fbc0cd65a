// A parsed JSON document and the handles that read it: a JsonValue is one tape entry (see
// tape.ts) and reads the value from the tape and the input bytes only when asked, so
// walking a document allocates one handle per step and no strings. JsonDoc and JsonValue
// share this file because each refers to the other (root, doc).

import { ByteWriter } from "../bytes";
import { parseJsonInt, parseJsonNumber, intOverflow } from "./numbers";
import { decodeJsonString, stringEquals, writeJsonStringDecoded } from "./strings";
import {
  JsonKind, T_NULL, T_FALSE, T_TRUE, T_NUMBER, T_STRING, T_ARRAY, T_OBJECT, T_CLOSE,
  TAG_SHIFT, FLAG, PAYLOAD,
} from "./tape";

/**
 * A parsed JSON text: the tape plus the input bytes it points into.
 *
 * ```ts
 * const doc = Json.parse(req.body);
 * if (!doc.ok) return Response.text(doc.error + "\n", 400);
 * for (let item = doc.root.first(); item.exists; item.next()) { … }
 * ```
 */
export class JsonDoc {
  /** Address of the input's first byte. */
  @unsafe readonly input: usize;
  /** Input length in bytes. */
  @unsafe readonly inputLength: u32;
  /** Address of the tape (0 when parsing failed). */
  @unsafe readonly tape: usize;
  /** Tape entries. */
  @unsafe readonly entries: u32;
  /** Why parsing failed, or "" when it did not. `doc.error` */
  readonly error: string;
  /** Byte offset where parsing failed, or -1. `doc.errorPos` */
  readonly errorPos: i32;

  /** Made by `Json.parse` from the parser's tape or error. */
  // @ts-ignore: decorator
  @unsafe constructor(input: usize, inputLength: u32, tape: usize, entries: u32, error: string, errorPos: i32) {
    this.input = input;
    this.inputLength = inputLength;
    this.tape = tape;
    this.entries = entries;
    this.error = error;
    this.errorPos = errorPos;
  }

  /** True when the input was one valid JSON text. `if (!doc.ok) …` */
  get ok(): bool {
    return this.errorPos < 0;
  }

  /** The top-level value, or a MISSING value when parsing failed. `doc.root.get("id")` */
  get root(): JsonValue {
    return new JsonValue(this, this.ok ? 0 : -1, -1);
  }
}

/**
 * A handle on one value of a `JsonDoc` (a tape index; 32 bytes in the arena). Reading never
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
export class JsonValue {
  private doc: JsonDoc;
  // Tape index of the value, or -1 when MISSING.
  private i: i32;
  // Tape index of the member's key when the value is an object member, else -1.
  private k: i32;

  /** Made by `doc.root` and the walking methods: value `i` of the tape, reached
   *  through key `k` (-1 when not through an object). */
  // @ts-ignore: decorator
  @unsafe constructor(doc: JsonDoc, i: i32, k: i32) {
    this.doc = doc;
    this.i = i;
    this.k = k;
  }

  // @ts-ignore: decorator
  @inline private w0(i: i32): u32 {
    return load<u32>(this.doc.tape + (<usize>i << 3));
  }

  // @ts-ignore: decorator
  @inline private w1(i: i32): u32 {
    return load<u32>(this.doc.tape + (<usize>i << 3), 4);
  }

  private tag(): u32 {
    return this.i < 0 ? 0 : this.w1(this.i) >> TAG_SHIFT;
  }

  /** Index of the entry after value `i` (its container skipped in O(1)). */
  private after(i: i32): i32 {
    let w1 = this.w1(i);
    let t = w1 >> TAG_SHIFT;
    return t == T_ARRAY || t == T_OBJECT ? <i32>(w1 & PAYLOAD) : i + 1;
  }

  /** What this value is. `v.kind == JsonKind.STRING` */
  get kind(): JsonKind {
    switch (this.tag()) {
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

  /** False for MISSING (absent member, index out of range, failed parse). `if (v.exists) …` */
  get exists(): bool { return this.i >= 0; }
  /** `v.isNull` */
  get isNull(): bool { return this.tag() == T_NULL; }
  /** `v.isBool` */
  get isBool(): bool { let t = this.tag(); return t == T_TRUE || t == T_FALSE; }
  /** `v.isNumber` */
  get isNumber(): bool { return this.tag() == T_NUMBER; }
  /** `v.isString` */
  get isString(): bool { return this.tag() == T_STRING; }
  /** `v.isArray` */
  get isArray(): bool { return this.tag() == T_ARRAY; }
  /** `v.isObject` */
  get isObject(): bool { return this.tag() == T_OBJECT; }

  /** Elements of an array or members of an object, O(1); 0 for anything else.
   *  `doc.root.get("items").length` */
  get length(): i32 {
    let t = this.tag();
    if (t != T_ARRAY && t != T_OBJECT) return 0;
    return <i32>this.w0(<i32>(this.w1(this.i) & PAYLOAD) - 1);
  }

  /**
   * The member `key` of an object (compared after decoding escapes), or MISSING. When a key
   * repeats, the last one wins, as in JavaScript's JSON.parse, so that two readers of the
   * same bytes agree. O(members). `doc.root.get("a").get("b").strOr("")`
   */
  get(key: string): JsonValue {
    let k = this.findKey(key);
    return new JsonValue(this.doc, k < 0 ? -1 : k + 1, k);
  }

  /** True when this is an object with member `key` (no allocation). `if (v.has("id")) …` */
  has(key: string): bool {
    return this.findKey(key) >= 0;
  }

  /** Tape index of the last key equal to `key`, or -1. */
  private findKey(key: string): i32 {
    if (this.tag() != T_OBJECT) return -1;
    let found = -1;
    let j = this.i + 1;
    // Most names differ from `key` in length or first byte: reject those here, without a
    // call (an unescaped UTF-8 name has at least as many bytes as `key` has UTF-16 units,
    // and an ASCII first byte must equal the first unit).
    let units = key.length;
    let first: u32 = units > 0 ? <u32>key.charCodeAt(0) : 0;
    let input = this.doc.input;
    let w1 = this.w1(j);
    while ((w1 >> TAG_SHIFT) != T_CLOSE) {
      let n = <i32>(w1 & PAYLOAD);
      let plain = (w1 & FLAG) == 0;
      let maybe = !plain;
      if (plain && n >= units) {
        if (units == 0) {
          maybe = n == 0;
        } else {
          let b0 = <u32>load<u8>(input + <usize>this.w0(j));
          maybe = b0 == first || b0 >= 0x80;
        }
      }
      if (maybe && this.keyEquals(j, key)) found = j;
      j = this.after(j + 1);
      w1 = this.w1(j);
    }
    return found;
  }

  /** Element `index` of an array (or the value of member `index` of an object), or
   *  MISSING. O(index): use first()/next() to walk. `doc.root.at(0).num()` */
  at(index: i32): JsonValue {
    let v = this.first();
    for (let n = 0; n < index && v.exists; n++) v.next();
    if (index < 0) {
      v.i = -1;
      v.k = -1;
    }
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
    let t = this.tag();
    let j = this.i + 1;
    if ((t != T_ARRAY && t != T_OBJECT) || (this.w1(j) >> TAG_SHIFT) == T_CLOSE) {
      return new JsonValue(this.doc, -1, -1);
    }
    return t == T_OBJECT ? new JsonValue(this.doc, j + 1, j) : new JsonValue(this.doc, j, -1);
  }

  /** Moves this handle, in place, to the next element or member (MISSING past the last)
   *  and returns it. Handles are not shared, so only this one moves. `v.next()` */
  next(): JsonValue {
    if (this.i < 0) return this;
    let j = this.after(this.i);
    if ((this.w1(j) >> TAG_SHIFT) == T_CLOSE) {
      this.i = -1;
      this.k = -1;
    } else if (this.k >= 0) {
      this.k = j;
      this.i = j + 1;
    } else {
      this.i = j;
    }
    return this;
  }

  private keyEquals(j: i32, s: string): bool {
    let w1 = this.w1(j);
    return stringEquals(this.doc.input + <usize>this.w0(j), <i32>(w1 & PAYLOAD), (w1 & FLAG) != 0, s);
  }

  /** The member's key when this value was reached through an object (get, first/next),
   *  else "". `m.key()` */
  key(): string {
    return this.k < 0 ? "" : this.decode(this.k);
  }

  /** Whether the member's key is `s`, without allocating. `if (m.keyIs("id")) …` */
  keyIs(s: string): bool {
    return this.k >= 0 && this.keyEquals(this.k, s);
  }

  /** Appends the member's decoded key as UTF-8. `m.writeKeyTo(w)` */
  writeKeyTo(w: ByteWriter): void {
    if (this.k >= 0) this.writeDecoded(this.k, w);
  }

  /** Appends the member's key as written in the input, escapes kept (valid inside JSON
   *  quotes). `m.writeKeyRawTo(w)` */
  writeKeyRawTo(w: ByteWriter): void {
    if (this.k >= 0) w.raw(this.doc.input + <usize>this.w0(this.k), <i32>(this.w1(this.k) & PAYLOAD));
  }

  /** The string, escapes decoded (lone surrogates become U+FFFD); "" when not a string.
   *  `v.str()` */
  str(): string {
    return this.tag() == T_STRING ? this.decode(this.i) : "";
  }

  /** The string, or `fallback` when this is not a string. `v.get("name").strOr("anon")` */
  strOr(fallback: string): string {
    return this.tag() == T_STRING ? this.decode(this.i) : fallback;
  }

  /** Whether this is a string equal to `s` after decoding, without allocating.
   *  `v.get("type").strEquals("user")` */
  strEquals(s: string): bool {
    return this.tag() == T_STRING && this.keyEquals(this.i, s);
  }

  /** Appends the decoded string as UTF-8 (nothing when not a string): straight from the
   *  input bytes, no UTF-16 string. `v.get("name").writeStrTo(w)` */
  writeStrTo(w: ByteWriter): void {
    if (this.tag() == T_STRING) this.writeDecoded(this.i, w);
  }

  /** The number (correctly rounded, like JavaScript), or NaN when not a number. `v.num()` */
  num(): f64 {
    if (this.tag() != T_NUMBER) return NaN;
    return parseJsonNumber(this.rawPtr, this.rawLength);
  }

  /** The number, or `fallback` when this is not a number. `v.get("ratio").numOr(1.0)` */
  numOr(fallback: f64): f64 {
    return this.tag() == T_NUMBER ? parseJsonNumber(this.rawPtr, this.rawLength) : fallback;
  }

  /** True for a number written as an integer (no fraction or exponent) that fits an i64.
   *  `if (v.isInteger) id = v.int()` */
  get isInteger(): bool {
    if (this.tag() != T_NUMBER || (this.w1(this.i) & FLAG) == 0) return false;
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
    if (this.tag() != T_NUMBER) return fallback;
    if ((this.w1(this.i) & FLAG) != 0) {
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
    return this.tag() == T_TRUE;
  }

  /** The boolean, or `fallback` when this is not one. `v.get("admin").boolOr(false)` */
  boolOr(fallback: bool): bool {
    let t = this.tag();
    return t == T_TRUE ? true : t == T_FALSE ? false : fallback;
  }

  /** Address of the raw token: a string's content (inside the quotes), a number's or a
   *  literal's text, a container's opening bracket; 0 when MISSING. `w.raw(v.rawPtr, v.rawLength)` */
  get rawPtr(): usize {
    if (this.i < 0) return 0;
    return this.doc.input + <usize>this.w0(this.i);
  }

  /** Length of the raw token at rawPtr in bytes (a container's span up to and including its
   *  closing bracket); 0 when MISSING. `w.raw(v.rawPtr, v.rawLength)` */
  get rawLength(): i32 {
    switch (this.tag()) {
      case T_NULL:
      case T_TRUE: return 4;
      case T_FALSE: return 5;
      case T_NUMBER:
      case T_STRING: return <i32>(this.w1(this.i) & PAYLOAD);
      case T_ARRAY:
      case T_OBJECT: {
        let close = <i32>(this.w1(this.i) & PAYLOAD) - 1;
        return <i32>(this.w1(close) & PAYLOAD) + 1 - <i32>this.w0(this.i);
      }
    }
    return 0;
  }

  /** True when the string (or key) holds backslash escapes, so its raw bytes are not its
   *  value. Writers use it to copy escape-free strings in one piece.
   *  `if (v.isString && !v.hasEscapes) w.raw(v.rawPtr, v.rawLength)` */
  get hasEscapes(): bool {
    return this.tag() == T_STRING && (this.w1(this.i) & FLAG) != 0;
  }

  /** A copy of the value's JSON text exactly as in the input (strings with their quotes);
   *  empty when MISSING. `Response.bytes(v.raw(), "application/json")` */
  raw(): Uint8Array {
    let p = this.rawPtr;
    let n = this.rawLength;
    if (this.tag() == T_STRING) {
      p -= 1;
      n += 2;
    }
    // A copy: the input need not be an ArrayBuffer of its own (see Json.parseAt).
    let out = new Uint8Array(n);
    memory.copy(out.dataStart, p, <usize>n);
    return out;
  }

  private decode(j: i32): string {
    let w1 = this.w1(j);
    return decodeJsonString(this.doc.input + <usize>this.w0(j), <i32>(w1 & PAYLOAD), (w1 & FLAG) != 0);
  }

  private writeDecoded(j: i32, w: ByteWriter): void {
    let w1 = this.w1(j);
    writeJsonStringDecoded(w, this.doc.input + <usize>this.w0(j), <i32>(w1 & PAYLOAD), (w1 & FLAG) != 0);
  }
}
