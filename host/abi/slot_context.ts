// What the host knows about the request running in one slot while the app has it: its id
// (for log lines), what the app reported before a trap, the route handling it, and the
// effect it is suspended on. One object per slot, made at start and reused, so a request
// costs no allocation here. Requests interleave (one is suspended on a fetch while another
// runs), which is why none of this can be a single per-app field.

import { THREAD_CPU_CLOCK_SLACK_MS } from "../limits.ts";

/** CPU time (user + system) of this thread in µs. */
function threadCpuMicros(): number {
  const u = process.threadCpuUsage();
  return u.user + u.system;
}

/** What the app reported just before trapping; cleared when a request begins. */
export class TrapRecord {
  overflowSize = -1;
  overflowLimit = 0;
  /** The overflow was the heap region's (a long-lived object could not grow), not the arena's. */
  overflowHeap = false;
  /** Header of the scoped arena that overflowed, 0 for the request's arena or the heap. */
  overflowScope = 0;
  /** How the error names that scoped arena ("Scratch 'parse' (made at app.ts:14) of 65536 bytes"). */
  overflowScopeName = "";
  violationKind = 0;
  abortMessage: string | null = null;
  /** CPU ms the request had used when it was stopped for its budget, or -1. */
  cpuMs = -1;

  clear(): void {
    this.cpuMs = -1;
    this.clearOverflow();
    this.violationKind = 0;
    this.abortMessage = null;
  }

  /** Forgets an overflow the app recovered from (a Scratch.run that answered Full). */
  clearOverflow(): void {
    this.overflowSize = -1;
    this.overflowLimit = 0;
    this.overflowHeap = false;
    this.overflowScope = 0;
    this.overflowScopeName = "";
  }
}

/** An effect in flight; cancelling it must settle the wait with EFFECT_CANCELLED. */
export interface PendingEffect {
  cancel(): void;
}

/** Where a request's streaming response goes: the connection that has the request lends
 *  itself to the request's context while the app has it (http/connection.ts), and the
 *  stream effects reach it here (effects/stream.ts) without either layer importing the
 *  other. Each method returns an EFFECT_* status, or a promise of one when the request
 *  must wait for the socket. */
export interface StreamSink {
  /** Sends the response head: `status` and the app's header lines u8[ptr, ptr + len)
   *  (checked to lie in the caller's memory), framed for streaming. */
  streamStart(ctx: SlotContext, status: number, headersPtr: number, headersLen: number): number | Promise<number>;
  /** Sends u8[ptr, ptr + len) (checked likewise) as the stream's next piece of body. */
  streamWrite(ctx: SlotContext, ptr: number, len: number): number | Promise<number>;
}

export class SlotContext {
  /** Slot number, or REGION_ID_STARTUP for the app's start-up code. */
  readonly slot: number;
  readonly trap = new TrapRecord();
  /** Request id; 0 while the slot is not running app code. */
  id = 0;
  /** Route pattern (UTF-8 in the startup region) the app reported, for error lines. */
  routePtr = 0;
  routeLen = 0;
  /** The client went away: effects fail fast with EFFECT_CANCELLED so the app unwinds. */
  cancelled = false;
  /** The request's wall-clock deadline passed (it was answered 504): its next CPU check
   *  traps, so even a loop that no longer waits ends at once. */
  deadlinePassed = false;
  /** The effect this request is suspended on, if any. */
  pending: PendingEffect | null = null;
  /** Where the request's streaming response goes (its connection), set by the connection
   *  before the app is called and cleared when the app is done; null when none can stream. */
  sink: StreamSink | null = null;
  /** CPU ms used by the stretches that ended (the request was suspended since). */
  cpuUsedMs = 0;
  /**
   * Where the current stretch began to be measured: the thread's CPU time (µs) and the
   * wall clock (ms), or -1. A request that can wait is measured from the start of every
   * stretch: when its JSPI call starts (`startStretch`), at every waiting effect, and when
   * it resumes, so all the CPU it uses between waits is counted (a loop that waited right
   * after each CPU check used to run unbounded). A plain call is one stretch that never
   * waits; it is measured from its first CPU check, because reading the thread's CPU time
   * is a system call that allocates, and most plain calls never reach a check.
   *
   * A stretch is charged the smaller of its wall time and its thread CPU time plus
   * THREAD_CPU_CLOCK_SLACK_MS: the thread clock Node reads advances in scheduler ticks, so
   * alone it misses short stretches, and wall time alone would charge a request for the
   * time the machine ran other processes.
   */
  cpuBase = -1;
  wallBase = -1;

