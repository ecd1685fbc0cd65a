// The incoming request, read straight from the descriptor the host wrote into this
// request's arena (docs/abi.md). Nothing is copied until a getter asks for a string, and
// every string it makes lives in the arena and is gone when the response is written.

import {
  REQ_METHOD_PTR, REQ_METHOD_LEN, REQ_PATH_PTR, REQ_PATH_LEN, REQ_QUERY_PTR, REQ_QUERY_LEN,
  REQ_HEADERS_PTR, REQ_HEADER_COUNT, REQ_BODY_PTR, REQ_BODY_LEN, REQ_ID,
} from "./abi";
import { percentDecode, bytesInPlace } from "./bytes";
import { utf8 } from "./text/utf8";
import { tableLookup, tableName, tableValue } from "./headers";

/**
 * An HTTP request. Handlers receive one:
 *
 * ```ts
 * function hello(req: Request): Response {
 *   const name = req.query("name");
 *   return Response.text("Hello, " + (name ? name : "world") + "\n");
 * }
 * ```
 */
export class Request {
  private desc: usize;
  private _method: string | null = null;
  private _path: string | null = null;
  private _body: Uint8Array | null = null;
  private paramNames: string[] = [];
  private paramValues: string[] = [];

  /** Wraps the request descriptor at `desc` (the host passes it to `arena_handle`). */
  constructor(desc: usize) {
    this.desc = desc;
  }

  private field(offset: usize): usize {
    return <usize>load<u32>(this.desc + offset);
  }

  /** The method as sent, e.g. "GET". `if (req.method == "POST") …` */
  get method(): string {
    let m = this._method;
    if (m === null) {
      m = utf8(this.field(REQ_METHOD_PTR), this.field(REQ_METHOD_LEN));
      this._method = m;
    }
    return m;
  }

  /** The path, without the query string, as sent (not percent-decoded).
   *  For `GET /a/b?x=1` it is "/a/b". */
  get path(): string {
    let p = this._path;
    if (p === null) {
      p = utf8(this.field(REQ_PATH_PTR), this.field(REQ_PATH_LEN));
      this._path = p;
    }
    return p;
  }

  /** The raw query string after `?`, or "" when there is none. For `/?q=a%20b` it is "q=a%20b". */
  get rawQuery(): string {
    return utf8(this.field(REQ_QUERY_PTR), this.field(REQ_QUERY_LEN));
  }

  /** A per-process request number, the same one the host prints in its log lines. */
  get id(): u32 {
    return load<u32>(this.desc + REQ_ID);
  }

  /**
   * The first query parameter called `name`, percent- and `+`-decoded, or null. The
   * escapes are decoded to bytes and the bytes as UTF-8, ill-formed ones to U+FFFD.
   * For `/search?q=caf%C3%A9+au+lait`, `req.query("q")` is "café au lait".
   */
  query(name: string): string | null {
    let ptr = this.field(REQ_QUERY_PTR);
    let len = this.field(REQ_QUERY_LEN);
    let start: usize = 0;
    while (start <= len) {
      let end = start;
      while (end < len && load<u8>(ptr + end) != 0x26) end++; // '&'
      let eq = start;
      while (eq < end && load<u8>(ptr + eq) != 0x3d) eq++; // '='
      if (end > start) {
        let key = percentDecode(ptr + start, eq - start, true);
        if (key == name) {
          return eq < end ? percentDecode(ptr + eq + 1, end - eq - 1, true) : "";
        }
      }
      start = end + 1;
    }
    return null;
  }

  /** The value of header `name` (case-insensitive) decoded as UTF-8 (ill-formed bytes
   *  become U+FFFD), or null. Repeated fields are joined with ", " as RFC 9110 allows.
   *  `req.header("content-type")` */
  header(name: string): string | null {
    return tableLookup(this.field(REQ_HEADERS_PTR), this.field(REQ_HEADER_COUNT), name);
  }

  /** Number of header fields. `for (let i = 0; i < req.headerCount; i++) …` */
  get headerCount(): i32 {
    return <i32>this.field(REQ_HEADER_COUNT);
  }

  /** Name of header field `i` as sent. `req.headerName(0)` */
  headerName(i: i32): string {
    return tableName(this.field(REQ_HEADERS_PTR), i);
  }

  /** Value of header field `i`. `req.headerValue(0)` */
  headerValue(i: i32): string {
    return tableValue(this.field(REQ_HEADERS_PTR), i);
  }

  /** The body bytes, a view over the arena (no copy); empty when there is no body.
   *  `Response.bytes(req.body)` echoes it. */
  get body(): Uint8Array {
    let b = this._body;
    if (b === null) {
      b = bytesInPlace(this.field(REQ_BODY_PTR), this.field(REQ_BODY_LEN));
      this._body = b;
    }
    return b;
  }

  /** The body decoded as UTF-8 as browsers do (WHATWG): each ill-formed sequence becomes
   *  U+FFFD, so overlong forms and surrogates never turn into ASCII or lone surrogates.
   *  The string is UTF-16, up to twice the body's bytes, in the arena beside the body; the
   *  server's body limit (`--body-bytes`) leaves room for it, so any body the server
   *  accepts decodes. Each call decodes again: keep the result. To read a body without
   *  that copy, use the bytes: `req.body`, `Json.parse(req.body)`, `Html.textJson`.
   *  `req.text()` */
  text(): string {
    return utf8(this.field(REQ_BODY_PTR), this.field(REQ_BODY_LEN));
  }

  /** A path parameter captured by the router, percent-decoded (as `query` is), or null.
   *  With the route "/hello/:name" and the path "/hello/Ada", `req.param("name")` is "Ada". */
  param(name: string): string | null {
    for (let i = 0; i < this.paramNames.length; i++) {
      if (this.paramNames[i] == name) return this.paramValues[i];
    }
    return null;
  }

  /** Used by the router to record a captured parameter. */
  setParam(name: string, value: string): void {
    this.paramNames.push(name);
    this.paramValues.push(value);
  }
}
