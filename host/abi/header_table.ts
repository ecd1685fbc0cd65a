// The header table the app reads request and upstream-response headers from: per field,
// name ptr, name len, value ptr, value len (u32 each, HEADER_ENTRY_BYTES). Both the server
// (request heads) and the fetch client (response heads) write it from a parser's field
// offsets, so it is written here once.

import { HEADER_ENTRY_BYTES } from "./constants.ts";

/** Parsed field offsets as the parsers keep them: per field, name start, name end, value
 *  start, value end, relative to where the head's bytes are. */
export type FieldOffsets = ArrayLike<number>;

/** Writes `count` entries at `table` for fields whose offsets are relative to `base`. */
export function writeHeaderTable(dv: DataView, table: number, base: number, fields: FieldOffsets, count: number): void {
  for (let k = 0; k < count; k++) {
    const e = table + k * HEADER_ENTRY_BYTES;
    const f = k * 4;
    dv.setUint32(e, base + fields[f], true);
    dv.setUint32(e + 4, fields[f + 1] - fields[f], true);
    dv.setUint32(e + 8, base + fields[f + 2], true);
    dv.setUint32(e + 12, fields[f + 3] - fields[f + 2], true);
  }
}
