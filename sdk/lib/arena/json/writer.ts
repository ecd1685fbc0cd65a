// JSON writer: appends UTF-8 JSON to a ByteWriter with commas placed for you and strings
// escaped (RFC 8259). It tracks the open containers, so misuse — a value in an object
// without a key, a mismatched end — aborts the request with a clear message instead of
// sending invalid JSON.

import { ByteWriter } from "../bytes";
import { JSON_DEPTH_MAX } from "../limits";
import { writeEscaped, writeEscapedUtf8 } from "../text/escape";
import { writeF64 } from "../text/number";
import { JsonValue } from "./value";

// @ts-ignore: decorator
@inline const IN_ARRAY: u8 = 1;
// @ts-ignore: decorator
@inline const IN_OBJECT: u8 = 2;

/**
 * JSON's escape rule for the loops of sdk/lib/arena/text/scan.ts: `"`, `\\` and the
 * control characters, which RFC 8259 forbids unescaped in a string.
 * `writeEscaped<JsonEscape>(w, "say \"hi\"")`
 */
@final
export class JsonEscape {
  /** Whether `c` must be escaped inside a JSON string. */
  // @ts-ignore: decorator
  @inline special(c: u32): bool {
    return c < 0x20 || c == 0x22 || c == 0x5c;
  }

  /** Marks the lanes of `v` that are control characters, quotes or backslashes.
   *  `i8x16.bitmask(rule.specials(v128.load(p)))` */
  // @ts-ignore: decorator
  @inline specials(v: v128): v128 {
    let quoteOrBackslash = v128.or(i8x16.eq(v, i8x16.splat(0x22)), i8x16.eq(v, i8x16.splat(0x5c)));
    return v128.or(i8x16.lt_u(v, i8x16.splat(0x20)), quoteOrBackslash);
  }

  /** Writes the escape of special `c` at `dst`: the short form where JSON has one, else
   *  `\u00XX`; returns its length. */
  // @ts-ignore: decorator
  @inline write(dst: usize, c: u32): i32 {
    store<u8>(dst, 0x5c);
    switch (c) {
      case 0x22: store<u8>(dst, 0x22, 1); return 2;
      case 0x5c: store<u8>(dst, 0x5c, 1); return 2;
      case 0x08: store<u8>(dst, 0x62, 1); return 2;
      case 0x0c: store<u8>(dst, 0x66, 1); return 2;
      case 0x0a: store<u8>(dst, 0x6e, 1); return 2;
      case 0x0d: store<u8>(dst, 0x72, 1); return 2;
      case 0x09: store<u8>(dst, 0x74, 1); return 2;
    }
    // \u00XX for the other control characters.
    store<u8>(dst, 0x75, 1);
    store<u8>(dst, 0x30, 2);
    store<u8>(dst, 0x30, 3);
    store<u8>(dst, <u8>(0x30 + (c >> 4)), 4);
    let lo = c & 15;
    store<u8>(dst, <u8>(lo < 10 ? 0x30 + lo : 0x61 + lo - 10), 5);
    return 6;
  }
}

/**
 * Builds JSON into a ByteWriter. Commas are automatic; `key` goes before each value in an
 * object. Finish with `toBytes()`, or hand the writer to a Response:
 *
 * ```ts
 * const j = new JsonWriter();
 * j.beginObject().key("id").int(7).key("name").str("Ada").key("tags").beginArray();
 * for (let t = doc.root.get("tags").first(); t.exists; t.next()) j.value(t);
 * j.endArray().endObject();
 * return Response.from(j.writer(), "application/json");   // {"id":7,"name":"Ada","tags":[…]}
 * ```
 */
export class JsonWriter {
  private w: ByteWriter;
  private stack: StaticArray<u8> = new StaticArray<u8>(JSON_DEPTH_MAX);
  private depth: i32 = 0;
  private needComma: bool = false;
  private afterKey: bool = false;
  private rootDone: bool = false;

  /** Writes into `w` when given (appending to what it holds), else into a new ByteWriter
   *  of `capacity` bytes. `new JsonWriter()` */
  constructor(w: ByteWriter | null = null, capacity: i32 = 1024) {
    this.w = w !== null ? w : new ByteWriter(capacity);
  }

  /** The ByteWriter holding the output. `Response.from(j.writer(), "application/json")` */
  writer(): ByteWriter {
    return this.w;
  }

  /** The output so far, as a view (no copy). `j.toBytes()` */
  toBytes(): Uint8Array {
    return this.w.toBytes();
  }

  /** The output so far decoded to a string (a copy; for tests and logs). `j.toString()` */
  toString(): string {
    return this.w.toString();
  }

  /** True once a complete top-level value has been written. `assert(j.done)` */
  get done(): bool {
    return this.rootDone && this.depth == 0;
  }

  private before(): void {
    let d = this.depth;
    if (d == 0) {
      if (this.rootDone) abort("JsonWriter: a second top-level value");
      return;
    }
    if (unchecked(this.stack[d - 1]) == IN_OBJECT) {
      if (!this.afterKey) abort("JsonWriter: a value in an object needs key() first");
      this.afterKey = false;
      return;
    }
    if (this.needComma) this.w.byte(0x2c);
  }

