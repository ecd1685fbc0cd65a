// Stage 1: the structural index of a JSON input (see index.ts), 64 bytes at a time with
// wasm SIMD, the simdjson way. Per block: masks of quotes and backslashes; the quotes that
// an odd run of backslashes escapes (the run's parity carries into the next block); a
// prefix XOR of the real quotes gives the in-string mask; the six structural characters
// come from a nibble table (one swizzle); control characters inside strings are errors;
// UTF-8 is checked only over the span of a block's non-ASCII bytes. The input is not
// padded: the last partial block is copied into a scratch block padded with spaces, and
// every UTF-8 check is bounded by the input's end.

import { utf8SequenceLength } from "../text/utf8";
import { JSON_ARENA_RESERVE_BYTES } from "../limits";
import { JsonIndex } from "./index";

// The last partial block, padded with spaces (not structural, not in a string's way).
const SCRATCH: usize = memory.data(64, 16);

// Stage 1's result besides the index: the first error (set once) and whether the index
// outgrew the arena. Scratch state: stage 1 never suspends, so one set of globals serves.
/** The first error stage 1 found ("" when none): `stage1Error`, at `stage1ErrorPos` (-1). */
export let stage1Error: string = "";
/** Byte offset of stage1Error, or -1. */
export let stage1ErrorPos: i32 = -1;
/**
 * True when the index outgrew the arena: it then covers the input up to (not including) its
 * last entry, a structural character, and `ix.inputLength` is cut there, so no token is cut
 * in half; the strict parse reports an error found before the cut, else "too large".
 */
export let stage1Truncated: bool = false;
// The odd-backslash carry into the next block (1 when the previous block ended in an odd run).
let prevOdd: u64 = 0;

// @ts-ignore: decorator
@inline function prefixXor(x: u64): u64 {
  x ^= x << 1;
  x ^= x << 2;
  x ^= x << 4;
  x ^= x << 8;
  x ^= x << 16;
  x ^= x << 32;
  return x;
}

/** The bytes escaped by an odd run of backslashes (simdjson's find_escaped), carrying the
 *  parity of a run that reaches the block's end in prevOdd. */
function escapedBy(bs: u64): u64 {
  const even: u64 = 0x5555555555555555;
  let starts = bs & ~(bs << 1);
  let evenStartMask = even ^ prevOdd;
  let evenStarts = starts & evenStartMask;
  let oddStarts = starts & ~evenStartMask;
  let evenCarries = bs + evenStarts;
  let oddCarries = bs + oddStarts;
  let endsOdd: u64 = oddCarries < bs ? 1 : 0;
  oddCarries |= prevOdd;
  prevOdd = endsOdd;
  return ((evenCarries & ~bs) & ~even) | ((oddCarries & ~bs) & even);
}

// @ts-ignore: decorator
@inline function eqMask(a: v128, b: v128, c: v128, d: v128, x: v128): u64 {
  return <u64><u32>i8x16.bitmask(i8x16.eq(a, x)) | (<u64><u32>i8x16.bitmask(i8x16.eq(b, x)) << 16) |
    (<u64><u32>i8x16.bitmask(i8x16.eq(c, x)) << 32) | (<u64><u32>i8x16.bitmask(i8x16.eq(d, x)) << 48);
}

// , : [ ] { } by one table lookup: table[(c + 3) >> 4] == c exactly for those six.
// @ts-ignore: decorator
@inline function opMask16(c: v128, table: v128): u64 {
  let hi = v128.and(i16x8.shr_u(i8x16.add(c, i8x16.splat(3)), 4), i8x16.splat(0x0f));
  return <u64><u32>i8x16.bitmask(i8x16.eq(i8x16.swizzle(table, hi), c));
}

// Bytes below 0x20.
// @ts-ignore: decorator
@inline function ctlMask16(c: v128): u64 {
  return <u64><u32>i8x16.bitmask(i8x16.eq(i8x16.min_u(c, i8x16.splat(0x1f)), c));
}

