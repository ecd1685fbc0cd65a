// Request-smuggling and desync corpus: raw request bytes, each with the exact outcome the
// server must give. Used by tests/http_smuggling.test.ts (over real sockets) and as seeds
// by the mutation fuzzer (tests/fuzz/http_fuzz.ts). Strings are sent as latin1 bytes.
//
// The runner appends FOLLOW (a GET /ident?x=follow with Connection: close) to every case:
//   close: true   the server answers `status` and closes; FOLLOW is never answered
//   close: false  the server answers `status`, then FOLLOW, exactly at its boundary
// and in every case no response may be the one of SMUGGLED (a GET /ident?x=smuggled that
// hides inside a body one interpretation of the framing would see as a new request). The
// testapp's /ident answers "METHOD PATH x=X tag=TAG body=BODY\n" (see ident()), so a
// response for a smuggled request would read "GET /ident x=smuggled ...".
//
// To add a case: append a row. `bodies` pins the exact bodies of the first responses.

import { CHUNK_EXT_BYTES_MAX, CHUNK_LINE_BYTES_MAX, HEADER_BYTES_MAX, TRAILER_BYTES_MAX, URI_BYTES_MAX } from "../host/limits.ts";

export interface SmugglingCase {
  name: string;
  /** Bytes sent as one write; an array is written piece by piece, a few ms apart. */
  send: string | string[];
  /** Statuses of the final (non-1xx) responses to `send`, in order. */
  status: number[];
  /** Whether the server must close the connection after them. */
  close: boolean;
  /** Exact bodies of the first responses, where given (undefined: not checked). */
  bodies?: (string | undefined)[];
  /** Which of the responses answer HEAD (they have no body). */
  headRequests?: boolean[];
  /** A known bug: the case states the wanted outcome and runs as a todo test. */
  todo?: string;
}

/** Body limit the smuggling test server runs with (chunk sizes above it → 413). */
export const SMUGGLING_BODY_MAX = 64 * 1024;
export const SMUGGLED = "GET /ident?x=smuggled HTTP/1.1\r\nHost: t\r\n\r\n";
export const SMUGGLED_MARK = "/ident x=smuggled";
export const FOLLOW = "GET /ident?x=follow HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
export const FOLLOW_BODY = "GET /ident x=follow tag=- body=\n";

const P = "POST /ident HTTP/1.1\r\nHost: t\r\n";
const TE = "Transfer-Encoding: chunked\r\n";
const CHUNKED_ABC = "3\r\nabc\r\n0\r\n\r\n";
const ABC = "POST /ident x=- tag=- body=abc\n";
/** A chunked body whose data is SMUGGLED: a desynced reader would run it. */
const SMUGGLED_CHUNKED = `${SMUGGLED.length.toString(16)}\r\n${SMUGGLED}\r\n0\r\n\r\n`;
/** The first bytes a TLS client sends (a short ClientHello), as latin1: what a client that
 *  thinks the port speaks HTTPS sends. */
export const TLS_CLIENT_HELLO = "\x16\x03\x01\x00\x2f\x01\x00\x00\x2b\x03\x03" + "\x5a".repeat(32) + "\x00\x00\x02\x13\x01\x01\x00\x00\x00";
/** `count` 1-byte chunks ("x") whose extensions, ';' included, are `extBytes` long each. */
const extChunks = (count: number, extBytes: number): string => `1;${"e".repeat(extBytes - 1)}\r\nx\r\n`.repeat(count) + "0\r\n\r\n";