  private after(): void {
    this.needComma = true;
    if (this.depth == 0) this.rootDone = true;
  }

  private begin(kind: u8, bracket: u8): void {
    this.before();
    if (this.depth == JSON_DEPTH_MAX) abort("JsonWriter: nesting deeper than JSON_DEPTH_MAX");
    unchecked(this.stack[this.depth++] = kind);
    this.w.byte(bracket);
    this.needComma = false;
  }

  private end(kind: u8, bracket: u8): void {
    if (this.depth == 0 || unchecked(this.stack[this.depth - 1]) != kind) {
      abort(kind == IN_ARRAY ? "JsonWriter: endArray() without beginArray()" : "JsonWriter: endObject() without beginObject()");
    }
    if (this.afterKey) abort("JsonWriter: key() without a value");
    this.depth--;
    this.w.byte(bracket);
    this.after();
  }

  /** `{`. `j.beginObject()` */
  beginObject(): JsonWriter {
    this.begin(IN_OBJECT, 0x7b);
    return this;
  }

  /** `}`. `j.endObject()` */
  endObject(): JsonWriter {
    this.end(IN_OBJECT, 0x7d);
    return this;
  }

  /** `[`. `j.beginArray()` */
  beginArray(): JsonWriter {
    this.begin(IN_ARRAY, 0x5b);
    return this;
  }

  /** `]`. `j.endArray()` */
  endArray(): JsonWriter {
    this.end(IN_ARRAY, 0x5d);
    return this;
  }

  /** The next member's key, escaped. `j.key("name").str("Ada")` */
  key(k: string): JsonWriter {
    this.keyStart();
    writeEscaped<JsonEscape>(this.w, k);
    this.w.byte(0x22).byte(0x3a);
    this.afterKey = true;
    return this;
  }

  /** A key from a JsonValue member's key, copied from the input (already valid JSON).
   *  `for (let m = o.first(); m.exists; m.next()) j.keyOf(m).value(m)` */
  keyOf(member: JsonValue): JsonWriter {
    this.keyStart();
    let w = this.w;
    member.writeKeyRawTo(w);
    w.byte(0x22).byte(0x3a);
    this.afterKey = true;
    return this;
  }

  private keyStart(): void {
    if (this.depth == 0 || unchecked(this.stack[this.depth - 1]) != IN_OBJECT) abort("JsonWriter: key() outside an object");
    if (this.afterKey) abort("JsonWriter: two keys in a row");
    if (this.needComma) this.w.byte(0x2c);
    this.w.byte(0x22);
  }

  /** A string value, escaped (lone surrogates become U+FFFD). `j.str("héllo \"you\"")` */
  str(s: string): JsonWriter {
    this.before();
    this.w.byte(0x22);
    writeEscaped<JsonEscape>(this.w, s);
    this.w.byte(0x22);
    this.after();
    return this;
  }

  /** A string value from UTF-8 bytes, escaped (malformed UTF-8 becomes U+FFFD).
   *  `j.strBytes(req.body)` */
  strBytes(b: Uint8Array): JsonWriter {
    return this.strUtf8(b.dataStart, b.length);
  }

  /** A string value from `len` UTF-8 bytes at `ptr`. `j.strUtf8(w.dataStart, w.length)` */
  strUtf8(ptr: usize, len: i32): JsonWriter {
    this.before();
    this.w.byte(0x22);
    writeEscapedUtf8<JsonEscape>(this.w, ptr, len);
    this.w.byte(0x22);
    this.after();
    return this;
  }

  /** A number that reads back as the same f64 (see writeF64); NaN and ±Infinity, which
   *  JSON cannot express, are written as null like JSON.stringify does. `j.num(0.1)` */
  num(v: f64): JsonWriter {
    this.before();
    if (isFinite(v)) writeF64(this.w, v);
    else this.w.str("null");
    this.after();
    return this;
  }

  /** An integer. `j.int(-42)` */
  int(v: i64): JsonWriter {
    this.before();
    this.w.int(v);
    this.after();
    return this;
  }

  /** `true` or `false`. `j.bool(ok)` */
  bool(v: bool): JsonWriter {
    this.before();
    this.w.str(v ? "true" : "false");
    this.after();
    return this;
  }

  /** `null`. `j.null()` */
  null(): JsonWriter {
    this.before();
    this.w.str("null");
    this.after();
    return this;
  }

  /** A parsed value copied as written in its input — one copy, no re-encoding (a
   *  container keeps its inner whitespace). MISSING is written as null. From a document
   *  read on demand (`Json.read`), a container's bytes are copied unchecked: call
   *  `doc.validate()` first when they come from a client.
   *  `j.key("user").value(doc.root.get("user"))` */
  value(v: JsonValue): JsonWriter {
    this.before();
    if (!v.exists) {
      this.w.str("null");
    } else if (v.isString) {
      this.w.raw(v.rawPtr - 1, v.rawLength + 2);
    } else {
      this.w.raw(v.rawPtr, v.rawLength);
    }
    this.after();
    return this;
  }

  /** Already-serialised JSON, written as is (the caller vouches for it).
   *  `j.key("cached").rawJson(cachedText)` */
  rawJson(json: string): JsonWriter {
    this.before();
    this.w.str(json);
    this.after();
    return this;
  }
}
