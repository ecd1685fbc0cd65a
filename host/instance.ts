// One loaded build of the app: its fixed memory, its wasm instance, the effects it calls
// and the request bridge and slot scheduler in front of them. A server has one current
// build; a reload (ArenaServer.reload) loads the next build beside it, new requests go to
// the new one, and the old one is dropped once its last request is done. Each build owns
// its memory, so a reload briefly holds two; nothing is shared between builds but the
// shared region, which outlives them.

import { App, type AppModule } from "./abi/app.ts";
import { Caller } from "./abi/caller.ts";
import { RequestBridge } from "./abi/request_bridge.ts";
import { ReportingBridge, type RequestDoneHook } from "./abi/request_done.ts";
import { appImports } from "./abi/runtime_imports.ts";
import { ClassTable } from "./abi/violation.ts";
import { CHECK_BUILD_SECTION } from "./abi/constants.ts";
import { assert } from "./assert.ts";
import { HttpClient, type FetchClientOptions } from "./effects/fetch/client.ts";
import { Effects } from "./effects/imports.ts";
import type { RequestEnv } from "./http/connection.ts";
import { SlotScheduler } from "./http/scheduler.ts";
import type { Logger } from "./log.ts";
import { AppMemory } from "./memory/app_memory.ts";
import type { MemoryPlan } from "./memory/plan.ts";
import type { DeviceRegion, DeviceTable } from "./memory/device_region.ts";
import type { SharedRegion } from "./memory/shared_region.ts";

/** What a build is loaded with: the server's options that shape an instance. */
export interface InstanceOptions {
  plan: MemoryPlan;
  queueDepth: number;
  logLevel: number;
  cpuBudgetMs: number;
  fetch: FetchClientOptions | undefined;
  shared: SharedRegion | null;
  /** The device region every build of the server allocates from (static files included). */
  device: DeviceRegion | null;
  /** Called when the app is done with each request (the server's reports), or undefined. */
  onRequestDone: RequestDoneHook | undefined;
}

export class Instance implements RequestEnv {
  readonly app: App;
  readonly effects: Effects;
  readonly bridge: RequestBridge;
  readonly scheduler: SlotScheduler;
  /** This build's device handles: empty at load, freed when the build is closed. */
  readonly device: DeviceTable;
  /** The file it was loaded from, for log lines. */
  readonly file: string;
  /** A check build (`arena build --check`): it carries the class table section. */
  readonly checkBuild: boolean;
  private closed = false;

  private constructor(app: App, effects: Effects, file: string, checkBuild: boolean, options: InstanceOptions) {
    this.app = app;
    this.effects = effects;
    this.device = effects.device;
    this.file = file;
    this.checkBuild = checkBuild;
    const hook = options.onRequestDone;
    // Without a hook the plain bridge: nothing is built per request for reports.
    this.bridge = hook === undefined ? new RequestBridge(app, effects.cpuBudgetMs) : new ReportingBridge(app, effects.cpuBudgetMs, hook);
    this.scheduler = new SlotScheduler(options.plan.slots, options.queueDepth);
    // A transaction a request left open is rolled back when the request ends.
    this.bridge.onEnded = effects.sqlite.requestEnded;
  }

  /** Loads the app from wasm bytes over a fresh fixed memory; throws ArenaError when the
   *  module or its memory layout is refused (nothing is left running then). */
  static async load(module: AppModule, file: string, options: InstanceOptions, log: Logger): Promise<Instance> {
    // Everything the imports need exists before the instance: nothing is linked late.
    const memory = new AppMemory(options.plan);
    const caller = new Caller(options.plan.slots);
    const client = new HttpClient(memory, caller.contexts, options.fetch);
    const effects = new Effects(memory, caller, client, log, options.logLevel, options.cpuBudgetMs, options.shared, options.device);
    const imports = appImports(memory, caller, log, effects.imports(), module.mayWait, ClassTable.fromModule(module.module));
    let app: App;
    try {
      app = await App.instantiate(module, memory, caller, imports);
    } catch (err) {
      client.close();
      effects.sqlite.close(); // start-up code may have opened databases before it failed
      effects.device.close();
      throw err;
    }
    return new Instance(app, effects, file, Instance.isCheckBuild(module), options);
  }

  /** A check build (`arena build --check`) carries the class table section. */
  static isCheckBuild(module: AppModule): boolean {
    return WebAssembly.Module.customSections(module.module, CHECK_BUILD_SECTION).length > 0;
  }

  /** Requests this build has: in a slot (with the app, or being read or written) or
   *  waiting for one. */
  inFlight(): number {
    const pool = this.scheduler.pool;
    return pool.size - pool.available + this.scheduler.queued;
  }

  /** Stops what the build holds outside its memory (the fetch client's sockets and timers):
   *  once, when no request is left on it or when the server has closed every connection. */
  close(): void {
    assert(!this.closed, "a build is closed once");
    this.closed = true;
    this.effects.client.close();
    this.effects.sqlite.close();
    this.effects.device.close();
  }
}
