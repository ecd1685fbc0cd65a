// An Arena server instance, and the one place its parts are put together: the fixed
// memory and the per-slot contexts first, then the fetch client and the effects (which
// need no instance), the app's module instantiated with their imports, and the HTTP side
// (slot scheduler, connections) over the request bridge. All state is held by this object
// (no module state), so several instances can run in one process or one per worker thread.

import net from "node:net";
import { App } from "./abi/app.ts";
import type { RequestBridge } from "./abi/request_bridge.ts";
import type { RequestDone, RequestDoneHook } from "./abi/request_done.ts";
import { assert } from "./assert.ts";
import type { Effects } from "./effects/imports.ts";
import { ArenaError, ERRORS } from "./errors.ts";
import { Connection, type ConnectionEnv, type Timeouts } from "./http/connection.ts";
import { HttpDate } from "./http/date.ts";
import { listenShared } from "./http/listeners.ts";
import type { RequestObserver } from "./http/observer.ts";
import { ResponseCompression } from "./http/compress.ts";
import { errorResponse } from "./http/response_head.ts";
import type { SlotScheduler } from "./http/scheduler.ts";
import { bodyBytesDecodable, checkBodyLimit } from "./body_limit.ts";
import { Instance, type InstanceOptions } from "./instance.ts";
import type { ServerOptions } from "./options.ts";
import {
  ARENA_BYTES_DEFAULT, BODY_BYTES_MAX_DEFAULT, COMPRESS_MIN_BYTES_DEFAULT, BODY_IDLE_TIMEOUT_MS, BODY_TIMEOUT_MS,
  CONNECTIONS_MAX_DEFAULT, CPU_BUDGET_MS_DEFAULT, DEVICE_BYTES_DEFAULT, HEADERS_TIMEOUT_MS, KEEPALIVE_TIMEOUT_MS, QUEUE_DEPTH_DEFAULT, REFUSED_LINGER_MS,
  REQUEST_DEADLINE_MS_DEFAULT, RETRY_AFTER_SECONDS, SEND_TIMEOUT_MS, SHUTDOWN_TIMEOUT_MS, SLOTS_DEFAULT, STARTUP_BYTES_DEFAULT, HEAP_BYTES_DEFAULT, TIMER_SWEEP_MS,
} from "./limits.ts";
import { consoleLogger, LOG_LEVELS, type Logger } from "./log.ts";
import { ArenaPeaks } from "./memory/arena_peaks.ts";
import { BufferPool, CONNECTION_BUFFER_BYTES } from "./memory/connection_buffers.ts";
import { budgetLine, formatBytes, planMemory } from "./memory/plan.ts";
import { DeviceRegion } from "./memory/device_region.ts";
import { SharedRegion } from "./memory/shared_region.ts";
import { StaticResponder } from "./http/static_serve.ts";

export type { ServerOptions } from "./options.ts";
export { bodyBytesDecodable } from "./body_limit.ts";

export interface ServerStats {
  slots: number;
  slotsFree: number;
  queued: number;
  /** Slots held by requests still streaming a large body in. */
  bodySlots: number;
  /** Slots held by streaming responses (at most STREAM_SLOTS_SHARE of them). */
  streams: number;
  connections: number;
  /** Connection buffers lent out right now (heads and pipelined bytes in progress). */
  buffersLent: number;
  /** Connections with a request in progress (being read, waiting, with the app or being
   *  written): what a graceful shutdown waits for. */
  inProgress: number;
  requests: number;
  memoryBytes: number;
  startupUsedBytes: number;
  heapUsedBytes: number;
  /** Connections refused at the limit (--connections), since start. */
  refused: number;
}

