// The server's metrics: one SharedArrayBuffer the primary creates for its N workers
// (Metrics.create) and each worker attaches to (Metrics.attach on the buffer the primary
// passed it), with one fixed block per worker (host/ops/layout.ts). A worker writes only
// its block, through the WorkerOps that Metrics.worker() returns; the primary reads every
// block when it renders a scrape, so metrics never cost the workers a message.
//
// Families (all per worker, label `worker`):
//   arena_requests_total{route,status}            requests answered
//   arena_request_duration_seconds{le}            latency, head complete → response handed over
//   arena_response_bytes_total{route}             response bytes, head and body
//   arena_route_arena_peak_bytes{route}           most arena one request of the route used
//   arena_errors_total{code}                      errors by ArenaError code
//   arena_gc_events_total{kind}, arena_gc_pause_seconds_total{kind}
//   arena_connections_refused_total, arena_access_log_dropped_lines_total
//   the sampled gauges of layout.ts's GAUGES (slots, queue, connections, regions, builds, fetch)
// and for the process: arena_workers, arena_ready, arena_worker_restarts_total,
// arena_reloads_total, arena_reload_failures_total.
//
// Routes are the app's patterns ("/users/:id"): "none" for a request the app never routed
// (the host refused it, or no route matched), "other" past METRICS_ROUTES_MAX. Statuses are
// the codes of layout.ts's STATUS_CODES, the rest "other". Series are written once they
// are non-zero, so a scrape's size follows the routes and statuses seen.

import { assert } from "../assert.ts";
import type { AccessLog } from "./access_log.ts";
import { bound, Exposition, labelValue, type MetricsFormat } from "./exposition.ts";
import {
  BLOCK_BYTES, ERROR_CODES, F_ARENA_PEAK, F_DROPPED, F_ERRORS, F_GAUGES, F_GC_COUNT, F_GC_PAUSE, F_LATENCY, F_LATENCY_SUM,
  F_REFUSED, F_REQUESTS, F_RESPONSE_BYTES, G_SAMPLED_AT, GAUGES, GC_KINDS, H_BLOCK_BYTES, H_MAGIC, H_WORKERS, HEADER_BYTES,
  LATENCY_BOUNDS_SECONDS, LATENCY_BUCKETS, MAGIC, STATUS_CODES, STATUS_COLUMNS,
} from "./layout.ts";
import { rowNames } from "./routes.ts";
import { WorkerMetrics, type WorkerOps } from "./worker_ops.ts";

export type { WorkerOps } from "./worker_ops.ts";

/** What the primary knows of the process, rendered beside the workers' blocks. */
export interface ProcessState {
  /** Workers replaced after they stopped, since start. */
  restarts: number;
  /** Workers running now. */
  workers: number;
  /** Serving: every worker is up and none is draining for shutdown. */
  ready: boolean;
  /** Reloads that succeeded, and those refused or failed, since start. */
  reloads: number;
  reloadFailures: number;
}

/** One worker's block as the renderer reads it. */
interface Block {
  worker: string;
  f: Float64Array;
  routes: string[];
}

export class Metrics {
  readonly buffer: SharedArrayBuffer;
  readonly workers: number;

  private constructor(buffer: SharedArrayBuffer) {
    const header = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    assert(header[H_MAGIC] === MAGIC && header[H_BLOCK_BYTES] === BLOCK_BYTES,
      "a metrics buffer is attached by the host version that created it (same layout)");
    this.buffer = buffer;
    this.workers = header[H_WORKERS];
    assert(buffer.byteLength === HEADER_BYTES + this.workers * BLOCK_BYTES, "a metrics buffer holds one block per worker");
  }

  /** When worker `index` last sampled its gauges (Unix seconds; 0 before its first
   *  sample): a worker whose event loop is stuck stops sampling. */
  lastSample(index: number): number {
    assert(index >= 0 && index < this.workers, "a worker's block exists");
    return new Float64Array(this.buffer, HEADER_BYTES + index * BLOCK_BYTES, BLOCK_BYTES / 8)[F_GAUGES + G_SAMPLED_AT];
  }

