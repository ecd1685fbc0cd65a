// An Arena server instance: the app, its fixed memory, the slot pool, the wait queue and
// the listening socket, all held by one object (no module state), so several instances
// can run in one process or one per worker thread.

import net from "node:net";
import { App } from "./abi/app.ts";
import { BufferPool, CONNECTION_BUFFER_BYTES } from "./memory/connection_buffers.ts";
import {
  Connection, DEADLINE_APP, DEADLINE_BODY, DEADLINE_BODY_TOTAL, DEADLINE_HEADERS, DEADLINE_IDLE, DEADLINE_KINDS, DEADLINE_SEND,
} from "./http/connection.ts";
import { ArenaError, ERRORS } from "./errors.ts";
import { errorResponse } from "./http/response_head.ts";
import type { FetchOptions } from "./effects/fetch/client.ts";
import { HttpDate } from "./http/date.ts";
import {
  ARENA_BYTES_DEFAULT, BODY_BYTES_MAX_DEFAULT, BODY_IDLE_TIMEOUT_MS, BODY_SLOTS_SHARE, BODY_TIMEOUT_MS, HEADERS_TIMEOUT_MS,
  KEEPALIVE_TIMEOUT_MS, CONNECTIONS_MAX_DEFAULT, QUEUE_DEPTH_DEFAULT, REQUEST_DEADLINE_MS_DEFAULT, RETRY_AFTER_SECONDS,
  SEND_TIMEOUT_MS, SHUTDOWN_TIMEOUT_MS, SLOTS_DEFAULT, STARTUP_BYTES_DEFAULT, TIMER_SWEEP_MS,
} from "./limits.ts";
import { consoleLogger, type Logger } from "./log.ts";
import { budgetLine } from "./memory/plan.ts";
import { SlotPool, WaitQueue } from "./memory/slots.ts";
import { cachedView } from "./http/socket_io.ts";

