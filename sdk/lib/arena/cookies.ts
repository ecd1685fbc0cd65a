// Cookies (RFC 6265): reading one from the request's Cookie header in place, building a
// Set-Cookie line with its attributes, and signing values with HMAC-SHA256 so a client
// cannot change them. Request.cookie/signedCookie and Response.cookie/signedCookie/
// clearCookie are the public face; the HTTP date the Expires attribute needs is here too.

import { HEADER_ENTRY_BYTES } from "./abi";
import { asciiEqualsIgnoreCase } from "./bytes";
import { utf8 } from "./text/utf8";
import { base64UrlEncode, constantTimeEqual, hmacSha256, utf8Bytes } from "./crypto";

const DAY_NAMES = "SunMonTueWedThuFriSat";
const MONTH_NAMES = "JanFebMarAprMayJunJulAugSepOctNovDec";

function pad2(n: i64): string {
  return n < 10 ? "0" + n.toString() : n.toString();
}

/**
 * `ms` since the Unix epoch as an HTTP date (RFC 9110 IMF-fixdate), for Expires,
 * Last-Modified and the like: `httpDate(0)` is "Thu, 01 Jan 1970 00:00:00 GMT".
 *
 * ```ts
 * res.header("Expires", httpDate(wallMs() + 3600 * 1000));
 * ```
 */
export function httpDate(ms: f64): string {
  let t = <i64>Math.floor(ms / 1000);
  let days = t / 86400;
  let secs = t - days * 86400;
  if (secs < 0) {
    secs += 86400;
    days -= 1;
  }
  let weekday = <i32>(((days % 7) + 11) % 7); // 1970-01-01 was a Thursday
  // Civil date from a day number (H. Hinnant's days_from_civil, inverted).
  let z = days + 719468;
  let era = (z >= 0 ? z : z - 146096) / 146097;
  let doe = z - era * 146097;
  let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  let mp = (5 * doy + 2) / 153;
  let day = doy - (153 * mp + 2) / 5 + 1;
  let month = <i32>(mp < 10 ? mp + 3 : mp - 9);
  let year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  let y = year.toString();
  while (y.length < 4) y = "0" + y;
  return DAY_NAMES.substr(weekday * 3, 3) + ", " + pad2(day) + " " + MONTH_NAMES.substr((month - 1) * 3, 3) + " " + y +
    " " + pad2(secs / 3600) + ":" + pad2((secs / 60) % 60) + ":" + pad2(secs % 60) + " GMT";
}

function isTokenChar(c: u32): bool {
  // RFC 9110 tchar: ALPHA / DIGIT / "!#$%&'*+-.^_`|~"
  if (c - 0x61 < 26 || c - 0x41 < 26 || c - 0x30 < 10) return true;
  return c == 0x21 || (c >= 0x23 && c <= 0x27) || c == 0x2a || c == 0x2b || c == 0x2d ||
    c == 0x2e || c == 0x5e || c == 0x5f || c == 0x60 || c == 0x7c || c == 0x7e;
}

/** RFC 6265 cookie-octet: visible ASCII but `"` `,` `;` `\` (and no space). */
function isCookieOctet(c: u32): bool {
  return c == 0x21 || (c >= 0x23 && c <= 0x2b) || (c >= 0x2d && c <= 0x3a) || (c >= 0x3c && c <= 0x5b) ||
    (c >= 0x5d && c <= 0x7e);
}

/** How character `c` looks in an error message: itself, or its code when invisible. */
function shown(c: u32): string {
  if (c <= 0x20 || c == 0x7f) return "byte 0x" + (c < 16 ? "0" : "") + c.toString(16).toUpperCase();
  return "'" + String.fromCharCode(<i32>c) + "'";
}

/** Aborts unless `value` is a usable attribute value (no control byte, no `;`). */
function checkAttribute(what: string, value: string): string {
  for (let i = 0; i < value.length; i++) {
    let c = <u32>value.charCodeAt(i);
    if (c < 0x20 || c == 0x7f || c == 0x3b) abort(what + ": " + shown(c) + " is not allowed in '" + value + "'");
  }
  return value;
}

