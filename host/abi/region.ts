// The host's side of a request's bump region: how an effect result gets into the arena of
// a request that is suspended. While a request waits nothing else allocates in its region,
// so the host may write at the region's top (the runtime's REGION_PTR) and, once the
// result is complete, move the top past it. Until that commit the bytes are free space: a
// result that fails half-way (too large, connection reset) leaves the arena as it was.
//
//   slot base                      REGION_PTR (top)                      REGION_END
//   ├ header ┬ request ┬ app heap ──┼─ host writes here … ─► commit moves top ─┤
//
// The runtime keeps the top at 12 mod 16, so that the next block's payload (4 bytes of
// block header later) is 16-byte aligned; commits keep that invariant, but for one clamped
// at the region's end, where nothing more fits until a scratch arena carved from the top
// is disposed, and disposing one realigns the top (runtime/scope.ts).

import { REGION_END, REGION_HEADER_BYTES, REGION_PEAK, REGION_PTR, SCOPE_CAP_END, SCOPE_HEADER_BYTES } from "./constants.ts";

/** Object payloads are 16-byte aligned; a block header (4 bytes) sits just before. */
const BLOCK_OVERHEAD = 4;

export function align16(n: number): number {
  return (n + 15) & ~15;
}

/** The region's top: the first byte the host may write for `slot` whose region header is at `base`. */
export function regionTop(dv: DataView, base: number): number {
  return dv.getUint32(base + REGION_PTR, true);
}

/** The region's end: nothing may be written at or past it. */
export function regionEnd(dv: DataView, base: number): number {
  return dv.getUint32(base + REGION_END, true);
}

/** Makes [top, end) part of the request's arena: the next allocation comes after `end`.
 *  False, and nothing changes, when `end` is not in the free part [top, region end]: the
 *  caller turns that into its effect's failure. It runs in socket callbacks, where a throw
 *  would end the worker, so it never throws. */
export function regionCommit(dv: DataView, base: number, end: number): boolean {
  const top = regionTop(dv, base);
  const limit = regionEnd(dv, base);
  if (end < top || end > limit) return false;
  const next = Math.min(align16(end + BLOCK_OVERHEAD) - BLOCK_OVERHEAD, limit);
  dv.setUint32(base + REGION_PTR, next, true);
  return true;
}

/**
 * Bytes of its arena the request whose region header is at `base` has used at most: its
 * top now, or higher when a scratch arena it disposed took more (the runtime keeps that
 * as PEAK), plus the carve of a scratch arena still entered (from the region's END to the
 * arena's end, `arenaBytes` from `base`). The memory report and the metrics read this.
 */
export function regionPeakBytes(dv: DataView, base: number, arenaBytes: number): number {
  const top = regionTop(dv, base);
  const carved = Math.max(0, base + arenaBytes - regionEnd(dv, base));
  return Math.max(dv.getUint32(base + REGION_PEAK, true), top + carved) - base;
}

/** Scratch arenas the host follows from a request's region: far more than any app nests. */
const SCOPE_DEPTH_MAX = 64;

/**
 * Whether [ptr, end) lies in what the request whose region header is at `base` has
 * allocated: its region from the descriptor up to its top, or a scratch arena it entered
 * (each carved from the top of the one before: its header sits at that one's END) up to
 * that scratch's top. `arenaEnd` is where the request's arena ends.
 */
export function inAllocated(dv: DataView, base: number, arenaEnd: number, ptr: number, end: number): boolean {
  let header = base;
  let lo = base + REGION_HEADER_BYTES;
  let outer = arenaEnd;
  for (let depth = 0; depth <= SCOPE_DEPTH_MAX; depth++) {
    if (ptr >= lo && end <= regionTop(dv, header)) return true;
    const limit = regionEnd(dv, header);
    const capEnd = header === base ? arenaEnd : dv.getUint32(header + SCOPE_CAP_END, true);
    // The app's memory holds these headers: walk only a chain that nests inside the arena
    // (each scope within the one before), so a damaged header cannot lead outside it.
    if (limit < lo || limit >= capEnd || capEnd > outer || limit + SCOPE_HEADER_BYTES > capEnd) return false;
    outer = capEnd;
    header = limit;
    lo = header + SCOPE_HEADER_BYTES;
  }
  return false;
}
