// The effects an app may use: the `arena.*` imports besides the runtime's own. They are
// the app's only way to reach the world (docs/abi.md lists them); everything else the
// module imports is refused at load.
//
// Effects that wait (fetch, sleep) are JSPI imports (`WebAssembly.Suspending`): the host
// returns a promise, the request's wasm stack is suspended, other requests run, and when
// the promise settles the wasm continues. The SDK re-enters the request's own arena as
// the first thing it does after the import returns (sdk/lib/arena/fetch.ts and time.ts, next to their imports). An
// effect that can answer at once (a bad argument, a cancelled request, a call from
// start-up code that cannot suspend) returns a plain number and nothing is suspended.
//
// Every (ptr, len) the app passes is checked against the calling request's arena and the
// startup region before it is read or written.

import crypto from "node:crypto";
import {
  EFFECT_BAD_ARGUMENT, EFFECT_CANCELLED, EFFECT_OK, EFFECT_UNAVAILABLE, LOG_DEBUG, LOG_ERROR, LOG_INFO, LOG_WARN,
  REGION_ID_STARTUP,
} from "../abi/constants.ts";
import type { Caller } from "../abi/caller.ts";
import type { AppMemory } from "../memory/app_memory.ts";
import { DeviceRegion, DeviceTable } from "../memory/device_region.ts";
import type { SharedRegion } from "../memory/shared_region.ts";
import type { HttpClient } from "./fetch/client.ts";
import { CryptoEffects } from "./crypto.ts";
import { DeviceEffects } from "./device.ts";
import { SharedEffects } from "./shared.ts";
import { SqliteEffects } from "./sqlite.ts";
import { StreamEffects } from "./stream.ts";
import { EventEffects } from "./events.ts";
import { CPU_BUDGET_MS_DEFAULT, LOG_LINE_BYTES_MAX, SLEEP_MS_MAX, STARTUP_CPU_MS_MAX } from "../limits.ts";
import { LOG_LEVELS, type Logger } from "../log.ts";
import type { PendingEffect, SlotContext } from "../abi/slot_context.ts";

const utf8 = new TextDecoder("utf-8");
const encoder = new TextEncoder();

/** A sleep in progress: one per slot, reused, so a sleep allocates only its timer. */
class Sleep implements PendingEffect {
  private timer: NodeJS.Timeout | null = null;
  private readonly ctx: SlotContext;
  private readonly onTimer = (): void => this.settle(EFFECT_OK);

  constructor(ctx: SlotContext) {
    this.ctx = ctx;
  }

  start(ms: number): Promise<number> {
    this.timer = setTimeout(this.onTimer, ms);
    return this.ctx.wait(this);
  }

  cancel(): void {
    this.settle(EFFECT_CANCELLED);
  }

  private settle(status: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.ctx.wake(this, status);
  }
}

export class Effects {
  private readonly memory: AppMemory;
  private readonly caller: Caller;
  private readonly log: Logger;
  readonly client: HttpClient;
  private readonly sleeps: Sleep[];
  private readonly crypto: CryptoEffects;
  private readonly sharedEffects: SharedEffects;
  /** The app's SQLite databases and statements (host/effects/sqlite.ts). */
  readonly sqlite: SqliteEffects;
  private readonly streamEffects: StreamEffects;
  private readonly eventEffects: EventEffects;
  private readonly deviceEffects: DeviceEffects;
  /** This build's device handles (host/memory/device_region.ts): freed when it is closed. */
  readonly device: DeviceTable;
  /** The region every worker of the server shares (host/memory/shared_region.ts), or null. */
  readonly shared: SharedRegion | null;

  /** App log lines below this level are dropped (LOG_INFO by default: no debug lines). */
  private readonly logLevel: number;

  /** CPU ms a request may use (CPU_BUDGET_MS_DEFAULT). */
  readonly cpuBudgetMs: number;

