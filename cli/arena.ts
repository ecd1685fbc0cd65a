#!/usr/bin/env node
// The `arena` command: build an app, serve it, or show help. Every failure is one line,
// `arena: CODE: what happened (what to do)`, and a non-zero exit; never a stack trace.

import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  ArenaError, consoleLogger, deviceBudgetText, formatBytes, parseWhole, planMemory, Primary, resolveServeConfig, serverOptions, workersBudgetLine,
} from "../host/index.ts";
import { parseArgs } from "./args.ts";
import { scaffold } from "./scaffold.ts";

const HELP = `arena — a web server where every request runs in its own fixed memory arena

Usage:
  arena new <dir>
      Create an app in a new folder: app.ts, a test, package.json, tsconfig.json (editor
      types for AssemblyScript and the SDK), .gitignore, README.md. Then, in <dir>:
      npm install, npm start, npm test.
  arena start <app.ts> [--check] [serve options]
      Build the app, then serve it (the options of arena serve; env PORT moves it).
  arena test [node --test options] [files…]
      Run the app's tests (every *.test.ts below this folder, outside node_modules) with
      node --test on Arena's pinned Node, e.g. arena test --test-name-pattern=echo
  arena dev <app.ts> [--no-check] [serve options]
      Serve the app and rebuild it when a .ts file in its folder changes: requests in
      flight finish on the old build, new ones go to the new one. A compile error is shown
      in the terminal and as the page (500) until it is fixed. Check build unless --no-check.
  arena profile <app.ts|app.wasm> <requests-file> [--arena-bytes SIZE] [--heap-bytes SIZE] [--check]
      Run the requests in the file (one per line: METHOD /path [body | @file]) and print
      each route's peak arena use and the --arena-bytes it suggests.
  arena build <app.ts> [-o <out.wasm>] [--check]
      Compile an AssemblyScript app to <app>.wasm with the Arena runtime and SDK.
      --check   check build (<app>.check.wasm): stops a request that stores one of its
                objects into a start-up or heap object or a module-level variable, with
                the classes and the field or variable named (docs/regions.md).
  arena serve <app.wasm> [options]
      Serve the app over HTTP/1.1.
      --port N            port (env PORT, default 3000)
      --host H            address (env HOST, default 127.0.0.1)
      --slots N           requests in flight, one arena each (env ARENA_SLOTS, default 256)
      --arena-bytes SIZE  memory per request (env ARENA_BYTES, default 1MiB)
      --startup-bytes SIZE  region for what the app builds at start (env ARENA_STARTUP_BYTES, default 4MiB)
      --heap-bytes SIZE     heap region for state kept between requests (env ARENA_HEAP_BYTES, default 16MiB)
      --shared-bytes SIZE   region every worker shares: counters and a key-value store
                            (env ARENA_SHARED_BYTES, default 4MiB, 0 for none)
      --static DIR        serve the files under DIR before the app: loaded once at start
                          into the device region, with content types, ETag / 304 and
                          gzip or brotli variants (env ARENA_STATIC; docs/operations.md)
      --device-bytes SIZE   device region, outside the wasm memory: static files and the
                          app's Device buffers (env ARENA_DEVICE_BYTES, default 256MiB)
      --queue N           requests that may wait for a slot before 503 (env ARENA_QUEUE, default 1024)
      --body-bytes SIZE   request body limit, at most (arena - 40KiB)/3 so req.text() fits
                          (env ARENA_BODY_BYTES, default min(512KiB, (arena - 40KiB)/3))
      --connections N     open connections at most; past it 503 and close
                          (env ARENA_CONNECTIONS, default 10000)
      --cpu-ms N          CPU ms one request may use before it is stopped with 500
                          (env ARENA_CPU_MS, default 100)
      --deadline-ms N     wall-clock ms one request may take before it gets 504
                          (env ARENA_DEADLINE_MS, default 30000)
      --log-level LEVEL   lowest app log level printed: debug, info, warn, error
                          (env ARENA_LOG_LEVEL, default info)
      --workers N         worker threads, each with its own memory and the port shared
                          (env ARENA_WORKERS, default: the number of cores; 1 = one server
                          in the main thread)
      --admin-port N      admin listener: GET /metrics, /healthz, /readyz, POST /reload
                          (env ARENA_ADMIN_PORT, default off; --admin-host, env
                          ARENA_ADMIN_HOST, default 127.0.0.1)
      --access-log FILE   one JSON line per request to FILE, - for stdout
                          (env ARENA_ACCESS_LOG, default off)
      --compress on|off   gzip or brotli for text, JSON, JavaScript, XML and SVG bodies
                          the client accepts compressed (env ARENA_COMPRESS, default on;
                          off when a proxy in front compresses)
      --compress-min-bytes SIZE  smallest body compressed (env ARENA_COMPRESS_MIN_BYTES,
                          default 1KiB; bodies over 256KiB are never compressed)
      --fetch-ca FILE     PEM file of CA certificates the app's https:// fetches also trust,
                          besides Node's and the system's (env ARENA_FETCH_CA)
      SIGHUP reloads the build (new requests go to it, requests in flight finish on the
      old one); SIGTERM or Ctrl-C drains every worker and exits 0. docs/operations.md.
  arena reload --admin-port N [--admin-host H]
      Reload a running server's build through its admin listener and print the outcome.
  arena budget [app.wasm] [serve options] [--format text|k8s|json]
      Print the memory a configuration needs: per worker, in all, with the runtime, a
      reload and open connections, and the Kubernetes request and limit for it
      (--format k8s: the resources block alone; json: the figures in bytes).
  arena --help

SIZE is bytes or a number with KiB, MiB, GiB (also k, m, g). Memory is fixed at start:
slots × arena-bytes + startup-bytes + heap-bytes, printed as the first line with what open
connections can add at most.
Docs (in the Arena repository): README.md, docs/abi.md, docs/errors.md`;

