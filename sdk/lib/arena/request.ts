// The incoming request, read straight from the descriptor the host wrote into this
// request's arena (docs/abi.md). Nothing is copied until a getter asks for a string, and
// every string it makes lives in the arena and is gone when the response is written.

import {
  REQ_METHOD_PTR, REQ_METHOD_LEN, REQ_PATH_PTR, REQ_PATH_LEN, REQ_QUERY_PTR, REQ_QUERY_LEN,
  REQ_HEADERS_PTR, REQ_HEADER_COUNT, REQ_BODY_PTR, REQ_BODY_LEN, REQ_ID, REQ_REMOTE_ADDR_PTR, REQ_REMOTE_ADDR_LEN,
} from "./abi";
import { bytesInPlace } from "./bytes";
import { utf8 } from "./text/utf8";
import { tableLookup, tableName, tableValue } from "./headers";
import { isUrlencoded, urlencodedFind } from "./form";
import { requestCookie, verifyCookie } from "./cookies";

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
  // @ts-ignore: decorator
  @unsafe constructor(desc: usize) {
    this.desc = desc;
  }

  private field(offset: usize): usize {
    return <usize>load<u32>(this.desc + offset);
  }

  /** The method as sent, e.g. "GET". `if (req.method == "POST") …` */
  get method(): string {
    let m = this._method;
    if (m === null) {
      // Made where the request lives: a Scratch current now is disposed before the request
      // ends, and the cache would dangle (the same for path and body below).
      let saved = __arena_owner_enter(changetype<usize>(this));
      m = utf8(this.field(REQ_METHOD_PTR), this.field(REQ_METHOD_LEN));
      __arena_switch(saved);
      this._method = m;
    }
    return m;
  }

  /** The path, without the query string, as sent (not percent-decoded).
   *  For `GET /a/b?x=1`, `req.path` is "/a/b". */
  get path(): string {
    let p = this._path;
    if (p === null) {
      let saved = __arena_owner_enter(changetype<usize>(this));
      p = utf8(this.field(REQ_PATH_PTR), this.field(REQ_PATH_LEN));
      __arena_switch(saved);
      this._path = p;
    }
    return p;
  }

  /** The raw query string after `?`, or "" when there is none. For `/?q=a%20b`,
   *  `req.rawQuery` is "q=a%20b". */
  get rawQuery(): string {
    return utf8(this.field(REQ_QUERY_PTR), this.field(REQ_QUERY_LEN));
  }

  /** A per-process request number, the same one the host prints in its log lines.
   *  `log.info("request " + req.id.toString())` */
  get id(): u32 {
    return load<u32>(this.desc + REQ_ID);
  }

  /** The client's address, as the connection's socket has it: "127.0.0.1", "::1" (an
   *  IPv4-mapped IPv6 address in its IPv4 form); "" when there is none. Behind a proxy this
   *  is the proxy's; read its X-Forwarded-For only if you trust it. `log.info("from " + req.ip)` */
  get ip(): string {
    return utf8(this.field(REQ_REMOTE_ADDR_PTR), this.field(REQ_REMOTE_ADDR_LEN));
  }

  /**
   * The first query parameter called `name`, percent- and `+`-decoded, or null. The
   * escapes are decoded to bytes and the bytes as UTF-8, ill-formed ones to U+FFFD.
   * For `/search?q=caf%C3%A9+au+lait`, `req.query("q")` is "café au lait".
   */
  query(name: string): string | null {
    return urlencodedFind(this.field(REQ_QUERY_PTR), this.field(REQ_QUERY_LEN), name, null);
  }

  /** Every query parameter called `name`, in order, decoded as `query` does; empty when
   *  there is none. For `/?tag=a&tag=b+c`, `req.queryAll("tag")` is ["a", "b c"]. */
  queryAll(name: string): string[] {
    let all: string[] = [];
    urlencodedFind(this.field(REQ_QUERY_PTR), this.field(REQ_QUERY_LEN), name, all);
    return all;
  }

  /** The first field called `name` of an `application/x-www-form-urlencoded` body (an HTML
   *  form's POST), decoded as `query` does (`+` and `%20` are spaces); null when there is
   *  none or the body is not of that type. `const email = req.form("email");` */
  form(name: string): string | null {
    if (!isUrlencoded(this.header("content-type"))) return null;
    return urlencodedFind(this.field(REQ_BODY_PTR), this.field(REQ_BODY_LEN), name, null);
  }

  /** Every field called `name` of an urlencoded body, in order (checkboxes of one name);
   *  empty when none or the body is not urlencoded. `for (let i = 0; i < tags.length; i++) …`
   *  with `const tags = req.formAll("tag")`. */
  formAll(name: string): string[] {
    let all: string[] = [];
    if (isUrlencoded(this.header("content-type"))) {
      urlencodedFind(this.field(REQ_BODY_PTR), this.field(REQ_BODY_LEN), name, all);
    }
    return all;
  }

  /** The value of cookie `name` from the Cookie header (RFC 6265: `a=1; b="2"`, quotes
   *  taken off), as sent (not percent-decoded: `decodeURIComponent` it if you encoded it),
   *  or null. `const theme = req.cookie("theme");` */
  cookie(name: string): string | null {
    return requestCookie(this.field(REQ_HEADERS_PTR), this.field(REQ_HEADER_COUNT), name);
  }

  /** The value of a cookie set with `res.signedCookie(name, value, secret)`, when its
   *  HMAC-SHA256 signature checks out under `secret`; null when it is missing or was changed.
   *  `const user = req.signedCookie("user", env("COOKIE_SECRET")!);` */
  signedCookie(name: string, secret: string): string | null {
    let raw = this.cookie(name);
    return raw === null ? null : verifyCookie(name, raw, secret);
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
      let saved = __arena_owner_enter(changetype<usize>(this));
      b = bytesInPlace(this.field(REQ_BODY_PTR), this.field(REQ_BODY_LEN));
      __arena_switch(saved);
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
  // @ts-ignore: decorator
  @unsafe setParam(name: string, value: string): void {
    this.paramNames.push(name);
    this.paramValues.push(value);
  }
}