  /** A zeroed buffer for `workers` workers (the primary's, at start). */
  static create(workers: number): Metrics {
    assert(Number.isInteger(workers) && workers >= 1, `metrics are kept for one worker or more (got ${workers})`);
    const buffer = new SharedArrayBuffer(HEADER_BYTES + workers * BLOCK_BYTES);
    const header = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    header[H_MAGIC] = MAGIC;
    header[H_BLOCK_BYTES] = BLOCK_BYTES;
    header[H_WORKERS] = workers;
    return new Metrics(buffer);
  }

  /** The metrics of a buffer Metrics.create made (in a worker, from the primary's message). */
  static attach(buffer: SharedArrayBuffer): Metrics {
    return new Metrics(buffer);
  }

  /** The ops of worker `index` (0-based): its observer, gauge sampler and GC observer,
   *  counting into its block from where the block is (a replacement goes on counting), and
   *  writing `accessLog` when given. One per worker thread at a time. */
  worker(index: number, accessLog: AccessLog | null): WorkerOps {
    assert(Number.isInteger(index) && index >= 0 && index < this.workers, `worker ${index} has a block (${this.workers} workers)`);
    return new WorkerMetrics(this.buffer, this.blockBase(index), accessLog);
  }

  /** Ops that only write `accessLog` (a server with an access log and no admin listener):
   *  they count into a block of their own that nothing reads. */
  static logOnly(accessLog: AccessLog): WorkerOps {
    return Metrics.create(1).worker(0, accessLog);
  }

  private blockBase(index: number): number {
    return HEADER_BYTES + index * BLOCK_BYTES;
  }

  /** The exposition of every block and `process`, in `format` (METRICS_CONTENT_TYPES names
   *  its content type). */
  render(process: ProcessState, format: MetricsFormat = "openmetrics"): string {
    const blocks: Block[] = [];
    for (let i = 0; i < this.workers; i++) {
      const base = this.blockBase(i);
      blocks.push({ worker: `worker="${i}"`, f: new Float64Array(this.buffer, base, BLOCK_BYTES / 8), routes: rowNames(this.buffer, base) });
    }
    const out = new Exposition(format);
    renderRequests(out, blocks);
    renderLatency(out, blocks);
    renderWorkerCounters(out, blocks);
    renderGauges(out, blocks);
    renderProcess(out, process);
    return out.text();
  }
}

function routeLabel(b: Block, row: number): string {
  return `${b.worker},route="${labelValue(b.routes[row])}"`;
}

function renderRequests(out: Exposition, blocks: Block[]): void {
  out.family("arena_requests", "counter", "Requests answered, by route pattern (none: never routed; other: past the route table) and status (other: a status outside the common list).");
  for (const b of blocks) {
    for (let row = 0; row < b.routes.length; row++) {
      for (let col = 0; col < STATUS_COLUMNS; col++) {
        const n = b.f[F_REQUESTS + row * STATUS_COLUMNS + col];
        if (n > 0) out.sample("arena_requests_total", `${routeLabel(b, row)},status="${col < STATUS_CODES.length ? STATUS_CODES[col] : "other"}"`, n);
      }
    }
  }
  out.family("arena_response_bytes", "counter", "Response bytes handed to the socket, head and body.", "bytes");
  for (const b of blocks) {
    for (let row = 0; row < b.routes.length; row++) {
      const n = b.f[F_RESPONSE_BYTES + row];
      if (n > 0) out.sample("arena_response_bytes_total", routeLabel(b, row), n);
    }
  }
  out.family("arena_route_arena_peak_bytes", "gauge", "Most arena bytes one request of the route used: what to size --arena-bytes from.", "bytes");
  for (const b of blocks) {
    for (let row = 0; row < b.routes.length; row++) {
      const n = b.f[F_ARENA_PEAK + row];
      if (n > 0) out.sample("arena_route_arena_peak_bytes", routeLabel(b, row), n);
    }
  }
}

