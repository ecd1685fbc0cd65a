// Parallel fetches in one request (`arena.fetch_all`): every fetch of the group starts at
// once, the request suspends once, and it resumes when all have ended or the group's
// timeout has passed (the fetches still running then end as timed out). Each fetch ends on
// its own: its status goes into its descriptor (FETCH_RES_EFFECT), so one failing leaves
// the others be.
//
// The responses arrive at the same time, so they cannot all be written at the region's top
// as a single fetch's is. The free arena is cut into one share per fetch (a fetch that
// asked for a small body gets only what that needs, the rest share what is left evenly),
// each fetch writes into its own share, and when the group ends the answers are moved down
// to lie one after the other (their pointers moved with them) and committed at once: the
// request keeps the arena the answers take, not the shares.
//
//   region top ─┬─ share 0 ──────┬─ share 1 ──────┬ … ┤ region end
//               │ head, body, tbl│ error message  │
//   after:      ├ answer 0 ┬ answer 1 ┬─ free … ───────┤
//
// The shares are cut from the free arena, so the list and every descriptor must lie below
// the region's top, in what the app has allocated, and no two may overlap: a descriptor in
// a share would be overwritten by upstream bytes, and one listed twice would be answered
// (and moved) twice. A list that breaks this is refused as a whole before anything is
// written. Every address compact() moves is checked to lie in the answer being moved.

import { EFFECT_CANCELLED, EFFECT_OK, FETCH_RES_BODY_PTR, FETCH_RES_EFFECT, FETCH_RES_ERROR_LEN, FETCH_RES_ERROR_PTR, FETCH_RES_HEADER_COUNT,
  FETCH_RES_HEADERS_PTR, FETCH_RES_STATUS, HEADER_ENTRY_BYTES, BODY_HEADROOM_BYTES, EFFECT_BAD_ARGUMENT, FETCH_DESC_BYTES,
  EFFECT_TOO_LARGE, FETCH_RES_BODY_LEN,
} from "../../abi/constants.ts";
import { align16, inAllocated, regionCommit, regionEnd, regionTop } from "../../abi/region.ts";
import type { PendingEffect, SlotContext } from "../../abi/slot_context.ts";
import { assert } from "../../assert.ts";
import { FETCH_HEAD_BYTES_MAX, PARALLEL_FETCHES_MAX } from "../../limits.ts";
import { FetchOp, type FetchEnv, type FetchGroupSink } from "./fetch_op.ts";
import { OpTimer } from "./op_timer.ts";

const encoder = new TextEncoder();

/** What a share must hold besides the body: a head, a header table for it, the headroom. */
const SHARE_OVERHEAD = 2 * FETCH_HEAD_BYTES_MAX + BODY_HEADROOM_BYTES + 64;

/** One slot's group of fetches; made when the slot first runs one, and reused. */
export class FetchGroup implements PendingEffect, FetchGroupSink {
  private readonly ctx: SlotContext;
  private readonly env: FetchEnv;
  /** Its fetches, made as a group first needs them (at most PARALLEL_FETCHES_MAX). */
  private readonly ops: FetchOp[] = [];
  private readonly timer = new OpTimer(() => this.timedOut());
  /** Fetches of the current group, and how many of them are still running. */
  private count = 0;
  private running = 0;
  private timeoutMs = 0;
  /** Region top when the shares were cut: the answers are moved down to it. */
  private floor = 0;
  /** Per fetch: 1 when it started (its descriptor was sound), and its share's bytes. */
  private readonly started = new Uint8Array(PARALLEL_FETCHES_MAX);
  private readonly shares = new Float64Array(PARALLEL_FETCHES_MAX);
  /** The descriptors' addresses, read from the list once (the list is the app's memory). */
  private readonly descs = new Uint32Array(PARALLEL_FETCHES_MAX);

  constructor(ctx: SlotContext, env: FetchEnv) {
    this.ctx = ctx;
    this.env = env;
  }

