// `arena dev <app.ts> [serve options]`: serves the app and rebuilds it when a .ts file in
// its folder changes, swapping builds without failing a request.
//
//   watcher ──change──▶ build worker (cli/dev_build.ts, check build) ──▶ new child
//   client ──▶ proxy (cli/dev_proxy.ts, the public port) ──▶ current child (cli/dev_child.ts,
//              `arena serve` on a private 127.0.0.1 port)
//
// A good build starts a new child; once it prints its serving line, new requests go to
// it and the old child is sent SIGTERM when the proxy has nothing in flight with it (it
// drains what it still has and exits). A build that fails puts the compiler's messages on
// the terminal once and on every page as a 500 until a build works again. Ctrl-C stops the
// children (by PID) and ends with one line.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { stripVTControlCharacters } from "node:util";
import { Worker } from "node:worker_threads";
import { ArenaError, ENV_NAMES, resolveServeConfig } from "../host/index.ts";
import { Child } from "./dev_child.ts";
import type { DevBuildRequest, DevBuildResult } from "./dev_build.ts";
import { DevProxy } from "./dev_proxy.ts";

/** Quiet time after the last change before a rebuild: an editor's save is several events. */
const DEBOUNCE_MS = 80;
/** Folders whose changes do not rebuild (and that are not watched). */
const IGNORED_DIRS = new Set(["node_modules", ".git"]);

export interface DevOptions {
  source: string;
  /** The check build (the default): a request that stores a request object into start-up or
   *  heap state is stopped with the classes named (docs/regions.md). */
  check: boolean;
  port: number;
  host: string;
  /** Passed to every `arena serve` child (all serve options but --port and --host). */
  serveArgs: string[];
}

/** Parses `<app.ts> [--no-check] [serve options]`; the options are checked as `serve` does. */
export function parseDevArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): DevOptions {
  const flags: Record<string, string> = {};
  const positional: string[] = [];
  let check = true;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("-") || a === "-") {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = a.slice(a.startsWith("--") ? 2 : 1, eq >= 0 ? eq : undefined);
    if (name === "no-check" && eq < 0) {
      check = false;
    } else if (ENV_NAMES[name] !== undefined) {
      const value = eq >= 0 ? a.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new ArenaError("ARENA_E_USAGE", `${a} needs a value`, "see arena --help");
      flags[name] = value;
    } else {
      throw new ArenaError("ARENA_E_USAGE", `unknown option ${a}`, "see arena --help");
    }
  }
  if (positional.length !== 1) throw new ArenaError("ARENA_E_USAGE", "dev takes one app source file", "arena dev app.ts");
  const source = path.resolve(positional[0]);
  if (!fs.existsSync(source) || !source.endsWith(".ts")) {
    throw new ArenaError("ARENA_E_USAGE", `${positional[0]} is not an app's .ts file`, "pass the path of your app's .ts file");
  }
  const config = resolveServeConfig(flags, env);
  const serveArgs = Object.entries(flags).filter(([k]) => k !== "port" && k !== "host").flatMap(([k, v]) => [`--${k}`, v]);
  return { source, check, port: config.port, host: config.host, serveArgs };
}

/** Watches `root`'s folders (but IGNORED_DIRS and hidden ones) and reports changed .ts files. */
class Watcher {
  private readonly watchers = new Map<string, fs.FSWatcher>();
  private readonly root: string;
  private readonly onChange: (file: string) => void;

  constructor(root: string, onChange: (file: string) => void) {
    this.root = root;
    this.onChange = onChange;
    this.scan(root);
  }

  private scan(dir: string): void {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    if (!this.watchers.has(dir)) {
      const w = fs.watch(dir, (event, name) => this.event(dir, event, name));
      w.on("error", () => this.forget(dir));
      this.watchers.set(dir, w);
    }
    for (const e of entries) {
      if (e.isDirectory() && !IGNORED_DIRS.has(e.name) && !e.name.startsWith(".")) this.scan(path.join(dir, e.name));
    }
  }

