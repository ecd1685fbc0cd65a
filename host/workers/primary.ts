// The primary: starts the workers (one worker thread each, or with --workers 1 the one
// server in this thread), replaces one that dies, rolls a reload through them one at a
// time, drains them all on shutdown, and answers the admin listener (health, readiness,
// metrics, reload). It never handles a request: each worker accepts its own connections
// on the port, which the primary took first with an exclusive socket so that a port in use
// fails once, in one line, before any worker starts (host/http/listeners.ts).

import { Worker } from "node:worker_threads";
import { assert } from "../assert.ts";
import { ArenaError } from "../errors.ts";
import { probePort, reusePortSupported } from "../http/listeners.ts";
import { WORKER_RESTART_DELAY_MS, WORKER_STALL_MS, WORKER_START_FAILURES_MAX } from "../limits.ts";
import type { Logger } from "../log.ts";
import { DeviceRegion } from "../memory/device_region.ts";
import { SharedRegion } from "../memory/shared_region.ts";
import { loadStatic } from "../memory/static_load.ts";
import { DEVICE_BYTES_DEFAULT } from "../limits.ts";
import { startAdmin, type Admin } from "../ops/admin.ts";
import { Metrics } from "../ops/metrics.ts";
import { Handle } from "./handle.ts";
import type { FromWorker, WorkerStart } from "./protocol.ts";
import { WorkerHost } from "./worker_host.ts";

export interface PrimaryOptions {
  wasm: Uint8Array;
  file: string;
  host: string;
  port: number;
  workers: number;
  /** Bytes of the shared region (--shared-bytes); SHARED_BYTES_DEFAULT when unset. */
  sharedBytes?: number;
  /** The device region's bound (--device-bytes); DEVICE_BYTES_DEFAULT when unset. */
  deviceBytes?: number;
  /** The folder of --static, or null/unset for none. */
  staticDir?: string | null;
  options: WorkerStart["options"];
  /** The admin listener's port, or null for none. */
  adminPort: number | null;
  adminHost: string;
  accessLog: string | null;
  /** The next build for a reload: the .wasm file read again, or the app rebuilt. */
  nextBuild: () => Promise<Uint8Array>;
  log: Logger;
}

export class Primary {
  private readonly o: PrimaryOptions;
  private readonly shared: SharedRegion;
  /** The device region, with the static files loaded once here for every worker. */
  readonly device: DeviceRegion;
  private readonly metrics: Metrics | null;
  private readonly handles: Handle[];
  private admin: Admin | null = null;
  private wasm: Uint8Array;
  private file: string;
  private port = 0;
  private join = false;
  private draining = false;
  /** Every worker started once: from then on a worker that stops is replaced. */
  private running = false;
  private reloading = false;
  /** Bytes the app's start-up code used in the first worker (the budget line's note). */
  startupUsed = 0;
  /** Workers started again after one stopped, since start. */
  restarts = 0;
  reloads = 0;
  reloadFailures = 0;

  private constructor(o: PrimaryOptions) {
    this.o = o;
    this.shared = SharedRegion.create(o.sharedBytes === undefined ? {} : { bytes: o.sharedBytes });
    // Read once, before any worker starts: a missing folder or one over the bound is the one
    // line of a failed start, and the workers share the bytes instead of a copy each.
    const deviceBytes = o.deviceBytes ?? DEVICE_BYTES_DEFAULT;
    this.device = DeviceRegion.create(deviceBytes, o.staticDir !== undefined && o.staticDir !== null ? loadStatic(o.staticDir, deviceBytes) : null, o.workers);
    this.wasm = o.wasm;
    this.file = o.file;
    this.metrics = o.adminPort === null ? null : Metrics.create(o.workers);
    this.handles = Array.from({ length: o.workers }, (_, i) => new Handle(i));
  }

  /** Starts every worker and the admin listener; resolves when all serve, or rejects with
   *  the first worker's one-line error after stopping the others. */
  static async start(o: PrimaryOptions): Promise<Primary> {
    assert(Number.isInteger(o.workers) && o.workers >= 1, "the worker count was checked by the configuration");
    if (o.workers > 1 && !reusePortSupported()) {
      throw new ArenaError("ARENA_E_CONFIG", `--workers ${o.workers} needs SO_REUSEPORT, which ${process.platform} does not spread connections over`, "use --workers 1 and one process per core behind a load balancer");
    }
    const p = new Primary(o);
    p.port = o.port;
    if (o.workers > 1) {
      p.port = (await probePort(o.port, o.host)).port;
      p.join = true;
    }
    // The admin listener first: a port in use fails here, before any worker starts, and
    // while the workers start it already answers /readyz with 503.
    if (o.adminPort !== null) {
      p.admin = await startAdmin(o.adminHost, o.adminPort, {
        metrics: (format) => p.metrics!.render({ restarts: p.restarts, workers: o.workers, ready: p.ready(), reloads: p.reloads, reloadFailures: p.reloadFailures }, format),
        live: () => p.live(),
        ready: () => p.ready(),
        reload: () => p.reload(),
      }, o.log);
    }
    const started = await Promise.all(p.handles.map((h) => p.startWorker(h)));
    const failed = started.find((m) => m.type === "failed");
    if (failed !== undefined && failed.type === "failed") {
      await p.drain(true, false); // the workers that did start stop quietly: the failure is the one line
      throw new ArenaError(failed.code as never, failed.message, failed.hint);
    }
    if (!p.join) p.port = (started[0] as { port: number }).port;
    p.startupUsed = (started[0] as { startupUsed: number }).startupUsed;
    p.running = true;
    return p;
  }