// One block's masks (bit i for byte i): quotes, backslashes, the six structural
// characters, control characters and bytes from 0x80. Scratch results, as above.
let mQuote: u64 = 0;
let mBackslash: u64 = 0;
let mOps: u64 = 0;
let mCtl: u64 = 0;
let mHigh: u64 = 0;

/** Computes the masks of the 64 bytes at `src`: 16 bytes at a time with the simd feature,
 *  else a byte at a time (the same masks, so the rest of stage 1 is one code path). */
// @ts-ignore: decorator
@inline function blockMasks(src: usize): void {
  if (ASC_FEATURE_SIMD) {
    const table = i8x16(-1, 0, 0x2c, 0x3a, 0, 0x5b, 0x5d, 0x7b, 0x7d, 0, 0, 0, 0, 0, 0, 0);
    let a = v128.load(src);
    let b = v128.load(src, 16);
    let c = v128.load(src, 32);
    let d = v128.load(src, 48);
    mQuote = eqMask(a, b, c, d, i8x16.splat(0x22));
    mBackslash = eqMask(a, b, c, d, i8x16.splat(0x5c));
    mOps = opMask16(a, table) | (opMask16(b, table) << 16) | (opMask16(c, table) << 32) | (opMask16(d, table) << 48);
    mCtl = ctlMask16(a) | (ctlMask16(b) << 16) | (ctlMask16(c) << 32) | (ctlMask16(d) << 48);
    mHigh = <u64><u32>i8x16.bitmask(a) | (<u64><u32>i8x16.bitmask(b) << 16) |
      (<u64><u32>i8x16.bitmask(c) << 32) | (<u64><u32>i8x16.bitmask(d) << 48);
  } else {
    let q: u64 = 0, bs: u64 = 0, ops: u64 = 0, ctl: u64 = 0, high: u64 = 0;
    for (let i = 0; i < 64; i++) {
      let c = <u32>load<u8>(src + <usize>i);
      let bit = <u64>1 << <u64>i;
      if (c == 0x22) q |= bit;
      else if (c == 0x5c) bs |= bit;
      else if (c == 0x2c || c == 0x3a || c == 0x5b || c == 0x5d || c == 0x7b || c == 0x7d) ops |= bit;
      else if (c < 0x20) ctl |= bit;
      else if (c >= 0x80) high |= bit;
    }
    mQuote = q;
    mBackslash = bs;
    mOps = ops;
    mCtl = ctl;
    mHigh = high;
  }
}

/** Checks the UTF-8 sequences whose lead bytes lie in [from, to) of the input; returns
 *  where checking stopped (past the last sequence), after recording an error. */
function checkUtf8(p: usize, len: u32, from: u32, to: u32): u32 {
  let i = from;
  while (i < to) {
    if (<u32>load<u8>(p + <usize>i) < 0x80) {
      i++;
      continue;
    }
    let k = utf8SequenceLength(p + <usize>i, <usize>(len - i));
    if (k == 0) {
      setError("invalid UTF-8", i);
      return to;
    }
    i += <u32>k;
  }
  return i;
}

function setError(msg: string, pos: u32): void {
  if (stage1ErrorPos < 0 || <i32>pos < stage1ErrorPos) {
    stage1Error = msg;
    stage1ErrorPos = <i32>pos;
  }
}

/**
 * Builds `ix`'s index, backslash masks and aux array in the current arena (see
 * stage1Truncated for an index the arena cannot hold). Stage 1's own errors
 * (invalid UTF-8, a control character in a string, an unterminated string) are left in
 * stage1Error / stage1ErrorPos, the first by position, for the caller to order with the
 * validator's. `buildIndex(doc)`
 */
