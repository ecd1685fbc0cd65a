// HTML writer: builds UTF-8 HTML into a ByteWriter and escapes by default. Text and
// attribute values escape & < > " ' (one rule safe in both contexts), tag and attribute
// names are checked, and unescaped output needs an explicit raw(). JSON strings go from
// their input bytes to escaped HTML in one pass, with no UTF-16 string in between.

import { ByteWriter } from "./bytes";
import { JsonValue, decodeEscape, escapeLength, utf8Encode, utf8SequenceLength } from "./json";
import { writeF64 } from "./json_writer";

// Escaped text is staged here and copied to the ByteWriter once per ~1 KiB (see
// json_writer.ts for why). One buffer serves every request: it is filled and flushed
// within one call that never suspends, so no other request can run in between.
// @ts-ignore: decorator
@inline const STAGE_BYTES: i32 = 1024;
// @ts-ignore: decorator
@lazy const STAGE: usize = memory.data(STAGE_BYTES + 16);

/** Whether ASCII `c` is one of & < > " '. */
// @ts-ignore: decorator
@inline function isHtmlSpecial(c: u32): bool {
  return c == 0x26 || c == 0x3c || c == 0x3e || c == 0x22 || c == 0x27;
}

/** Writes the entity for one of & < > " ' at `dst`; returns its length. */
function writeEntity(dst: usize, c: u32): i32 {
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

/** Appends `s` as UTF-8 with & < > " ' escaped; lone surrogates become U+FFFD. */
function writeHtmlEscaped(w: ByteWriter, s: string): void {
  let sp = changetype<usize>(s);
  let n = s.length;
  let o = 0;
  for (let k = 0; k < n; k++) {
    if (o > STAGE_BYTES - 8) {
      w.raw(STAGE, o);
      o = 0;
    }
    let c = <u32>load<u16>(sp + (<usize>k << 1));
    let dst = STAGE + <usize>o;
    if (c < 0x80) {
      if (isHtmlSpecial(c)) {
        o += writeEntity(dst, c);
      } else {
        store<u8>(dst, <u8>c);
        o++;
      }
    } else if ((c & 0xf800) == 0xd800) {
      let cp: u32 = 0xfffd;
      if (c < 0xdc00 && k + 1 < n) {
        let d = <u32>load<u16>(sp + (<usize>(k + 1) << 1));
        if ((d & 0xfc00) == 0xdc00) {
          cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          k++;
        }
      }
      o += utf8Encode(dst, cp);
    } else {
      o += utf8Encode(dst, c);
    }
  }
  if (o > 0) w.raw(STAGE, o);
}

/** Appends `len` UTF-8 bytes at `p` with & < > " ' escaped and malformed UTF-8 replaced
 *  by U+FFFD; runs that need neither are copied in one piece. */
function writeHtmlEscapedUtf8(w: ByteWriter, p: usize, len: i32): void {
  let end = p + <usize>len;
  let run = p;
  while (p < end) {
    let c = <u32>load<u8>(p);
    if (c < 0x80) {
      if (!isHtmlSpecial(c)) {
        p++;
        continue;
      }
      if (p > run) w.raw(run, <i32>(p - run));
      w.raw(STAGE, writeEntity(STAGE, c));
      p++;
    } else {
      let k = utf8SequenceLength(p, end - p);
      if (k != 0) {
        p += <usize>k;
        continue;
      }
      if (p > run) w.raw(run, <i32>(p - run));
      w.raw(STAGE, utf8Encode(STAGE, 0xfffd));
      p++;
    }
    run = p;
  }
  if (p > run) w.raw(run, <i32>(p - run));
}

/** Appends the decoded value of raw JSON string content (`len` validated bytes at `p`),
 *  HTML-escaped: unescaped runs are copied whole, escapes are decoded and then escaped for
 *  HTML (so "\u003c" becomes "&lt;"). */
function writeHtmlFromJsonString(w: ByteWriter, p: usize, len: i32): void {
  let end = p + <usize>len;
  let run = p;
  while (p < end) {
    let c = <u32>load<u8>(p);
    if (c != 0x5c && !isHtmlSpecial(c)) {
      p++; // the parser validated the UTF-8, so multi-byte sequences copy as they are
      continue;
    }
    if (p > run) w.raw(run, <i32>(p - run));
    let cp = c;
    if (c == 0x5c) {
      cp = decodeEscape(p, end - p);
      p += <usize>escapeLength;
    } else {
      p++;
    }
    run = p;
    w.raw(STAGE, cp < 0x80 && isHtmlSpecial(cp) ? writeEntity(STAGE, cp) : utf8Encode(STAGE, cp));
  }
  if (p > run) w.raw(run, <i32>(p - run));
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
    writeHtmlEscaped(w, value);
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
    writeHtmlEscaped(this.content(), s);
    return this;
  }

  /** Text from UTF-8 bytes, escaped; malformed UTF-8 becomes U+FFFD. `h.textBytes(req.body)` */
  textBytes(b: Uint8Array): Html {
    writeHtmlEscapedUtf8(this.content(), b.dataStart, b.length);
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

  /** Unescaped HTML: only for markup you wrote, never for input. `h.raw("<br>")` */
  raw(html: string): Html {
    this.content().str(html);
    return this;
  }

  /** Unescaped bytes: only for markup you trust. `h.rawBytes(cachedFragment)` */
  rawBytes(b: Uint8Array): Html {
    this.content().bytes(b);
    return this;
  }
}

function writeJsonValueEscaped(w: ByteWriter, v: JsonValue): void {
  if (!v.exists) return;
  // Strings are decoded; other values are their JSON text, where a backslash is literal.
  if (v.isString) writeHtmlFromJsonString(w, v.rawPtr, v.rawLength);
  else writeHtmlEscapedUtf8(w, v.rawPtr, v.rawLength);
}