/** This file, run again for `arena start`'s build step. */
const CLI_FILE = fileURLToPath(import.meta.url);

/** A repeat of a stop signal within this many ms is the same Ctrl-C delivered twice, not a
 *  second press: the terminal signals the whole process group, and npm and the arena
 *  launcher (cli/launcher.cjs) pass the signal on as well. */
const SIGNAL_REPEAT_MS = 300;

const SERVE_FLAGS = new Set(["port", "host", "slots", "arena-bytes", "startup-bytes", "heap-bytes", "queue", "body-bytes", "log-level", "cpu-ms", "connections", "deadline-ms",
  "workers", "admin-port", "admin-host", "access-log", "shared-bytes", "compress", "compress-min-bytes", "fetch-ca",
  "device-bytes", "static"]);

async function cmdBuild(argv: string[]): Promise<void> {
  const p = parseArgs(argv, new Set(["o", "out"]), new Set(["check"]));
  if (p.positional.length !== 1) throw new ArenaError("ARENA_E_USAGE", "build takes one app source file", "arena build app.ts");
  // Loaded only here: the compiler (binaryen) is ~100 MiB of RSS that `serve` must not carry.
  const { build } = await import("./build.ts");
  const out = await build(p.positional[0], { out: p.flags.o ?? p.flags.out, check: p.switches.has("check") });
  const size = fs.statSync(out).size;
  process.stdout.write(`built ${out} (${formatBytes(size)})\n`);
}

async function cmdServe(argv: string[]): Promise<void> {
  const p = parseArgs(argv, SERVE_FLAGS, new Set());
  if (p.positional.length !== 1) throw new ArenaError("ARENA_E_USAGE", "serve takes one .wasm file", "arena serve app.wasm");
  return serveFile(p.positional[0], p.flags);
}

async function serveFile(file: string, flags: Record<string, string>, rebuild: (() => Promise<void>) | null = null): Promise<void> {
  const config = resolveServeConfig(flags, process.env);
  const bytes = readWasm(file);
  // The plan is checked here, in this thread, so a bad size is the one line before any
  // worker starts (each worker plans the same memory again).
  const plan = planMemory(config.slots, config.slotBytes, config.startupBytes, config.heapBytes);
  const primary = await Primary.start({
    wasm: bytes, file, host: config.host, port: config.port, workers: config.workers, sharedBytes: config.sharedBytes, options: serverOptions(config),
    deviceBytes: config.deviceBytes, staticDir: config.staticDir,
    adminPort: config.adminPort, adminHost: config.adminHost, accessLog: config.accessLog, log: consoleLogger,
    nextBuild: async () => {
      if (rebuild !== null) await rebuild();
      return readWasm(file);
    },
  });
  // Before the "serving" line: whoever waits for that line may stop the server at once, and
  // the write to a pipe is synchronous, so a signal could otherwise land before the handler.
  stopOnSignals(primary);
  process.on("SIGHUP", () => {
    consoleLogger.info(`SIGHUP: reloading ${file}`);
    void primary.reload();
  });
  const note = ` (startup used ${formatBytes(primary.startupUsed)})`;
  process.stdout.write(`${workersBudgetLine(plan, config.workers, primary.sharedBytes, config.connections, note, deviceBudgetText(primary.device))}\n`);
  const shown = (h: string) => (h.includes(":") ? `[${h}]` : h);
  const workers = config.workers === 1 ? "" : ` with ${config.workers} workers`;
  process.stdout.write(`arena: serving ${file} on http://${shown(config.host)}:${primary.servingPort}/${workers} (Ctrl-C to stop)\n`);
  if (primary.adminPort !== null) {
    process.stdout.write(`arena: admin on http://${shown(config.adminHost)}:${primary.adminPort}/ (/metrics, /healthz, /readyz, POST /reload)\n`);
  }
}