function renderLatency(out: Exposition, blocks: Block[]): void {
  out.family("arena_request_duration_seconds", "histogram", "Time from a request's complete head to its response handed to the socket.", "seconds");
  for (const b of blocks) {
    let count = 0;
    for (let i = 0; i < LATENCY_BUCKETS; i++) {
      count += b.f[F_LATENCY + i];
      const le = i < LATENCY_BOUNDS_SECONDS.length ? LATENCY_BOUNDS_SECONDS[i] : Infinity;
      out.sample("arena_request_duration_seconds_bucket", `${b.worker},le="${bound(le)}"`, count);
    }
    out.sample("arena_request_duration_seconds_count", b.worker, count);
    out.sample("arena_request_duration_seconds_sum", b.worker, b.f[F_LATENCY_SUM]);
  }
}

function renderWorkerCounters(out: Exposition, blocks: Block[]): void {
  out.family("arena_errors", "counter", "Requests answered with an error, and connections refused, by ArenaError code (docs/errors.md).");
  for (const b of blocks) {
    for (let i = 0; i < ERROR_CODES.length; i++) {
      const n = b.f[F_ERRORS + i];
      if (n > 0) out.sample("arena_errors_total", `${b.worker},code="${ERROR_CODES[i]}"`, n);
    }
  }
  out.family("arena_gc_events", "counter", "Garbage collections of the worker's JavaScript heap, by kind.");
  for (const b of blocks) {
    for (let k = 0; k < GC_KINDS.length; k++) out.sample("arena_gc_events_total", `${b.worker},kind="${GC_KINDS[k][0]}"`, b.f[F_GC_COUNT + k]);
  }
  out.family("arena_gc_pause_seconds", "counter", "Time the worker's JavaScript heap spent collecting garbage, by kind.", "seconds");
  for (const b of blocks) {
    for (let k = 0; k < GC_KINDS.length; k++) out.sample("arena_gc_pause_seconds_total", `${b.worker},kind="${GC_KINDS[k][0]}"`, b.f[F_GC_PAUSE + k]);
  }
  out.family("arena_connections_refused", "counter", "Connections refused because the worker had as many open as --connections allows.");
  for (const b of blocks) out.sample("arena_connections_refused_total", b.worker, b.f[F_REFUSED]);
  out.family("arena_access_log_dropped_lines", "counter", "Access log lines dropped because the log's writer fell behind or failed.");
  for (const b of blocks) out.sample("arena_access_log_dropped_lines_total", b.worker, b.f[F_DROPPED]);
}

function renderGauges(out: Exposition, blocks: Block[]): void {
  for (let g = 0; g < GAUGES.length; g++) {
    const [name, unit, help] = GAUGES[g];
    out.family(`arena_${name}`, "gauge", help, unit);
    for (const b of blocks) out.sample(`arena_${name}`, b.worker, b.f[F_GAUGES + g]);
  }
}

function renderProcess(out: Exposition, p: ProcessState): void {
  out.family("arena_workers", "gauge", "Worker threads running.");
  out.sample("arena_workers", "", p.workers);
  out.family("arena_ready", "gauge", "1 while the server serves (every worker up, not draining), else 0.");
  out.sample("arena_ready", "", p.ready ? 1 : 0);
  out.family("arena_worker_restarts", "counter", "Workers replaced after they stopped unexpectedly.");
  out.sample("arena_worker_restarts_total", "", p.restarts);
  out.family("arena_reloads", "counter", "Reloads that made a new build current.");
  out.sample("arena_reloads_total", "", p.reloads);
  out.family("arena_reload_failures", "counter", "Reloads refused, or whose build failed to load (ARENA_E_RELOAD).");
  out.sample("arena_reload_failures_total", "", p.reloadFailures);
}