export class ArenaServer implements ConnectionEnv {
  readonly log: Logger;
  readonly bodyBytesMax: number;
  readonly date = new HttpDate();
  readonly timeouts: Timeouts;
  readonly observer: RequestObserver | null;
  readonly compression: ResponseCompression | null;
  /** The region shared by every worker (and every build) of this server. */
  readonly shared: SharedRegion;
  /** The device region of this server (every build allocates from it). */
  readonly device: DeviceRegion;
  /** The files of --static, answered before the app, or null. */
  readonly statics: StaticResponder | null;
  /** Wall clock in ms, refreshed by the sweep; deadlines are measured against it. */
  now = Date.now();
  closing = false;
  /** Where every connection's reads land (the fast I/O path); bytes are consumed or moved
   *  before the read callback returns, so one buffer serves all connections. One connection
   *  buffer in size, so what a read leaves unconsumed always fits a pooled buffer. */
  readonly readBuffer = new Uint8Array(CONNECTION_BUFFER_BYTES);
  /** Connection buffers, lent while a connection has bytes in progress. */
  readonly buffers = new BufferPool();
  /** The build new requests run on (ConnectionEnv.current). */
  current: Instance;
  /** Builds a reload replaced that still have requests; each is closed when its last one
   *  is done (the sweep checks). */
  private readonly retiring: Instance[] = [];
  /** How each build is loaded: the same for every reload. */
  private readonly instanceOptions: InstanceOptions;
  /** A reload is loading the next build (reloads do not overlap). */
  private reloading = false;
  private readonly connections = new Set<Connection>();
  /** listen() was called (it may still be binding the group). */
  private listening = false;
  /** The listening sockets, all on one host:port and all feeding accept() (listen()). */
  private listeners: net.Server[] = [];
  private readonly shutdownTimeoutMs: number;
  private sweepTimer: NodeJS.Timeout | null = null;
  private requestCount = 0;
  private readonly connectionsMax: number;
  /** Connections refused at the limit, since start. */
  private refused = 0;
  private closed: Promise<void> | null = null;
  private resolveClosed: (() => void) | null = null;
  /** Per-route arena peaks, logged at close (ServerOptions.memoryReport), or null. */
  private readonly peaks: ArenaPeaks | null;

  private constructor(first: Instance, instanceOptions: InstanceOptions, options: ServerOptions, log: Logger, peaks: ArenaPeaks | null) {
    const plan = instanceOptions.plan;
    this.current = first;
    this.instanceOptions = instanceOptions;
    this.shared = instanceOptions.shared!;
    this.device = instanceOptions.device!;
    const files = this.device.statics;
    this.statics = files === null ? null : new StaticResponder(files);
    this.log = log;
    this.peaks = peaks;
    this.observer = options.observer ?? null;
    this.compression = options.compress === false ? null : new ResponseCompression(options.compressMinBytes ?? COMPRESS_MIN_BYTES_DEFAULT);
    this.bodyBytesMax = options.bodyBytesMax ?? Math.min(BODY_BYTES_MAX_DEFAULT, bodyBytesDecodable(plan.arenaBytes));
    const bodyTotal = options.bodyTimeoutMs ?? BODY_TIMEOUT_MS;
    this.timeouts = {
      idle: options.keepAliveTimeoutMs ?? KEEPALIVE_TIMEOUT_MS,
      headers: options.headersTimeoutMs ?? HEADERS_TIMEOUT_MS,
      // The pause between reads never exceeds the whole body's time.
      body: Math.min(options.bodyIdleTimeoutMs ?? BODY_IDLE_TIMEOUT_MS, bodyTotal),
      bodyTotal,
      send: options.sendTimeoutMs ?? SEND_TIMEOUT_MS,
      app: options.deadlineMs ?? REQUEST_DEADLINE_MS_DEFAULT,
    };
    this.connectionsMax = options.connectionsMax ?? CONNECTIONS_MAX_DEFAULT;
    this.shutdownTimeoutMs = options.shutdownTimeoutMs ?? SHUTDOWN_TIMEOUT_MS;
  }

  /** The current build's parts (tests and tools read them; requests use their own build). */
  get app(): App {
    return this.current.app;
  }
  get effects(): Effects {
    return this.current.effects;
  }
  get bridge(): RequestBridge {
    return this.current.bridge;
  }
  get scheduler(): SlotScheduler {
    return this.current.scheduler;
  }