  /** The port the workers serve on (the one bound for port 0). */
  get servingPort(): number {
    return this.port;
  }

  /** The admin listener's port, or null. */
  get adminPort(): number | null {
    return this.admin?.port ?? null;
  }

  /**
   * Live unless a worker that serves has not sampled its gauges for WORKER_STALL_MS: its
   * event loop is stuck, and only a restart of the process helps. (A request's wasm cannot
   * hold a loop that long under the CPU budget; the host's own code could, by a bug.) With
   * one worker in this thread the admin listener shares its loop: a stuck loop does not
   * answer at all, which a liveness probe counts as a failure too.
   */
  live(): boolean {
    if (this.draining) return true; // draining workers stop sampling, and are not stuck
    if (this.handles.some((h) => h.failedStarts >= WORKER_START_FAILURES_MAX)) return false;
    const metrics = this.metrics;
    if (metrics === null) return true;
    const now = Date.now() / 1000;
    return this.handles.every((h) => !h.ready || h.thread === null || now - metrics.lastSample(h.index) < WORKER_STALL_MS / 1000);
  }

  /** Every worker serves and none is draining. */
  ready(): boolean {
    return !this.draining && this.handles.every((h) => h.ready);
  }

  /** Bytes of the shared region (the budget line). */
  get sharedBytes(): number {
    return this.shared.buffer.byteLength;
  }

  private startWorker(h: Handle): Promise<FromWorker> {
    const start: WorkerStart = {
      index: h.index, wasm: this.wasm, file: this.file, host: this.o.host, port: this.port, join: this.join,
      options: this.o.options, shared: this.shared.buffer, device: this.device.shared(), metrics: this.metrics?.buffer ?? null, accessLog: this.o.accessLog,
    };
    h.restart();
    h.build = this.wasm;
    const started = h.next("ready", "failed");
    if (this.o.workers === 1) {
      h.inline = new WorkerHost(start, this.o.log, (m) => this.onMessage(h, m));
      void h.inline.run();
    } else {
      const thread = new Worker(new URL("./thread_main.ts", import.meta.url), { workerData: start });
      h.thread = thread;
      thread.on("message", (m: FromWorker) => this.onMessage(h, m));
      thread.on("error", (err: Error) => this.stopped(h, thread, `an exception: ${err?.message ?? String(err)}`));
      thread.on("exit", (code) => this.stopped(h, thread, `exit code ${code}`));
    }
    return started;
  }

  private onMessage(h: Handle, m: FromWorker): void {
    if (m.type === "ready") {
      h.ready = true;
      h.failedStarts = 0;
    }
    if (m.type === "closed" || m.type === "failed") h.ready = false;
    h.deliver(m);
    // A worker that started again during a reload, on the build it replaced: it catches up.
    if (m.type === "ready" && this.running && !this.reloading && !this.draining && h.build !== this.wasm) void this.catchUp(h);
  }

  /** A worker thread ended. Unless the primary asked it to (drain), it is logged and,
   *  after WORKER_RESTART_DELAY_MS, replaced with the current build. */
  private stopped(h: Handle, thread: Worker, why: string): void {
    if (h.thread !== thread) return; // an 'error' is followed by 'exit': one report
    h.thread = null;
    h.ready = false;
    h.deliver({ type: "failed", code: "ARENA_E_WORKER", message: `worker ${h.index} stopped: ${why}`, hint: "" });
    h.deliver({ type: "closed" });
    // The thread and every device buffer it held are gone: so is their share of the bound.
    this.device.reclaim(h.index);
    if (this.draining || !this.running) return; // at start, the failure is start()'s to report
    this.o.log.error("ARENA_E_WORKER", `worker ${h.index} stopped (${why}); starting a new one in ${WORKER_RESTART_DELAY_MS} ms, the other workers go on serving`);
    this.restartLater(h);
  }

