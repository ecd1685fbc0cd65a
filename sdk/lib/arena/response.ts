// The outgoing response. Its header lines and body are bytes in the request's arena; the
// host writes the status line, Date, Content-Length and Connection around them and sends
// the body straight from wasm memory.

import { RES_STATUS, RES_HEADERS_PTR, RES_HEADERS_LEN, RES_BODY_PTR, RES_BODY_LEN, RES_BODY_DEVICE } from "./abi";
import { ByteWriter, asciiEqualsIgnoreCase } from "./bytes";
import { Request } from "./request";
import { CookieOptions, setCookieLine, signCookie } from "./cookies";
import { noneMatch, strongEtag } from "./etag";

function isTokenChar(c: u32): bool {
  // RFC 9110 tchar: ALPHA / DIGIT / "!#$%&'*+-.^_`|~"
  if (c - 0x61 < 26 || c - 0x41 < 26 || c - 0x30 < 10) return true;
  return c == 0x21 || (c >= 0x23 && c <= 0x27) || c == 0x2a || c == 0x2b || c == 0x2d ||
    c == 0x2e || c == 0x5e || c == 0x5f || c == 0x60 || c == 0x7c || c == 0x7e;
}

function isFramingHeader(name: string): bool {
  let n = name.toLowerCase();
  return n == "content-length" || n == "transfer-encoding" || n == "connection" || n == "date";
}

/**
 * An HTTP response. Build one with a helper and chain `header()`:
 *
 * ```ts
 * return Response.json('{"ok":true}').header("Cache-Control", "no-store");
 * return Response.text("Created\n", 201);
 * ```
 */
export class Response {
  /** The status code, 200–599. `if (res.status >= 500) log.error("failed")` */
  status: i32;
  private headers: ByteWriter | null = null;
  private bodyPtr: usize = 0;
  private bodyLen: usize = 0;
  // Keeps the body's buffer reachable while the response is; the host reads bodyPtr.
  private bodyRef: ArrayBuffer | null = null;
  // A device handle whose buffer is the body (Response.device), or 0.
  private bodyDevice: i64 = 0;

  /** An empty response with `status`. `new Response(204)` */
  constructor(status: i32 = 200) {
    this.status = status;
  }

  /** A `text/plain; charset=utf-8` response. `Response.text("Hello\n")` */
  static text(s: string, status: i32 = 200): Response {
    return Response.string(s, "text/plain; charset=utf-8", status);
  }

  /** A `text/html; charset=utf-8` response. `Response.html("<h1>Hi</h1>")` */
  static html(s: string, status: i32 = 200): Response {
    return Response.string(s, "text/html; charset=utf-8", status);
  }

  /** An `application/json` response from already-serialised JSON. `Response.json('{"a":1}')` */
  static json(s: string, status: i32 = 200): Response {
    return Response.string(s, "application/json", status);
  }

  /** A response whose body is `s` encoded as UTF-8, with the given content type.
   *  `Response.string("a,b\n", "text/csv")` */
  static string(s: string, contentType: string, status: i32 = 200): Response {
    // The check build stops here when `s` was moved away or made in a disposed scratch arena.
    if (isDefined(ARENA_CHECK)) __arena_check_live(changetype<usize>(s));
    let r = new Response(status);
    let buf = String.UTF8.encode(s, false);
    r.setBody(changetype<usize>(buf), <usize>buf.byteLength, buf);
    return r.header("Content-Type", contentType);
  }

  /** A response whose body is `b` (no copy). `Response.bytes(req.body, "application/octet-stream")` */
  static bytes(b: Uint8Array, contentType: string = "application/octet-stream", status: i32 = 200): Response {
    let r = new Response(status);
    r.setBody(b.dataStart, <usize>b.length, b.buffer);
    return r.header("Content-Type", contentType);
  }