  constructor(slot: number) {
    this.slot = slot;
  }

  begin(id: number): void {
    this.id = id;
    this.trap.clear();
    this.routePtr = 0;
    this.routeLen = 0;
    this.cancelled = false;
    this.pending = null;
    this.cpuUsedMs = 0;
    this.cpuBase = -1;
    this.deadlinePassed = false;
  }

  /** The request starts running through JSPI (it may wait): measure from now. */
  startStretch(): void {
    this.cpuBase = threadCpuMicros();
    this.wallBase = performance.now();
  }

  /** The CPU ms of the stretch measured since cpuBase/wallBase, up to (cpu, wall). */
  private stretchMs(cpu: number, wall: number): number {
    return Math.min(wall - this.wallBase, (cpu - this.cpuBase) / 1000 + THREAD_CPU_CLOCK_SLACK_MS);
  }

  /**
   * At the call of a waiting effect: charges the stretch so far and goes on measuring from
   * now. False when the request is over `budgetMs` (trap.cpuMs is set; the import then
   * throws, which traps the request). Every wait is a check, so a loop that waits between
   * CPU checks cannot run unbounded however it is timed.
   */
  chargeAtEffect(budgetMs: number): boolean {
    const cpu = threadCpuMicros();
    const wall = performance.now();
    if (this.cpuBase >= 0) this.cpuUsedMs += this.stretchMs(cpu, wall);
    this.cpuBase = cpu;
    this.wallBase = wall;
    if (this.cpuUsedMs <= budgetMs) return true;
    this.trap.cpuMs = this.cpuUsedMs;
    return false;
  }

  /** The request suspends on an effect right after `chargeAtEffect` charged it: the host's
   *  few steps in between are not charged, so no second clock read is needed. */
  private suspended(): void {
    this.cpuBase = -1;
  }

  /** Its effect settled: the request runs again right after (JSPI resumes it next). */
  private resumed(): void {
    this.startStretch();
  }

  /** At a CPU check: the CPU ms used so far, the current stretch included. */
  cpuMs(): number {
    const cpu = threadCpuMicros();
    const wall = performance.now();
    if (this.cpuBase < 0) {
      this.cpuBase = cpu;
      this.wallBase = wall;
    }
    return this.cpuUsedMs + this.stretchMs(cpu, wall);
  }

  /** Cancels the effect in flight (its wait settles at once) and every later one. */
  cancel(): void {
    this.cancelled = true;
    this.pending?.cancel();
  }

  /** Resolves the promise the request's stack is suspended on. */
  private resolveWait: ((status: number) => void) | null = null;
  private readonly waitExecutor = (resolve: (status: number) => void): void => {
    this.resolveWait = resolve;
  };

  /**
   * Suspends the request on `effect`: the returned promise is what the JSPI import hands
   * back, and its CPU stretch ends here. One effect waits at a time per request.
   */
  wait(effect: PendingEffect): Promise<number> {
    const promise = new Promise<number>(this.waitExecutor);
    this.pending = effect;
    this.suspended();
    return promise;
  }

  /** `effect` finished with `status`: the request resumes (JSPI continues it next).
   *  Nothing happens when it is not what the request waits on. */
  wake(effect: PendingEffect, status: number): void {
    if (this.pending !== effect) return;
    this.pending = null;
    const resolve = this.resolveWait;
    this.resolveWait = null;
    this.resumed();
    resolve?.(status);
  }

  end(): void {
    this.id = 0;
    this.pending = null;
    this.sink = null;
    this.resolveWait = null;
  }
}