/** The app's wasm bytes, or the one-line error that says how to get them. */
function readWasm(file: string): Uint8Array {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ArenaError("ARENA_E_WASM", code === "ENOENT" ? `${file} does not exist` : `cannot read ${file}: ${(err as Error).message}`,
      file.endsWith(".wasm") ? "build it first with `arena build <app.ts>`" : "pass the .wasm file that `arena build` wrote");
  }
}

/** Ctrl-C or SIGTERM: stop accepting, finish the requests in flight, exit 0. A second press
 *  exits at once. */
function stopOnSignals(primary: Primary): void {
  let stoppedAt = -1;
  const stop = (signal: string) => {
    const now = performance.now();
    if (stoppedAt >= 0) {
      if (now - stoppedAt < SIGNAL_REPEAT_MS) return;
      consoleLogger.info(`${signal} again: exiting without waiting`);
      process.exit(1);
    }
    stoppedAt = now;
    consoleLogger.info(`${signal}: shutting down`);
    // Ctrl-C at a terminal closes idle connections at once; SIGTERM, from an orchestrator,
    // lets them reach their keep-alive timeout so that a balancer's request on one is not
    // lost (ArenaServer.close).
    primary.drain(signal === "SIGINT").then(() => {
      consoleLogger.info("shutdown complete");
      process.exit(0);
    });
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

/** Runs the pinned Node (this process's) on `args` in the user's folder; resolves to its exit code. */
function runNode(args: string[], env: NodeJS.ProcessEnv = process.env, forwardSignals = true): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: "inherit", env });
    // While the child runs, a stop signal is the child's to handle (it gets it too from the
    // terminal, or below); this process only waits for it to end. A rebuild for a reload
    // runs beside a serving server, whose own handlers stop it.
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    if (forwardSignals) process.on("SIGINT", forward).on("SIGTERM", forward);
    child.on("exit", (code, signal) => {
      process.off("SIGINT", forward).off("SIGTERM", forward);
      resolve(code ?? 128 + (signal ? os.constants.signals[signal] : 0));
    });
  });
}

async function cmdStart(argv: string[]): Promise<void> {
  const p = parseArgs(argv, SERVE_FLAGS, new Set(["check"]));
  if (p.positional.length !== 1) throw new ArenaError("ARENA_E_USAGE", "start takes one app source file", "arena start app.ts");
  const source = p.positional[0];
  const check = p.switches.has("check");
  // The build runs in a child process: the compiler (binaryen) is ~100 MiB of RSS that the
  // server must not carry. The child prints its own line when the build fails.
  const code = await runNode([CLI_FILE, "build", source, ...(check ? ["--check"] : [])]);
  if (code !== 0) {
    process.exitCode = code;
    return;
  }
  // A reload (SIGHUP, `arena reload`) builds the app again first; a compile error fails it
  // and the running build goes on serving.
  const rebuild = async () => {
    const status = await runNode([CLI_FILE, "build", source, ...(check ? ["--check"] : [])], process.env, false);
    if (status !== 0) throw new ArenaError("ARENA_E_BUILD", `${source} did not compile (the compiler's messages are above)`, "fix it and reload again");
  };
  return serveFile(source.replace(/\.ts$/, check ? ".check.wasm" : ".wasm"), p.flags, rebuild);
}

async function cmdNew(argv: string[]): Promise<void> {
  const p = parseArgs(argv, new Set(), new Set());
  if (p.positional.length !== 1) throw new ArenaError("ARENA_E_USAGE", "new takes the folder to create", "arena new my-app");
  const dir = p.positional[0];
  const files = scaffold(dir);
  const cd = /^[\w./-]+$/.test(dir) ? dir : JSON.stringify(dir);
  process.stdout.write(`created ${dir}: ${files.join(", ")}\n\nNext:\n  cd ${cd}\n  npm install\n  npm start    # serves http://127.0.0.1:3000/\n  npm test\n`);
}

