// An Arena server instance, and the one place its parts are put together: the fixed
// memory and the per-slot contexts first, then the fetch client and the effects (which
// need no instance), the app's module instantiated with their imports, and the HTTP side
// (slot scheduler, connections) over the request bridge. All state is held by this object
// (no module state), so several instances can run in one process or one per worker thread.

import net from "node:net";
import { App } from "./abi/app.ts";
import { Caller } from "./abi/caller.ts";
import { RequestBridge } from "./abi/request_bridge.ts";
import { ReportingBridge, type RequestDone, type RequestDoneHook } from "./abi/request_done.ts";
import { appImports } from "./abi/runtime_imports.ts";
import { ClassTable } from "./abi/violation.ts";
import { CHECK_BUILD_SECTION } from "./abi/constants.ts";
import { assert } from "./assert.ts";
import { HttpClient, type FetchClientOptions } from "./effects/fetch/client.ts";
import { Effects } from "./effects/imports.ts";
import { ArenaError, ERRORS } from "./errors.ts";
import { Connection, type ConnectionEnv, type Timeouts } from "./http/connection.ts";
import { HttpDate } from "./http/date.ts";
import { listenShared } from "./http/listeners.ts";
import { errorResponse } from "./http/response_head.ts";
import { SlotScheduler } from "./http/scheduler.ts";
import {
  ARENA_BYTES_DEFAULT, BODY_BYTES_MAX_DEFAULT, BODY_DECODE_FACTOR, BODY_DECODE_RESERVE_BYTES, BODY_IDLE_TIMEOUT_MS, BODY_TIMEOUT_MS,
  CONNECTIONS_MAX_DEFAULT, CPU_BUDGET_MS_DEFAULT, HEADERS_TIMEOUT_MS, KEEPALIVE_TIMEOUT_MS, QUEUE_DEPTH_DEFAULT, REFUSED_LINGER_MS,
  REQUEST_DEADLINE_MS_DEFAULT, RESPONSE_HEAD_BYTES_MAX, RETRY_AFTER_SECONDS, SEND_TIMEOUT_MS, SHUTDOWN_TIMEOUT_MS, SLOTS_DEFAULT, STARTUP_BYTES_DEFAULT, HEAP_BYTES_DEFAULT, TIMER_SWEEP_MS,
} from "./limits.ts";
import { consoleLogger, LOG_LEVELS, type Logger } from "./log.ts";
import { AppMemory } from "./memory/app_memory.ts";
import { ArenaPeaks } from "./memory/arena_peaks.ts";
import { BufferPool, CONNECTION_BUFFER_BYTES } from "./memory/connection_buffers.ts";
import { budgetLine, formatBytes, planMemory, type MemoryPlan } from "./memory/plan.ts";

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
}

/** Largest body an arena of `arenaBytes` can take such that the handler can still decode
 *  it: the body, its UTF-16 text (req.text(), 2 bytes per body byte at most) and
 *  BODY_DECODE_RESERVE_BYTES for the head and the handler. 335,872 bytes (328 KiB) for
 *  the default 1 MiB slot, 73,728 (72 KiB) for 256 KiB. It is below the request bridge's
 *  own bound (half of what the head leaves, bodyRoom), so that bound never binds. */
export function bodyBytesDecodable(arenaBytes: number): number {
  return Math.max(0, Math.floor((arenaBytes - BODY_DECODE_RESERVE_BYTES) / BODY_DECODE_FACTOR));
}

/** Refuses a body limit (--body-bytes) a handler could not decode in the arena, with what to use. */
function checkBodyLimit(bodyBytes: number, plan: MemoryPlan): void {
  if (!Number.isSafeInteger(bodyBytes) || bodyBytes < 0) {
    throw new ArenaError("ARENA_E_CONFIG", `body limit must be a whole number of bytes, got ${bodyBytes}`, "set --body-bytes");
  }
  const max = bodyBytesDecodable(plan.arenaBytes);
  if (bodyBytes <= max) return;
  // The slot that would fit it, in whole KiB (a multiple of 16, as slots must be).
  const slotKiB = Math.ceil((bodyBytes * BODY_DECODE_FACTOR + BODY_DECODE_RESERVE_BYTES + RESPONSE_HEAD_BYTES_MAX) / 1024);
  throw new ArenaError("ARENA_E_CONFIG",
    `body limit of ${bodyBytes} bytes is more than a ${formatBytes(plan.slotBytes)} arena can take and decode: at most ${max} bytes ` +
    `(req.text() needs the body and its UTF-16 text, ${BODY_DECODE_FACTOR} bytes per body byte, beside the head)`,
    `lower --body-bytes to ${max} or raise --arena-bytes to ${slotKiB}KiB`);
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
  heapUsedBytes: number;
}

