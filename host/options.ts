// What a server is made with (ArenaServer.create): every option, with the limit in
// limits.ts it defaults to. config.ts turns flags and environment into these.

import type { RequestDoneHook } from "./abi/request_done.ts";
import type { FetchClientOptions } from "./effects/fetch/client.ts";
import type { RequestObserver } from "./http/observer.ts";
import type { Logger } from "./log.ts";
import type { DeviceRegion } from "./memory/device_region.ts";
import type { SharedRegion } from "./memory/shared_region.ts";

export interface ServerOptions {
  slots?: number;
  /** Bytes per slot, what --arena-bytes sets: the request's arena and the response head
   *  reserve after it (MemoryPlan.arenaBytes is the arena alone). */
  slotBytes?: number;
  startupBytes?: number;
  /** Heap region bytes (--heap-bytes); a whole number of 64 KiB pages, 0 for none. */
  heapBytes?: number;
  queueDepth?: number;
  bodyBytesMax?: number;
  headersTimeoutMs?: number;
  /** The whole body must arrive within this (BODY_TIMEOUT_MS). */
  bodyTimeoutMs?: number;
  /** No body bytes for this long → 408 (BODY_IDLE_TIMEOUT_MS). */
  bodyIdleTimeoutMs?: number;
  /** Wall-clock ms the app may take for one request → 504 (REQUEST_DEADLINE_MS_DEFAULT). */
  deadlineMs?: number;
  keepAliveTimeoutMs?: number;
  shutdownTimeoutMs?: number;
  /** No progress on a response write for this long closes the connection (SEND_TIMEOUT_MS). */
  sendTimeoutMs?: number;
  /** Open connections at most (CONNECTIONS_MAX_DEFAULT). */
  connectionsMax?: number;
  /** The HTTP client behind the app's fetch effect. */
  fetch?: FetchClientOptions;
  /** Lowest app log level printed (LOG_DEBUG … LOG_ERROR); LOG_INFO by default. */
  logLevel?: number;
  /** CPU ms one request may use (CPU_BUDGET_MS_DEFAULT). */
  cpuBudgetMs?: number;
  log?: Logger;
  /** Called when the app is done with a request (returned or trapped), before its response
   *  is written: its route, status and arena peak (host/abi/request_done.ts). Unset, the
   *  server does nothing per request for it. */
  onRequestDone?: RequestDoneHook;
  /** Logs each route's peak arena use and the --arena-bytes it suggests when the server
   *  closes (host/memory/arena_peaks.ts). On by default for a check build: its module
   *  carries debug names, which `arena build --check` keeps and the plain build strips. */
  memoryReport?: boolean;
  /** The region every worker shares (host/memory/shared_region.ts); a server without one
   *  makes its own of the default size. */
  shared?: SharedRegion;
  /** The device region (host/memory/device_region.ts): app buffers and the static files of
   *  --static, which the server answers before the app. A server without one makes its own
   *  of DEVICE_BYTES_DEFAULT, with no static files. */
  device?: DeviceRegion;
  /** Told of every finished request (host/http/observer.ts): metrics and the access log. */
  observer?: RequestObserver;
  /** gzip or brotli for text-like response bodies the client accepts compressed
   *  (host/http/compress.ts); on unless false. */
  compress?: boolean;
  /** Smallest body compressed (COMPRESS_MIN_BYTES_DEFAULT). */
  compressMinBytes?: number;
}
