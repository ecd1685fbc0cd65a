// Random bytes from the host's CSPRNG (crypto.randomFillSync).

// @ts-ignore: decorator
@external("arena", "random")
declare function hostRandom(ptr: usize, len: usize): i32;

/**
 * Fills `buf` with cryptographically strong random bytes.
 *
 * ```ts
 * const nonce = new Uint8Array(16);
 * randomFill(nonce);
 * ```
 */
export function randomFill(buf: Uint8Array): void {
  if (buf.length > 0 && hostRandom(buf.dataStart, <usize>buf.length) != 0) abort("randomFill: buffer outside the arena");
}

/** `n` cryptographically strong random bytes, in the arena. `randomBytes(16)` */
export function randomBytes(n: i32): Uint8Array {
  let b = new Uint8Array(n);
  randomFill(b);
  return b;
}
