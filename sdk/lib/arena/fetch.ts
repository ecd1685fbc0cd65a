// The HTTP client effect. `fetch` looks synchronous to the handler: under the hood the
// request's wasm stack is suspended (JSPI) while the host talks to the upstream, other
// requests run, and the call returns when the response is complete in this request's
// arena. Failures come back as values (`res.error`), never as traps.

import {
  FETCH_DESC_BYTES, FETCH_METHOD_PTR, FETCH_METHOD_LEN, FETCH_URL_PTR, FETCH_URL_LEN, FETCH_HEADERS_PTR,
  FETCH_HEADERS_LEN, FETCH_BODY_PTR, FETCH_BODY_LEN, FETCH_TIMEOUT_MS, FETCH_MAX_BYTES, FETCH_RES_STATUS,
  FETCH_RES_HEADERS_PTR, FETCH_RES_HEADER_COUNT, FETCH_RES_BODY_PTR, FETCH_RES_BODY_LEN, FETCH_RES_ERROR_PTR,
  FETCH_RES_ERROR_LEN, EFFECT_UNAVAILABLE,
} from "./abi";
import { mayWait } from "./wait";
import { ByteWriter, bytesInPlace } from "./bytes";
import { utf8 } from "./text/utf8";
import { tableLookup, tableName, tableValue } from "./headers";

// @ts-ignore: decorator
@external("arena", "fetch")
declare function hostFetch(desc: usize): i32;

/** Why a fetch failed. `FetchError.None` when a response (of any status) arrived. */
export enum FetchError {
  /** A response arrived, of any status: look at `res.status`. */
  None = 0,
  /** The URL is not `http[s]://host[:port]/…` (another scheme, spaces, bad port…). */
  BadUrl = 1,
  /** The host name does not resolve. */
  Dns = 2,
  /** Nothing listens at the address (connection refused). */
  Refused = 3,
  /** No complete response within the timeout (or no connection within the connect timeout). */
  Timeout = 4,
  /** The upstream closed or reset the connection before the response was complete. */
  Reset = 5,
  /** The response is larger than the fetch's limit or than what is free in the arena. */
  TooLarge = 6,
  /** The upstream's answer is not valid HTTP/1.1. */
  Protocol = 7,
  /** The client of this request went away, or the request passed its deadline (the
   *  client got 504 already); the app should just return. */
  Cancelled = 8,
  /** fetch was called where it cannot wait (in start-up code, outside a request), or the
   *  host's connection pools are all busy (FETCH_ORIGINS_MAX distinct upstreams at once). */
  Unavailable = 9,
  /** Another network error (unreachable host, …). */
  Network = 10,
  /** A bad method or header in the request (e.g. setting Host or Content-Length). */
  BadArgument = 11,
  /** The TLS handshake with an https:// upstream failed: a certificate signed by an
   *  unknown authority, one not valid for the host, an expired one (the message says). */
  Tls = 12,
}

/** The name of a FetchError, for messages. `fetchErrorName(FetchError.Timeout)` is "Timeout". */
export function fetchErrorName(e: FetchError): string {
  switch (e) {
    case FetchError.None: return "None";
    case FetchError.BadUrl: return "BadUrl";
    case FetchError.Dns: return "Dns";
    case FetchError.Refused: return "Refused";
    case FetchError.Timeout: return "Timeout";
    case FetchError.Reset: return "Reset";
    case FetchError.TooLarge: return "TooLarge";
    case FetchError.Protocol: return "Protocol";
    case FetchError.Cancelled: return "Cancelled";
    case FetchError.Unavailable: return "Unavailable";
    case FetchError.Network: return "Network";
    case FetchError.Tls: return "Tls";
    default: return "BadArgument";
  }
}

/**
 * What to send. Chain the setters:
 *
 * ```ts
 * const res = fetch("http://127.0.0.1:4000/items", new FetchOptions()
 *   .post(body, "application/json")
 *   .header("Authorization", "Bearer " + token)
 *   .timeout(2000));
 * ```
 */
