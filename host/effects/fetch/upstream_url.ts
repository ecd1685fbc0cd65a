// Parses the URL an app passes to fetch, from its bytes in the arena. Only what the HTTP
// client can honour is accepted: `http[s]://host[:port][/path][?query]`, where host is a
// name, an IPv4 address or a bracketed IPv6 address. Anything else (another scheme, user
// info, spaces, control bytes, a port out of range) is FetchError.BadUrl with a message
// saying which part is wrong, before any connection is made.

import { URI_BYTES_MAX } from "../../limits.ts";

/** reg-name / IPv4 characters (RFC 3986 unreserved + sub-delims + '%'), lower-cased later. */
const HOST_CHAR = new Uint8Array(256);
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=%") HOST_CHAR[c.charCodeAt(0)] = 1;

export class UpstreamUrl {
  /** Host for the socket: a name, an IPv4 address, or an IPv6 address without brackets. */
  host = "";
  port = 80;
  /** https: the connection is TLS (host/effects/fetch/tls.ts). */
  tls = false;
  /** host:port (http) or https://host:port, the key of the connection pool. */
  origin = "";
  /** The authority as it goes into the Host header (brackets kept, default port dropped). */
  authority = "";
  /** Where path-and-query starts and ends in the parsed bytes ("/" when empty). */
  targetStart = 0;
  targetEnd = 0;
  /** Why parsing failed. */
  error = "";
}

const latin1 = new TextDecoder("latin1");

/** Parses u8[ptr, ptr + len) into `out`; false with `out.error` set when it is not usable. */
export function parseUpstreamUrl(u8: Uint8Array, ptr: number, len: number, out: UpstreamUrl): boolean {
  out.error = "";
  if (len === 0) return fail(out, "the URL is empty");
  if (len > URI_BYTES_MAX) return fail(out, `the URL is longer than URI_BYTES_MAX (${URI_BYTES_MAX} bytes)`);
  const end = ptr + len;
  for (let i = ptr; i < end; i++) {
    const c = u8[i];
    if (c <= 0x20 || c >= 0x7f) return fail(out, `the URL has a space, control or non-ASCII byte at offset ${i - ptr} (percent-encode it)`);
  }
  let i = ptr;
  let scheme = "";
  while (i < end && u8[i] !== 0x3a) i++;
  scheme = latin1.decode(u8.subarray(ptr, i)).toLowerCase();
  if (i === end || end - i < 3 || u8[i + 1] !== 0x2f || u8[i + 2] !== 0x2f) return fail(out, "the URL must be absolute, like http://host:port/path");
  if (scheme !== "http" && scheme !== "https") return fail(out, `the URL scheme ${scheme}: is not supported; use http:// or https://`);
  const tls = scheme === "https";
  const defaultPort = tls ? 443 : 80;
  i += 3;
  const authStart = i;
  while (i < end && u8[i] !== 0x2f && u8[i] !== 0x3f && u8[i] !== 0x23) i++;
  const authEnd = i;
  if (authEnd === authStart) return fail(out, "the URL has no host");
  let hostStart = authStart;
  let hostEnd = authEnd;
  let portStart = -1;
  for (let k = authStart; k < authEnd; k++) if (u8[k] === 0x40) return fail(out, "user:password@ in the URL is not supported; send an Authorization header");
  if (u8[authStart] === 0x5b) {
    let k = authStart + 1;
    while (k < authEnd && u8[k] !== 0x5d) k++;
    if (k === authEnd) return fail(out, "the URL's IPv6 address has no closing ]");
    hostStart = authStart + 1;
    hostEnd = k;
    for (let j = hostStart; j < hostEnd; j++) {
      const c = u8[j];
      if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46) || c === 0x3a || c === 0x2e)) {
        return fail(out, "the URL's IPv6 address is malformed");
      }
    }
    if (k + 1 < authEnd) {
      if (u8[k + 1] !== 0x3a) return fail(out, "the URL has bytes after its IPv6 address");
      portStart = k + 2;
    }
  } else {
    let k = authStart;
    while (k < authEnd && u8[k] !== 0x3a) k++;
    hostEnd = k;
    if (k < authEnd) portStart = k + 1;
    for (let j = hostStart; j < hostEnd; j++) {
      if (HOST_CHAR[u8[j]] !== 1) return fail(out, "the URL's host has a character hosts cannot have");
    }
  }
  if (hostEnd === hostStart) return fail(out, "the URL has no host");
  let port = defaultPort;
  if (portStart >= 0) {
    if (portStart === authEnd) return fail(out, "the URL's port is empty");
    port = 0;
    for (let k = portStart; k < authEnd; k++) {
      const d = u8[k] - 0x30;
      if (d < 0 || d > 9) return fail(out, "the URL's port is not a number");
      port = port * 10 + d;
      if (port > 65535) return fail(out, "the URL's port is over 65535");
    }
    if (port === 0) return fail(out, "the URL's port is 0");
  }
  // path-and-query; a fragment is never sent.
  let targetEnd = i;
  while (targetEnd < end && u8[targetEnd] !== 0x23) targetEnd++;
  out.host = latin1.decode(u8.subarray(hostStart, hostEnd)).toLowerCase();
  out.port = port;
  out.tls = tls;
  // An http origin keeps its old spelling (host:port) in pool keys and messages.
  out.origin = tls ? `https://${out.host}:${port}` : `${out.host}:${port}`;
  const bracketed = u8[authStart] === 0x5b;
  out.authority = port === defaultPort ? (bracketed ? `[${out.host}]` : out.host) : (bracketed ? `[${out.host}]:${port}` : `${out.host}:${port}`);
  out.targetStart = i;
  out.targetEnd = targetEnd;
  return true;
}

function fail(out: UpstreamUrl, error: string): boolean {
  out.error = error;
  return false;
}
