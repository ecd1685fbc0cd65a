// Who gets a slot, and when. A request that is ready (its body, if any, read in the
// connection's buffer) takes a free slot, else waits in a bounded FIFO queue, and past it
// gets 503. A request that will stream a large body into its slot may take one only while
// fewer than BODY_SLOTS_SHARE of the slots do, so clients that send a head and then no
// body can never hold every slot; it waits in its own queue otherwise. A freed slot goes
// straight to the oldest waiter that may take it (the slot stays busy in between, so a
// newly arrived request cannot overtake the queue).

import { assert } from "../assert.ts";
import { BODY_SLOTS_SHARE, STREAM_SLOTS_SHARE } from "../limits.ts";
import { SlotPool, WaitQueue } from "../memory/slots.ts";

/** A request waiting for a slot (http/connection.ts's Connection). */
export interface SlotWaiter {
  /** Arrival order, set by the scheduler when it queues the waiter. */
  queuedAt: number;
  /** The slot it holds counts against the body-slot share. */
  holdsBodySlot: boolean;
  /** A slot now, in the same call as `request`. */
  startRequest(slot: number): void;
  /** A slot freed up while it waited; called on a later turn of the event loop. */
  resumeWithSlot(slot: number): void;
  /** The queue is full: answer 503. */
  overloaded(): void;
}

export class SlotScheduler {
  readonly pool: SlotPool;
  private readonly ready: WaitQueue<SlotWaiter>;
  private readonly bodies: WaitQueue<SlotWaiter>;
  private readonly queueDepth: number;
  private queueSeq = 0;
  /** Slots held by requests streaming a body, at most bodySlotsMax. */
  private bodySlotsHeld = 0;
  private readonly bodySlotsMax: number;
  /** Slots held by streaming responses, at most streamsMax (STREAM_SLOTS_SHARE). */
  private streamsHeld = 0;
  readonly streamsMax: number;

  constructor(slots: number, queueDepth: number) {
    this.pool = new SlotPool(slots);
    this.queueDepth = queueDepth;
    this.ready = new WaitQueue<SlotWaiter>(queueDepth);
    this.bodies = new WaitQueue<SlotWaiter>(queueDepth);
    this.bodySlotsMax = Math.max(1, Math.floor(slots * BODY_SLOTS_SHARE));
    this.streamsMax = Math.max(1, Math.floor(slots * STREAM_SLOTS_SHARE));
  }

  get queued(): number {
    return this.ready.length + this.bodies.length;
  }

  get bodySlots(): number {
    return this.bodySlotsHeld;
  }

  /** Gives `w` a slot now, queues it, or has it answer 503 when the queues are full. */
  request(w: SlotWaiter, streamsBody: boolean): void {
    const bodyFull = streamsBody && this.bodySlotsHeld >= this.bodySlotsMax;
    const slot = bodyFull ? -1 : this.pool.acquire();
    if (slot >= 0) {
      if (streamsBody) this.holdBodySlot(w);
      w.startRequest(slot);
      return;
    }
    if (this.queued >= this.queueDepth) {
      w.overloaded();
      return;
    }
    w.queuedAt = ++this.queueSeq;
    (streamsBody ? this.bodies : this.ready).push(w);
  }

  private holdBodySlot(w: SlotWaiter): void {
    assert(!w.holdsBodySlot, "a request holds one body slot at most");
    this.bodySlotsHeld++;
    w.holdsBodySlot = true;
    assert(this.bodySlotsHeld <= this.bodySlotsMax, "no more slots stream bodies than BODY_SLOTS_SHARE allows");
  }

  /** `w` finished streaming its body (or ended): a body waiter may take a slot. */
  bodySlotDone(w: SlotWaiter): void {
    assert(w.holdsBodySlot, "only a request that holds a body slot gives one back");
    w.holdsBodySlot = false;
    this.bodySlotsHeld--;
    while (this.bodies.length > 0 && this.bodySlotsHeld < this.bodySlotsMax && this.pool.available > 0) {
      this.handOff(this.bodies.shift()!, this.pool.acquire(), true);
    }
  }

  /** Frees `slot`, or hands it straight to the oldest waiter that may take it. */
  release(slot: number): void {
    const ready = this.ready.peek();
    const body = this.bodySlotsHeld < this.bodySlotsMax ? this.bodies.peek() : null;
    if (ready !== null && (body === null || ready.queuedAt < body.queuedAt)) this.handOff(this.ready.shift()!, slot, false);
    else if (body !== null) this.handOff(this.bodies.shift()!, slot, true);
    else this.pool.release(slot);
  }

  private handOff(w: SlotWaiter, slot: number, streamsBody: boolean): void {
    if (streamsBody) this.holdBodySlot(w);
    // Let the current call stack unwind first: the waiter's whole request runs next.
    setImmediate(() => w.resumeWithSlot(slot));
  }

  /** Streaming responses in progress. */
  get streams(): number {
    return this.streamsHeld;
  }

  /** A request that holds a slot turns it into a stream's: false past streamsMax. */
  startStream(): boolean {
    if (this.streamsHeld >= this.streamsMax) return false;
    this.streamsHeld++;
    return true;
  }

  /** A stream ended (its slot is released with its request, as any other). */
  streamDone(): void {
    assert(this.streamsHeld > 0, "only a stream that started ends");
    this.streamsHeld--;
  }

  /** Drops a waiter whose client went away. */
  dequeue(w: SlotWaiter): void {
    this.ready.remove(w);
    this.bodies.remove(w);
  }
}