export class FetchOptions {
  /** The method, "GET" unless `withMethod` or `post` set another. `opts.method = "PUT"` */
  method: string = "GET";
  /** The request body, or null for none. `opts.body = req.body` */
  body: Uint8Array | null = null;
  /** Whole-exchange timeout in ms; 0 uses the server's default (10 s). `opts.timeoutMs = 2000` */
  timeoutMs: i32 = 0;
  /** Largest response body in bytes; 0 uses the server's default. Always capped by
   *  what is free in the request's arena. `opts.maxBytes = 64 << 10` */
  maxBytes: i32 = 0;
  /** The header lines `header` wrote, as bytes for the host. */
  // @ts-ignore: decorator
  @unsafe headerLines: ByteWriter | null = null;

  /** Adds a request header. Host, Content-Length, Connection and Transfer-Encoding are
   *  the client's own and are refused (FetchError.BadArgument).
   *  `new FetchOptions().header("Accept", "application/json")` */
  header(name: string, value: string): FetchOptions {
    let h = this.headerLines;
    if (h === null) {
      // Made where the options live: a Scratch entered later would take it away.
      let saved = __arena_owner_enter(changetype<usize>(this));
      h = new ByteWriter(128);
      __arena_switch(saved);
      this.headerLines = h;
    }
    h.str(name).str(": ").str(value).str("\r\n");
    return this;
  }

  /** Sets the method. `new FetchOptions().withMethod("DELETE")` */
  withMethod(method: string): FetchOptions {
    this.method = method;
    return this;
  }

  /** POSTs `body` with the given content type. `new FetchOptions().post(req.body, "application/json")` */
  post(body: Uint8Array, contentType: string): FetchOptions {
    this.method = "POST";
    this.body = body;
    return this.header("Content-Type", contentType);
  }

  /** Sets the timeout in ms. `new FetchOptions().timeout(2000)` */
  timeout(ms: i32): FetchOptions {
    this.timeoutMs = ms;
    return this;
  }

  /** Sets the largest response body accepted, in bytes. `new FetchOptions().limit(1 << 20)` */
  limit(bytes: i32): FetchOptions {
    this.maxBytes = bytes;
    return this;
  }
}

/**
 * A fetch's outcome: either a response (`error == FetchError.None`, any status) or an
 * error with a message. The status, headers and body are in this request's arena.
 *
 * ```ts
 * const res = fetch("http://127.0.0.1:4000/items");
 * if (res.error != FetchError.None) return Response.text("upstream: " + res.errorMessage, 502);
 * if (res.status != 200) return Response.text("upstream said " + res.status.toString(), 502);
 * const doc = Json.parse(res.body);
 * ```
 */
export class FetchResponse {
  /** Why the fetch failed, or `FetchError.None` when a response arrived.
   *  `if (res.error == FetchError.Timeout) …` */
  readonly error: FetchError;
  private desc: usize;
  private _body: Uint8Array | null = null;

  /** Made by `fetch` over the descriptor the host filled in. */
  // @ts-ignore: decorator
  @unsafe constructor(desc: usize, error: FetchError) {
    this.desc = desc;
    this.error = error;
  }

  /** The HTTP status, or 0 when the fetch failed. `if (res.status == 404) …` */
  get status(): i32 {
    return this.error == FetchError.None ? <i32>load<u32>(this.desc + FETCH_RES_STATUS) : 0;
  }

  /** True for a response with a 2xx status (like the web's `Response.ok`). */
  get ok(): bool {
    let s = this.status;
    return s >= 200 && s < 300;
  }

  /** What went wrong, in one sentence ("" when nothing did). `log.warn("upstream: " + res.errorMessage)` */
  get errorMessage(): string {
    if (this.error == FetchError.None) return "";
    let len = <usize>load<u32>(this.desc + FETCH_RES_ERROR_LEN);
    if (len == 0) return fetchErrorName(this.error);
    return utf8(<usize>load<u32>(this.desc + FETCH_RES_ERROR_PTR), len);
  }

  /** A response header (case-insensitive), or null. `res.header("content-type")` */
  header(name: string): string | null {
    if (this.error != FetchError.None) return null;
    return tableLookup(<usize>load<u32>(this.desc + FETCH_RES_HEADERS_PTR), <usize>load<u32>(this.desc + FETCH_RES_HEADER_COUNT), name);
  }

