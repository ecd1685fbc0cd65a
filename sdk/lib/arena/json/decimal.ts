// The exact slow path of JSON number parsing (numbers.ts takes the fast one): any decimal
// number token correctly rounded to the nearest f64, ties to even.
//
// The algorithm is Go's strconv decimal algorithm: the digits as an exact decimal, shifted
// by powers of two until the binary exponent and 53 mantissa bits fall out. 800 digits are
// enough to decide every halfway case (the longest needs 767); digits past them only
// matter as "something nonzero was dropped" (decTrunc). Single-threaded, so one static
// buffer serves every call and the slow path allocates nothing.

/**
 * The exponent of a validated number token whose `e`/`E` is at byte `i` of the `n` bytes
 * at `p`: `[eE][+-]?digits`. It saturates at ±100000: past that the value is 0 or infinite
 * anyway. Shared by the fast path and the exact decimal. `exp10 += exponentAt(p, i, n)`
 */
export function exponentAt(p: usize, i: i32, n: i32): i32 {
  i++;
  let neg = false;
  let c = load<u8>(p + <usize>i);
  if (c == 0x2d || c == 0x2b) {
    neg = c == 0x2d;
    i++;
  }
  let e = 0;
  for (; i < n; i++) if (e < 100000) e = e * 10 + <i32>(<u32>load<u8>(p + <usize>i) - 0x30);
  return neg ? -e : e;
}

// @ts-ignore: decorator
@inline const DEC_CAP: i32 = 800;
// @ts-ignore: decorator
@lazy const DEC: usize = memory.data(DEC_CAP + 32);
// @ts-ignore: decorator
@inline const MAX_SHIFT: i32 = 60;
// @ts-ignore: decorator
@lazy const POWTAB: StaticArray<i32> = [1, 3, 6, 9, 13, 16, 19, 23, 26];
// The decimal: decNd digit values (0–9) at DEC, the decimal point decDp digits from the
// left (negative or past decNd for leading or trailing zeros), and whether nonzero digits
// were dropped off the end.
let decNd: i32 = 0;
let decDp: i32 = 0;
let decTrunc: bool = false;

function decTrim(): void {
  while (decNd > 0 && load<u8>(DEC + <usize>(decNd - 1)) == 0) decNd--;
  if (decNd == 0) decDp = 0;
}

function decRightShift(k: u32): void {
  let r = 0;
  let w = 0;
  let nd = decNd;
  let n: u64 = 0;
  for (; (n >> k) == 0; r++) {
    if (r >= nd) {
      if (n == 0) {
        decNd = 0;
        return;
      }
      while ((n >> k) == 0) {
        n *= 10;
        r++;
      }
      break;
    }
    n = n * 10 + <u64>load<u8>(DEC + <usize>r);
  }
  decDp -= r - 1;
  let mask: u64 = (<u64>1 << k) - 1;
  for (; r < nd; r++) {
    let c = <u64>load<u8>(DEC + <usize>r);
    store<u8>(DEC + <usize>(w++), <u8>(n >> k));
    n = (n & mask) * 10 + c;
  }
  while (n > 0) {
    let dig = n >> k;
    n &= mask;
    if (w < DEC_CAP) store<u8>(DEC + <usize>(w++), <u8>dig);
    else if (dig > 0) decTrunc = true;
    n *= 10;
  }
  decNd = w;
  decTrim();
}

function decLeftShift(k: u32): void {
  // `delta`, the digit count of 2^k, bounds the new digits; the true count is delta or
  // delta - 1 because the first digit is nonzero, so at most one leading slot stays empty.
  let delta = 1;
  for (let t = <u64>1 << k; t >= 10; t /= 10) delta++;
  let nd = decNd;
  let w = nd + delta;
  let n: u64 = 0;
  for (let r = nd - 1; r >= 0; r--) {
    n += <u64>load<u8>(DEC + <usize>r) << k;
    let q = n / 10;
    store<u8>(DEC + <usize>(--w), <u8>(n - q * 10));
    n = q;
  }
  while (n > 0) {
    let q = n / 10;
    store<u8>(DEC + <usize>(--w), <u8>(n - q * 10));
    n = q;
  }
  if (w > 0) memory.copy(DEC, DEC + <usize>w, <usize>(nd + delta - w));
  nd += delta - w;
  decDp += delta - w;
  if (nd > DEC_CAP) {
    for (let i = DEC_CAP; i < nd; i++) if (load<u8>(DEC + <usize>i) != 0) decTrunc = true;
    nd = DEC_CAP;
  }
  decNd = nd;
  decTrim();
}

