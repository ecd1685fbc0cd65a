// What the primary and its workers tell each other. A worker is either a worker thread
// (thread_main.ts, over its MessagePort) or, with --workers 1, the same WorkerHost run in
// the main thread (direct calls); both speak these messages, so the primary treats them
// alike. Requests never cross: each worker accepts its own connections on the shared port.

import type { DeviceShare } from "../memory/device_region.ts";
import type { ServerOptions } from "../options.ts";

/** Everything a worker starts from; structured-cloned into a worker thread. */
export interface WorkerStart {
  /** The worker's index, 0-based: its metrics block and its name in log lines. */
  index: number;
  wasm: Uint8Array;
  file: string;
  host: string;
  port: number;
  /** The primary probed the port; the worker joins the group on it (listeners.ts). */
  join: boolean;
  /** The server options that survive cloning (no functions, no logger). */
  options: Omit<ServerOptions, "log" | "onRequestDone" | "observer" | "shared" | "device">;
  shared: SharedArrayBuffer;
  /** The device region: its shared counter and the static files' bytes (loaded once). */
  device: DeviceShare;
  /** The metrics buffer (host/ops/metrics.ts), or null when no admin listener is on. */
  metrics: SharedArrayBuffer | null;
  /** Where access log lines go ("-" for stdout, a file), or null for none. */
  accessLog: string | null;
}

/** Primary → worker. */
export type ToWorker =
  | { type: "reload"; wasm: Uint8Array; file: string }
  /** Stop accepting and finish; `closeIdle`: close idle keep-alive connections at once
   *  (ArenaServer.close). */
  | { type: "drain"; closeIdle: boolean; log: boolean }
  /** Close the listening sockets, nothing else (the first step of a drain). */
  | { type: "stop-accepting" };

/** Worker → primary. */
export type FromWorker =
  /** Listening: it serves from now on. */
  | { type: "ready"; port: number; startupUsed: number }
  /** It could not start (the build, the port): the one-line ArenaError. */
  | { type: "failed"; code: string; message: string; hint: string }
  /** A reload's new build serves (ok), or was refused and the old one still serves. */
  | { type: "reloaded"; ok: boolean; line: string }
  /** The build a reload replaced has finished its last request and is released. */
  | { type: "drained" }
  /** Its listening sockets are closed ("stop-accepting"). */
  | { type: "not-accepting" }
  /** Drained after "drain": every connection is closed; the worker may exit. */
  | { type: "closed" };