/**
 * The attributes of a Set-Cookie line. Each setter returns the options, so they chain;
 * values with a control byte or `;` abort (header injection).
 *
 * ```ts
 * const session = new CookieOptions().path("/").maxAge(3600).httpOnly().secure().sameSite("Lax");
 * return Response.text("signed in\n").cookie("sid", token, session);
 * ```
 */
export class CookieOptions {
  private _path: string | null = null;
  private _domain: string | null = null;
  private _maxAge: i64 = 0;
  private _hasMaxAge: bool = false;
  private _expires: string | null = null;
  private _httpOnly: bool = false;
  private _secure: bool = false;
  private _sameSite: string | null = null;

  /** `Path=`: the cookie is sent for this path and below. `.path("/")` */
  path(p: string): CookieOptions { this._path = checkAttribute("CookieOptions.path", p); return this; }
  /** `Domain=`: the cookie is sent to this domain and its subdomains. `.domain("example.com")` */
  domain(d: string): CookieOptions { this._domain = checkAttribute("CookieOptions.domain", d); return this; }
  /** `Max-Age=`: seconds until the cookie expires (0 or less: at once). `.maxAge(3600)` */
  maxAge(seconds: i64): CookieOptions { this._maxAge = seconds; this._hasMaxAge = true; return this; }
  /** `Expires=`: when the cookie expires, in ms since the epoch (written as an HTTP date).
   *  `.expires(wallMs() + 86400 * 1000)` */
  expires(ms: f64): CookieOptions { this._expires = httpDate(ms); return this; }
  /** `HttpOnly`: scripts in the page cannot read the cookie. `.httpOnly()` */
  httpOnly(): CookieOptions { this._httpOnly = true; return this; }
  /** `Secure`: the cookie is sent over HTTPS only. `.secure()` */
  secure(): CookieOptions { this._secure = true; return this; }
  /** `SameSite=`: "Strict", "Lax" or "None" (None needs `secure()`; other values abort).
   *  `.sameSite("Lax")` */
  sameSite(mode: string): CookieOptions {
    if (mode != "Strict" && mode != "Lax" && mode != "None") abort("CookieOptions.sameSite: '" + mode + "' is not Strict, Lax or None");
    this._sameSite = mode;
    return this;
  }

  /** The attributes as they follow `name=value` in a Set-Cookie field.
   *  `new CookieOptions().path("/").httpOnly().toString()` is "; Path=/; HttpOnly". */
  toString(): string {
    let s = "";
    if (this._path !== null) s += "; Path=" + this._path!;
    if (this._domain !== null) s += "; Domain=" + this._domain!;
    if (this._hasMaxAge) s += "; Max-Age=" + this._maxAge.toString();
    if (this._expires !== null) s += "; Expires=" + this._expires!;
    if (this._httpOnly) s += "; HttpOnly";
    if (this._secure) s += "; Secure";
    let sameSite = this._sameSite;
    if (sameSite !== null) {
      if (sameSite == "None" && !this._secure) abort("CookieOptions: SameSite=None needs Secure (browsers drop the cookie otherwise); add .secure()");
      s += "; SameSite=" + sameSite;
    }
    return s;
  }
}

/** The value of a Set-Cookie field setting cookie `name` to `value` with `opts`; `what`
 *  names the caller in abort messages. A `clear` line sets "" and expires at once (the
 *  later Max-Age and Expires win over any in `opts`). */
