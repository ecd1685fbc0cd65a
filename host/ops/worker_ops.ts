// A worker's side of the metrics: the request observer the server calls once per finished
// request, which counts it into the worker's block of the metrics buffer (and hands it to
// the access log), the gauges the worker samples every TIMER_SWEEP_MS or so, and the GC
// events a PerformanceObserver reports. Only this object writes the block, so its counters
// are plain Float64 additions; the observer path allocates nothing (a route's name is
// decoded once, host/ops/routes.ts).

import { PerformanceObserver } from "node:perf_hooks";
import { regionPeakBytes } from "../abi/region.ts";
import { FinishedRequest, type RequestObserver } from "../http/observer.ts";
import type { ArenaServer } from "../server.ts";
import type { AccessLog } from "./access_log.ts";
import {
  errorCell, F_ARENA_PEAK, F_DROPPED, F_ERRORS, F_GAUGES, F_GC_COUNT, F_GC_PAUSE, F_LATENCY, F_LATENCY_SUM, F_REFUSED,
  F_REQUESTS, F_RESPONSE_BYTES, G_BUILDS, G_CONNECTIONS, G_FETCH_IDLE, G_FETCH_SOCKETS, G_HEAP, G_IN_PROGRESS, G_QUEUE,
  G_SAMPLED_AT, G_SLOTS, G_SLOTS_IN_USE, G_STARTUP, GC_KINDS, LATENCY_BOUNDS_MS, ROW_NONE, STATUS_COLUMNS, statusColumn,
  BLOCK_BYTES,
} from "./layout.ts";
import { WorkerRoutes } from "./routes.ts";

/** What a worker does with its metrics: observe requests (ServerOptions.observer), sample
 *  its gauges, and stop. */
export interface WorkerOps extends RequestObserver {
  /** Samples the server's gauges into the block: every TIMER_SWEEP_MS or so, and before
   *  the worker drains (its last values stay in the block). */
  sample(server: ArenaServer): void;
  /** Stops the GC observer and writes what the access log holds. */
  close(): Promise<void>;
}

const OTHER_JSON = new TextEncoder().encode('"other"');
const ERROR_CONNECTIONS = errorCell("ARENA_E_CONNECTIONS");

export class WorkerMetrics implements WorkerOps {
  readonly record = new FinishedRequest();
  private readonly f64: Float64Array;
  private readonly routes: WorkerRoutes;
  private readonly accessLog: AccessLog | null;
  private readonly gc: PerformanceObserver;
  /** The server's refused count and the access log's dropped count at the last sample: the
   *  block adds what is new, so a replacement's counters go on rising from the block's. */
  private refusedSeen = 0;
  private droppedSeen = 0;

  /** The ops of the block at `base` (bytes) in `buffer`. */
  constructor(buffer: SharedArrayBuffer, base: number, accessLog: AccessLog | null) {
    this.f64 = new Float64Array(buffer, base, BLOCK_BYTES / 8);
    this.routes = new WorkerRoutes(buffer, base);
    this.accessLog = accessLog;
    const f = this.f64;
    this.gc = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        const kind = (entry as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0;
        const k = GC_KINDS.findIndex(([, bit]) => bit === kind);
        if (k < 0) continue;
        f[F_GC_COUNT + k] += 1;
        f[F_GC_PAUSE + k] += entry.duration / 1000;
      }
    });
    this.gc.observe({ entryTypes: ["gc"] });
  }

  finished(r: FinishedRequest): void {
    const f = this.f64;
    let row = ROW_NONE;
    let route: Uint8Array | null = null;
    let arena = 0;
    const bridge = r.bridge;
    // The route and the arena's use are the app's only once it had the request (id ≠ 0):
    // before that the slot holds what its previous request left.
    if (r.id !== 0 && r.slot >= 0 && bridge !== null) {
      const app = bridge.app;
      const ctx = app.caller.contexts[r.slot];
      if (ctx.routeLen !== 0) {
        const local = this.routes.route(app, ctx.routePtr, ctx.routeLen);
        row = this.routes.row(local);
        route = local < 0 ? OTHER_JSON : this.routes.json[local];
      }
      const memory = app.memory;
      const base = memory.slotBase(r.slot);
      arena = regionPeakBytes(memory.dv, base, memory.plan.arenaBytes);
    }
    f[F_REQUESTS + row * STATUS_COLUMNS + statusColumn(r.status)] += 1;
    f[F_RESPONSE_BYTES + row] += r.bytes;
    if (arena > f[F_ARENA_PEAK + row]) f[F_ARENA_PEAK + row] = arena;
    const ms = r.durationMs;
    let b = 0;
    while (b < LATENCY_BOUNDS_MS.length && ms > LATENCY_BOUNDS_MS[b]) b++;
    f[F_LATENCY + b] += 1;
    f[F_LATENCY_SUM] += ms / 1000;
    if (r.code !== null) f[F_ERRORS + errorCell(r.code)] += 1;
    this.accessLog?.log(r, arena, route);
  }

  sample(server: ArenaServer): void {
    const f = this.f64;
    const s = server.stats();
    const fetch = server.effects.client.stats();
    f[F_GAUGES + G_SLOTS] = s.slots;
    f[F_GAUGES + G_SLOTS_IN_USE] = s.slots - s.slotsFree;
    f[F_GAUGES + G_QUEUE] = s.queued;
    f[F_GAUGES + G_CONNECTIONS] = s.connections;
    f[F_GAUGES + G_IN_PROGRESS] = s.inProgress;
    f[F_GAUGES + G_HEAP] = s.heapUsedBytes;
    f[F_GAUGES + G_STARTUP] = s.startupUsedBytes;
    f[F_GAUGES + G_BUILDS] = server.builds;
    f[F_GAUGES + G_FETCH_SOCKETS] = fetch.sockets;
    f[F_GAUGES + G_FETCH_IDLE] = fetch.idle;
    f[F_GAUGES + G_SAMPLED_AT] = Date.now() / 1000;
    // Refused connections never become a request (nothing is observed): their count comes
    // from the server's stats (ServerStats.refused, when the server reports it), and they
    // are errors of their code too.
    const refused = (s as { refused?: number }).refused ?? 0;
    if (refused > this.refusedSeen) {
      f[F_REFUSED] += refused - this.refusedSeen;
      f[F_ERRORS + ERROR_CONNECTIONS] += refused - this.refusedSeen;
      this.refusedSeen = refused;
    }
    this.sampleDropped();
  }

  private sampleDropped(): void {
    const dropped = this.accessLog?.dropped ?? 0;
    this.f64[F_DROPPED] += dropped - this.droppedSeen;
    this.droppedSeen = dropped;
  }

  async close(): Promise<void> {
    this.gc.disconnect();
    await this.accessLog?.close();
    this.sampleDropped();
  }
}