  /** Starts worker `h` again after WORKER_RESTART_DELAY_MS; a start that fails is logged,
   *  its thread ended, and tried again (past WORKER_START_FAILURES_MAX in a row the
   *  process is no longer live: /healthz says 503 so that it is restarted as a whole). */
  private restartLater(h: Handle): void {
    setTimeout(() => {
      if (this.draining) return;
      this.restarts++;
      void this.startWorker(h).then((m) => {
        if (m.type === "ready") {
          this.o.log.info(`worker ${h.index} started again`);
          return;
        }
        if (m.type !== "failed" || this.draining) return;
        h.failedStarts++;
        const thread = h.thread;
        h.thread = null; // its exit is not a second report
        // What its start-up code allocated in the device region goes with the thread.
        void thread?.terminate().then(() => this.device.reclaim(h.index));
        this.o.log.error("ARENA_E_WORKER", `worker ${h.index} did not start again (${m.code}: ${m.message}); trying again in ${WORKER_RESTART_DELAY_MS} ms`);
        this.restartLater(h);
      });
    }, WORKER_RESTART_DELAY_MS).unref();
  }

  /**
   * Loads the next build into every worker, one at a time: a worker serves new requests on
   * it while its old build finishes what it has, and the next worker starts only when that
   * old build is released, so a reload holds one extra build's memory at most. A build that
   * fails to load stops the reload there, and every worker goes on with the build it has.
   */
  async reload(): Promise<{ ok: boolean; line: string }> {
    if (this.draining) return { ok: false, line: "arena: ARENA_E_RELOAD: the server is shutting down" };
    if (!this.running) return { ok: false, line: "arena: ARENA_E_RELOAD: the server is still starting (reload once it serves)" };
    if (this.reloading) return { ok: false, line: "arena: ARENA_E_RELOAD: a reload is already in progress (wait for it to finish)" };
    this.reloading = true;
    try {
      let wasm: Uint8Array;
      try {
        wasm = await this.o.nextBuild();
      } catch (err) {
        const line = err instanceof ArenaError ? err.line() : `arena: ARENA_E_RELOAD: ${(err as Error)?.message ?? err}`;
        return this.reloadFailed(`the new build could not be made, still serving the old one: ${line}`);
      }
      for (const h of this.handles) {
        if (!h.ready) continue; // being replaced: it starts on the new build, or catches up
        const failed = await this.reloadWorker(h, wasm);
        if (failed !== null) return this.reloadFailed(failed);
        this.wasm = wasm; // a worker started from now on loads the new build
      }
      // A worker that started again meanwhile on the old build, and serves now.
      for (const h of this.handles) if (h.ready && h.build !== wasm) await this.reloadWorker(h, wasm);
      this.wasm = wasm;
      this.reloads++;
      const line = `reload: every worker serves the new build of ${this.file}`;
      this.o.log.info(line);
      return { ok: true, line };
    } finally {
      this.reloading = false;
    }
  }

  /** Reloads one worker and waits until its old build is released; the failure line, or
   *  null (also when the worker stopped meanwhile: it starts on the current build). */
  private async reloadWorker(h: Handle, wasm: Uint8Array): Promise<string | null> {
    const done = h.next("reloaded", "closed");
    h.post({ type: "reload", wasm, file: this.file });
    const r = await done;
    if (r.type !== "reloaded") return null;
    if (!r.ok) return r.line;
    h.build = wasm;
    await h.next("drained", "closed");
    return null;
  }

  /** A worker that started on the build a reload replaced loads the current one. */
  private async catchUp(h: Handle): Promise<void> {
    this.reloading = true;
    try {
      const failed = await this.reloadWorker(h, this.wasm);
      if (failed !== null) this.o.log.error("ARENA_E_RELOAD", `worker ${h.index} could not catch up with the current build: ${failed}`);
    } finally {
      this.reloading = false;
    }
  }

  private reloadFailed(line: string): { ok: boolean; line: string } {
    this.reloadFailures++;
    this.o.log.error("ARENA_E_RELOAD", line.replace(/^arena: ARENA_E_RELOAD: /, ""));
    return { ok: false, line };
  }

  /** Graceful shutdown: not ready from now on, every worker stops accepting and finishes
   *  its requests in flight, then the threads end and the admin listener closes.
   *  `closeIdle`: idle keep-alive connections are closed at once (ArenaServer.close);
   *  `log`: each worker logs what it finishes (not when start-up failed). */
  async drain(closeIdle = true, log = true): Promise<void> {
    this.draining = true;
    // Every worker stops accepting before any starts closing connections (ArenaServer.stopAccepting).
    await Promise.all(this.handles.map(async (h) => {
      if (h.thread === null && h.inline === null) return;
      const done = h.next("not-accepting", "closed");
      h.post({ type: "stop-accepting" });
      await done;
    }));
    await Promise.all(this.handles.map(async (h) => {
      if (h.thread === null && h.inline === null) return;
      const closed = h.next("closed");
      h.post({ type: "drain", closeIdle, log });
      await closed;
      const thread = h.thread;
      h.thread = null;
      if (thread !== null) await thread.terminate();
    }));
    await this.admin?.close();
  }

  /** Stops worker `index`'s thread as a crash would (tests: a dying worker is replaced). */
  async killWorker(index: number): Promise<void> {
    await this.handles[index].thread?.terminate();
  }
}
