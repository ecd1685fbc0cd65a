// HTML writer: builds UTF-8 HTML into a ByteWriter and escapes by default. Text and
// attribute values escape & < > " ' (one rule safe in both contexts), tag and attribute
// names are checked, and unescaped output needs an explicit raw(). JSON strings go from
// their input bytes to escaped HTML in one pass, with no UTF-16 string in between.

import { ByteWriter } from "./bytes";
import { writeEscaped, writeEscapedUtf8 } from "./text/escape";
import { writeF64 } from "./text/number";
import { writeJsonStringEscaped } from "./json/strings";
import { JsonValue } from "./json/value";

/**
 * HTML's escape rule for text/scan.ts: & < > " ', one rule safe both in text and in a
 * quoted attribute value. `writeEscaped<HtmlEscape>(w, "<b>")` appends `&lt;b&gt;`.
 */
@final
export class HtmlEscape {
  /** Whether `c` is one of & < > " '. */
  // @ts-ignore: decorator
  @inline special(c: u32): bool {
    return c == 0x26 || c == 0x3c || c == 0x3e || c == 0x22 || c == 0x27;
  }

  /** Marks the lanes of `v` that are & < > " or ': each has its own low nibble, so a
   *  table indexed by a byte's low nibble holds the one special byte with that nibble, and
   *  a byte is special when it equals its entry (entry 0 is 1, which no byte 0x?0 equals).
   *  `i8x16.bitmask(rule.specials(v128.load(p)))` */
  // @ts-ignore: decorator
  @inline specials(v: v128): v128 {
    let table = i8x16(1, 0, 0x22, 0, 0, 0, 0x26, 0x27, 0, 0, 0, 0, 0x3c, 0, 0x3e, 0);
    return i8x16.eq(i8x16.swizzle(table, v128.and(v, i8x16.splat(0x0f))), v);
  }

  /** Writes the entity of special `c` at `dst`; returns its length. */
  // @ts-ignore: decorator
  @inline write(dst: usize, c: u32): i32 {
    store<u8>(dst, 0x26); // &
    switch (c) {
      case 0x26: // &amp;
        store<u32>(dst, 0x3b706d61, 1);
        return 5;
      case 0x3c: // &lt;
        store<u8>(dst, 0x6c, 1);
        store<u8>(dst, 0x74, 2);
        store<u8>(dst, 0x3b, 3);
        return 4;
      case 0x3e: // &gt;
        store<u8>(dst, 0x67, 1);
        store<u8>(dst, 0x74, 2);
        store<u8>(dst, 0x3b, 3);
        return 4;
      case 0x22: // &quot;
        store<u32>(dst, 0x746f7571, 1);
        store<u8>(dst, 0x3b, 5);
        return 6;
    }
    // &#39; (&apos; is not HTML 4)
    store<u32>(dst, 0x3b393323, 1);
    return 5;
  }
}

function isNameChar(c: u32, first: bool): bool {
  if ((c | 0x20) - 0x61 < 26) return true;
  if (first) return false;
  return c - 0x30 < 10 || c == 0x2d || c == 0x5f || c == 0x3a || c == 0x2e;
}

/** Whether `s` is a plain tag or attribute name: a letter, then letters, digits, - _ : . */
function isPlainName(s: string): bool {
  if (s.length == 0) return false;
  for (let i = 0; i < s.length; i++) {
    if (!isNameChar(<u32>s.charCodeAt(i), i == 0)) return false;
  }
  return true;
}

/**
 * Builds HTML, escaping text and attribute values by default. `open` starts a tag,
 * `attr` adds attributes to it, and the next content closes it with `>`; `close` writes the
 * end tag. Every method returns the builder, so calls chain:
 *
 * ```ts
 * const h = new Html();
 * h.raw("<!doctype html>").open("ul");
 * for (let it = doc.root.first(); it.exists; it.next()) {
 *   h.open("li").open("a").attrJson("href", it.get("url")).textJson(it.get("name")).close("a").close("li");
 * }
 * h.close("ul");
 * return Response.from(h.writer(), "text/html; charset=utf-8");
 * ```
 *
 * Escaping makes text safe to place; it does not make a URL safe to follow: check the
 * scheme of user-supplied `href`/`src` values (a `javascript:` URL runs script).
 */
export class Html {
  private w: ByteWriter;
  private inTag: bool = false;

  /** Writes into `w` when given (appending to what it holds), else into a new ByteWriter
   *  of `capacity` bytes. `new Html()` */
  constructor(w: ByteWriter | null = null, capacity: i32 = 1024) {
    this.w = w !== null ? w : new ByteWriter(capacity);
  }

  // Ends a start tag left open for attributes.
  // @ts-ignore: decorator
  @inline private content(): ByteWriter {
    if (this.inTag) {
      this.w.byte(0x3e);
      this.inTag = false;
    }
    return this.w;
  }

  /** The ByteWriter holding the output (a pending start tag is ended first).
   *  `Response.from(h.writer(), "text/html; charset=utf-8")` */
  writer(): ByteWriter {
    return this.content();
  }

  /** The output so far, as a view (no copy). `h.toBytes()` */
  toBytes(): Uint8Array {
    return this.content().toBytes();
  }

  /** The output so far decoded to a string (a copy; for tests and logs). `h.toString()` */
  toString(): string {
    return this.content().toString();
  }

