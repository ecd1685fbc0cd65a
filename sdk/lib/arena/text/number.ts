// Numbers to text: the shortest decimal that reads back as the same f64, shared by the JSON
// and HTML writers so that both print a number the same way.

import { ByteWriter } from "../bytes";
import { dtoa_buffered } from "util/number";

// asc's dtoa writes at most MAX_DOUBLE_LENGTH (28) UTF-16 characters: 56 bytes.
// @ts-ignore: decorator
@lazy const DTOA_BUF: usize = memory.data(64);

/**
 * Appends finite `v` in the shortest-form decimal that reads back as the same f64:
 * integers below 2^53 as integers ("3", not "3.0"), -0 as "-0", others like "0.1",
 * "1e+21", "5e-324". Callers handle NaN and infinities. `writeF64(w, 0.1)`
 */
export function writeF64(w: ByteWriter, v: f64): void {
  if (v == 0) {
    if ((reinterpret<u64>(v) >> 63) != 0) w.byte(0x2d);
    w.byte(0x30);
    return;
  }
  if (v == Math.trunc(v) && Math.abs(v) < 9007199254740992.0) {
    w.int(<i64>v);
    return;
  }
  // asc's dtoa (Grisu2) writes UTF-16 digits; narrow them to bytes in place.
  let n = <i32>dtoa_buffered<f64>(DTOA_BUF, v);
  for (let i = 0; i < n; i++) store<u8>(DTOA_BUF + <usize>i, load<u16>(DTOA_BUF + (<usize>i << 1)));
  w.raw(DTOA_BUF, n);
}