  /** Number of response header fields. `for (let i = 0; i < res.headerCount; i++) …` */
  get headerCount(): i32 {
    return this.error == FetchError.None ? <i32>load<u32>(this.desc + FETCH_RES_HEADER_COUNT) : 0;
  }

  /** Name of response header field `i`, as sent. `res.headerName(0)` */
  headerName(i: i32): string {
    return tableName(<usize>load<u32>(this.desc + FETCH_RES_HEADERS_PTR), i);
  }

  /** Value of response header field `i`. `res.headerValue(0)` */
  headerValue(i: i32): string {
    return tableValue(<usize>load<u32>(this.desc + FETCH_RES_HEADERS_PTR), i);
  }

  /** The body, a view over the arena (no copy); empty when the fetch failed. `Json.parse(res.body)` */
  get body(): Uint8Array {
    let b = this._body;
    if (b !== null) return b;
    let len = this.error == FetchError.None ? <usize>load<u32>(this.desc + FETCH_RES_BODY_LEN) : 0;
    // Made where the response lives: a Scratch entered later would take it away.
    let saved = __arena_owner_enter(changetype<usize>(this));
    let view = len > 0 ? bytesInPlace(<usize>load<u32>(this.desc + FETCH_RES_BODY_PTR), len) : new Uint8Array(0);
    __arena_switch(saved);
    this._body = view;
    return view;
  }

  /** The body decoded as UTF-8 (ill-formed sequences become U+FFFD, see `utf8`).
   *  `const html = res.text();` */
  text(): string {
    let b = this.body;
    return utf8(b.dataStart, <usize>b.length);
  }
}

/**
 * Fetches `url` (http:// or https://) and returns when the response is complete. The
 * request is suspended meanwhile; other requests run. Never traps on network trouble:
 * check `error`. An https upstream's certificate is checked against Node's and the
 * system's authorities (and `--fetch-ca`'s); a failed check is `FetchError.Tls`.
 *
 * ```ts
 * const res = fetch("https://api.example.com/products?limit=20");
 * if (!res.ok) return Response.text("upstream failed: " + res.errorMessage, 502);
 * ```
 */
export function fetch(url: string, options: FetchOptions | null = null): FetchResponse {
  let desc = fetchDescriptor(url, options);
  // Other requests run while this one waits and each enters its own arena; re-enter ours
  // before anything is allocated (runtime/arena.ts, __arena_current).
  if (!mayWait()) return new FetchResponse(desc, <FetchError>EFFECT_UNAVAILABLE);
  let region = __arena_current();
  let status = hostFetch(desc);
  __arena_switch(region);
  return new FetchResponse(desc, <FetchError>status);
}

/** The fetch descriptor (docs/abi.md) for `url` and `options`, in the arena; for fetch
 *  and fetchAll. */
export function fetchDescriptor(url: string, options: FetchOptions | null): usize {
  let opts = options !== null ? options : new FetchOptions();
  let desc = __alloc(FETCH_DESC_BYTES);
  memory.fill(desc, 0, FETCH_DESC_BYTES);
  let method = String.UTF8.encode(opts.method);
  let target = String.UTF8.encode(url);
  store<u32>(desc + FETCH_METHOD_PTR, <u32>changetype<usize>(method));
  store<u32>(desc + FETCH_METHOD_LEN, <u32>method.byteLength);
  store<u32>(desc + FETCH_URL_PTR, <u32>changetype<usize>(target));
  store<u32>(desc + FETCH_URL_LEN, <u32>target.byteLength);
  let h = opts.headerLines;
  if (h !== null) {
    store<u32>(desc + FETCH_HEADERS_PTR, <u32>h.dataStart);
    store<u32>(desc + FETCH_HEADERS_LEN, <u32>h.length);
  }
  let body = opts.body;
  if (body !== null) {
    store<u32>(desc + FETCH_BODY_PTR, <u32>body.dataStart);
    store<u32>(desc + FETCH_BODY_LEN, <u32>body.length);
  }
  store<u32>(desc + FETCH_TIMEOUT_MS, <u32>max(opts.timeoutMs, 0));
  store<u32>(desc + FETCH_MAX_BYTES, <u32>max(opts.maxBytes, 0));
  return desc;
}
