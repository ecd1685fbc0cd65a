// Byte copies between arrays without garbage: the host copies request heads, bodies and
// upstream bytes between socket buffers, connection buffers and the wasm memory.

import { COPY_BY_HAND_BYTES_MAX } from "../limits.ts";

/** Copies n bytes between arrays; small copies by hand, because `set(subarray())` makes a
 *  view object per call and heads and small bodies are the common case. */
export function copyBytes(src: Uint8Array, from: number, dst: Uint8Array, to: number, n: number): void {
  if (n > COPY_BY_HAND_BYTES_MAX) {
    dst.set(src.subarray(from, from + n), to);
    return;
  }
  for (let i = 0; i < n; i++) dst[to + i] = src[from + i];
}
