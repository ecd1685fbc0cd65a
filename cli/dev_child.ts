// The children of `arena dev` (cli/dev.ts): each build runs in an `arena serve` process of
// its own on a private 127.0.0.1 port, started here and stopped by PID. A child is in its
// own process group, so a Ctrl-C in the terminal reaches the dev server only, which stops
// its children itself (and a second Ctrl-C does not reach them as "exit without waiting").

import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Target } from "./dev_proxy.ts";

const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), "arena.ts");
/** How long a child may take to print its serving line. */
const START_TIMEOUT_MS = 30_000;
/** How long a stopping child may take before it is killed. */
const STOP_TIMEOUT_MS = 15_000;
/** Lines of a child's output kept to show when it stops on its own. */
const TAIL_LINES = 40;
/** The server's own info lines (not the app's, which carry a [tag]): what a child prints
 *  while it stops (shutting down, shutdown complete, any report), once per swap, not shown. */
const SHUTDOWN_CHATTER = /^\S+ INFO (?!\[)/;

export class Child {
  readonly proc: ChildProcess;
  readonly target: Target = { port: 0, inflight: 0, onIdle: null };
  /** The lines printed before the serving line (the memory budget). */
  readonly startup: string[] = [];
  /** The last lines it printed. */
  readonly tail: string[] = [];
  readonly exited: Promise<void>;
  private stopping = false;
  private serving = false;
  private onServing: ((port: number) => void) | null = null;

  /** Starts `arena serve <wasm> --host 127.0.0.1 --port 0 <serveArgs>`. */
  constructor(wasm: string, serveArgs: string[]) {
    this.proc = spawn(process.execPath, [CLI, "serve", wasm, ...serveArgs, "--host", "127.0.0.1", "--port", "0"], {
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    this.exited = new Promise((resolve) => this.proc.once("exit", () => resolve()));
    this.lines(this.proc.stdout!, process.stdout);
    this.lines(this.proc.stderr!, process.stderr);
  }

  get pid(): number {
    return this.proc.pid ?? 0;
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Resolves true once it serves, false if it exits or times out first (then it is stopped). */
  async started(): Promise<boolean> {
    const port = await new Promise<number>((resolve) => {
      this.onServing = resolve;
      const timer = setTimeout(() => resolve(0), START_TIMEOUT_MS);
      this.exited.then(() => resolve(0));
      this.proc.once("error", () => resolve(0));
      this.exited.then(() => clearTimeout(timer));
    });
    if (port === 0) {
      if (this.running) this.tail.push(`arena dev: the server did not start within ${START_TIMEOUT_MS} ms`);
      await this.stop();
      return false;
    }
    this.target.port = port;
    return true;
  }

  /** Once the proxy has nothing in flight with it, SIGTERM (it drains and exits). */
  retire(): void {
    if (this.target.inflight === 0) {
      void this.stop();
    } else {
      this.target.onIdle = () => void this.stop();
    }
  }

  /** SIGTERM by PID; SIGKILL if it has not exited after STOP_TIMEOUT_MS. Resolves on exit. */
  stop(): Promise<void> {
    if (this.running && !this.stopping) {
      this.stopping = true;
      this.proc.kill("SIGTERM");
      const timer = setTimeout(() => this.kill(), STOP_TIMEOUT_MS);
      timer.unref();
      this.exited.then(() => clearTimeout(timer));
    }
    return this.exited;
  }

  /** SIGKILL, by PID, if it still runs. */
  kill(): void {
    if (this.running) this.proc.kill("SIGKILL");
  }

  /** Passes the child's output through line by line, but for its serving line and, once it
   *  is being stopped, its shutdown lines; keeps the start-up lines and the last ones. */
  private lines(from: NodeJS.ReadableStream, to: NodeJS.WritableStream): void {
    let rest = "";
    from.setEncoding("utf8");
    from.on("data", (chunk: string) => {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      for (const line of parts) this.line(line, to);
    });
    from.on("end", () => {
      if (rest !== "") this.line(rest, to);
    });
  }

  private line(line: string, to: NodeJS.WritableStream): void {
    this.tail.push(line);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
    if (!this.serving) {
      const m = /^arena: serving .* on http:\/\/\S+:(\d+)\/ /.exec(line);
      if (m !== null) {
        this.serving = true;
        this.onServing?.(Number(m[1]));
      } else {
        this.startup.push(line);
      }
      return;
    }
    if (this.stopping && SHUTDOWN_CHATTER.test(line)) return;
    to.write(line + "\n");
  }
}