  private event(dir: string, event: string, name: string | null): void {
    if (name === null) {
      this.onChange(dir);
      return;
    }
    const full = path.join(dir, name);
    if (event === "rename" && !IGNORED_DIRS.has(name) && !name.startsWith(".")) {
      // A folder made or moved in is watched; one removed or moved away is forgotten.
      if (fs.statSync(full, { throwIfNoEntry: false })?.isDirectory()) this.scan(full);
      else this.forget(full);
    }
    if (name.endsWith(".ts")) this.onChange(full);
  }

  private forget(dir: string): void {
    for (const [d, w] of this.watchers) {
      if (d === dir || d.startsWith(dir + path.sep)) {
        w.close();
        this.watchers.delete(d);
      }
    }
  }

  close(): void {
    this.forget(this.root);
  }
}

/** The build worker: one build at a time; a worker that dies is replaced on the next build. */
class Builder {
  private worker: Worker | null = null;

  build(req: DevBuildRequest): Promise<DevBuildResult> {
    const worker = this.worker ?? new Worker(new URL("./dev_build.ts", import.meta.url), { execArgv: [] });
    this.worker = worker;
    const t0 = performance.now();
    return new Promise((resolve) => {
      const settle = (result: DevBuildResult) => {
        worker.off("message", settle);
        worker.off("error", onError);
        worker.off("exit", onExit);
        resolve(result);
      };
      const lost = (why: string) => {
        this.worker = null;
        settle({ ok: false, ms: performance.now() - t0, messages: `arena: internal error: the build worker ${why}\n` });
      };
      const onError = (err: Error) => lost(`failed: ${err.message}`);
      const onExit = (code: number) => lost(`exited (code ${code})`);
      worker.on("message", settle);
      worker.on("error", onError);
      worker.on("exit", onExit);
      worker.postMessage(req);
    });
  }

  close(): Promise<number> | undefined {
    return this.worker?.terminate();
  }
}

/** One `arena dev` run: the proxy, the watcher, the builds and the children. */
class DevSession {
  readonly proxy = new DevProxy();
  private readonly builder = new Builder();
  private readonly out = fs.mkdtempSync(path.join(os.tmpdir(), "arena-dev-"));
  private readonly children = new Set<Child>();
  private readonly name: string;
  private watcher: Watcher | null = null;
  private current: Child | null = null;
  private generation = 0;
  private timer: NodeJS.Timeout | null = null;
  private building = false;
  private dirty = false;
  private stopping = false;
  private url = "";
  /** A build has been served (the first one prints the budget and the URL). */
  private served = false;
  private readonly options: DevOptions;

  constructor(options: DevOptions) {
    this.options = options;
    this.name = path.relative(process.cwd(), options.source) || options.source;
  }

  async start(): Promise<void> {
    const port = await this.proxy.listen(this.options.port, this.options.host);
    const host = this.options.host.includes(":") ? `[${this.options.host}]` : this.options.host;
    this.url = `http://${host}:${port}/`;
    this.watcher = new Watcher(path.dirname(this.options.source), () => this.changed());
    void this.cycle();
  }

