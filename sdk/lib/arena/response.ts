// The outgoing response. Its header lines and body are bytes in the request's arena; the
// host writes the status line, Date, Content-Length and Connection around them and sends
// the body straight from wasm memory.

import { RES_STATUS, RES_HEADERS_PTR, RES_HEADERS_LEN, RES_BODY_PTR, RES_BODY_LEN } from "./abi";
import { ByteWriter } from "./bytes";

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
  /** The status code, 200–599. */
  status: i32;
  private headers: ByteWriter | null = null;
  private bodyPtr: usize = 0;
  private bodyLen: usize = 0;
  // Keeps the body's buffer reachable while the response is; the host reads bodyPtr.
  private bodyRef: ArrayBuffer | null = null;

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

  /** A redirect to `location` (302 unless `status` says otherwise).
   *  `Response.redirect("/login")` */
  static redirect(location: string, status: i32 = 302): Response {
    return new Response(status).header("Location", location);
  }

  private setBody(ptr: usize, len: usize, ref: ArrayBuffer): void {
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
      h = new ByteWriter(128);
      this.headers = h;
    }
    h.str(name).str(": ").str(value).str("\r\n");
    return this;
  }

  /** Writes the response into the descriptor for the host (docs/abi.md). */
  writeTo(desc: usize): void {
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
  }
}
