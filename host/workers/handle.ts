// One worker as the primary sees it: its thread (or, with --workers 1, its WorkerHost in
// this thread), whether it serves, the build it runs, and its messages. A message is
// either taken by a waiter (next()) or kept in the inbox until one asks: a worker in this
// thread answers by direct call, often before the primary has started to wait, and a
// message that found nobody waiting must not be lost (a reload waiting for "drained"
// would wait for ever).

import type { Worker } from "node:worker_threads";
import type { FromWorker, ToWorker } from "./protocol.ts";
import type { WorkerHost } from "./worker_host.ts";

type Waiter = { types: FromWorker["type"][]; resolve: (m: FromWorker) => void };

export class Handle {
  readonly index: number;
  thread: Worker | null = null;
  inline: WorkerHost | null = null;
  ready = false;
  /** The build it was started with or last reloaded to (the primary's bytes, by identity). */
  build: Uint8Array | null = null;
  /** Starts in a row that failed: past WORKER_START_FAILURES_MAX the process is not live. */
  failedStarts = 0;
  private waiters: Waiter[] = [];
  private inbox: FromWorker[] = [];

  constructor(index: number) {
    this.index = index;
  }

  post(m: ToWorker): void {
    if (this.thread !== null) this.thread.postMessage(m);
    else void this.inline!.handle(m);
  }

  /** The next message of one of `types`: one kept in the inbox, or the next to come. */
  next(...types: FromWorker["type"][]): Promise<FromWorker> {
    const kept = this.inbox.findIndex((m) => types.includes(m.type));
    if (kept >= 0) return Promise.resolve(this.inbox.splice(kept, 1)[0]);
    return new Promise((resolve) => this.waiters.push({ types, resolve }));
  }

  /** A message from the worker. "closed" is its last: it settles every waiter that takes
   *  it (a reload waiting on the worker and the drain both learn it is gone). */
  deliver(m: FromWorker): void {
    if (m.type === "closed") {
      const taking = this.waiters.filter((w) => w.types.includes("closed"));
      this.waiters = this.waiters.filter((w) => !w.types.includes("closed"));
      for (const w of taking) w.resolve(m);
      if (taking.length === 0) this.inbox.push(m);
      return;
    }
    const i = this.waiters.findIndex((w) => w.types.includes(m.type));
    if (i < 0) {
      this.inbox.push(m);
      return;
    }
    this.waiters.splice(i, 1)[0].resolve(m);
  }

  /** A new start: what an earlier thread said is of no use any more. */
  restart(): void {
    this.inbox = [];
    this.ready = false;
  }
}