/** The *.test.ts files below `dir`, but for node_modules and hidden folders. */
function testFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== "node_modules" && !e.name.startsWith(".")) out.push(...testFiles(p));
    } else if (e.name.endsWith(".test.ts")) {
      out.push(p);
    }
  }
  return out.sort();
}

async function cmdTest(argv: string[]): Promise<void> {
  // Options are node --test's (--test-name-pattern=…, --test-only); files given are run
  // instead of the ones found.
  const given = argv.some((a) => !a.startsWith("-"));
  const files = given ? [] : testFiles(".");
  if (!given && files.length === 0) {
    throw new ArenaError("ARENA_E_USAGE", `no *.test.ts files in ${process.cwd()}`, "write one next to the app, or pass the test files");
  }
  // A run of its own even when `arena test` is itself run by a test: node --test skips the
  // files when it finds NODE_TEST_CONTEXT, which a test runner sets for its children.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  process.exitCode = await runNode(["--test", ...argv, ...files], env);
}

// dev and profile load the compiler and their own modules only when they run.
async function cmdDev(argv: string[]): Promise<void> {
  const { devCommand } = await import("./dev.ts");
  process.exitCode = await devCommand(argv);
}

async function cmdProfile(argv: string[]): Promise<void> {
  const { profileCommand } = await import("../testing/report.ts");
  process.exitCode = await profileCommand(argv);
}

/** `arena reload`: asks a running server, through its admin listener, to load its build
 *  again (the .wasm file read again; with `arena start`, the app rebuilt) and prints the
 *  outcome. SIGHUP to the server's process does the same without an answer. */
async function cmdReload(argv: string[]): Promise<void> {
  const p = parseArgs(argv, new Set(["admin-port", "admin-host"]), new Set());
  const portText = p.flags["admin-port"] ?? process.env.ARENA_ADMIN_PORT;
  if (p.positional.length !== 0 || portText === undefined || portText === "") {
    throw new ArenaError("ARENA_E_USAGE", "reload needs the server's admin port", "arena reload --admin-port 9090 (the server runs with --admin-port), or send SIGHUP to its process");
  }
  const port = parseWhole("--admin-port", portText, 1, 65535);
  const host = p.flags["admin-host"] ?? process.env.ARENA_ADMIN_HOST ?? "127.0.0.1";
  let res: Response;
  try {
    res = await fetch(`http://${host.includes(":") ? `[${host}]` : host}:${port}/reload`, { method: "POST" });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new ArenaError("ARENA_E_RELOAD", `no admin listener answers on ${host}:${port} (${cause})`, "is the server running with --admin-port?");
  }
  const text = (await res.text()).trim();
  if (!res.ok) {
    process.stderr.write(`${text.startsWith("arena: ") ? text : `arena: ARENA_E_RELOAD: the admin listener answered ${res.status}: ${text}`}\n`);
    process.exitCode = 1;
    return;
  }
  process.stdout.write(`${text}\n`);
}

async function cmdBudget(argv: string[]): Promise<void> {
  const { budgetCommand } = await import("./budget.ts");
  process.exitCode = await budgetCommand(argv);
}

/** The commands by name; a new command is a function of its arguments added here and in HELP. */
const COMMANDS: Record<string, (argv: string[]) => Promise<void>> = {
  new: cmdNew,
  build: cmdBuild,
  serve: cmdServe,
  start: cmdStart,
  test: cmdTest,
  dev: cmdDev,
  profile: cmdProfile,
  reload: cmdReload,
  budget: cmdBudget,
};

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(HELP + "\n");
    if (command === undefined) process.exitCode = 2;
    return;
  }
  const run = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (run === undefined) {
    throw new ArenaError("ARENA_E_USAGE", `unknown command '${command}'`, `use ${Object.keys(COMMANDS).join(", ")} or --help`);
  }
  return run(rest);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof ArenaError) {
    process.stderr.write(err.line() + "\n");
  } else {
    const e = err as Error;
    process.stderr.write(`arena: internal error: ${e?.message ?? String(err)} (please report it; ARENA_DEBUG=1 shows the stack)\n`);
    if (process.env.ARENA_DEBUG) process.stderr.write(`${e?.stack}\n`);
  }
  process.exit(1);
});
