// Reading a header table the host wrote into the arena (request headers, fetch response
// headers): HEADER_ENTRY_BYTES entries of name ptr, name len, value ptr, value len. Values
// may hold any byte but controls (obs-text), so they go through the SDK's one strict UTF-8
// decoder: bytes such as C0 8A must not become a line feed in the app's hands.

import { HEADER_ENTRY_BYTES } from "./abi";
import { asciiEqualsIgnoreCase } from "./bytes";
import { utf8 } from "./text/utf8";

/** The value of field `name` (case-insensitive) in the table, or null. Repeated fields are
 *  joined with ", " as RFC 9110 allows. */
export function tableLookup(table: usize, count: usize, name: string): string | null {
  let found: string | null = null;
  for (let i: usize = 0; i < count; i++) {
    let e = table + i * HEADER_ENTRY_BYTES;
    if (asciiEqualsIgnoreCase(<usize>load<u32>(e), <usize>load<u32>(e + 4), name)) {
      let v = utf8(<usize>load<u32>(e + 8), <usize>load<u32>(e + 12));
      found = found === null ? v : found + ", " + v;
    }
  }
  return found;
}

/** Name of field `i` in the table, as sent. */
export function tableName(table: usize, i: i32): string {
  let e = table + <usize>i * HEADER_ENTRY_BYTES;
  return utf8(<usize>load<u32>(e), <usize>load<u32>(e + 4));
}

/** Value of field `i` in the table. */
export function tableValue(table: usize, i: i32): string {
  let e = table + <usize>i * HEADER_ENTRY_BYTES;
  return utf8(<usize>load<u32>(e + 8), <usize>load<u32>(e + 12));
}