export interface ServerOptions {
  slots?: number;
  /** Bytes per slot (the request's whole arena, response head included). */
  arenaBytes?: number;
  startupBytes?: number;
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
  /** Slots held by requests still streaming a large body in. */
  bodySlots: number;
  connections: number;
  /** Connection buffers lent out right now (heads and pipelined bytes in progress). */
  buffersLent: number;
  /** Connections with a request in progress (being read, waiting, with the app or being
   *  written): what a graceful shutdown waits for. */
  inProgress: number;
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
   *  before the read callback returns, so one buffer serves all connections. One connection
   *  buffer in size, so what a read leaves unconsumed always fits a pooled buffer. */
  readonly readBuffer = new Uint8Array(CONNECTION_BUFFER_BYTES);
  /** Connection buffers, lent while a connection has bytes in progress. */
  readonly buffers = new BufferPool();
  /** Per slot, the last head and body views written: a response laid out like the previous
   *  one in its slot reuses them instead of making new view objects. */
  private readonly views: Uint8Array[];
  /** Requests waiting for a slot: ready to run, and (separately, because they may also be
   *  held back by the body-slot share) requests that will stream a large body into it. */
  private readonly queue: WaitQueue<Connection>;
  private readonly bodyQueue: WaitQueue<Connection>;
  private readonly queueDepth: number;
  private queueSeq = 0;
  /** Slots held by requests streaming a body, at most bodySlotsMax. */
  private bodySlots = 0;
  private readonly bodySlotsMax: number;
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
    this.queueDepth = options.queueDepth ?? QUEUE_DEPTH_DEFAULT;
    this.queue = new WaitQueue<Connection>(this.queueDepth);
    this.bodyQueue = new WaitQueue<Connection>(this.queueDepth);
    this.bodySlotsMax = Math.max(1, Math.floor(app.plan.slots * BODY_SLOTS_SHARE));
    this.bodyBytesMax = options.bodyBytesMax ?? Math.min(BODY_BYTES_MAX_DEFAULT, Math.floor(app.plan.arenaBytes / 2));
    this.timeouts = new Array<number>(DEADLINE_KINDS).fill(0);
    this.timeouts[DEADLINE_IDLE] = options.keepAliveTimeoutMs ?? KEEPALIVE_TIMEOUT_MS;
    this.timeouts[DEADLINE_HEADERS] = options.headersTimeoutMs ?? HEADERS_TIMEOUT_MS;
    this.timeouts[DEADLINE_BODY_TOTAL] = options.bodyTimeoutMs ?? BODY_TIMEOUT_MS;
    // The pause between reads never exceeds the whole body's time.
    this.timeouts[DEADLINE_BODY] = Math.min(options.bodyIdleTimeoutMs ?? BODY_IDLE_TIMEOUT_MS, this.timeouts[DEADLINE_BODY_TOTAL]);
    this.timeouts[DEADLINE_SEND] = options.sendTimeoutMs ?? SEND_TIMEOUT_MS;
    this.timeouts[DEADLINE_APP] = options.deadlineMs ?? REQUEST_DEADLINE_MS_DEFAULT;
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
    const deadlineMs = options.deadlineMs ?? REQUEST_DEADLINE_MS_DEFAULT;
    if (!(deadlineMs >= 1)) {
      throw new ArenaError("ARENA_E_CONFIG", `request deadline must be at least 1 ms, got ${deadlineMs}`, "set --deadline-ms");
    }
    const app = await App.load(wasm, file, options.slots ?? SLOTS_DEFAULT, options.arenaBytes ?? ARENA_BYTES_DEFAULT,
      options.startupBytes ?? STARTUP_BYTES_DEFAULT, log, options.fetch, options.logLevel, options.cpuBudgetMs);
    if (options.bodyBytesMax !== undefined && (options.bodyBytesMax < 0 || options.bodyBytesMax > app.plan.arenaBytes / 2)) {
      throw new ArenaError("ARENA_E_CONFIG", `body limit ${options.bodyBytesMax} is over half the arena (${app.plan.arenaBytes / 2} bytes)`, "lower --body-bytes or raise --arena-bytes");
    }
    return new ArenaServer(app, options, log);
  }

  /** The memory budget line, printed at start; `note` follows the word "fixed". */
  budget(note = ""): string {
    return budgetLine(this.app.plan, this.connectionsMax, note);
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

  /**
   * Gives `conn` a slot now, queues it, or answers 503 when the queue is full. A request
   * that will stream its body into the slot (`streamsBody`) gets one only while fewer than
   * bodySlotsMax do, so the other slots stay free for requests that are ready to run.
   */
  requestSlot(conn: Connection, streamsBody: boolean): void {
    const bodyFull = streamsBody && this.bodySlots >= this.bodySlotsMax;
    const slot = bodyFull ? -1 : this.pool.acquire();
    if (slot >= 0) {
      if (streamsBody) this.holdBodySlot(conn);
      conn.startRequest(slot);
      return;
    }
    if (this.queue.length + this.bodyQueue.length >= this.queueDepth) {
      conn.overloaded();
      return;
    }
    conn.queuedAt = ++this.queueSeq;
    (streamsBody ? this.bodyQueue : this.queue).push(conn);
  }

  private holdBodySlot(conn: Connection): void {
    this.bodySlots++;
    conn.holdsBodySlot = true;
    if (this.bodySlots > this.bodySlotsMax) throw new Error("assert: more slots stream bodies than BODY_SLOTS_SHARE allows");
  }

  /** A request finished streaming its body (or ended): a body waiter may take a slot. */
  bodySlotDone(): void {
    this.bodySlots--;
    if (this.bodySlots < 0) throw new Error("assert: body slot released twice");
    while (this.bodyQueue.length > 0 && this.bodySlots < this.bodySlotsMax && this.pool.available > 0) {
      this.handOff(this.bodyQueue.shift()!, this.pool.acquire(), true);
    }
  }

  /** Frees `slot`, or hands it straight to the oldest waiting request that may take it
   *  (the slot stays busy in between, so a newly arrived request cannot overtake). */
  releaseSlot(slot: number): void {
    const ready = this.queue.peek();
    const body = this.bodySlots < this.bodySlotsMax ? this.bodyQueue.peek() : null;
    if (ready !== null && (body === null || ready.queuedAt < body.queuedAt)) this.handOff(this.queue.shift()!, slot, false);
    else if (body !== null) this.handOff(this.bodyQueue.shift()!, slot, true);
    else this.pool.release(slot);
  }

  private handOff(next: Connection, slot: number, streamsBody: boolean): void {
    if (next.holdsBodySlot) throw new Error("assert: a waiter was handed a body slot twice");
    if (streamsBody) this.holdBodySlot(next);
    // Let the current call stack unwind first: the waiter's whole request runs next.
    setImmediate(() => next.resumeWithSlot(slot));
  }

  dequeue(conn: Connection): void {
    this.queue.remove(conn);
    this.bodyQueue.remove(conn);
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
      queued: this.queue.length + this.bodyQueue.length,
      bodySlots: this.bodySlots,
      connections: this.connections.size,
      buffersLent: this.buffers.lent,
      inProgress: this.countInProgress(),
      requests: this.requestCount,
      memoryBytes: this.app.memory.buffer.byteLength,
      startupUsedBytes: this.app.startupUsed(),
    };
  }

  private countInProgress(): number {
    let n = 0;
    for (const conn of this.connections) if (!conn.isIdle()) n++;
    return n;
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
