// The metrics buffer's fixed layout: a header, then one block per worker. A worker is the
// only writer of its block (a replacement takes over the block of the worker it replaces,
// so its counters go on from where they were); the primary only reads. Everything is
// placed at start from the limits, so the primary and every worker compute the same
// offsets and nothing in the buffer ever moves.
//
// A block holds the route table (named rows, their UTF-8 names and lengths), then Float64
// cells: requests by route × status bucket, response bytes and arena peak by route, the
// latency histogram, errors by code, GC events, two counters and the sampled gauges.
// Counters are Float64 (exact to 2^53, and a number store allocates nothing where a
// BigInt would); the words two threads hand over (the route count, each name's length)
// are Int32 with Atomics.

import { ERRORS, type ErrorCode } from "../errors.ts";
import { METRICS_ROUTE_NAME_BYTES_MAX, METRICS_ROUTES_MAX } from "../limits.ts";

/** Row of requests the app never routed: refused by the host, or no route matched. */
export const ROW_NONE = 0;
/** Row of routes past METRICS_ROUTES_MAX (or with a longer name). */
export const ROW_OTHER = 1;
/** The first named row. */
export const ROW_FIRST = 2;
export const ROWS = ROW_FIRST + METRICS_ROUTES_MAX;

/** The statuses counted on their own; any other is counted as "other". The ones apps and
 *  the host send in practice, so a dashboard can tell a 404 from a 429 without the
 *  cardinality of every possible code. */
export const STATUS_CODES = [
  200, 201, 202, 204, 206, 301, 302, 303, 304, 307, 308,
  400, 401, 403, 404, 405, 408, 409, 410, 413, 414, 415, 417, 422, 429, 431,
  500, 501, 502, 503, 504, 505,
] as const;
/** The status column of "other". */
export const STATUS_OTHER = STATUS_CODES.length;
export const STATUS_COLUMNS = STATUS_CODES.length + 1;

const statusColumns = new Uint8Array(1000).fill(STATUS_OTHER);
for (let i = 0; i < STATUS_CODES.length; i++) statusColumns[STATUS_CODES[i]] = i;

/** The column a status is counted in. */
export function statusColumn(status: number): number {
  return status >= 0 && status < 1000 ? statusColumns[status] : STATUS_OTHER;
}

/** Upper bounds of the latency histogram's buckets, in seconds (a last bucket, +Inf, takes
 *  the rest): from half a millisecond, where a plain handler answers, to the default
 *  request deadline's order of magnitude. */
export const LATENCY_BOUNDS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** The same bounds in milliseconds, as the observer compares them. */
export const LATENCY_BOUNDS_MS = LATENCY_BOUNDS_SECONDS.map((s) => s * 1000);
export const LATENCY_BUCKETS = LATENCY_BOUNDS_SECONDS.length + 1;

/** Every error code, in the registry's order: a code's index is its cell. */
export const ERROR_CODES = Object.keys(ERRORS) as ErrorCode[];
const errorIndex = new Map<string, number>(ERROR_CODES.map((c, i) => [c, i]));

/** The cell of error `code`. */
export function errorCell(code: ErrorCode): number {
  return errorIndex.get(code)!;
}

/** GC kinds, as node:perf_hooks reports them (entry.detail.kind is the bit). */
export const GC_KINDS = [["minor", 1], ["major", 4], ["incremental", 8], ["weakcb", 16]] as const;

/** The sampled gauges, in cell order: name (after "arena_"), unit ("" for none), help. */
export const GAUGES = [
  ["slots", "", "Request slots of the worker's current build."],
  ["slots_in_use", "", "Slots held by a request (being read, with the app, or being written)."],
  ["queue_depth", "", "Requests waiting for a slot."],
  ["connections_open", "", "Client connections open."],
  ["connections_in_progress", "", "Connections with a request in progress."],
  ["heap_region_used_bytes", "bytes", "Bytes used in the current build's heap region."],
  ["startup_region_used_bytes", "bytes", "Bytes used in the current build's startup region."],
  ["builds_loaded", "", "Builds loaded: 1, more while a reload's previous build drains."],
  ["fetch_sockets", "", "Upstream sockets the fetch client holds open."],
  ["fetch_sockets_idle", "", "Upstream sockets idle in the fetch client's pools."],
  ["last_sample_timestamp_seconds", "seconds", "When the worker last sampled these gauges (Unix time): a stale value means a stuck or dead worker."],
] as const;
export const G_SLOTS = 0;
export const G_SLOTS_IN_USE = 1;
export const G_QUEUE = 2;
export const G_CONNECTIONS = 3;
export const G_IN_PROGRESS = 4;
export const G_HEAP = 5;
export const G_STARTUP = 6;
export const G_BUILDS = 7;
export const G_FETCH_SOCKETS = 8;
export const G_FETCH_IDLE = 9;
export const G_SAMPLED_AT = 10;

/** Offsets in a block: Int32 indices (I_*), byte offsets (B_*), Float64 indices (F_*), all
 *  relative to the block's start in their own unit. */
export const I_ROUTE_COUNT = 0;
export const I_NAME_LENS = 16; // after a 64-byte header line
export const B_NAMES = (I_NAME_LENS + ROWS) * 4;
const F_START = Math.ceil((B_NAMES + ROWS * METRICS_ROUTE_NAME_BYTES_MAX) / 64) * 8;
export const F_REQUESTS = F_START;
export const F_RESPONSE_BYTES = F_REQUESTS + ROWS * STATUS_COLUMNS;
export const F_ARENA_PEAK = F_RESPONSE_BYTES + ROWS;
export const F_LATENCY = F_ARENA_PEAK + ROWS;
export const F_LATENCY_SUM = F_LATENCY + LATENCY_BUCKETS;
export const F_ERRORS = F_LATENCY_SUM + 1;
export const F_GC_COUNT = F_ERRORS + ERROR_CODES.length;
export const F_GC_PAUSE = F_GC_COUNT + GC_KINDS.length;
export const F_REFUSED = F_GC_PAUSE + GC_KINDS.length;
export const F_DROPPED = F_REFUSED + 1;
export const F_GAUGES = F_DROPPED + 1;
/** A block's bytes: whole 64-byte lines, so no two workers' blocks share a cache line. */
export const BLOCK_BYTES = Math.ceil(((F_GAUGES + GAUGES.length) * 8) / 64) * 64;

/** The buffer's header, before the blocks: what attach() checks (Int32 indices). */
export const H_MAGIC = 0;
export const H_BLOCK_BYTES = 1;
export const H_WORKERS = 2;
export const HEADER_BYTES = 64;
/** "ARM1": a buffer of this layout (another one would be read as garbage). */
export const MAGIC = 0x41524d31;
