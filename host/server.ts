// An Arena server instance: the app, its fixed memory, the slot pool, the wait queue and
// the listening socket, all held by one object (no module state), so several instances
// can run in one process or one per worker thread.

import net from "node:net";
import { App } from "./app.ts";
import { Connection } from "./connection.ts";
import { ArenaError, ERRORS } from "./errors.ts";
import { errorResponse } from "./response_head.ts";
import type { FetchOptions } from "./http_client.ts";
import { HttpDate } from "./http_date.ts";
import {
  ARENA_BYTES_DEFAULT, BODY_BYTES_MAX_DEFAULT, BODY_TIMEOUT_MS, HEADERS_TIMEOUT_MS, KEEPALIVE_TIMEOUT_MS,
  CONNECTIONS_MAX_DEFAULT, QUEUE_DEPTH_DEFAULT, RETRY_AFTER_SECONDS, SEND_TIMEOUT_MS, SHUTDOWN_TIMEOUT_MS, SLOTS_DEFAULT, STARTUP_BYTES_DEFAULT, TIMER_SWEEP_MS,
} from "./limits.ts";
import { consoleLogger, type Logger } from "./log.ts";
import { budgetLine } from "./memory.ts";
import { SlotPool, WaitQueue } from "./slots.ts";
import { cachedView, READ_BUFFER_BYTES } from "./socket_io.ts";

export interface ServerOptions {
  slots?: number;
  /** Bytes per slot (the request's whole arena, response head included). */
  arenaBytes?: number;
  startupBytes?: number;
  queueDepth?: number;
  bodyBytesMax?: number;
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
  shutdownTimeoutMs?: number;
  /** No progress on a response write for this long closes the connection (SEND_TIMEOUT_MS). */
  sendTimeoutMs?: number;
  /** Open connections at most (CONNECTIONS_MAX_DEFAULT). */
  connectionsMax?: number;
  /** The HTTP client behind the app's fetch effect. */
  fetch?: FetchOptions;
  /** Lowest app log level printed (LOG_DEBUG … LOG_ERROR); LOG_INFO by default. */
  logLevel?: number;
  /** CPU ms one request may use (CPU_BUDGET_MS_DEFAULT). */
  cpuBudgetMs?: number;
  log?: Logger;
}

export interface ServerStats {
  slots: number;
  slotsFree: number;
  queued: number;
  connections: number;
  requests: number;
  memoryBytes: number;
  startupUsedBytes: number;
}

export class ArenaServer {
  readonly app: App;
  readonly log: Logger;
  readonly pool: SlotPool;
  readonly bodyBytesMax: number;
  readonly date = new HttpDate();
  /** Wall clock in ms, refreshed by the sweep; deadlines are measured against it. */
  now = Date.now();
  closing = false;
  /** Where every connection's reads land (the fast I/O path); bytes are consumed or moved
   *  before the read callback returns, so one buffer serves all connections. */
  readonly readBuffer = new Uint8Array(READ_BUFFER_BYTES);
  /** Per slot, the last head and body views written: a response laid out like the previous
   *  one in its slot reuses them instead of making new view objects. */
  private readonly views: Uint8Array[];
  private readonly queue: WaitQueue<Connection>;
  private readonly connections = new Set<Connection>();
  private readonly net: net.Server;
  private readonly timeouts: number[];
  private readonly shutdownTimeoutMs: number;
  private sweepTimer: NodeJS.Timeout | null = null;
  private requestCount = 0;
  private readonly connectionsMax: number;
  /** Connections refused at the limit, since start. */
  private refused = 0;
  private closed: Promise<void> | null = null;
  private resolveClosed: (() => void) | null = null;

