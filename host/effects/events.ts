// Wait and notify within one worker: `arena.events_publish(topic, id)` announces that
// something numbered `id` happened on `topic`, and `arena.events_wait(topic, afterId, ms)`
// suspends a request until the topic's latest id is past `afterId`, the time is up, or its
// client leaves. An event stream waits here instead of polling: the notes example's
// /events handler sleeps until a note is created or deleted.
//
// The host keeps only each topic's name and latest id; what happened is the app's (its
// heap, its database), read after the wake. Topics are bounded (EVENT_TOPICS_MAX, made on
// first use), and so are waiters: a request waits on one effect at a time, so each slot has
// one reusable wait, and a publish looks at the slots' waits (publishes are rare next to
// requests; nothing is allocated per wait but its timer). Per worker: a publish in one
// worker does not wake a request in another.

import { EFFECT_BAD_ARGUMENT, EFFECT_CANCELLED, EFFECT_OK, EFFECT_TIMEOUT, EFFECT_TOO_LARGE } from "../abi/constants.ts";
import type { Caller } from "../abi/caller.ts";
import type { PendingEffect, SlotContext } from "../abi/slot_context.ts";
import { EVENTS_WAIT_MS_MAX, EVENT_TOPICS_MAX, EVENT_TOPIC_BYTES_MAX } from "../limits.ts";
import type { AppMemory } from "../memory/app_memory.ts";
import type { WaitGate } from "./stream.ts";

const utf8 = new TextDecoder("utf-8");

/** Largest id: an f64 holds every integer up to 2^53 exactly. */
const ID_MAX = Number.MAX_SAFE_INTEGER;

/** One slot's wait for a topic: made at start, reused by every wait in that slot. */
class EventWait implements PendingEffect {
  /** The topic waited on, or -1 when not waiting. */
  topic = -1;
  afterId = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly ctx: SlotContext;
  private readonly onTimer = (): void => this.settle(EFFECT_TIMEOUT);

  constructor(ctx: SlotContext) {
    this.ctx = ctx;
  }

  start(topic: number, afterId: number, ms: number): Promise<number> {
    this.topic = topic;
    this.afterId = afterId;
    this.timer = setTimeout(this.onTimer, ms);
    return this.ctx.wait(this);
  }

  cancel(): void {
    this.settle(EFFECT_CANCELLED);
  }

  settle(status: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.topic = -1;
    this.ctx.wake(this, status);
  }
}

export class EventEffects {
  private readonly memory: AppMemory;
  private readonly caller: Caller;
  private readonly gate: WaitGate;
  private readonly names = new Map<string, number>();
  /** Each topic's latest id, by the index `names` gives (-1: nothing published yet). */
  private readonly latest: number[] = [];
  private readonly waits: EventWait[];

  constructor(memory: AppMemory, caller: Caller, gate: WaitGate) {
    this.memory = memory;
    this.caller = caller;
    this.gate = gate;
    this.waits = caller.contexts.map((ctx) => new EventWait(ctx));
  }

  /** The index of the topic named u8[ptr, ptr + len) (made when `make` and there is room),
   *  or -EFFECT_BAD_ARGUMENT, -EFFECT_TOO_LARGE (the table is full), -1 (unknown). */
  private topic(ptr: number, len: number, make: boolean): number {
    ptr >>>= 0;
    len >>>= 0;
    if (len === 0 || len > EVENT_TOPIC_BYTES_MAX || !this.memory.validRange(this.caller.current().slot, ptr, len)) return -EFFECT_BAD_ARGUMENT;
    const name = utf8.decode(this.memory.u8.subarray(ptr, ptr + len));
    const known = this.names.get(name);
    if (known !== undefined) return known;
    if (!make) return -1;
    if (this.latest.length >= EVENT_TOPICS_MAX) return -EFFECT_TOO_LARGE;
    this.names.set(name, this.latest.length);
    this.latest.push(-1);
    return this.latest.length - 1;
  }

  /** Sets `topic`'s latest id and wakes the waits it is news to. */
  private publish(topic: number, id: number): number {
    if (!(Number.isInteger(id) && id >= 0 && id <= ID_MAX) || id <= this.latest[topic]) return EFFECT_BAD_ARGUMENT;
    this.latest[topic] = id;
    for (const w of this.waits) if (w.topic === topic && id > w.afterId) w.settle(EFFECT_OK);
    return EFFECT_OK;
  }

  imports(): Record<string, unknown> {
    return {
      // events_publish(topicPtr, topicLen, id: f64) -> status. `id` must be an integer above
      // the topic's latest (ids only grow): EFFECT_BAD_ARGUMENT otherwise.
      events_publish: (topicPtr: number, topicLen: number, id: number): number => {
        const t = this.topic(topicPtr, topicLen, true);
        return t < 0 ? -t : this.publish(t, id);
      },
      // events_latest(topicPtr, topicLen) -> f64: the topic's latest id, -1 when nothing was
      // published on it (or the name is not a valid topic).
      events_latest: (topicPtr: number, topicLen: number): number => {
        const t = this.topic(topicPtr, topicLen, false);
        return t < 0 ? -1 : this.latest[t];
      },
      // events_wait(topicPtr, topicLen, afterId: f64, timeoutMs: f64) -> status: EFFECT_OK
      // once the topic's latest id is above afterId (at once when it already is),
      // EFFECT_TIMEOUT, EFFECT_CANCELLED, EFFECT_TOO_LARGE (the topic table is full).
      events_wait: new WebAssembly.Suspending((topicPtr: number, topicLen: number, afterId: number, timeoutMs: number): number | Promise<number> => {
        const ctx = this.gate();
        if (typeof ctx === "number") return ctx;
        if (!(timeoutMs >= 0) || Number.isNaN(afterId)) return EFFECT_BAD_ARGUMENT;
        const t = this.topic(topicPtr, topicLen, true);
        if (t < 0) return -t;
        if (this.latest[t] > afterId) return EFFECT_OK;
        if (timeoutMs === 0) return EFFECT_TIMEOUT;
        return this.waits[ctx.slot].start(t, afterId, Math.min(timeoutMs, EVENTS_WAIT_MS_MAX));
      }),
    };
  }
}