export const SMUGGLING_CORPUS: SmugglingCase[] = [
  // ── CL.TE / TE.CL: both framings present → 400, never a body by either ───────────────
  { name: "CL.TE: hidden request after the chunked terminator", send: `${P}Content-Length: ${5 + SMUGGLED.length}\r\n${TE}\r\n0\r\n\r\n${SMUGGLED}`, status: [400], close: true },
  { name: "TE.CL: hidden request inside the chunk", send: `${P}${TE}Content-Length: 4\r\n\r\n${SMUGGLED_CHUNKED}`, status: [400], close: true },
  { name: "CL.TE with obfuscated TE (xchunked)", send: `${P}Content-Length: 5\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n${SMUGGLED}`, status: [400], close: true },
  { name: "CL.TE with CL 0", send: `${P}Content-Length: 0\r\n${TE}\r\n${SMUGGLED_CHUNKED}`, status: [400], close: true },
  { name: "CL.TE on HTTP/1.0", send: `POST /ident HTTP/1.0\r\nContent-Length: 5\r\n${TE}\r\n0\r\n\r\n${SMUGGLED}`, status: [400], close: true },

  // ── TE.TE obfuscation ───────────────────────────────────────────────────────────────
  { name: "TE: xchunked", send: `${P}Transfer-Encoding: xchunked\r\n\r\n${SMUGGLED_CHUNKED}`, status: [400], close: true },
  { name: "TE: chunked, identity (chunked not last)", send: `${P}Transfer-Encoding: chunked, identity\r\n\r\n${SMUGGLED_CHUNKED}`, status: [400], close: true },
  { name: "TE: identity, chunked (unknown coding)", send: `${P}Transfer-Encoding: identity, chunked\r\n\r\n${SMUGGLED_CHUNKED}`, status: [501], close: true },
  { name: "TE: gzip, chunked (unknown coding)", send: `${P}Transfer-Encoding: gzip, chunked\r\n\r\n${SMUGGLED_CHUNKED}`, status: [501], close: true },
  { name: "TE: chunked, chunked", send: `${P}Transfer-Encoding: chunked, chunked\r\n\r\n${SMUGGLED_CHUNKED}`, status: [400], close: true },
  { name: "TE: chunked;q=1 (parameter)", send: `${P}Transfer-Encoding: chunked;q=1\r\n\r\n${SMUGGLED_CHUNKED}`, status: [400], close: true },
  { name: "TE: \"chunked\" (quoted)", send: `${P}Transfer-Encoding: "chunked"\r\n\r\n${SMUGGLED_CHUNKED}`, status: [400], close: true },
  { name: "TE: chunked, (empty list element)", send: `${P}Transfer-Encoding: chunked,\r\n\r\n${SMUGGLED_CHUNKED}`, status: [400], close: true },
  { name: "TE: empty value", send: `${P}Transfer-Encoding: \r\n\r\n${SMUGGLED_CHUNKED}`, status: [400], close: true },
  { name: "TE: duplicate chunked fields", send: `${P}${TE}${TE}\r\n${SMUGGLED_CHUNKED}`, status: [400], close: true },
  { name: "TE: identity field then chunked field", send: `${P}Transfer-Encoding: identity\r\n${TE}\r\n${SMUGGLED_CHUNKED}`, status: [501], close: true },
  { name: "TE: chunked field then empty field", send: `${P}${TE}Transfer-Encoding: \r\n\r\n${SMUGGLED_CHUNKED}`, status: [400], close: true },
  { name: "TE on HTTP/1.0", send: `POST /ident HTTP/1.0\r\n${TE}\r\n${SMUGGLED_CHUNKED}`, status: [400], close: true },
  { name: "TE: obs-fold value", send: `${P}Transfer-Encoding:\r\n chunked\r\n\r\n${SMUGGLED_CHUNKED}`, status: [400], close: true },
  { name: "TE: space before colon", send: `${P}Transfer-Encoding : chunked\r\n\r\n${SMUGGLED_CHUNKED}`, status: [400], close: true },
  { name: "TE: tab before colon", send: `${P}Transfer-Encoding\t: chunked\r\n\r\n${SMUGGLED_CHUNKED}`, status: [400], close: true },
  { name: "TE: leading space on the field line", send: `${P} Transfer-Encoding: chunked\r\n\r\n${SMUGGLED_CHUNKED}`, status: [400], close: true },
  { name: "TE: folded under another field", send: `${P}X-A: 1\r\n\tTransfer-Encoding: chunked\r\n\r\n${SMUGGLED_CHUNKED}`, status: [400], close: true },
  { name: "TE: vertical tab in value", send: `${P}Transfer-Encoding: chunked\x0b\r\n\r\n${SMUGGLED_CHUNKED}`, status: [400], close: true },
  { name: "TE: NUL in name", send: `${P}Transfer\0Encoding: chunked\r\n\r\n${SMUGGLED_CHUNKED}`, status: [400], close: true },
  { name: "TE: bare CR before the value", send: `${P}Transfer-Encoding:\rchunked\r\n\r\n${SMUGGLED_CHUNKED}`, status: [400], close: true },
  { name: "TE: extra leading spaces (OWS) are fine", send: `${P}Transfer-Encoding:   chunked\r\n\r\n${CHUNKED_ABC}`, status: [200], close: false, bodies: [ABC] },
  { name: "TE: tab as OWS is fine", send: `${P}Transfer-Encoding:\tchunked\r\n\r\n${CHUNKED_ABC}`, status: [200], close: false, bodies: [ABC] },
  { name: "TE: trailing whitespace is fine", send: `${P}Transfer-Encoding: chunked \t\r\n\r\n${CHUNKED_ABC}`, status: [200], close: false, bodies: [ABC] },
  { name: "TE: name and value case-insensitive", send: `${P}Transfer-encoding: CHUNKED\r\n\r\n${CHUNKED_ABC}`, status: [200], close: false, bodies: [ABC] },
  { name: "Transfer_Encoding is just another field (CL frames)", send: `${P}Transfer_Encoding: chunked\r\nContent-Length: ${SMUGGLED_CHUNKED.length}\r\n\r\n${SMUGGLED_CHUNKED}`, status: [200], close: false, bodies: [`POST /ident x=- tag=- body=${SMUGGLED_CHUNKED}\n`] },

  // ── Content-Length ──────────────────────────────────────────────────────────────────
  { name: "CL: +3", send: `${P}Content-Length: +3\r\n\r\nabc`, status: [400], close: true },
  { name: "CL: -3", send: `${P}Content-Length: -3\r\n\r\nabc`, status: [400], close: true },
  { name: "CL: 3 3", send: `${P}Content-Length: 3 3\r\n\r\nabc`, status: [400], close: true },
  { name: "CL: 0x3", send: `${P}Content-Length: 0x3\r\n\r\nabc`, status: [400], close: true },
  { name: "CL: 3,3 (list)", send: `${P}Content-Length: 3,3\r\n\r\nabc`, status: [400], close: true },
  { name: "CL: 3, 3 (list)", send: `${P}Content-Length: 3, 3\r\n\r\nabc`, status: [400], close: true },
  { name: "CL: 3.0", send: `${P}Content-Length: 3.0\r\n\r\nabc`, status: [400], close: true },
  { name: "CL: empty", send: `${P}Content-Length: \r\n\r\nabc`, status: [400], close: true },
  { name: "CL: non-ASCII digit", send: `${P}Content-Length: \xb3\r\n\r\nabc`, status: [400], close: true },
  { name: "CL: differing duplicates, hidden request", send: `${P}Content-Length: 0\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`, status: [400], close: true },
  { name: "CL: identical duplicates are one length", send: `${P}Content-Length: 3\r\ncontent-length: 3\r\n\r\nabc`, status: [200], close: false, bodies: [ABC] },
  { name: "CL: leading zeros", send: `${P}Content-Length: 0003\r\n\r\nabc`, status: [200], close: false, bodies: [ABC] },
  { name: "CL: OWS around the value", send: `${P}Content-Length: \t3 \t\r\n\r\nabc`, status: [200], close: false, bodies: [ABC] },
  { name: "CL: 2^64+3 is over the limit, not 3", send: `${P}Content-Length: 18446744073709551619\r\n\r\nabc`, status: [413], close: true },
  { name: "CL: over the body limit", send: `${P}Content-Length: ${SMUGGLING_BODY_MAX + 1}\r\n\r\n${SMUGGLED}`, status: [413], close: true },
  { name: "CL: a request in the body is body", send: `${P}Content-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`, status: [200], close: false, bodies: [`POST /ident x=- tag=- body=${SMUGGLED}\n`] },
  { name: "CL on GET frames a body too", send: `GET /ident HTTP/1.1\r\nHost: t\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`, status: [200], close: false, bodies: [`GET /ident x=- tag=- body=${SMUGGLED}\n`] },

  // ── Whitespace and line structure ──────────────────────────────────────────────────
  { name: "space before colon (Host)", send: "GET /ident HTTP/1.1\r\nHost : t\r\n\r\n", status: [400], close: true },
  { name: "space before colon (CL)", send: `${P}Content-Length : ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`, status: [400], close: true },
  { name: "obs-fold of a value", send: "GET /ident HTTP/1.1\r\nHost: t\r\nX-Tag: a\r\n b\r\n\r\n", status: [400], close: true },
  { name: "leading whitespace before the request line", send: " GET /ident HTTP/1.1\r\nHost: t\r\n\r\n", status: [400], close: true },
  { name: "two spaces after the method", send: "GET  /ident HTTP/1.1\r\nHost: t\r\n\r\n", status: [400], close: true },
  { name: "tab as request-line separator", send: "GET\t/ident HTTP/1.1\r\nHost: t\r\n\r\n", status: [400], close: true },
  { name: "trailing space after the version", send: "GET /ident HTTP/1.1 \r\nHost: t\r\n\r\n", status: [400], close: true },
  { name: "empty field name", send: "GET /ident HTTP/1.1\r\nHost: t\r\n: x\r\n\r\n", status: [400], close: true },
  { name: "field line without colon", send: "GET /ident HTTP/1.1\r\nHost: t\r\nX-Tag\r\n\r\n", status: [400], close: true },
  { name: "trailing whitespace in a value is trimmed", send: "GET /ident HTTP/1.1\r\nHost: t\r\nX-Tag: a b \t \r\n\r\n", status: [200], close: false, bodies: ["GET /ident x=- tag=a b body=\n"] },
  { name: "empty line before the request line is ignored", send: "\r\nGET /ident HTTP/1.1\r\nHost: t\r\n\r\n", status: [200], close: false, bodies: ["GET /ident x=- tag=- body=\n"] },
  // RFC 9112 §2.2: a server SHOULD ignore at least one empty line before a request line
  // (old clients send CRLF after a POST body), also when it came in the previous read.
  { name: "empty line after a body before a pipelined request is ignored", send: `${P}Content-Length: 3\r\n\r\nabc\r\nGET /ident HTTP/1.1\r\nHost: t\r\n\r\n`, status: [200, 200], close: false, bodies: [ABC, "GET /ident x=- tag=- body=\n"] },
  { name: "empty line after a body, in its own segment, is ignored", send: [`${P}Content-Length: 3\r\n\r\nabc`, "\r\nGET /ident HTTP/1.1\r\nHost: t\r\n\r\n"], status: [200, 200], close: false, bodies: [ABC, "GET /ident x=- tag=- body=\n"] },
  { name: "missing Host", send: "GET /ident HTTP/1.1\r\n\r\n", status: [400], close: true },
  { name: "two Host fields", send: "GET /ident HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", status: [400], close: true },
  // RFC 9112 §3.2: "any request message that contains more than one Host header field"
  // gets 400, whatever its version.
  { name: "two Host fields on HTTP/1.0", send: "GET /ident HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", status: [400], close: true },
  { name: "HTTP/1.0 without Host, closes after", send: "GET /ident HTTP/1.0\r\n\r\n", status: [200], close: true, bodies: ["GET /ident x=- tag=- body=\n"] },
  // RFC 9112 §2.2 again, in the shape of issue 9: 16 KiB of empty lines whose first read
  // ends in a lone CR. The rest arrives in one read larger than the head buffer's room.
  { name: "16 KiB of empty lines split at a CR, then a request", send: ["\r", "\n" + "\r\n".repeat(8191) + "GET /ident HTTP/1.1\r\nHost: t\r\n\r\n"], status: [200], close: false, bodies: ["GET /ident x=- tag=- body=\n"] },

  // ── Host (RFC 9112 §3.2: an invalid Host value is 400) and absolute-form targets ─────
  { name: "Host with a space", send: "GET /ident HTTP/1.1\r\nHost: a b\r\n\r\n", status: [400], close: true },
  { name: "Host with userinfo", send: "GET /ident HTTP/1.1\r\nHost: x@evil.example\r\n\r\n", status: [400], close: true },
  { name: "Host with a path and a hidden request", send: `GET /ident HTTP/1.1\r\nHost: t/ident?x=smuggled\r\n\r\n${SMUGGLED}`, status: [400], close: true },
  { name: "Host with a port that is not digits", send: "GET /ident HTTP/1.1\r\nHost: t:8o\r\n\r\n", status: [400], close: true },
  { name: "Host empty", send: "GET /ident HTTP/1.1\r\nHost: \r\n\r\n", status: [400], close: true },
  { name: "Host invalid on HTTP/1.0 too", send: "GET /ident HTTP/1.0\r\nHost: a b\r\n\r\n", status: [400], close: true },
  { name: "Host with a port is fine", send: "GET /ident HTTP/1.1\r\nHost: t:8080\r\n\r\n", status: [200], close: false, bodies: ["GET /ident x=- tag=- body=\n"] },
  { name: "Host as an IPv6 literal with a port is fine", send: "GET /ident HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", status: [200], close: false, bodies: ["GET /ident x=- tag=- body=\n"] },
  { name: "absolute-form with the ftp scheme", send: "GET ftp://t/ident HTTP/1.1\r\nHost: t\r\n\r\n", status: [400], close: true },
  { name: "absolute-form with the file scheme", send: "GET file:///ident HTTP/1.1\r\nHost: t\r\n\r\n", status: [400], close: true },
  { name: "absolute-form HTTPS, any case, is fine", send: "GET HTTPS://t/ident?x=s HTTP/1.1\r\nHost: t\r\n\r\n", status: [200], close: false, bodies: ["GET /ident x=s tag=- body=\n"] },
  { name: "absolute-form with userinfo", send: "GET http://u@t/ident HTTP/1.1\r\nHost: t\r\n\r\n", status: [400], close: true },
  { name: "absolute-form with an empty host", send: "GET http:///ident HTTP/1.1\r\nHost: t\r\n\r\n", status: [400], close: true },

  // ── Not HTTP/1.x at all: 400 as soon as the request line cannot become valid ─────────
  // (FOLLOW completes a head behind them here; tests/http_server.test.ts checks that they
  // are answered without it, before the header timeout.)
  { name: "HTTP/0.9 request line", send: "GET /ident\r\n", status: [400], close: true },
  { name: "SSH banner", send: "SSH-2.0-OpenSSH_9.6\r\n", status: [400], close: true },
  { name: "TLS ClientHello", send: TLS_CLIENT_HELLO, status: [400], close: true },
  { name: "request line ends inside the version", send: "GET /ident HTTP/1\r\nHost: t\r\n\r\n", status: [400], close: true },
  { name: "HTTP/2 connection preface", send: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", status: [505], close: true },

  // ── Bare CR / bare LF / NUL / control characters ───────────────────────────────────
  { name: "bare LF ends the request line", send: "GET /ident HTTP/1.1\nHost: t\r\n\r\n", status: [400], close: true },
  { name: "bare LF ends a field", send: "GET /ident HTTP/1.1\r\nHost: t\nX-Tag: a\r\n\r\n", status: [400], close: true },
  { name: "bare LF ends the head", send: "GET /ident HTTP/1.1\r\nHost: t\r\n\n", status: [400], close: true },
  { name: "LF-only request", send: "GET /ident HTTP/1.1\nHost: t\n\n", status: [400], close: true },
  { name: "bare LF hides a TE field", send: `${P}X-A: 1\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n${SMUGGLED}`, status: [400], close: true },
  { name: "bare CR in a field value", send: "GET /ident HTTP/1.1\r\nHost: t\r\nX-Tag: a\rb\r\n\r\n", status: [400], close: true },
  { name: "bare CR hides a CL field", send: `${P}X-A: 1\rContent-Length: 0\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`, status: [400], close: true },
  { name: "bare CR in the request line", send: "GET /ident\rHTTP/1.1\r\nHost: t\r\n\r\n", status: [400], close: true },
  { name: "CR CR LF", send: "GET /ident HTTP/1.1\r\r\nHost: t\r\n\r\n", status: [400], close: true },
  { name: "NUL in a field value", send: "GET /ident HTTP/1.1\r\nHost: t\r\nX-Tag: a\0b\r\n\r\n", status: [400], close: true },
  { name: "NUL in the target", send: "GET /ident\0 HTTP/1.1\r\nHost: t\r\n\r\n", status: [400], close: true },
  { name: "NUL in the method", send: "G\0T /ident HTTP/1.1\r\nHost: t\r\n\r\n", status: [400], close: true },
  { name: "DEL in a field value", send: "GET /ident HTTP/1.1\r\nHost: t\r\nX-Tag: a\x7fb\r\n\r\n", status: [400], close: true },
  { name: "NUL in a CL body is data", send: `${P}Content-Length: 3\r\n\r\na\0c`, status: [200], close: false, bodies: ["POST /ident x=- tag=- body=a\0c\n"] },

  // ── Versions and limits ─────────────────────────────────────────────────────────────
  { name: "HTTP/1.2", send: "GET /ident HTTP/1.2\r\nHost: t\r\n\r\n", status: [505], close: true },
  { name: "HTTP/2.0", send: "GET /ident HTTP/2.0\r\nHost: t\r\n\r\n", status: [505], close: true },
  { name: "HTTP/0.9", send: "GET /ident HTTP/0.9\r\nHost: t\r\n\r\n", status: [505], close: true },
  { name: "HTTP/1.10", send: "GET /ident HTTP/1.10\r\nHost: t\r\n\r\n", status: [400], close: true },
  { name: "lower-case version", send: "GET /ident http/1.1\r\nHost: t\r\n\r\n", status: [400], close: true },
  { name: "URI over URI_BYTES_MAX", send: `GET /${"a".repeat(URI_BYTES_MAX)} HTTP/1.1\r\nHost: t\r\n\r\n`, status: [414], close: true },
  { name: "head over HEADER_BYTES_MAX", send: `GET /ident HTTP/1.1\r\nHost: t\r\nX-A: ${"a".repeat(HEADER_BYTES_MAX)}\r\n\r\n`, status: [431], close: true },
  { name: "unknown expectation", send: `${P}Expect: 100-continue-please\r\nContent-Length: 3\r\n\r\nabc`, status: [417], close: true },

  // ── Chunk sizes ─────────────────────────────────────────────────────────────────────
  { name: "chunk size ffffffffffffffffff (overflow)", send: `${P}${TE}\r\nffffffffffffffffff\r\n${SMUGGLED}\r\n0\r\n\r\n`, status: [413], close: true },
  { name: "chunk size 2^64+3 does not wrap to 3", send: `${P}${TE}\r\n10000000000000003\r\nabc\r\n0\r\n\r\n`, status: [413], close: true },
  { name: "chunk size over the body limit", send: `${P}${TE}\r\n${(SMUGGLING_BODY_MAX + 1).toString(16)}\r\nabc\r\n`, status: [413], close: true },
  { name: "chunk size -1", send: `${P}${TE}\r\n-1\r\n${SMUGGLED}\r\n0\r\n\r\n`, status: [400], close: true },
  { name: "chunk size 0x10", send: `${P}${TE}\r\n0x10\r\n${SMUGGLED}\r\n0\r\n\r\n`, status: [400], close: true },
  { name: "chunk size empty", send: `${P}${TE}\r\n\r\n${SMUGGLED}\r\n0\r\n\r\n`, status: [400], close: true },
  { name: "chunk size with leading space", send: `${P}${TE}\r\n 3\r\nabc\r\n0\r\n\r\n`, status: [400], close: true },
  { name: "chunk size with inner space", send: `${P}${TE}\r\n1 0\r\n0123456789abcdef\r\n0\r\n\r\n`, status: [400], close: true },
  { name: "chunk size g", send: `${P}${TE}\r\ng\r\n${SMUGGLED}\r\n0\r\n\r\n`, status: [400], close: true },
  { name: "chunk data longer than its size", send: `${P}${TE}\r\n2\r\nabc\r\n0\r\n\r\n`, status: [400], close: true },
  { name: "chunk data shorter than its size", send: `${P}${TE}\r\n4\r\nabc\r\n0\r\n\r\n${SMUGGLED}`, status: [400], close: true },
  { name: "bare LF after the chunk size", send: `${P}${TE}\r\n3\nabc\r\n0\r\n\r\n`, status: [400], close: true },
  { name: "bare LF after chunk data", send: `${P}${TE}\r\n3\r\nabc\n0\r\n\r\n`, status: [400], close: true },
  { name: "bare LF ends the chunked body", send: `${P}${TE}\r\n3\r\nabc\r\n0\r\n\n${SMUGGLED}`, status: [400], close: true },
  { name: "bare CR ends the last chunk line", send: `${P}${TE}\r\n3\r\nabc\r\n0\r\r\n${SMUGGLED}`, status: [400], close: true },
  { name: "chunk size: upper-case hex and leading zeros", send: `${P}${TE}\r\n000A\r\n0123456789\r\n00\r\n\r\n`, status: [200], close: false, bodies: ["POST /ident x=- tag=- body=0123456789\n"] },
  // RFC 9112 §7.1.1 allows BWS before ';'. llhttp (node:http) rejects it: see the allowlist.
  { name: "chunk size 1 ;ext (BWS before ';')", send: `${P}${TE}\r\n3 ;ext\r\nabc\r\n0\r\n\r\n`, status: [200], close: false, bodies: [ABC] },
  // Not in the RFC grammar (BWS only before ';'), accepted by Arena: the size is unambiguous.
  { name: "chunk size followed by whitespace only", send: `${P}${TE}\r\n3 \t\r\nabc\r\n0\r\n\r\n`, status: [200], close: false, bodies: [ABC] },

  // ── Chunk extensions ────────────────────────────────────────────────────────────────
  { name: "chunk extensions, quoted values", send: `${P}${TE}\r\n3;a=b;c="d e";f\r\nabc\r\n0;last\r\n\r\n`, status: [200], close: false, bodies: [ABC] },
  { name: "chunk extension of CHUNK_LINE_BYTES_MAX bytes", send: `${P}${TE}\r\n3;${"e".repeat(CHUNK_LINE_BYTES_MAX)}\r\nabc\r\n0\r\n\r\n`, status: [200], close: false, bodies: [ABC] },
  { name: "chunk extension over CHUNK_LINE_BYTES_MAX", send: `${P}${TE}\r\n3;${"e".repeat(CHUNK_LINE_BYTES_MAX + 1)}\r\nabc\r\n0\r\n\r\n`, status: [400], close: true },
  { name: "huge chunk extension (64 KiB)", send: `${P}${TE}\r\n3;${"e".repeat(64 * 1024)}\r\nabc\r\n0\r\n\r\n${SMUGGLED}`, status: [400], close: true },
  { name: "bare LF inside a chunk extension", send: `${P}${TE}\r\n3;a\nabc\r\n0\r\n\r\n`, status: [400], close: true },
  { name: "bare CR inside a chunk extension", send: `${P}${TE}\r\n3;a\rb\r\nabc\r\n0\r\n\r\n`, status: [400], close: true },
  { name: "NUL inside a chunk extension", send: `${P}${TE}\r\n3;a\0\r\nabc\r\n0\r\n\r\n`, status: [400], close: true },
  // Issue 9: extensions are bounded per body, not only per line (1-byte chunks with 4 KiB
  // of extension each streamed gigabytes); so are leading zeros and tiny chunks.
  { name: "chunk extensions of CHUNK_EXT_BYTES_MAX in one body", send: `${P}${TE}\r\n${extChunks(CHUNK_EXT_BYTES_MAX / 1024, 1024)}`, status: [200], close: false, bodies: [`POST /ident x=- tag=- body=${"x".repeat(CHUNK_EXT_BYTES_MAX / 1024)}\n`] },
  { name: "chunk extensions over CHUNK_EXT_BYTES_MAX in one body, each line under CHUNK_LINE_BYTES_MAX", send: `${P}${TE}\r\n${extChunks(CHUNK_EXT_BYTES_MAX / 1024 + 1, 1024)}${SMUGGLED}`, status: [413], close: true },
  { name: "1-byte chunks with CHUNK_LINE_BYTES_MAX of extension each", send: `${P}${TE}\r\n${extChunks(64, CHUNK_LINE_BYTES_MAX)}`, status: [413], close: true },
  { name: "whitespace after a chunk size counts as extension", send: `${P}${TE}\r\n3${" ".repeat(CHUNK_EXT_BYTES_MAX + 1)}\r\nabc\r\n0\r\n\r\n`, status: [413], close: true },
  { name: "chunk size after 70,000 leading zeros", send: `${P}${TE}\r\n${"0".repeat(70_000)}3\r\nabc\r\n0\r\n\r\n`, status: [413], close: true },
  { name: "1-byte chunks whose framing outgrows the body limit", send: `${P}${TE}\r\n${"1\r\nx\r\n".repeat(Math.floor(SMUGGLING_BODY_MAX / 5) + 1)}0\r\n\r\n`, status: [413], close: true },
  { name: "1,000 1-byte chunks are fine", send: `${P}${TE}\r\n${"1\r\nx\r\n".repeat(1000)}0\r\n\r\n`, status: [200], close: false, bodies: [`POST /ident x=- tag=- body=${"x".repeat(1000)}\n`] },

  // ── Trailers ────────────────────────────────────────────────────────────────────────
  { name: "valid trailer fields", send: `${P}${TE}\r\n${"3\r\nabc\r\n"}0\r\nX-T: 1\r\nX-U: 2\r\n\r\n`, status: [200], close: false, bodies: [ABC] },
  // Trailers are read and discarded (never merged into the head), so framing fields in
  // them cannot change anything: the next request starts right after the final CRLF.
  { name: "forbidden trailer fields are discarded", send: `${P}${TE}\r\n3\r\nabc\r\n0\r\nContent-Length: ${SMUGGLED.length}\r\nTransfer-Encoding: chunked\r\nHost: evil\r\n\r\n`, status: [200], close: false, bodies: [ABC] },
  { name: "trailer with obs-fold", send: `${P}${TE}\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n folded\r\n\r\n`, status: [400], close: true },
  { name: "trailer with bare LF", send: `${P}${TE}\r\n3\r\nabc\r\n0\r\nX-T: 1\n\r\n${SMUGGLED}`, status: [400], close: true },
  { name: "trailer with NUL", send: `${P}${TE}\r\n3\r\nabc\r\n0\r\nX-T: \0\r\n\r\n`, status: [400], close: true },
  { name: "trailer section over TRAILER_BYTES_MAX", send: `${P}${TE}\r\n3\r\nabc\r\n0\r\nX-T: ${"t".repeat(TRAILER_BYTES_MAX)}\r\n\r\n`, status: [400], close: true },

  // ── Pipelining after bodies ─────────────────────────────────────────────────────────
  { name: "pipelined after a CL body", send: `${P}Content-Length: 3\r\n\r\nabcGET /ident?x=2 HTTP/1.1\r\nHost: t\r\n\r\n`, status: [200, 200], close: false, bodies: [ABC, "GET /ident x=2 tag=- body=\n"] },
  { name: "pipelined after a chunked body", send: `${P}${TE}\r\n${CHUNKED_ABC}GET /ident?x=2 HTTP/1.1\r\nHost: t\r\n\r\n`, status: [200, 200], close: false, bodies: [ABC, "GET /ident x=2 tag=- body=\n"] },
  { name: "a request as chunk data stays data", send: `${P}${TE}\r\n${SMUGGLED_CHUNKED}`, status: [200], close: false, bodies: [`POST /ident x=- tag=- body=${SMUGGLED}\n`] },
  { name: "pipelined after 100-continue", send: `${P}Expect: 100-continue\r\nContent-Length: 3\r\n\r\nabcGET /ident?x=2 HTTP/1.1\r\nHost: t\r\n\r\n`, status: [200, 200], close: false, bodies: [ABC, "GET /ident x=2 tag=- body=\n"] },
  { name: "pipelined after HEAD", send: "HEAD /ident HTTP/1.1\r\nHost: t\r\n\r\nGET /ident?x=2 HTTP/1.1\r\nHost: t\r\n\r\n", status: [200, 200], close: false, bodies: [undefined, "GET /ident x=2 tag=- body=\n"], headRequests: [true] },
  { name: "pipelined after an error is never read", send: `${P}Content-Length: 1x\r\n\r\n${SMUGGLED}${SMUGGLED}`, status: [400], close: true },
  { name: "three bodies in pieces", send: [`${P}Content-Length: 3\r\n\r\na`, `bc${P}${TE}\r\n3\r`, `\nabc\r\n0\r\n\r\n${P}Content-Length: 3\r\n\r\nab`, "c"], status: [200, 200, 200], close: false, bodies: [ABC, ABC, ABC] },
];

/** A request that exercises every part of the framing; split at every byte in the test. */
export const SPLIT_REQUEST = `${P}X-Tag: s\r\n${TE}\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n` +
  `${P}Content-Length: 2\r\n\r\nfgGET /ident?x=3 HTTP/1.1\r\nHost: t\r\n\r\n`;
export const SPLIT_BODIES = ["POST /ident x=- tag=s body=abcde\n", "POST /ident x=- tag=- body=fg\n", "GET /ident x=3 tag=- body=\n"];
