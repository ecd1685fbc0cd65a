// Zeroing a fresh object's payload (runtime/arena.ts: __new zeroes every new object, for the
// standard library and for isolation). Most objects are small (a JSON handle is 28 bytes, a
// string a few dozen): for them a few overlapping stores beat `memory.fill`, which the
// engine runs as a call; larger payloads still use it.

/** Payloads up to this many bytes are zeroed inline. */
// @ts-ignore: decorator
@inline export const ZERO_INLINE_BYTES_MAX: usize = 64;

/** Zeroes the `n` bytes at `p`: inline stores up to ZERO_INLINE_BYTES_MAX (each store
 *  inside [p, p + n): the ends are covered by overlapping stores), memory.fill beyond. */
// @ts-ignore: decorator
@inline export function zeroBytes(p: usize, n: usize): void {
  if (n > ZERO_INLINE_BYTES_MAX) {
    memory.fill(p, 0, n);
  } else if (n >= 16) {
    // Eight-byte stores (no simd needed: the runtime builds with or without it).
    store<u64>(p, 0);
    store<u64>(p, 0, 8);
    store<u64>(p + n - 16, 0);
    store<u64>(p + n - 8, 0);
    if (n > 32) {
      store<u64>(p, 0, 16);
      store<u64>(p, 0, 24);
      store<u64>(p + n - 32, 0);
      store<u64>(p + n - 24, 0);
    }
  } else if (n >= 8) {
    store<u64>(p, 0);
    store<u64>(p + n - 8, 0);
  } else if (n >= 4) {
    store<u32>(p, 0);
    store<u32>(p + n - 4, 0);
  } else if (n >= 2) {
    store<u16>(p, 0);
    store<u16>(p + n - 2, 0);
  } else if (n == 1) {
    store<u8>(p, 0);
  }
}