  private constructor(app: App, options: ServerOptions, log: Logger) {
    this.app = app;
    this.log = log;
    this.pool = new SlotPool(app.plan.slots);
    this.queue = new WaitQueue<Connection>(options.queueDepth ?? QUEUE_DEPTH_DEFAULT);
    this.bodyBytesMax = options.bodyBytesMax ?? Math.min(BODY_BYTES_MAX_DEFAULT, Math.floor(app.plan.arenaBytes / 2));
    this.timeouts = [0, options.keepAliveTimeoutMs ?? KEEPALIVE_TIMEOUT_MS, options.headersTimeoutMs ?? HEADERS_TIMEOUT_MS,
      options.bodyTimeoutMs ?? BODY_TIMEOUT_MS, options.sendTimeoutMs ?? SEND_TIMEOUT_MS];
    this.connectionsMax = options.connectionsMax ?? CONNECTIONS_MAX_DEFAULT;
    this.shutdownTimeoutMs = options.shutdownTimeoutMs ?? SHUTDOWN_TIMEOUT_MS;
    this.views = Array.from({ length: app.plan.slots * 2 }, () => new Uint8Array(0));
    // Paused on connect: the connection sets up its read path before any byte is read.
    this.net = net.createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: true }, (socket) => this.accept(socket));
  }

  /** Loads the app from wasm bytes and lays out its memory; throws ArenaError on bad input. */
  static async create(wasm: Uint8Array, file: string, options: ServerOptions = {}): Promise<ArenaServer> {
    const log = options.log ?? consoleLogger;
    const queueDepth = options.queueDepth ?? QUEUE_DEPTH_DEFAULT;
    if (!Number.isInteger(queueDepth) || queueDepth < 0) {
      throw new ArenaError("ARENA_E_CONFIG", `queue depth must be a whole number of 0 or more, got ${queueDepth}`, "set --queue");
    }
    const app = await App.load(wasm, file, options.slots ?? SLOTS_DEFAULT, options.arenaBytes ?? ARENA_BYTES_DEFAULT,
      options.startupBytes ?? STARTUP_BYTES_DEFAULT, log, options.fetch, options.logLevel, options.cpuBudgetMs);
    if (options.bodyBytesMax !== undefined && (options.bodyBytesMax < 0 || options.bodyBytesMax > app.plan.arenaBytes / 2)) {
      throw new ArenaError("ARENA_E_CONFIG", `body limit ${options.bodyBytesMax} is over half the arena (${app.plan.arenaBytes / 2} bytes)`, "lower --body-bytes or raise --arena-bytes");
    }
    return new ArenaServer(app, options, log);
  }

  /** The memory budget line, printed at start. */
  budget(): string {
    return budgetLine(this.app.plan);
  }

  /** Listens on host:port; resolves with the bound port. Errors come back as ArenaError. */
  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        this.net.off("listening", onListening);
        if (err.code === "EADDRINUSE") reject(new ArenaError("ARENA_E_LISTEN", `port ${port} on ${host} is already in use`, "stop the other server or pick another --port"));
        else if (err.code === "EACCES") reject(new ArenaError("ARENA_E_LISTEN", `no permission to listen on ${host}:${port}`, "use a port above 1023"));
        else if (err.code === "EADDRNOTAVAIL" || err.code === "ENOTFOUND") reject(new ArenaError("ARENA_E_LISTEN", `address ${host} is not available on this machine`, "use --host 127.0.0.1 or 0.0.0.0"));
        else reject(new ArenaError("ARENA_E_LISTEN", `cannot listen on ${host}:${port}: ${err.message}`));
      };
      const onListening = () => {
        this.net.off("error", onError);
        this.startSweep();
        resolve((this.net.address() as net.AddressInfo).port);
      };
      this.net.once("error", onError);
      this.net.once("listening", onListening);
      this.net.listen(port, host);
    });
  }

  private startSweep(): void {
    this.sweepTimer = setInterval(() => this.sweep(), TIMER_SWEEP_MS);
    this.sweepTimer.unref();
  }

  /** One timer for all connections: refresh the clock and Date, fire passed deadlines. */
  private sweep(): void {
    const now = Date.now();
    this.now = now;
    this.date.update(now);
    for (const conn of this.connections) {
      if (conn.deadline !== 0 && now >= conn.deadline) conn.timedOut();
    }
  }

  timeoutFor(kind: number): number {
    return this.timeouts[kind];
  }

  private accept(socket: net.Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    if (this.connections.size >= this.connectionsMax) {
      this.refuse(socket);
      return;
    }
    this.connections.add(new Connection(socket, this));
  }

  /** Past the connection limit: answer 503 and close, reading and dropping whatever the
   *  client sends meanwhile so the answer is not lost to a reset. */
  private refuse(socket: net.Socket): void {
    this.refused++;
    if (this.refused === 1 || this.refused % 1000 === 0) {
      this.log.error("ARENA_E_CONNECTIONS", `${this.connectionsMax} connections open; refused ${this.refused} so far`);
    }
    socket.on("error", () => {});
    socket.on("data", () => {});
    socket.resume();
    const code = "ARENA_E_CONNECTIONS";
    socket.end(errorResponse(code, ERRORS[code].message, this.date, false, false, `Retry-After: ${RETRY_AFTER_SECONDS}\r\n`));
    setTimeout(() => socket.destroy(), 1000).unref();
  }

  connectionClosed(conn: Connection): void {
    this.connections.delete(conn);
    if (this.closing && this.connections.size === 0) this.resolveClosed?.();
  }

  nextRequestId(): number {
    this.requestCount = (this.requestCount + 1) >>> 0 || 1;
    return this.requestCount;
  }

  /** Gives `conn` a slot now, queues it, or answers 503 when the queue is full. */
  requestSlot(conn: Connection): void {
    const slot = this.pool.acquire();
    if (slot >= 0) {
      conn.startRequest(slot);
    } else if (!this.queue.push(conn)) {
      conn.overloaded();
    }
  }

  /** Frees `slot`, or hands it straight to the oldest waiting request (the slot stays
   *  busy in between, so a newly arrived request cannot overtake the queue). */
  releaseSlot(slot: number): void {
    const next = this.queue.shift();
    if (next === null) {
      this.pool.release(slot);
      return;
    }
    // Let the current call stack unwind first: the waiter's whole request runs next.
    setImmediate(() => next.resumeWithSlot(slot));
  }

  dequeue(conn: Connection): void {
    this.queue.remove(conn);
  }

  /** A view of wasm memory [ptr, ptr + len) for `slot` (kind 0: head, 1: body), reused when
   *  it is the same range as last time. */
  view(slot: number, kind: number, ptr: number, len: number): Uint8Array {
    return cachedView(this.views, slot * 2 + kind, this.app.memory.buffer, ptr, len);
  }

  /** Whether [ptr, ptr + len) may be sent as part of `slot`'s response. */
  validRange(slot: number, ptr: number, len: number): boolean {
    return this.app.validRange(slot, ptr, len);
  }

  stats(): ServerStats {
    return {
      slots: this.pool.size,
      slotsFree: this.pool.available,
      queued: this.queue.length,
      connections: this.connections.size,
      requests: this.requestCount,
      memoryBytes: this.app.memory.buffer.byteLength,
      startupUsedBytes: this.app.startupUsed(),
    };
  }

  /**
   * Graceful shutdown: stop accepting, let in-flight requests finish (their responses say
   * Connection: close), close idle keep-alive connections; after shutdownTimeoutMs close
   * whatever is left. Resolves when every connection is closed.
   */
  close(): Promise<void> {
    if (this.closed !== null) return this.closed;
    this.closing = true;
    this.closed = new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | null = null;
      this.resolveClosed = () => {
        if (timer !== null) clearTimeout(timer);
        if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
        this.app.close();
        resolve();
      };
      this.net.close();
      for (const conn of [...this.connections]) conn.shutdown();
      if (this.connections.size === 0) {
        this.resolveClosed();
        return;
      }
      timer = setTimeout(() => {
        this.log.info(`shutdown: closing ${this.connections.size} connection(s) still open after ${this.shutdownTimeoutMs} ms`);
        for (const conn of [...this.connections]) conn.socket.destroy();
      }, this.shutdownTimeoutMs);
      timer.unref();
    });
    return this.closed;
  }
}
