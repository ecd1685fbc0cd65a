// One timer per fetch operation (and per group), made once and re-armed with refresh() for
// every fetch with the same timeout: a fetch allocates no timer. When it fires for a fetch
// that already ended, its callback finds nothing to do.

export class OpTimer {
  private timer: NodeJS.Timeout | null = null;
  private ms = -1;
  private readonly onFire: () => void;

  constructor(onFire: () => void) {
    this.onFire = onFire;
  }

  /** Fires `ms` from now (a timer armed before is replaced). */
  arm(ms: number): void {
    const t = this.timer;
    if (t !== null && this.ms === ms) {
      t.refresh();
      return;
    }
    if (t !== null) clearTimeout(t);
    this.timer = setTimeout(this.onFire, ms);
    this.timer.unref();
    this.ms = ms;
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
