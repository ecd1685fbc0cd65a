// What the host knows about the request running in one slot while the app has it: its id
// (for log lines), what the app reported before a trap, the route handling it, and the
// effect it is suspended on. One object per slot, made at start and reused, so a request
// costs no allocation here. Requests interleave (one is suspended on a fetch while another
// runs), which is why none of this can be a single per-app field.

/** CPU time (user + system) of this thread in µs. */
function threadCpuMicros(): number {
  const u = process.threadCpuUsage();
  return u.user + u.system;
}

/** What the app reported just before trapping; cleared when a request begins. */
export class TrapRecord {
  overflowSize = -1;
  overflowLimit = 0;
  violationKind = 0;
  abortMessage: string | null = null;
  /** CPU ms the request had used when it was stopped for its budget, or -1. */
  cpuMs = -1;

  clear(): void {
    this.cpuMs = -1;
    this.overflowSize = -1;
    this.overflowLimit = 0;
    this.violationKind = 0;
    this.abortMessage = null;
  }
}

/** An effect in flight; cancelling it must settle the wait with EFFECT_CANCELLED. */
export interface PendingEffect {
  cancel(): void;
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
  /** CPU ms used by the stretches that ended (the request was suspended since). */
  cpuUsedMs = 0;
  /** The thread's CPU time (µs) at the first CPU check of the current stretch, or -1.
   *  Read at the first check, not at the start: reading the thread's CPU time is a system
   *  call that allocates, and most stretches are too short to reach a check. */
  cpuBase = -1;
  /** Wall-clock ms (performance.now) when the current stretch started, or -1 (start-up
   *  code). From there to the first check (or to a suspension without one) the request
   *  is charged wall time: only its own code ran meanwhile, so that is its CPU time, and
   *  reading the clock costs no allocation. Without it, the work between a resume and the
   *  next check was never counted, and a loop that waits right after each check ran
   *  unbounded. */
  stretchStart = -1;

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
    this.stretchStart = performance.now();
  }

  /** The request suspends on an effect: its running stretch ends. */
  private suspended(): void {
    if (this.cpuBase >= 0) this.cpuUsedMs += (threadCpuMicros() - this.cpuBase) / 1000;
    else if (this.stretchStart >= 0) this.cpuUsedMs += performance.now() - this.stretchStart;
    this.cpuBase = -1;
  }

  /**
   * At the call of a waiting effect: charges the stretch so far and starts a new one.
   * False when the request is over `budgetMs` (trap.cpuMs is set; the import then throws,
   * which traps the request). Every wait is a check, so a loop that waits between CPU
   * checks cannot run unbounded however it is timed.
   */
  chargeAtEffect(budgetMs: number): boolean {
    this.suspended();
    this.stretchStart = performance.now();
    if (this.cpuUsedMs <= budgetMs) return true;
    this.trap.cpuMs = this.cpuUsedMs;
    return false;
  }

  /** Its effect settled: the request runs again right after (JSPI resumes it next). */
  private resumed(): void {
    this.cpuBase = -1;
    this.stretchStart = performance.now();
  }

  /** At a CPU check: the CPU ms used so far, the whole current stretch included (thread
   *  CPU time from its first check, so a busy machine does not count against the
   *  request; wall time before that, see stretchStart). */
  cpuMs(): number {
    const now = threadCpuMicros();
    if (this.cpuBase < 0) {
      this.cpuBase = now;
      if (this.stretchStart >= 0) this.cpuUsedMs += performance.now() - this.stretchStart;
      return this.cpuUsedMs;
    }
    return this.cpuUsedMs + (now - this.cpuBase) / 1000;
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
    this.resolveWait = null;
  }
}