  private changed(): void {
    if (this.stopping) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.building) this.dirty = true;
      else void this.cycle();
    }, DEBOUNCE_MS);
  }

  /** Builds until no change came in meanwhile: one build (and start) at a time. */
  private async cycle(): Promise<void> {
    this.building = true;
    do {
      this.dirty = false;
      await this.rebuild();
    } while (this.dirty && !this.stopping);
    this.building = false;
  }

  private async rebuild(): Promise<void> {
    const t0 = performance.now();
    const out = path.join(this.out, `build-${++this.generation}.wasm`);
    const built = await this.builder.build({ source: this.options.source, out, check: this.options.check });
    if (this.stopping) return;
    if (!built.ok) {
      process.stderr.write(built.messages);
      this.broken(`${this.name} did not compile`, built.messages, "the compiler's messages are above");
      return;
    }
    const child = new Child(out, this.options.serveArgs);
    this.children.add(child);
    void child.exited.then(() => this.childExited(child));
    const ok = await child.started();
    fs.rmSync(out, { force: true });
    if (this.stopping) return;
    if (!ok) {
      // It names the build by its temp path; the user knows it by the app's.
      const text = child.tail.join("\n").replaceAll(out, this.name) + "\n";
      process.stderr.write(text);
      this.broken(`${this.name} compiled but did not start`, text, "its server's output is above");
      return;
    }
    const old = this.current;
    this.current = child;
    this.proxy.serve(child.target);
    old?.retire();
    const ms = Math.round(performance.now() - t0);
    if (!this.served) {
      this.served = true;
      for (const line of child.startup) process.stdout.write(line + "\n");
      const kind = this.options.check ? "check build" : "build";
      process.stdout.write(`arena dev: built ${this.name} (${kind}) in ${ms} ms; serving on ${this.url} (watching ${path.relative(process.cwd(), path.dirname(this.options.source)) || "."} for changes; Ctrl-C to stop)\n`);
    } else {
      process.stdout.write(`rebuilt ${this.name} in ${ms} ms; serving the new build\n`);
    }
  }

  /** Nothing to serve until the next good build: the old child drains, pages show `text`. */
  private broken(title: string, text: string, where: string): void {
    this.current?.retire();
    this.current = null;
    this.proxy.fail({ title, text: stripVTControlCharacters(text) });
    const on = this.served ? "" : ` on ${this.url}`;
    process.stderr.write(`arena dev: ${title} (${where}); every request${on} gets the error page until a build works (watching for changes)\n`);
  }

  private childExited(child: Child): void {
    this.children.delete(child);
    if (child !== this.current || this.stopping) return;
    const how = child.proc.signalCode ?? `code ${child.proc.exitCode}`;
    this.broken(`${this.name}'s server stopped (${how})`, child.tail.join("\n") + "\n", "its last lines are above");
  }

  /** Ctrl-C: stop watching, close the port, stop every child by PID, remove the builds. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.watcher?.close();
    const closed = this.proxy.close();
    await this.builder.close();
    await Promise.all([...this.children].map((c) => c.stop()));
    await closed;
    fs.rmSync(this.out, { recursive: true, force: true });
  }

  /** Last resort on exit: SIGKILL whatever child is left. */
  killAll(): void {
    for (const c of this.children) c.kill();
  }
}

/** `arena dev`: runs until SIGINT or SIGTERM, then resolves with the exit code (0).
 *  Bad arguments or a port in use throw ArenaError before anything starts. */
export async function devCommand(argv: string[]): Promise<number> {
  const session = new DevSession(parseDevArgs(argv));
  const onExit = () => session.killAll();
  process.on("exit", onExit);
  try {
    await session.start();
  } catch (err) {
    await session.stop();
    process.off("exit", onExit);
    throw err;
  }
  let onSignal: (signal: NodeJS.Signals) => void = () => {};
  await new Promise<void>((resolve) => {
    let first = 0;
    onSignal = (signal) => {
      const now = Date.now();
      // One Ctrl-C can come twice (from the terminal and from npm passing it on).
      if (first !== 0 && now - first < 1000) return;
      if (first !== 0) {
        session.killAll();
        process.stdout.write(`arena dev: ${signal} again: stopped without waiting\n`);
        process.exit(1);
      }
      first = now;
      session.stop().then(resolve);
    };
    process.on("SIGINT", onSignal).on("SIGTERM", onSignal);
  });
  process.off("SIGINT", onSignal).off("SIGTERM", onSignal);
  process.off("exit", onExit);
  process.stdout.write("arena dev: stopped\n");
  return 0;
}