  /** Starts the `count` fetches whose descriptors' addresses are the u32s at `list`; a
   *  status when none had to wait, else a promise that settles when all have ended. */
  start(list: number, count: number, timeoutMs: number): number | Promise<number> {
    const dv = this.env.memory.dv;
    if (count > PARALLEL_FETCHES_MAX || !this.env.memory.validRange(this.ctx.slot, list, count * 4)) return EFFECT_BAD_ARGUMENT;
    const descs = this.descs;
    for (let i = 0; i < count; i++) descs[i] = dv.getUint32(list + i * 4, true);
    const bad = this.badList(list, count);
    if (bad !== null) return this.refuse(count, `fetch_all: ${bad}`);
    while (this.ops.length < count) this.ops.push(new FetchOp(this.ctx, this.env));
    let started = 0;
    for (let i = 0; i < count; i++) {
      const desc = descs[i];
      const status = this.ops[i].prepare(desc);
      dv.setUint32(desc + FETCH_RES_EFFECT, status, true);
      this.started[i] = status === EFFECT_OK ? 1 : 0;
      started += this.started[i];
    }
    if (started === 0) return EFFECT_OK;
    this.count = count;
    this.running = started;
    this.timeoutMs = timeoutMs || this.env.timeoutMs;
    const promise = this.ctx.wait(this);
    this.timer.arm(this.timeoutMs);
    this.launch();
    return promise;
  }

  /** Why the list at `list` (its addresses already in `descs`) cannot be used, or null:
   *  it and every descriptor must lie in what the app has allocated, apart. */
  private badList(list: number, count: number): string | null {
    if (!this.allocated(list, list + count * 4)) return "the list of descriptors must lie in what the request has allocated, below its arena's free part";
    for (let i = 0; i < count; i++) {
      const d = this.descs[i];
      if (!this.allocated(d, d + FETCH_DESC_BYTES)) return `descriptor ${i} must lie in what the request has allocated, below its arena's free part`;
      if (d < list + count * 4 && list < d + FETCH_DESC_BYTES) return `descriptor ${i} overlaps the list of descriptors`;
      for (let j = 0; j < i; j++) {
        const e = this.descs[j];
        if (d < e + FETCH_DESC_BYTES && e < d + FETCH_DESC_BYTES) return `descriptors ${j} and ${i} overlap (each request needs a descriptor of its own)`;
      }
    }
    return null;
  }

  /** Whether [ptr, end) is in what the request has allocated, a scratch arena's included. */
  private allocated(ptr: number, end: number): boolean {
    const memory = this.env.memory;
    const base = memory.slotBase(this.ctx.slot);
    return inAllocated(memory.dv, base, base + memory.plan.arenaBytes, ptr, end);
  }

  /** Refuses the whole group: `message` goes at the region's top, and every descriptor
   *  the app may read (in what it has allocated) points at it. */
  private refuse(count: number, message: string): number {
    const app = this.env.memory;
    const dv = app.dv;
    const base = app.slotBase(this.ctx.slot);
    const top = regionTop(dv, base);
    // Which descriptors the app may read is decided before the message is committed: one
    // across the top would otherwise cover the message and be written over it.
    let readable = 0;
    for (let i = 0; i < count; i++) if (this.allocated(this.descs[i], this.descs[i] + FETCH_DESC_BYTES)) readable |= 1 << i;
    const bytes = encoder.encode(message);
    if (!regionCommit(dv, base, top + bytes.length)) return EFFECT_BAD_ARGUMENT;
    app.u8.set(bytes, top);
    for (let i = 0; i < count; i++) {
      const d = this.descs[i];
      if ((readable & (1 << i)) === 0) continue;
      dv.setUint32(d + FETCH_RES_STATUS, 0, true);
      dv.setUint32(d + FETCH_RES_HEADER_COUNT, 0, true);
      dv.setUint32(d + FETCH_RES_BODY_LEN, 0, true);
      dv.setUint32(d + FETCH_RES_ERROR_PTR, top, true);
      dv.setUint32(d + FETCH_RES_ERROR_LEN, bytes.length, true);
      dv.setUint32(d + FETCH_RES_EFFECT, EFFECT_BAD_ARGUMENT, true);
    }
    return EFFECT_BAD_ARGUMENT;
  }