  /** Starts element `tag` (`<tag`); attributes may follow. The name must be plain
   *  (letters, digits, - _ : .), else the request aborts. `h.open("p")` */
  open(tag: string): Html {
    if (!isPlainName(tag)) abort("Html.open: invalid tag name '" + tag + "'");
    this.content().byte(0x3c).str(tag);
    this.inTag = true;
    return this;
  }

  /** Ends element `tag` (`</tag>`). `h.close("p")` */
  close(tag: string): Html {
    if (!isPlainName(tag)) abort("Html.close: invalid tag name '" + tag + "'");
    this.content().byte(0x3c).byte(0x2f).str(tag).byte(0x3e);
    return this;
  }

  /** `<tag>text</tag>` with `text` escaped. `h.el("h1", title)` */
  el(tag: string, text: string): Html {
    return this.open(tag).text(text).close(tag);
  }

  private attrStart(name: string): ByteWriter {
    if (!this.inTag) abort("Html.attr: no open tag for attribute '" + name + "'");
    if (!isPlainName(name)) abort("Html.attr: invalid attribute name '" + name + "'");
    return this.w.byte(0x20).str(name).byte(0x3d).byte(0x22);
  }

  /** Adds ` name="value"` to the open tag, the value escaped. `h.open("a").attr("href", url)` */
  attr(name: string, value: string): Html {
    let w = this.attrStart(name);
    writeEscaped<HtmlEscape>(w, value);
    w.byte(0x22);
    return this;
  }

  /** Adds ` name="…"` with a JsonValue as its value, escaped straight from the input bytes
   *  (see textJson for non-strings). `h.open("img").attrJson("src", v.get("src"))` */
  attrJson(name: string, value: JsonValue): Html {
    let w = this.attrStart(name);
    writeJsonValueEscaped(w, value);
    w.byte(0x22);
    return this;
  }

  /** Adds a boolean attribute: ` name`. `h.open("input").flag("checked")` */
  flag(name: string): Html {
    if (!this.inTag) abort("Html.flag: no open tag for attribute '" + name + "'");
    if (!isPlainName(name)) abort("Html.flag: invalid attribute name '" + name + "'");
    this.w.byte(0x20).str(name);
    return this;
  }

  /** Text, escaped. `h.text("Tom & Jerry")` writes `Tom &amp; Jerry`. */
  text(s: string): Html {
    writeEscaped<HtmlEscape>(this.content(), s);
    return this;
  }

  /** Text from UTF-8 bytes, escaped; malformed UTF-8 becomes U+FFFD. `h.textBytes(req.body)` */
  textBytes(b: Uint8Array): Html {
    writeEscapedUtf8<HtmlEscape>(this.content(), b.dataStart, b.length);
    return this;
  }

  /**
   * A JsonValue as text: a string is decoded and escaped in one pass from the input bytes
   * (no UTF-16 string); a number, true, false or null is written as in the input; an array
   * or object as its escaped JSON text; MISSING writes nothing.
   * `h.open("td").textJson(row.get("name")).close("td")`
   */
  textJson(v: JsonValue): Html {
    writeJsonValueEscaped(this.content(), v);
    return this;
  }

  /** An integer in decimal. `h.int(count)` */
  int(v: i64): Html {
    this.content().int(v);
    return this;
  }

  /** A number in the shortest form that reads back the same ("NaN", "Infinity" and
   *  "-Infinity" for the non-finite ones). `h.num(price)` */
  num(v: f64): Html {
    let w = this.content();
    if (isFinite(v)) writeF64(w, v);
    else w.str(isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
    return this;
  }

  /**
   * Markup encoded to UTF-8 once, for `rawBytes`: make the constant tags of a page
   * literals at start-up and each request copies them (16 bytes at a time) instead of
   * encoding them again. The bytes are padded to a multiple of 16 in their own buffer,
   * which is what lets the copy move whole blocks.
   *
   * ```ts
   * const ROW = Html.literal("<tr><td>");
   * const CELL = Html.literal("</td><td>");
   * // in the handler:
   * h.rawBytes(ROW).textJson(p.get("title")).rawBytes(CELL).textJson(p.get("brand"));
   * ```
   */
  static literal(html: string): Uint8Array {
    let w = new ByteWriter(html.length * 3 + 16);
    w.str(html);
    let n = w.length;
    let buf = new ArrayBuffer((n + 15) & ~15);
    memory.copy(changetype<usize>(buf), w.dataStart, <usize>n);
    return Uint8Array.wrap(buf, 0, n);
  }

  /** Unescaped HTML: only for markup you wrote, never for input (encoded on each call;
   *  `literal` encodes it once). `h.raw("<br>")` */
  raw(html: string): Html {
    this.content().str(html);
    return this;
  }

  /** Unescaped bytes: only for markup you trust, such as an `Html.literal`.
   *  `h.rawBytes(cachedFragment)` */
  rawBytes(b: Uint8Array): Html {
    this.content().bytes(b);
    return this;
  }
}

function writeJsonValueEscaped(w: ByteWriter, v: JsonValue): void {
  if (!v.exists) return;
  // Strings are decoded; other values are their JSON text, where a backslash is literal.
  if (v.isString) writeJsonStringEscaped<HtmlEscape>(w, v.rawPtr, v.rawLength);
  else writeEscapedUtf8<HtmlEscape>(w, v.rawPtr, v.rawLength);
}