  /** A response whose body is what `w` holds (no copy).
   *  `Response.from(w, "text/html; charset=utf-8")` */
  static from(w: ByteWriter, contentType: string, status: i32 = 200): Response {
    let b = w.toBytes();
    let r = new Response(status);
    r.setBody(b.dataStart, <usize>b.length, b.buffer);
    return r.header("Content-Type", contentType);
  }

  /**
   * A response whose body is the whole device buffer `handle` (Device.alloc, Device.open),
   * sent by the host straight from its memory: nothing is copied into the arena, so the
   * body may be larger than the arena. A handle that is stale when the handler returns is
   * a 500 (ARENA_E_RESPONSE). Not compressed by the host.
   * `return Response.device(report, "application/pdf");`
   */
  static device(handle: i64, contentType: string, status: i32 = 200): Response {
    let r = new Response(status);
    r.bodyDevice = handle;
    return r.header("Content-Type", contentType);
  }

  /** A redirect to `location` (302 unless `status` says otherwise).
   *  `Response.redirect("/login")` */
  static redirect(location: string, status: i32 = 302): Response {
    return new Response(status).header("Location", location);
  }

  private setBody(ptr: usize, len: usize, ref: ArrayBuffer): void {
    if (isDefined(ARENA_CHECK)) __arena_check_live(changetype<usize>(ref));
    this.bodyPtr = ptr;
    this.bodyLen = len;
    this.bodyRef = ref;
  }

  /**
   * Adds a header field. The name must be an RFC 9110 token and the value must not hold
   * CR, LF or NUL (header injection); Content-Length, Transfer-Encoding, Connection and
   * Date belong to the host. Breaking these rules aborts the request with a clear message.
   * `res.header("Set-Cookie", "a=1; HttpOnly")`
   */
  header(name: string, value: string): Response {
    if (name.length == 0) abort("Response.header: empty header name");
    for (let i = 0; i < name.length; i++) {
      if (!isTokenChar(<u32>name.charCodeAt(i))) abort("Response.header: invalid header name '" + name + "'");
    }
    for (let i = 0; i < value.length; i++) {
      let c = <u32>value.charCodeAt(i);
      if (c == 0x0d || c == 0x0a || c == 0) abort("Response.header: CR, LF or NUL in the value of '" + name + "'");
    }
    if (isFramingHeader(name)) abort("Response.header: '" + name + "' is set by the host");
    let h = this.headers;
    if (h === null) {
      // Made where the response lives: a Scratch entered later would take it away.
      let saved = __arena_owner_enter(changetype<usize>(this));
      h = new ByteWriter(128);
      __arena_switch(saved);
      this.headers = h;
    }
    h.str(name).str(": ").str(value).str("\r\n");
    return this;
  }

  /**
   * Adds a Set-Cookie field setting cookie `name` to `value`, with the attributes in `opts`.
   * The name must be a token and the value RFC 6265 cookie-octets (visible ASCII but
   * `"` `,` `;` `\`: `urlEncode` anything else first); breaking that aborts with a message.
   * `res.cookie("theme", "dark", new CookieOptions().path("/").maxAge(86400 * 365))`
   */
  cookie(name: string, value: string, opts: CookieOptions | null = null): Response {
    return this.header("Set-Cookie", setCookieLine("Response.cookie", name, value, opts, false));
  }

  /** Tells the client to drop cookie `name`: an empty value that expires at once. `opts`
   *  must name the same Path and Domain the cookie was set with.
   *  `res.clearCookie("sid", new CookieOptions().path("/"))` */
  clearCookie(name: string, opts: CookieOptions | null = null): Response {
    return this.header("Set-Cookie", setCookieLine("Response.clearCookie", name, "", opts, true));
  }