  /** Cuts the free arena into the shares and starts every prepared fetch in its own. */
  private launch(): void {
    const dv = this.env.memory.dv;
    const base = this.env.memory.slotBase(this.ctx.slot);
    this.floor = regionTop(dv, base);
    const start = align16(this.floor);
    const end = regionEnd(dv, base);
    this.cutShares(Math.max(0, end - start));
    let at = start;
    for (let i = 0; i < this.count; i++) {
      if (this.started[i] === 0) continue;
      this.ops[i].launch(this, at, at + this.shares[i]);
      at += this.shares[i];
    }
  }

  /** Sets shares[i] of the started fetches to a 16-byte multiple, together at most
   *  `free`: a fetch whose body limit needs less than an even share gets its need, and the
   *  others share the rest evenly (water-filling, over at most PARALLEL_FETCHES_MAX). */
  private cutShares(free: number): void {
    const shares = this.shares;
    let left = 0;
    for (let i = 0; i < this.count; i++) {
      // Negative: still to be decided, at most this many bytes.
      shares[i] = this.started[i] === 0 ? 0 : -this.ops[i].needBytes(SHARE_OVERHEAD);
      if (shares[i] < 0) left++;
    }
    let room = free;
    for (let changed = true; changed && left > 0;) {
      changed = false;
      const even = Math.floor(room / left / 16) * 16;
      for (let i = 0; i < this.count; i++) {
        if (shares[i] < 0 && -shares[i] <= even) {
          shares[i] = align16(-shares[i]);
          room -= shares[i];
          left--;
          changed = true;
        }
      }
    }
    const even = left > 0 ? Math.floor(room / left / 16) * 16 : 0;
    for (let i = 0; i < this.count; i++) if (shares[i] < 0) shares[i] = even;
  }

  /** A fetch of the group ended with `status`. */
  settled(op: FetchOp, status: number): void {
    this.env.memory.dv.setUint32(op.desc + FETCH_RES_EFFECT, status, true);
    assert(this.running > 0, "a group's fetch settles once, while the group runs");
    if (--this.running > 0) return;
    this.timer.stop();
    this.compact();
    this.ctx.wake(this, this.ctx.cancelled ? EFFECT_CANCELLED : EFFECT_OK);
  }

  /** Moves every answer down to follow the one before it, then commits them. It runs in
   *  a socket callback, so what cannot be kept fails its fetch rather than throwing: an
   *  answer out of its place (past the one before it, or pointing outside itself) is
   *  dropped, and so is every answer if the commit fails. */
  private compact(): void {
    const app = this.env.memory;
    const dv = app.dv;
    const base = app.slotBase(this.ctx.slot);
    const floor = align16(this.floor);
    const limit = regionEnd(dv, base);
    let at = floor;
    let end = floor;
    let dropped = 0;
    for (let i = 0; i < this.count; i++) {
      const op = this.ops[i];
      if (this.started[i] === 0 || op.blockEnd <= op.blockStart) continue;
      const delta = op.blockStart - at;
      if (delta < 0 || delta % 16 !== 0 || op.blockEnd > limit || !answerWithin(dv, op.desc, floor, limit, op.blockStart, op.blockEnd)) {
        dropped |= 1 << i;
        continue;
      }
      if (delta > 0) {
        app.u8.copyWithin(at, op.blockStart, op.blockEnd);
        relocate(dv, op.desc, delta);
      }
      end = op.blockEnd - delta;
      at = align16(end);
    }
    for (let i = 0; i < this.count && dropped !== 0; i++) {
      if ((dropped & (1 << i)) === 0) continue;
      end = this.ops[i].dropAnswer(Math.min(at, limit), limit, "this fetch's answer did not stay within its share of the request's arena");
      dv.setUint32(this.ops[i].desc + FETCH_RES_EFFECT, EFFECT_TOO_LARGE, true);
      at = end;
    }
    if (end > floor && !regionCommit(dv, base, end)) {
      for (let i = 0; i < this.count; i++) {
        if (this.started[i] === 0) continue;
        this.ops[i].dropAnswer(floor, floor, "");
        dv.setUint32(this.ops[i].desc + FETCH_RES_EFFECT, EFFECT_TOO_LARGE, true);
      }
    }
  }

