// One worker: an ArenaServer over its own fixed memory, listening on the shared port, with
// the shared region attached and, when the primary asked for them, metrics and an access
// log. The same class runs in a worker thread (thread_main.ts) and, for --workers 1, in
// the main thread; it answers the primary only through `send`.

import { ArenaError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { DeviceRegion } from "../memory/device_region.ts";
import { SharedRegion } from "../memory/shared_region.ts";
import { StaticFiles } from "../memory/static_files.ts";
import { AccessLog } from "../ops/access_log.ts";
import { Metrics, type WorkerOps } from "../ops/metrics.ts";
import { ArenaServer } from "../server.ts";
import { TIMER_SWEEP_MS } from "../limits.ts";
import type { FromWorker, ToWorker, WorkerStart } from "./protocol.ts";

export class WorkerHost {
  private readonly start: WorkerStart;
  private readonly send: (m: FromWorker) => void;
  private readonly log: Logger;
  private server: ArenaServer | null = null;
  private ops: WorkerOps | null = null;
  private sampler: NodeJS.Timeout | null = null;

  constructor(start: WorkerStart, log: Logger, send: (m: FromWorker) => void) {
    this.start = start;
    this.log = log;
    this.send = send;
  }

  /** Loads the app and listens; tells the primary "ready" or "failed". */
  async run(): Promise<void> {
    const s = this.start;
    try {
      const accessLog = s.accessLog === null ? null : AccessLog.open(s.accessLog, s.index);
      this.ops = s.metrics === null ? (accessLog === null ? null : Metrics.logOnly(accessLog)) : Metrics.attach(s.metrics).worker(s.index, accessLog);
      const server = await ArenaServer.create(s.wasm, s.file, {
        ...s.options, log: this.log, shared: SharedRegion.attach(s.shared),
        device: DeviceRegion.attach(s.device, s.device.statics === null ? null : StaticFiles.attach(s.device.statics), s.index), ...(this.ops === null ? {} : { observer: this.ops }),
      });
      this.server = server;
      const port = await server.listen(s.port, s.host, s.join);
      const ops = this.ops;
      if (ops !== null) {
        ops.sample(server);
        this.sampler = setInterval(() => ops.sample(server), TIMER_SWEEP_MS);
        this.sampler.unref();
      }
      this.send({ type: "ready", port, startupUsed: server.stats().startupUsedBytes });
    } catch (err) {
      const e = err instanceof ArenaError ? err : new ArenaError("ARENA_E_WORKER", `worker ${s.index} could not start: ${(err as Error)?.message ?? err}`);
      await this.ops?.close();
      this.send({ type: "failed", code: e.code, message: e.message, hint: e.hint });
    }
  }

  /** Handles a message of the primary. */
  async handle(m: ToWorker): Promise<void> {
    if (m.type === "reload") return this.reload(m.wasm, m.file);
    if (m.type === "drain") return this.drain(m.closeIdle, m.log);
    if (m.type === "stop-accepting") {
      this.server?.stopAccepting();
      this.send({ type: "not-accepting" });
    }
  }

  private async reload(wasm: Uint8Array, file: string): Promise<void> {
    const server = this.server;
    if (server === null) {
      this.send({ type: "reloaded", ok: false, line: `arena: ARENA_E_RELOAD: worker ${this.start.index} is not serving yet` });
      return;
    }
    try {
      await server.reload(wasm, file);
    } catch (err) {
      if (!(err instanceof ArenaError)) throw err;
      this.send({ type: "reloaded", ok: false, line: err.line() });
      return;
    }
    this.send({ type: "reloaded", ok: true, line: `serving ${file}` });
    // The replaced build is released by the server's sweep once its last request is done.
    while (server.builds > 1 && !server.closing) await new Promise((r) => setTimeout(r, TIMER_SWEEP_MS));
    this.send({ type: "drained" });
  }

  private async drain(closeIdle: boolean, log: boolean): Promise<void> {
    if (this.sampler !== null) clearInterval(this.sampler);
    const server = this.server;
    if (server !== null) {
      if (this.ops !== null) this.ops.sample(server);
      const s = server.stats();
      const idle = s.connections - s.inProgress;
      if (log) this.log.info(`draining: finishing ${s.inProgress} in-flight request(s); ${idle} idle connection(s) ` +
        (closeIdle ? "closed now" : "closed at their keep-alive timeout or after their next request"));
      await server.close(closeIdle);
    }
    await this.ops?.close();
    this.send({ type: "closed" });
  }

  /** Requests in progress, for the shutdown line. */
  inProgress(): number {
    return this.server?.stats().inProgress ?? 0;
  }
}
