// Entity tags for generated pages (RFC 9110 §8.8.3, §13.1.2): a strong ETag made from the
// SHA-256 of the body, and If-None-Match's comparison. Response.etag uses both to answer
// 304 Not Modified to a client that already has the page.

import { base64UrlEncode, sha256At } from "./crypto";

/** Bytes of the body's SHA-256 the tag keeps: 144 bits, 24 base64url characters. */
const ETAG_DIGEST_BYTES = 18;

/** The strong ETag of the `len` bytes at `ptr`: `"` + base64url(SHA-256[0..18)) + `"`. */
export function strongEtag(ptr: usize, len: usize): string {
  let digest = sha256At(ptr, len);
  return "\"" + base64UrlEncode(digest.subarray(0, ETAG_DIGEST_BYTES)) + "\"";
}

/** Whether If-None-Match value `header` matches `tag`: `*`, or one of its comma-separated
 *  entity tags equal to `tag` by the weak comparison (a `W/` prefix is ignored). */
export function noneMatch(header: string, tag: string): bool {
  let items = header.split(",");
  for (let i = 0; i < items.length; i++) {
    let t = items[i].trim();
    if (t == "*") return true;
    if (t.startsWith("W/")) t = t.substring(2);
    if (t == tag) return true;
  }
  return false;
}