export function buildIndex(ix: JsonIndex): void {
  let p = ix.input;
  let len = ix.inputLength;
  stage1Error = "";
  stage1ErrorPos = -1;
  stage1Truncated = false;
  prevOdd = 0;
  let blocks = (len + 63) >> 6;
  // One bit per block: does it hold a backslash (see JsonIndex.hasBackslash).
  let escBytes = <usize>((blocks + 64) >> 6) << 3;
  let esc = __new(escBytes, idof<ArrayBuffer>());
  memory.fill(esc, 0, escBytes);
  // Dense JSON has a structural every 4–8 bytes, text-heavy JSON far fewer; start at one
  // per 16 and grow. The index is the arena's last block while it grows, so growing is in
  // place, without a copy.
  let cap: u32 = (len >> 4) + 128;
  if ((<usize>cap << 3) + JSON_ARENA_RESERVE_BYTES > __arena_room()) cap = 128;
  let idx = __new(<usize>cap << 2, idof<ArrayBuffer>());
  let n: u32 = 0;
  let prevIn: u64 = 0;
  let validatedTo: u32 = 0;
  for (let off: u32 = 0; off < len; off += 64) {
    if (n + 64 > cap) {
      // Room for the grown index and for an aux array as long, plus the reserve.
      let grown = cap + (cap >> 1) + 64;
      if ((<usize>(grown - cap) << 2) + (<usize>grown << 2) + JSON_ARENA_RESERVE_BYTES > __arena_room()) {
        stage1Truncated = true;
        break;
      }
      idx = __renew(idx, <usize>grown << 2);
      cap = grown;
    }
    let src = p + <usize>off;
    if (len - off < 64) {
      memory.fill(SCRATCH, 0x20, 64);
      memory.copy(SCRATCH, src, <usize>(len - off));
      src = SCRATCH;
    }
    blockMasks(src);
    let q = mQuote;
    let bs = mBackslash;
    if (bs != 0) {
      let w = esc + (<usize>(off >> 12) << 3);
      store<u64>(w, load<u64>(w) | (<u64>1 << <u64>((off >> 6) & 63)));
    }
    if (mHigh != 0) {
      let first = off + <u32>ctz(mHigh);
      let last = off + 64 - <u32>clz(mHigh);
      validatedTo = checkUtf8(p, len, validatedTo > first ? validatedTo : first, last);
    }
    let escaped: u64 = 0;
    if ((bs | prevOdd) != 0) escaped = escapedBy(bs);
    let quotes = q & ~escaped;
    let inStr = prefixXor(quotes) ^ prevIn;
    prevIn = <u64>(<i64>inStr >> 63);
    let ops = mOps;
    let ctl = mCtl & inStr;
    if (ctl != 0) setError("control character in string (must be escaped)", off + <u32>ctz(ctl));
    let s = (ops & ~inStr) | quotes;
    while (s != 0) {
      store<u32>(idx + (<usize>n << 2), off + <u32>ctz(s));
      n++;
      s &= s - 1;
    }
  }
  // An unterminated string: its opening quote is the last entry (nothing after it was
  // outside a string). Reported only when nothing inside it was wrong first.
  if (prevIn != 0 && stage1ErrorPos < 0 && !stage1Truncated) setError("unterminated string", load<u32>(idx + (<usize>(n - 1) << 2)));
  finish(ix, esc, idx, n);
}

/** Shrinks the index to its entries + the sentinel, allocates the zeroed aux array (room
 *  for it was kept while the index grew) and hands stage 1's results to `ix`. */
function finish(ix: JsonIndex, esc: usize, idx: usize, n: u32): void {
  if (stage1Truncated && n > 0) {
    n--;
    ix.inputLength = load<u32>(idx + (<usize>n << 2));
  }
  idx = __renew(idx, <usize>(n + 1) << 2);
  store<u32>(idx + (<usize>n << 2), ix.inputLength);
  let auxBytes = <usize>(n + 1) << 2;
  let aux = __new(auxBytes, idof<ArrayBuffer>());
  memory.fill(aux, 0, auxBytes);
  ix.esc = esc;
  ix.idx = idx;
  ix.entries = n;
  ix.aux = aux;
  ix.stage1Err = stage1Error;
  ix.stage1Pos = stage1ErrorPos;
  ix.truncated = stage1Truncated;
}
