// Type declarations for JSPI (WebAssembly JavaScript Promise Integration), which Node 24+
// ships without flags but TypeScript's lib does not describe yet.
declare namespace WebAssembly {
  /** Wraps an async import: when it returns a promise, the calling wasm stack suspends. */
  class Suspending {
    constructor(fn: (...args: never[]) => unknown);
  }
  /** Wraps an export so that calling it returns a promise and the wasm may suspend. */
  function promising(fn: (...args: never[]) => unknown): (...args: unknown[]) => Promise<unknown>;
}