  /**
   * Sets cookie `name` to `value` followed by `.` and its HMAC-SHA256 signature under
   * `secret` (base64url, over "name=value"), so `req.signedCookie(name, secret)` returns the
   * value only if the client did not change it. The value is readable by the client: sign,
   * do not hide. Keep `secret` long and random (32 bytes or more) and out of the code.
   * `res.signedCookie("user", "42", env("COOKIE_SECRET")!, new CookieOptions().httpOnly())`
   */
  signedCookie(name: string, value: string, secret: string, opts: CookieOptions | null = null): Response {
    setCookieLine("Response.signedCookie", name, value, null, false); // checks name and value
    return this.header("Set-Cookie", setCookieLine("Response.signedCookie", name, signCookie(name, value, secret), opts, false));
  }

  /**
   * Gives a 200 response a strong ETag (from the SHA-256 of its body) and, when `req` is a
   * GET or HEAD whose If-None-Match holds that tag, turns it into 304 Not Modified: no body,
   * no Content-* fields, the others kept. Call it last, on the finished response, and do
   * not set ETag yourself. A device body (`Response.device`) is the host's bytes, which
   * the app cannot hash: it gets no ETag here (set one yourself from what you know changed
   * the buffer, e.g. a version number). `return Response.html(page).etag(req);`
   */
  etag(req: Request): Response {
    if (this.status != 200 || this.bodyDevice != 0) return this;
    let tag = strongEtag(this.bodyPtr, this.bodyLen);
    this.header("ETag", tag);
    let method = req.method;
    if (method != "GET" && method != "HEAD") return this;
    let inm = req.header("if-none-match");
    if (inm !== null && noneMatch(inm, tag)) this.notModified();
    return this;
  }

  /** Makes this response a 304: no body, and the header lines but Content-* ones other than
   *  Content-Location (RFC 9110 §15.4.5: ETag, Cache-Control, Vary and the like stay). */
  private notModified(): void {
    this.status = 304;
    this.bodyPtr = 0;
    this.bodyLen = 0;
    this.bodyRef = null;
    this.bodyDevice = 0;
    let h = this.headers;
    if (h === null) return;
    let kept = new ByteWriter(h.length);
    let p = h.dataStart;
    let end = p + <usize>h.length;
    while (p < end) {
      let line = p;
      while (p < end && load<u8>(p) != 0x0a) p++;
      p++; // past the LF
      let colon = line;
      while (load<u8>(colon) != 0x3a) colon++;
      let n = colon - line;
      let representation = n >= 8 && asciiEqualsIgnoreCase(line, 8, "content-") && !asciiEqualsIgnoreCase(line, n, "content-location");
      if (!representation) kept.raw(line, <i32>(p - line));
    }
    this.headers = kept;
  }

  /** Writes the response into the descriptor for the host (docs/abi.md). */
  // @ts-ignore: decorator
  @unsafe writeTo(desc: usize): void {
    // A body kept in the heap (a cached page) is copied into the arena: another request
    // may free or change it while the host is still writing this response.
    if (this.bodyLen > 0 && __arena_in_heap(this.bodyPtr)) {
      let copy = new ArrayBuffer(<i32>this.bodyLen);
      memory.copy(changetype<usize>(copy), this.bodyPtr, this.bodyLen);
      this.setBody(changetype<usize>(copy), this.bodyLen, copy);
    }
    store<u32>(desc + RES_STATUS, <u32>this.status);
    let h = this.headers;
    if (h !== null) {
      store<u32>(desc + RES_HEADERS_PTR, <u32>h.dataStart);
      store<u32>(desc + RES_HEADERS_LEN, <u32>h.length);
    } else {
      store<u32>(desc + RES_HEADERS_PTR, 0);
      store<u32>(desc + RES_HEADERS_LEN, 0);
    }
    store<u32>(desc + RES_BODY_PTR, <u32>this.bodyPtr);
    store<u32>(desc + RES_BODY_LEN, <u32>this.bodyLen);
    store<f64>(desc + RES_BODY_DEVICE, <f64>this.bodyDevice);
  }
}