  /** A listening socket that hands its connections to accept(). Paused on connect: the
   *  connection sets up its read path before any byte is read. */
  private listener(): net.Server {
    return net.createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: true }, (socket) => this.accept(socket));
  }

  /** Loads the app from wasm bytes over a fresh fixed memory; throws ArenaError on bad
   *  input (the module, the memory layout or an option). */
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
    const plan = planMemory(options.slots ?? SLOTS_DEFAULT, options.slotBytes ?? ARENA_BYTES_DEFAULT, options.startupBytes ?? STARTUP_BYTES_DEFAULT,
      options.heapBytes ?? HEAP_BYTES_DEFAULT);
    if (options.bodyBytesMax !== undefined) checkBodyLimit(options.bodyBytesMax, plan);
    const logLevel = options.logLevel ?? LOG_LEVELS.indexOf("info");
    assert(logLevel >= 0 && logLevel < LOG_LEVELS.length, `the log level is one of LOG_LEVELS (got ${logLevel})`);
    const module = await App.compile(wasm, file);
    // The peaks are the server's, over every build it loads: a reload keeps the report. A
    // check build reports by default (its module carries debug names).
    const peaks = options.memoryReport ?? Instance.isCheckBuild(module) ? new ArenaPeaks() : null;
    const user = options.onRequestDone;
    const hook = peaks === null ? user : user === undefined ? (i: RequestDone) => peaks.add(i) : (i: RequestDone) => {
      peaks.add(i);
      user(i);
    };
    const instanceOptions: InstanceOptions = {
      plan, queueDepth, logLevel, cpuBudgetMs: options.cpuBudgetMs ?? CPU_BUDGET_MS_DEFAULT, fetch: options.fetch,
      shared: options.shared ?? SharedRegion.create(), device: options.device ?? DeviceRegion.create(DEVICE_BYTES_DEFAULT), onRequestDone: hook,
    };
    const first = await Instance.load(module, file, instanceOptions, log);
    return new ArenaServer(first, instanceOptions, options, log, peaks);
  }

  /** The memory budget line, printed at start; `note` follows the word "fixed". */
  budget(note = ""): string {
    return budgetLine(this.app.memory.plan, this.connectionsMax, note);
  }
  /** Listens on host:port with ACCEPT_LISTENERS sockets where the platform allows it
   *  (host/http/listeners.ts says why and how a second server is still refused); resolves
   *  with the bound port. Errors come back as ArenaError. `join`: the port was probed by
   *  the primary and other workers listen on it too (listeners.ts joinGroup). */
  async listen(port: number, host: string, join = false): Promise<number> {
    assert(this.listeners.length === 0 && !this.listening, "a server listens once");
    this.listening = true;
    let bound: { listeners: net.Server[]; port: number };
    try {
      bound = await listenShared(() => this.listener(), port, host, join);
    } catch (err) {
      this.listening = false; // nothing is bound: listen() may be tried again
      throw err;
    }
    this.listeners = bound.listeners;
    // close() while the group was being bound: it closed nothing, so close the group now.
    if (this.closing) {
      for (const l of this.listeners) l.close();
      return bound.port;
    }
    this.startSweep();
    return bound.port;
  }

  private startSweep(): void {
    this.sweepTimer = setInterval(() => this.sweep(), TIMER_SWEEP_MS);
    this.sweepTimer.unref();
  }

  /** One timer for all connections: refresh the clock and Date, fire passed deadlines,
   *  drop builds a reload replaced once their last request is done. */
  private sweep(): void {
    const now = Date.now();
    this.now = now;
    this.date.update(now);
    for (const conn of this.connections) {
      if (conn.deadline !== 0 && now >= conn.deadline) conn.timedOut();
    }
    if (this.retiring.length > 0) this.dropDrained();
  }

  /**
   * Loads a new build of the app (`wasm`, read from `file`) beside the current one and makes
   * it current: a request whose head completes from now on runs on it, a request in
   * progress finishes on the build it started on, and that build is closed and dropped
   * (its memory with it) once its last request is done. The new build starts as at start-up
   * (its heap region is new; what must outlive a reload belongs in the shared region).
   * Resolves when the new build serves; rejects with the ArenaError when the build cannot
   * be loaded, and the current build goes on serving.
   */
  async reload(wasm: Uint8Array, file: string): Promise<void> {
    if (this.closing) throw new ArenaError("ARENA_E_RELOAD", `not reloading ${file}: the server is shutting down`);
    if (this.reloading) throw new ArenaError("ARENA_E_RELOAD", `not reloading ${file}: a reload is already loading`, "wait for it to finish");
    this.reloading = true;
    let next: Instance;
    try {
      next = await Instance.load(await App.compile(wasm, file), file, this.instanceOptions, this.log);
    } catch (err) {
      if (!(err instanceof ArenaError)) throw err;
      throw new ArenaError("ARENA_E_RELOAD", `${file} was not loaded, still serving ${this.current.file}: ${err.code}: ${err.message}`, err.hint);
    } finally {
      this.reloading = false;
    }
    if (this.closing) {
      next.close(); // shut down while it loaded: it never served
      return;
    }
    const old = this.current;
    this.current = next;
    this.retiring.push(old);
    // Streams (an event stream may stay open for hours) would keep the old build alive:
    // they end, and their clients reconnect to the new one (an EventSource does by itself).
    for (const conn of this.connections) conn.stopStream();
    this.log.info(`reload: serving ${file}; the previous build finishes its ${old.inFlight()} request(s) in flight`);
    this.dropDrained();
  }

  /** Closes the builds a reload replaced that have no request left. */
  private dropDrained(): void {
    for (let i = this.retiring.length - 1; i >= 0; i--) {
      const old = this.retiring[i];
      if (old.inFlight() !== 0) continue;
      this.retiring.splice(i, 1);
      old.close();
      this.log.info(`reload: the previous build (${old.file}) finished its last request; its ${formatBytes(old.app.memory.plan.totalBytes)} are released`);
    }
  }

  /** Builds loaded and not yet dropped: 1, or 2 and more while replaced ones drain. */
  get builds(): number {
    return 1 + this.retiring.length;
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
    setTimeout(() => socket.destroy(), REFUSED_LINGER_MS).unref();
  }

  connectionClosed(conn: Connection): void {
    this.connections.delete(conn);
    if (this.closing && this.connections.size === 0) this.resolveClosed?.();
  }

  nextRequestId(): number {
    this.requestCount = (this.requestCount + 1) >>> 0 || 1;
    return this.requestCount;
  }

  stats(): ServerStats {
    return {
      slots: this.scheduler.pool.size,
      slotsFree: this.scheduler.pool.available,
      queued: this.scheduler.queued,
      bodySlots: this.scheduler.bodySlots,
      streams: this.scheduler.streams,
      connections: this.connections.size,
      buffersLent: this.buffers.lent,
      inProgress: this.countInProgress(),
      requests: this.requestCount,
      memoryBytes: this.app.memory.memory.buffer.byteLength,
      startupUsedBytes: this.app.startupUsed(),
      heapUsedBytes: this.app.heapUsed(),
      refused: this.refused,
    };
  }

  private countInProgress(): number {
    let n = 0;
    for (const conn of this.connections) if (!conn.isIdle()) n++;
    return n;
  }

  /**
   * Graceful shutdown: stop accepting, let in-flight requests finish (their responses say
   * Connection: close); after shutdownTimeoutMs close whatever is left. Resolves when every
   * connection is closed. Idle keep-alive connections are closed at once with `closeIdle`
   * (Ctrl-C at a terminal); without it (SIGTERM from an orchestrator or a load balancer's
   * host) they stay open until their keep-alive timeout, and a request that arrives on one
   * meanwhile is answered with Connection: close. Closing an idle connection races with a
   * client that is just sending on it, and a balancer does not resend a POST it had sent;
   * one whose own keep-alive timeout is shorter closes the connection first, so nothing
   * is lost (docs/operations.md, "Behind nginx").
   */
  /** Closes the listening sockets; connections go on as they are. The first step of a
   *  drain of several workers: each stops accepting before any answers Connection: close,
   *  which makes a balancer open new connections, and a new connection that lands in the
   *  queue of a listening socket about to close is reset with its request (a POST a
   *  balancer does not resend). */
  stopAccepting(): void {
    for (const l of this.listeners) l.close();
    this.listeners = [];
  }

  close(closeIdle = true): Promise<void> {
    if (this.closed !== null) return this.closed;
    this.closing = true;
    this.closed = new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | null = null;
      this.resolveClosed = () => {
        if (timer !== null) clearTimeout(timer);
        if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
        for (const build of [this.current, ...this.retiring.splice(0)]) build.close();
        for (const line of this.peaks?.lines(this.app.memory.plan.slotBytes) ?? []) this.log.info(line);
        resolve();
      };
      this.stopAccepting();
      if (closeIdle) for (const conn of [...this.connections]) conn.shutdown();
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