  /** Everything here exists before the app's instance; `caller` finds the request an
   *  import acts for once the instance is bound to it. */
  constructor(memory: AppMemory, caller: Caller, client: HttpClient, log: Logger, logLevel: number = LOG_INFO,
    cpuBudgetMs: number = CPU_BUDGET_MS_DEFAULT, shared: SharedRegion | null = null, device: DeviceRegion | null = null) {
    this.shared = shared;
    this.memory = memory;
    this.caller = caller;
    this.client = client;
    this.log = log;
    this.logLevel = logLevel;
    this.cpuBudgetMs = cpuBudgetMs;
    this.sleeps = caller.contexts.map((ctx) => new Sleep(ctx));
    this.crypto = new CryptoEffects(memory, caller);
    this.sharedEffects = new SharedEffects(memory, caller, shared);
    this.sqlite = new SqliteEffects(memory, caller, log, cpuBudgetMs);
    this.streamEffects = new StreamEffects(memory, caller, () => this.waitingRequest());
    this.eventEffects = new EventEffects(memory, caller, () => this.waitingRequest());
    this.device = new DeviceTable(device ?? DeviceRegion.create(0));
    this.deviceEffects = new DeviceEffects(memory, caller, this.device);
  }

  /** Whether the caller may read or write [ptr, ptr + len). */
  private valid(ptr: number, len: number): boolean {
    return this.memory.validRange(this.caller.current().slot, ptr >>> 0, len >>> 0);
  }

  /**
   * The gate every waiting effect passes first: the calling request, or the status to
   * answer at once (Unavailable in start-up code, Cancelled for a request whose client left
   * or whose deadline passed). Charges the request's CPU so far and traps it (throws) when
   * it is over its budget: every wait is a budget check.
   */
  private waitingRequest(): SlotContext | number {
    const ctx = this.caller.request();
    if (ctx === null) return EFFECT_UNAVAILABLE;
    if (!ctx.chargeAtEffect(this.cpuBudgetMs)) throw new WebAssembly.RuntimeError("CPU budget exceeded");
    if (ctx.cancelled) return EFFECT_CANCELLED;
    return ctx;
  }