export function setCookieLine(what: string, name: string, value: string, opts: CookieOptions | null, clear: bool): string {
  if (name.length == 0) abort(what + ": empty cookie name");
  for (let i = 0; i < name.length; i++) {
    let c = <u32>name.charCodeAt(i);
    if (!isTokenChar(c)) abort(what + ": cookie name '" + name + "' holds " + shown(c) + " (a name is an RFC 9110 token)");
  }
  for (let i = 0; i < value.length; i++) {
    let c = <u32>value.charCodeAt(i);
    if (!isCookieOctet(c)) abort(what + ": the value of cookie '" + name + "' holds " + shown(c) + " (RFC 6265 allows visible ASCII but \" , ; \\; urlEncode(value) first)");
  }
  let line = name + "=" + (clear ? "" : value) + (opts !== null ? opts.toString() : "");
  return clear ? line + "; Max-Age=0; Expires=" + httpDate(0) : line;
}

function isSpace(c: u32): bool {
  return c == 0x20 || c == 0x09;
}

/** Whether the `len` bytes at `ptr` are exactly the ASCII string `s`. */
function bytesAre(ptr: usize, len: usize, s: string): bool {
  if (<usize>s.length != len) return false;
  for (let i: usize = 0; i < len; i++) {
    let c = <u32>s.charCodeAt(<i32>i);
    if (c >= 0x80 || <u32>load<u8>(ptr + i) != c) return false;
  }
  return true;
}

/** The value of cookie `name` in a Cookie field's `len` bytes at `ptr` (`a=1; b="2"`:
 *  `;`-separated pairs, spaces around them ignored, one pair of quotes taken off), or null. */
export function findCookie(ptr: usize, len: usize, name: string): string | null {
  let i: usize = 0;
  while (i < len) {
    while (i < len && isSpace(load<u8>(ptr + i))) i++;
    let start = i;
    while (i < len && load<u8>(ptr + i) != 0x3b) i++; // ';'
    let end = i;
    i++;
    while (end > start && isSpace(load<u8>(ptr + end - 1))) end--;
    let eq = start;
    while (eq < end && load<u8>(ptr + eq) != 0x3d) eq++; // '='
    if (eq == end) continue;
    let nameEnd = eq;
    while (nameEnd > start && isSpace(load<u8>(ptr + nameEnd - 1))) nameEnd--;
    if (!bytesAre(ptr + start, nameEnd - start, name)) continue;
    let v = eq + 1;
    while (v < end && isSpace(load<u8>(ptr + v))) v++;
    if (end - v >= 2 && load<u8>(ptr + v) == 0x22 && load<u8>(ptr + end - 1) == 0x22) {
      v++;
      end--;
    }
    return utf8(ptr + v, end - v);
  }
  return null;
}

/** Cookie `name` from the Cookie fields of a request's header table, or null. */
export function requestCookie(table: usize, count: usize, name: string): string | null {
  for (let i: usize = 0; i < count; i++) {
    let e = table + i * HEADER_ENTRY_BYTES;
    if (!asciiEqualsIgnoreCase(<usize>load<u32>(e), <usize>load<u32>(e + 4), "cookie")) continue;
    let v = findCookie(<usize>load<u32>(e + 8), <usize>load<u32>(e + 12), name);
    if (v !== null) return v;
  }
  return null;
}

/** The base64url HMAC-SHA256 of "name=value" under `secret`: binding the name too means a
 *  signed value cannot be moved to another cookie. */
function signature(name: string, value: string, secret: string): string {
  if (secret.length == 0) abort("signed cookie: empty secret");
  return base64UrlEncode(hmacSha256(utf8Bytes(secret), utf8Bytes(name + "=" + value)));
}

/** `value` with its signature: "value.signature". */
export function signCookie(name: string, value: string, secret: string): string {
  return value + "." + signature(name, value, secret);
}

/** The value of a signed cookie's text `raw` ("value.signature") when the signature is
 *  right for `name` and `secret` (compared in constant time), else null. */
export function verifyCookie(name: string, raw: string, secret: string): string | null {
  let dot = raw.lastIndexOf(".");
  if (dot < 0) return null;
  let value = raw.substring(0, dot);
  let expected = utf8Bytes(signature(name, value, secret));
  return constantTimeEqual(utf8Bytes(raw.substring(dot + 1)), expected) ? value : null;
}
