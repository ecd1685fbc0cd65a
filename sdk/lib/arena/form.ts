// `application/x-www-form-urlencoded` text, as in query strings and HTML form bodies
// (the WHATWG URL standard's urlencoded parser): `&`-separated `name=value` pairs whose
// names and values are percent-decoded with `+` as a space. The Request's query, queryAll,
// form and formAll read the request's bytes in place with these.

import { percentDecode } from "./bytes";

/**
 * The values of the pairs named `name` in the `len` bytes at `ptr`: the first one (null
 * when there is none) and, when `all` is given, every one pushed onto it in order. A pair
 * without `=` has the value "".
 */
export function urlencodedFind(ptr: usize, len: usize, name: string, all: string[] | null): string | null {
  let first: string | null = null;
  let start: usize = 0;
  while (start < len) {
    let end = start;
    while (end < len && load<u8>(ptr + end) != 0x26) end++; // '&'
    let eq = start;
    while (eq < end && load<u8>(ptr + eq) != 0x3d) eq++; // '='
    if (end > start && percentDecode(ptr + start, eq - start, true) == name) {
      let value = eq < end ? percentDecode(ptr + eq + 1, end - eq - 1, true) : "";
      if (all === null) return value;
      if (first === null) first = value;
      all.push(value);
    }
    start = end + 1;
  }
  return first;
}

/** Whether the media type of Content-Type value `contentType` (before any `;`
 *  parameters, any case) is `application/x-www-form-urlencoded`. */
export function isUrlencoded(contentType: string | null): bool {
  if (contentType === null) return false;
  let s = contentType;
  let semi = s.indexOf(";");
  if (semi >= 0) s = s.substring(0, semi);
  return s.trim().toLowerCase() == "application/x-www-form-urlencoded";
}