  imports(): Record<string, unknown> {
    return {
      // sha256, hmac_sha256: host/effects/crypto.ts.
      ...this.crypto.imports(),
      // shared_counter, shared_add, shared_load, shared_exchange, shared_set, shared_get,
      // shared_delete: host/effects/shared.ts.
      ...this.sharedEffects.imports(),
      // sqlite_open, sqlite_migrate, sqlite_prepare, sqlite_column_name, sqlite_query,
      // sqlite_tx: host/effects/sqlite.ts.
      ...this.sqlite.imports(),
      // stream_start, stream_write: host/effects/stream.ts.
      ...this.streamEffects.imports(),
      // events_publish, events_latest, events_wait: host/effects/events.ts.
      ...this.eventEffects.imports(),
      // device_open, device_size, device_alloc, device_read, device_write, device_free:
      // host/effects/device.ts.
      ...this.deviceEffects.imports(),
      // sleep(ms: f64) -> status. Suspends the request for about `ms` milliseconds.
      sleep: new WebAssembly.Suspending((ms: number): number | Promise<number> => {
        const ctx = this.waitingRequest();
        if (typeof ctx === "number") return ctx;
        if (!(ms >= 0)) return EFFECT_BAD_ARGUMENT;
        return this.sleeps[ctx.slot].start(Math.min(ms, SLEEP_MS_MAX));
      }),
      // fetch(desc) -> status. See FETCH_* in host/abi/constants.ts.
      fetch: new WebAssembly.Suspending((desc: number): number | Promise<number> => {
        const ctx = this.waitingRequest();
        if (typeof ctx === "number") return ctx;
        return this.client.fetch(ctx, desc >>> 0);
      }),
      // fetch_all(list, count, timeoutMs) -> status. Starts the fetches whose descriptors'
      // addresses are the `count` u32s at `list` at once and resumes when all have ended
      // (each one's status in its descriptor's FETCH_RES_EFFECT); host/effects/fetch/fetch_group.ts.
      fetch_all: new WebAssembly.Suspending((list: number, count: number, timeoutMs: number): number | Promise<number> => {
        const ctx = this.waitingRequest();
        if (typeof ctx === "number") return ctx;
        return this.client.fetchAll(ctx, list >>> 0, count >>> 0, timeoutMs >>> 0);
      }),
      // cpu_check() -> 1 to stop: called by the instrumented code every CPU_CHECK_STEP loop
      // iterations or calls (cli/instrument.ts). Over the budget, the request traps.
      cpu_check: (): number => {
        const ctx = this.caller.current();
        if (ctx.deadlinePassed) return 1; // answered 504 already: stop now
        const used = ctx.cpuMs();
        const budget = ctx.slot === REGION_ID_STARTUP ? STARTUP_CPU_MS_MAX : this.cpuBudgetMs;
        if (used <= budget) return 0;
        ctx.trap.cpuMs = used;
        return 1;
      },
      // clock_monotonic() -> f64 ms since an arbitrary origin; never goes backwards.
      clock_monotonic: (): number => performance.now(),
      // clock_wall() -> f64 ms since the Unix epoch.
      clock_wall: (): number => Date.now(),
      // env(namePtr, nameLen, outPtr, outCap) -> value length in bytes, or -1 when unset.
      // When the length is over outCap nothing is written; the SDK asks again with room.
      env: (namePtr: number, nameLen: number, outPtr: number, outCap: number): number => {
        const u8 = this.memory.u8;
        if (!this.valid(namePtr, nameLen) || !this.valid(outPtr, outCap)) return -1;
        const name = utf8.decode(u8.subarray(namePtr >>> 0, (namePtr >>> 0) + (nameLen >>> 0)));
        const value = process.env[name];
        if (value === undefined) return -1;
        const bytes = encoder.encode(value);
        if (bytes.length <= outCap >>> 0) u8.set(bytes, outPtr >>> 0);
        return bytes.length;
      },
      // random(ptr, len): fills with cryptographically strong random bytes.
      random: (ptr: number, len: number): number => {
        if (!this.valid(ptr, len)) return EFFECT_BAD_ARGUMENT;
        crypto.randomFillSync(this.memory.u8, ptr >>> 0, len >>> 0);
        return EFFECT_OK;
      },
      // log(level, msgPtr, msgLen, fieldsPtr, fieldsLen): one structured line, tagged with
      // the request id. Fields are a JSON object the SDK wrote (or len 0).
      log: (level: number, msgPtr: number, msgLen: number, fieldsPtr: number, fieldsLen: number): void => {
        const u8 = this.memory.u8;
        if (level < this.logLevel) return;
        msgLen = Math.min(msgLen >>> 0, LOG_LINE_BYTES_MAX);
        fieldsLen = fieldsLen >>> 0;
        if (!this.valid(msgPtr, msgLen)) return;
        const message = utf8.decode(u8.subarray(msgPtr >>> 0, (msgPtr >>> 0) + msgLen));
        let fields: Record<string, unknown> | null = null;
        if (fieldsLen > 0 && fieldsLen <= LOG_LINE_BYTES_MAX && this.valid(fieldsPtr, fieldsLen)) {
          try {
            const parsed: unknown = JSON.parse(utf8.decode(u8.subarray(fieldsPtr >>> 0, (fieldsPtr >>> 0) + fieldsLen)));
            if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) fields = parsed as Record<string, unknown>;
          } catch {
            fields = { fieldsInvalid: true };
          }
        }
        const lvl = level === LOG_DEBUG || level === LOG_INFO || level === LOG_WARN || level === LOG_ERROR ? LOG_LEVELS[level] : "info";
        this.log.record(lvl, this.caller.current().id, message, fields);
      },
    };
  }
}
