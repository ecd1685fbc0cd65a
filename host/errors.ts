// The error-code registry. Every error the platform reports — in an HTTP error body, a log
// line or a CLI message — carries one of these codes. docs/errors.md has the same table;
// tests/errors_doc.test.ts fails when the two drift apart.

export interface ErrorDef {
  /** HTTP status sent for this error, or 0 for start-up / CLI errors. */
  status: number;
  /** One sentence: what happened, from the user's point of view. */
  message: string;
}

export const ERRORS = {
  // Request errors: the app was called (or was about to be) and this request failed alone.
  ARENA_E_MEMORY: { status: 500, message: "The request allocated past its arena, or a long-lived object could not grow because the heap region is full." },
  ARENA_E_TRAP: { status: 500, message: "The app trapped or aborted while handling the request." },
  ARENA_E_CPU: { status: 500, message: "The request used more CPU time than its budget (an endless loop?) and was stopped." },
  ARENA_E_CHECK: { status: 500, message: "The request broke a rule of the regions: it stored a request object into a long-lived object or a module-level global (check build), freed a heap value twice, or asked Heap.keep to copy what it cannot." },
  ARENA_E_RESPONSE: { status: 500, message: "The app returned a response the host cannot send (bad pointer, length, status or header)." },
  ARENA_E_DEADLINE: { status: 504, message: "The request took longer than its wall-clock deadline (--deadline-ms) and was stopped." },
  ARENA_E_CONNECTIONS: { status: 503, message: "The server has as many open connections as it allows (--connections); retry later." },
  ARENA_E_OVERLOAD: { status: 503, message: "Every slot is busy and the wait queue is full; retry after the Retry-After delay." },
  ARENA_E_STREAMS: { status: 503, message: "As many responses are streaming as the server allows (STREAM_SLOTS_SHARE of the slots); retry later." },

  // HTTP protocol errors: the request never reached the app.
  ARENA_E_HTTP_MALFORMED: { status: 400, message: "The request is not valid HTTP/1.1." },
  ARENA_E_HTTP_FRAMING: { status: 400, message: "The request's body length is ambiguous (request smuggling defence, RFC 9112 §6)." },
  ARENA_E_HTTP_URI_TOO_LONG: { status: 414, message: "The request target is longer than URI_BYTES_MAX." },
  ARENA_E_HTTP_HEADERS_TOO_LARGE: { status: 431, message: "The header section is larger than HEADER_BYTES_MAX or has more than HEADER_COUNT_MAX fields." },
  ARENA_E_HTTP_BODY_TOO_LARGE: { status: 413, message: "The request body is larger than the body limit." },
  ARENA_E_HTTP_TIMEOUT: { status: 408, message: "The request head or body did not arrive in time." },
  ARENA_E_HTTP_CODING: { status: 501, message: "The request uses a transfer coding other than chunked." },
  ARENA_E_HTTP_VERSION: { status: 505, message: "Only HTTP/1.0 and HTTP/1.1 are supported." },
  ARENA_E_HTTP_EXPECT: { status: 417, message: "The request has an Expect header other than 100-continue." },
  ARENA_E_STATIC_METHOD: { status: 405, message: "The path names a static file (--static), which answers GET and HEAD only." },

  // Start-up and CLI errors: printed as one line, exit code 1.
  ARENA_E_CONFIG: { status: 0, message: "The configuration is impossible (memory layout, port, flag value)." },
  ARENA_E_WASM: { status: 0, message: "The app file is not a usable Arena wasm module." },
  ARENA_E_LISTEN: { status: 0, message: "The server could not listen on the address (port in use, no permission)." },
  ARENA_E_BUILD: { status: 0, message: "The app did not compile." },
  ARENA_E_USAGE: { status: 0, message: "The command line is wrong." },
  ARENA_E_SETUP: { status: 0, message: "Arena's own installation is incomplete (its dependencies or its pinned Node are missing)." },

  // Operations: logged while the server runs; it goes on serving.
  ARENA_E_RELOAD: { status: 0, message: "A reload was refused or its new build failed to load; the build that was serving goes on serving." },
  ARENA_E_WORKER: { status: 0, message: "A worker thread stopped unexpectedly; it is replaced and the other workers go on serving." },
} as const satisfies Record<string, ErrorDef>;

export type ErrorCode = keyof typeof ERRORS;

/** An error the CLI and start-up print as one readable line, `code: detail`, without a
 *  stack trace; `hint` says what to do about it. */
export class ArenaError extends Error {
  readonly code: ErrorCode;
  readonly hint: string;
  constructor(code: ErrorCode, detail: string, hint = "") {
    super(detail);
    this.code = code;
    this.hint = hint;
  }
  /** The one line the CLI prints. */
  line(): string {
    return `arena: ${this.code}: ${this.message}${this.hint ? ` (${this.hint})` : ""}`;
  }
}

const REASONS: Record<number, string> = {
  100: "Continue", 200: "OK", 201: "Created", 202: "Accepted", 204: "No Content",
  301: "Moved Permanently", 302: "Found", 303: "See Other", 304: "Not Modified",
  307: "Temporary Redirect", 308: "Permanent Redirect", 400: "Bad Request",
  401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
  408: "Request Timeout", 409: "Conflict", 410: "Gone", 411: "Length Required",
  413: "Content Too Large", 414: "URI Too Long", 415: "Unsupported Media Type",
  417: "Expectation Failed", 422: "Unprocessable Content", 429: "Too Many Requests",
  431: "Request Header Fields Too Large", 500: "Internal Server Error",
  501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
  504: "Gateway Timeout", 505: "HTTP Version Not Supported",
};

/** The reason phrase for a status; an unknown status gets an empty phrase (RFC 9112 allows it). */
export function reasonPhrase(status: number): string {
  return REASONS[status] ?? "";
}

/** The JSON body of an error response: `{"statusCode","code","error","message"}`, the shape
 *  Fastify uses, so clients can match on `code`. */
export function errorBody(code: ErrorCode, detail: string): string {
  const status = ERRORS[code].status;
  return JSON.stringify({ statusCode: status, code, error: reasonPhrase(status), message: detail }) + "\n";
}