export class ArenaServer implements ConnectionEnv {
  readonly app: App;
  readonly effects: Effects;
  readonly bridge: RequestBridge;
  readonly scheduler: SlotScheduler;
  readonly log: Logger;
  readonly bodyBytesMax: number;
  readonly date = new HttpDate();
  readonly timeouts: Timeouts;
  /** Wall clock in ms, refreshed by the sweep; deadlines are measured against it. */
  now = Date.now();
  closing = false;
  /** Where every connection's reads land (the fast I/O path); bytes are consumed or moved
   *  before the read callback returns, so one buffer serves all connections. One connection
   *  buffer in size, so what a read leaves unconsumed always fits a pooled buffer. */
  readonly readBuffer = new Uint8Array(CONNECTION_BUFFER_BYTES);
  /** Connection buffers, lent while a connection has bytes in progress. */
  readonly buffers = new BufferPool();
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

  private constructor(app: App, effects: Effects, options: ServerOptions, log: Logger, memoryReport: boolean) {
    const plan = app.memory.plan;
    this.app = app;
    this.effects = effects;
    this.log = log;
    const peaks = memoryReport ? new ArenaPeaks() : null;
    const user = options.onRequestDone;
    const hook = peaks === null ? user : user === undefined ? (i: RequestDone) => peaks.add(i) : (i: RequestDone) => {
      peaks.add(i);
      user(i);
    };
    this.peaks = peaks;
    // Without a hook the plain bridge: nothing is built per request for reports.
    this.bridge = hook === undefined ? new RequestBridge(app, effects.cpuBudgetMs) : new ReportingBridge(app, effects.cpuBudgetMs, hook);
    this.scheduler = new SlotScheduler(plan.slots, options.queueDepth ?? QUEUE_DEPTH_DEFAULT);
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
    const module = await App.compile(wasm, file);
    const logLevel = options.logLevel ?? LOG_LEVELS.indexOf("info");
    assert(logLevel >= 0 && logLevel < LOG_LEVELS.length, `the log level is one of LOG_LEVELS (got ${logLevel})`);
    // Everything the imports need exists before the instance: nothing is linked late.
    const memory = new AppMemory(plan);
    const caller = new Caller(plan.slots);
    const client = new HttpClient(memory, caller.contexts, options.fetch);
    const effects = new Effects(memory, caller, client, log, logLevel, options.cpuBudgetMs ?? CPU_BUDGET_MS_DEFAULT);
    const imports = appImports(memory, caller, log, effects.imports(), module.mayWait, ClassTable.fromModule(module.module));
    let app: App;
    try {
      app = await App.instantiate(module, memory, caller, imports);
    } catch (err) {
      client.close();
      throw err;
    }
    const checkBuild = WebAssembly.Module.customSections(module.module, CHECK_BUILD_SECTION).length > 0;
    return new ArenaServer(app, effects, options, log, options.memoryReport ?? checkBuild);
  }

  /** The memory budget line, printed at start; `note` follows the word "fixed". */
  budget(note = ""): string {
    return budgetLine(this.app.memory.plan, this.connectionsMax, note);
  }
  /** Listens on host:port with ACCEPT_LISTENERS sockets where the platform allows it
   *  (host/http/listeners.ts says why and how a second server is still refused); resolves
   *  with the bound port. Errors come back as ArenaError. */
  async listen(port: number, host: string): Promise<number> {
    assert(this.listeners.length === 0 && !this.listening, "a server listens once");
    this.listening = true;
    let bound: { listeners: net.Server[]; port: number };
    try {
      bound = await listenShared(() => this.listener(), port, host);
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

  /** One timer for all connections: refresh the clock and Date, fire passed deadlines. */
  private sweep(): void {
    const now = Date.now();
    this.now = now;
    this.date.update(now);
    for (const conn of this.connections) {
      if (conn.deadline !== 0 && now >= conn.deadline) conn.timedOut();
    }
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
      connections: this.connections.size,
      buffersLent: this.buffers.lent,
      inProgress: this.countInProgress(),
      requests: this.requestCount,
      memoryBytes: this.app.memory.memory.buffer.byteLength,
      startupUsedBytes: this.app.startupUsed(),
      heapUsedBytes: this.app.heapUsed(),
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
        this.effects.client.close();
        for (const line of this.peaks?.lines(this.app.memory.plan.slotBytes) ?? []) this.log.info(line);
        resolve();
      };
      for (const l of this.listeners) l.close();
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