function decShift(k: i32): void {
  if (decNd == 0) return;
  if (k > 0) {
    for (; k > MAX_SHIFT; k -= MAX_SHIFT) decLeftShift(<u32>MAX_SHIFT);
    decLeftShift(<u32>k);
  } else if (k < 0) {
    for (; k < -MAX_SHIFT; k += MAX_SHIFT) decRightShift(<u32>MAX_SHIFT);
    decRightShift(<u32>-k);
  }
}

function decShouldRoundUp(nd: i32): bool {
  if (nd < 0 || nd >= decNd) return false;
  let c = load<u8>(DEC + <usize>nd);
  if (c == 5 && nd + 1 == decNd) {
    // Exactly halfway: to even, unless dropped digits put it above half.
    if (decTrunc) return true;
    return nd > 0 && (load<u8>(DEC + <usize>(nd - 1)) & 1) == 1;
  }
  return c >= 5;
}

function decRoundedInteger(): u64 {
  if (decDp > 20) return 0xffffffffffffffff;
  let n: u64 = 0;
  let i = 0;
  for (; i < decDp && i < decNd; i++) n = n * 10 + <u64>load<u8>(DEC + <usize>i);
  for (; i < decDp; i++) n *= 10;
  if (decShouldRoundUp(decDp)) n++;
  return n;
}

/**
 * The value of the validated number token of `n` bytes at `p`, correctly rounded for every
 * input, however many digits it has; numbers.ts calls it when its fast path cannot be
 * exact. `return slowParse(p, n);`
 */
export function slowParse(p: usize, n: i32): f64 {
  let i = 0;
  let neg = load<u8>(p) == 0x2d;
  if (neg) i = 1;
  decNd = 0;
  decDp = 0;
  decTrunc = false;
  let seen = 0; // significant digits seen, kept or not
  let sawDot = false;
  for (; i < n; i++) {
    let c = <u32>load<u8>(p + <usize>i);
    if (c == 0x2e) {
      sawDot = true;
      decDp = seen;
      continue;
    }
    if (c - 0x30 >= 10) break;
    if (c == 0x30 && seen == 0) {
      decDp--; // a leading zero after the point
      continue;
    }
    seen++;
    if (decNd < DEC_CAP) store<u8>(DEC + <usize>(decNd++), <u8>(c - 0x30));
    else if (c != 0x30) decTrunc = true;
  }
  if (!sawDot) decDp = seen;
  if (i < n) decDp += exponentAt(p, i, n);
  decTrim();
  let bits = decToBits();
  if (neg) bits |= <u64>1 << 63;
  return reinterpret<f64>(bits);
}

function decToBits(): u64 {
  const INF: u64 = 0x7ff0000000000000;
  if (decNd == 0 || decDp < -330) return 0;
  if (decDp > 310) return INF;
  let exp = 0;
  while (decDp > 0) {
    let k = decDp >= 9 ? 27 : unchecked(POWTAB[decDp]);
    decShift(-k);
    exp += k;
  }
  while (decDp < 0 || (decDp == 0 && load<u8>(DEC) < 5)) {
    let k = -decDp >= 9 ? 27 : unchecked(POWTAB[-decDp]);
    decShift(k);
    exp -= k;
  }
  // Now in [0.5, 1); binary floating point counts from [1, 2).
  exp--;
  if (exp < -1022) {
    let k = -1022 - exp;
    decShift(-k);
    exp += k;
  }
  if (exp + 1023 >= 0x7ff) return INF;
  decShift(53);
  let mant = decRoundedInteger();
  if (mant == (<u64>2 << 52)) {
    mant >>= 1;
    exp++;
    if (exp + 1023 >= 0x7ff) return INF;
  }
  if ((mant & (<u64>1 << 52)) == 0) exp = -1023; // subnormal
  return (mant & ((<u64>1 << 52) - 1)) | (<u64>((exp + 1023) & 0x7ff) << 52);
}
