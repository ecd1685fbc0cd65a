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

import { EFFECT_CANCELLED, EFFECT_OK, FETCH_RES_BODY_PTR, FETCH_RES_EFFECT, FETCH_RES_ERROR_LEN, FETCH_RES_ERROR_PTR, FETCH_RES_HEADER_COUNT,
  FETCH_RES_HEADERS_PTR, FETCH_RES_STATUS, HEADER_ENTRY_BYTES, BODY_HEADROOM_BYTES, EFFECT_BAD_ARGUMENT, FETCH_DESC_BYTES,
} from "../../abi/constants.ts";
import { align16, regionCommit, regionEnd, regionTop } from "../../abi/region.ts";
import type { PendingEffect, SlotContext } from "../../abi/slot_context.ts";
import { assert } from "../../assert.ts";
import { FETCH_HEAD_BYTES_MAX, PARALLEL_FETCHES_MAX } from "../../limits.ts";
import { FetchOp, type FetchEnv, type FetchGroupSink } from "./fetch_op.ts";
import { OpTimer } from "./op_timer.ts";

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

  constructor(ctx: SlotContext, env: FetchEnv) {
    this.ctx = ctx;
    this.env = env;
  }

  /** Starts the `count` fetches whose descriptors' addresses are the u32s at `list`; a
   *  status when none had to wait, else a promise that settles when all have ended. */
  start(list: number, count: number, timeoutMs: number): number | Promise<number> {
    const app = this.env.memory;
    const dv = app.dv;
    const slot = this.ctx.slot;
    if (count > PARALLEL_FETCHES_MAX || !app.validRange(slot, list, count * 4)) return EFFECT_BAD_ARGUMENT;
    for (let i = 0; i < count; i++) {
      if (!app.validRange(slot, dv.getUint32(list + i * 4, true), FETCH_DESC_BYTES)) return EFFECT_BAD_ARGUMENT;
    }
    while (this.ops.length < count) this.ops.push(new FetchOp(this.ctx, this.env));
    let started = 0;
    for (let i = 0; i < count; i++) {
      const desc = dv.getUint32(list + i * 4, true);
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

  /** Moves every answer down to follow the one before it, then commits them. */
  private compact(): void {
    const app = this.env.memory;
    const dv = app.dv;
    let at = align16(this.floor);
    for (let i = 0; i < this.count; i++) {
      const op = this.ops[i];
      if (this.started[i] === 0 || op.blockEnd <= op.blockStart) continue;
      const delta = op.blockStart - at;
      assert(delta >= 0 && delta % 16 === 0, "answers move down by whole 16-byte blocks, keeping the body's alignment");
      if (delta > 0) {
        app.u8.copyWithin(at, op.blockStart, op.blockEnd);
        relocate(dv, op.desc, delta);
      }
      at = align16(op.blockEnd - delta);
    }
    if (at > align16(this.floor)) regionCommit(dv, app.slotBase(this.ctx.slot), at);
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

/** Points the answer at `desc` `delta` bytes lower: its error message, or its header
 *  table (each entry's name and value) and its body. */
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
