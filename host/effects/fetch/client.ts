// The HTTP client behind the app's `fetch` effect: HTTP/1.1 over node:net (http://) or
// node:tls (https://) with a keep-alive pool per origin. This is its entry: it builds the pools and one fetch per
// slot, and hands each fetch to its slot's FetchOp. The parts, each in its own file:
//
//   fetch_op.ts        one slot's fetch as a state machine (WAIT, SEND, HEAD, BODY)
//   fetch_group.ts     a slot's parallel fetches (fetchAll): shares of the arena, one wait
//   op_timer.ts        the reused timer of a fetch and of a group
//   descriptor.ts      what the app asks for, and where its answer goes (docs/abi.md)
//   request_head.ts    the request head written into the arena
//   origin_lookup.ts   URL → origin pool, with a per-slot memo of the last origin
//   pool.ts            the per-origin connection pools and their sockets (TCP or TLS)
//   waiters.ts         the fetches waiting for a pool's connection
//   tls.ts             trusted authorities and TLS failures, for https:// upstreams
//   response_parser.ts the upstream's response head
//   body_reader.ts     its body, by framing (length, chunked, until close)
//   errno.ts           socket errors → EFFECT_* statuses and messages
//   upstream_url.ts    the URL an app passes

import type { SlotContext } from "../../abi/slot_context.ts";
import { FETCH_BODY_BYTES_MAX_DEFAULT, FETCH_HEAD_BYTES_MAX, FETCH_TIMEOUT_MS_DEFAULT } from "../../limits.ts";
import type { AppMemory } from "../../memory/app_memory.ts";
import { FetchGroup } from "./fetch_group.ts";
import { FetchOp, type FetchEnv } from "./fetch_op.ts";
import { UpstreamPools } from "./pool.ts";

/** The HTTP client's options (ServerOptions.fetch); each defaults to its named limit. */
export interface FetchClientOptions {
  /** Connections per upstream origin (FETCH_SOCKETS_PER_ORIGIN_MAX). */
  socketsPerOrigin?: number;
  /** Upstream origins with a pool at once (FETCH_ORIGINS_MAX). */
  originsMax?: number;
  /** Whole-fetch timeout when the app sets none (FETCH_TIMEOUT_MS_DEFAULT). */
  timeoutMs?: number;
  connectTimeoutMs?: number;
  /** Largest response body when the app sets none (FETCH_BODY_BYTES_MAX_DEFAULT). */
  bodyBytesMax?: number;
  idleTimeoutMs?: number;
  /** PEM text of authorities https upstreams may be signed by besides Node's and the
   *  system's (--fetch-ca / ARENA_FETCH_CA, read at start-up). */
  caPem?: string;
}

export class HttpClient implements FetchEnv {
  /** The app's memory: requests' descriptors are read and responses written there. */
  readonly memory: AppMemory;
  readonly timeoutMs: number;
  readonly bodyBytesMax: number;
  /** Bytes that must be decoded out of the arena (a chunked body read with its head). */
  readonly scratch = new Uint8Array(FETCH_HEAD_BYTES_MAX);
  readonly pools: UpstreamPools;
  /** One fetch operation per slot, reused. */
  private readonly ops: FetchOp[];
  /** One group per slot, made when the slot first runs fetchAll. */
  private readonly groups: (FetchGroup | null)[];

  /** Needs no app instance: the memory and the per-slot contexts exist before it, so the
   *  client can be built (and tested) with no wasm module at all. */
  constructor(memory: AppMemory, contexts: readonly SlotContext[], options: FetchClientOptions = {}) {
    this.memory = memory;
    this.pools = new UpstreamPools(contexts.length, options);
    this.timeoutMs = options.timeoutMs ?? FETCH_TIMEOUT_MS_DEFAULT;
    this.bodyBytesMax = options.bodyBytesMax ?? FETCH_BODY_BYTES_MAX_DEFAULT;
    this.ops = contexts.map((ctx) => new FetchOp(ctx, this));
    this.groups = contexts.map(() => null);
  }

  /** Starts the fetch of the request in `ctx`, described at `desc` in its arena. */
  fetch(ctx: SlotContext, desc: number): number | Promise<number> {
    return this.ops[ctx.slot].start(desc);
  }

  /** Starts the `count` fetches whose descriptors' addresses are the u32s at `list` in the
   *  arena of the request in `ctx`, with one timeout for them all (0: the default). */
  fetchAll(ctx: SlotContext, list: number, count: number, timeoutMs: number): number | Promise<number> {
    let group = this.groups[ctx.slot];
    if (group === null) {
      group = new FetchGroup(ctx, this);
      this.groups[ctx.slot] = group;
    }
    return group.start(list, count, timeoutMs);
  }

  /** Pools and sockets kept (for tests and diagnostics). */
  stats(): { origins: number; sockets: number; idle: number } {
    return this.pools.stats();
  }

  /** Closes idle sockets now and every socket as soon as its fetch ends. */
  close(): void {
    this.pools.close();
    for (const op of this.ops) op.stopTimer();
    for (const group of this.groups) group?.stopTimers();
  }
}