  /** The group's timeout: every fetch still running ends as timed out. */
  private timedOut(): void {
    if (this.running === 0) return;
    for (let i = 0; i < this.count; i++) if (this.started[i] === 1) this.ops[i].groupTimedOut(this.timeoutMs);
  }

  /** The client left: every fetch still running is cancelled. */
  cancel(): void {
    for (let i = 0; i < this.count; i++) if (this.started[i] === 1 && this.ops[i].busy) this.ops[i].cancel();
  }

  stopTimers(): void {
    this.timer.stop();
    for (const op of this.ops) op.stopTimer();
  }
}

/** Whether the answer at `desc` (its message, or its header table, fields and body) lies
 *  in [start, end), its descriptor outside the answers' part [floor, limit) (below it, or
 *  in a scratch arena carved above it): what relocate() moves must lie in the block that is
 *  moved, or it would rewrite memory outside the arena's answers. */
function answerWithin(dv: DataView, desc: number, floor: number, limit: number, start: number, end: number): boolean {
  const inside = (ptr: number, len: number): boolean => ptr >= start && len <= end - ptr;
  if (desc + FETCH_DESC_BYTES > floor && desc < limit) return false;
  const errorLen = dv.getUint32(desc + FETCH_RES_ERROR_LEN, true);
  if (errorLen > 0) return inside(dv.getUint32(desc + FETCH_RES_ERROR_PTR, true), errorLen);
  if (dv.getUint32(desc + FETCH_RES_STATUS, true) === 0) return true;
  const table = dv.getUint32(desc + FETCH_RES_HEADERS_PTR, true);
  const n = dv.getUint32(desc + FETCH_RES_HEADER_COUNT, true);
  if (!inside(table, n * HEADER_ENTRY_BYTES)) return false;
  for (let k = 0; k < n; k++) {
    const e = table + k * HEADER_ENTRY_BYTES;
    if (!inside(dv.getUint32(e, true), dv.getUint32(e + 4, true)) || !inside(dv.getUint32(e + 8, true), dv.getUint32(e + 12, true))) return false;
  }
  return inside(dv.getUint32(desc + FETCH_RES_BODY_PTR, true), dv.getUint32(desc + FETCH_RES_BODY_LEN, true));
}

/** Points the answer at `desc` `delta` bytes lower: its error message, or its header
 *  table (each entry's name and value) and its body. answerWithin() has checked every
 *  address it moves. */
function relocate(dv: DataView, desc: number, delta: number): void {
  if (dv.getUint32(desc + FETCH_RES_ERROR_LEN, true) > 0) {
    dv.setUint32(desc + FETCH_RES_ERROR_PTR, dv.getUint32(desc + FETCH_RES_ERROR_PTR, true) - delta, true);
    return;
  }
  if (dv.getUint32(desc + FETCH_RES_STATUS, true) === 0) return;
  const table = dv.getUint32(desc + FETCH_RES_HEADERS_PTR, true) - delta;
  dv.setUint32(desc + FETCH_RES_HEADERS_PTR, table, true);
  const n = dv.getUint32(desc + FETCH_RES_HEADER_COUNT, true);
  for (let k = 0; k < n; k++) {
    const e = table + k * HEADER_ENTRY_BYTES;
    dv.setUint32(e, dv.getUint32(e, true) - delta, true);
    dv.setUint32(e + 8, dv.getUint32(e + 8, true) - delta, true);
  }
  dv.setUint32(desc + FETCH_RES_BODY_PTR, dv.getUint32(desc + FETCH_RES_BODY_PTR, true) - delta, true);
}
