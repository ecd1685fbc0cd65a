// Numbers of the JSON grammar to values, read lazily from a number token the parser has
// validated (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`). Doubles are correctly
// rounded, like JavaScript's `Number()`: the fast path here is exact when it applies and
// everything else goes to the exact decimal in decimal.ts.

import { exponentAt, slowParse } from "./decimal";

// @ts-ignore: decorator
@lazy const POW10: StaticArray<f64> = [
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
  1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];
// @ts-ignore: decorator
@lazy const POW10_INT: StaticArray<u64> = [
  1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000,
  10000000000, 100000000000, 1000000000000, 10000000000000, 100000000000000, 1000000000000000,
];

/**
 * The value of the number token of `n` bytes at `p` (already validated), correctly rounded
 * like JavaScript's `Number()`. Exact fast path (Clinger): at most 19 significant digits
 * whose value fits in 53 bits and a power of ten that is itself exact. Anything else goes
 * through the arbitrary-precision decimal of decimal.ts, which is exact for every input.
 */
export function parseJsonNumber(p: usize, n: i32): f64 {
  let i = 0;
  let neg = false;
  if (load<u8>(p) == 0x2d) {
    neg = true;
    i = 1;
  }
  let mant: u64 = 0;
  let sig = 0;
  let exp10 = 0;
  let exact = true;
  for (; i < n; i++) {
    let d = <u32>load<u8>(p + <usize>i) - 0x30;
    if (d >= 10) break;
    if (sig < 19) {
      mant = mant * 10 + d;
      if (mant != 0) sig++;
    } else {
      exp10++;
      if (d != 0) exact = false;
    }
  }
  if (i < n && load<u8>(p + <usize>i) == 0x2e) {
    for (i++; i < n; i++) {
      let d = <u32>load<u8>(p + <usize>i) - 0x30;
      if (d >= 10) break;
      if (sig < 19) {
        mant = mant * 10 + d;
        if (mant != 0) sig++;
        exp10--;
      } else if (d != 0) {
        exact = false;
      }
    }
  }
  if (i < n) exp10 += exponentAt(p, i, n);
  if (exact && mant <= (<u64>1 << 53)) {
    if (mant == 0) return neg ? -0.0 : 0.0;
    let f = <f64>mant;
    if (exp10 >= -22 && exp10 <= 22) {
      let r = exp10 < 0 ? f / unchecked(POW10[-exp10]) : f * unchecked(POW10[exp10]);
      return neg ? -r : r;
    }
    if (exp10 > 22 && exp10 <= 22 + 15) {
      let scale = unchecked(POW10_INT[exp10 - 22]);
      if (mant <= (<u64>1 << 53) / scale) {
        let r = <f64>(mant * scale) * 1e22;
        return neg ? -r : r;
      }
    }
  }
  return slowParse(p, n);
}

/** Set by parseJsonInt when the integer does not fit in an i64. */
export let intOverflow: bool = false;

/**
 * The integer token of `n` bytes at `p` (digits and an optional minus, validated) as an
 * i64; on overflow 0 with `intOverflow` set.
 * `let v = parseJsonInt(p, n); if (!intOverflow) return v;`
 */
export function parseJsonInt(p: usize, n: i32): i64 {
  let i = 0;
  let neg = load<u8>(p) == 0x2d;
  if (neg) i = 1;
  // Accumulate negatively so i64.MIN_VALUE fits.
  let v: i64 = 0;
  intOverflow = false;
  for (; i < n; i++) {
    let d = <i64>(<u32>load<u8>(p + <usize>i) - 0x30);
    if (v < (i64.MIN_VALUE + d) / 10) {
      intOverflow = true;
      return 0;
    }
    v = v * 10 - d;
  }
  if (!neg) {
    if (v == i64.MIN_VALUE) {
      intOverflow = true;
      return 0;
    }
    return -v;
  }
  return v;
}
