// Measures what Node itself costs beside the wasm memories, for `arena budget`
// (NODE_PROCESS_BYTES and NODE_WORKER_BYTES in host/limits.ts):
//
//   node bench/runtime_overhead.ts [--workers-max N]
//
// 1. A real `arena serve` of examples/hello (default sizes) is loaded with keep-alive GETs,
//    left idle for a moment, and its RSS is read from /proc/PID/status. The resident part of
//    the app's wasm memory is read from /proc/PID/smaps (V8 maps a memory's accessible
//    bytes as one read-write mapping of exactly the plan's size, before its guard pages)
//    and taken off: what is left is the process's own cost, whatever share of its arenas
//    was touched. Node's own wasm (the TypeScript type stripper) stays in: it is Node's.
// 2. The same with --workers 2…N (and no shared region, which arena budget counts apart): the growth per worker is a worker thread's cost, and what
//    is left at 0 workers on that line is the primary's (which runs no app).
// Each figure is the largest of ROUNDS runs.

import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { formatBytes, resolveServeConfig } from "../host/index.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const CLI = path.join(ROOT, "cli/arena.ts");
const ROUNDS = 3;
/** Keep-alive GETs per connection and connections: enough for V8's heap to reach its
 *  steady size under load (a few thousand requests per slot in use). */
const LOAD_REQUESTS = 5_000;
const LOAD_CONNECTIONS = 8;
/** The default configuration's wasm memory: the size of each app memory's mapping. */
const CONFIG = resolveServeConfig({}, {});
const APP_MEMORY_BYTES = CONFIG.startupBytes + CONFIG.heapBytes + CONFIG.slots * CONFIG.slotBytes;

/** RSS and the resident bytes of the process's app memories (`count` of them, checked). */
function memoryOf(pid: number, count: number): { rss: number; wasm: number } {
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))![1]) * 1024;
  let wasm = 0;
  let found = 0;
  let app = false;
  for (const line of fs.readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const size = /^Size:\s+(\d+) kB/.exec(line);
    if (size) app = Number(size[1]) * 1024 === APP_MEMORY_BYTES;
    if (size && app) found++;
    const res = /^Rss:\s+(\d+) kB/.exec(line);
    if (res && app) wasm += Number(res[1]) * 1024;
  }
  if (found !== count) throw new Error(`found ${found} mappings of ${APP_MEMORY_BYTES} bytes, expected ${count}`);
  return { rss, wasm };
}

/** Sends `LOAD_REQUESTS` keep-alive GETs on each of `LOAD_CONNECTIONS` connections. */
export async function load(port: number): Promise<void> {
  const one = () => new Promise<void>((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let left = LOAD_REQUESTS;
    let seen = "";
    socket.on("error", reject);
    socket.on("connect", () => socket.write("GET / HTTP/1.1\r\nHost: m\r\n\r\n"));
    socket.on("data", (d: Buffer) => {
      seen += d.toString("latin1");
      // Each response of the hello app ends with its one-line body.
      let at: number;
      while ((at = seen.indexOf("Arena!\n")) >= 0) {
        seen = seen.slice(at + 7);
        if (--left === 0) {
          socket.end();
          resolve();
          return;
        }
        socket.write("GET / HTTP/1.1\r\nHost: m\r\n\r\n");
      }
    });
  });
  await Promise.all(Array.from({ length: LOAD_CONNECTIONS }, one));
}

const settle = () => new Promise((r) => setTimeout(r, 1500));

/** One `arena serve --workers N` process: its RSS less its resident wasm, after load and a pause. */
async function serveProcess(wasmFile: string, workers: number): Promise<number> {
  const child = spawn(process.execPath, [CLI, "serve", wasmFile, "--port", "0", "--workers", String(workers), "--shared-bytes", "0"], { stdio: ["ignore", "pipe", "pipe"] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = "";
      child.stdout!.on("data", (d) => {
        out += d;
        const m = /on http:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.stderr!.on("data", (d) => (out += d));
      child.on("exit", () => reject(new Error(`arena serve exited: ${out}`)));
    });
    await load(port);
    await settle();
    const m = memoryOf(child.pid!, workers);
    return m.rss - m.wasm;
  } finally {
    child.kill("SIGKILL");
  }
}

async function main(): Promise<void> {
  const flag = process.argv.indexOf("--workers-max");
  const workersMax = flag > 0 ? Number(process.argv[flag + 1]) : 4;
  const { build } = await import("../cli/build.ts");
  const wasmFile = path.join(os.tmpdir(), `arena-overhead-hello-${process.pid}.wasm`);
  await build(path.join(ROOT, "examples/hello/app.ts"), { out: wasmFile, check: false });
  const max = (xs: number[]) => Math.max(...xs);
  const byWorkers: number[] = [];
  for (let n = 1; n <= workersMax; n++) {
    const runs: number[] = [];
    for (let i = 0; i < ROUNDS; i++) runs.push(await serveProcess(wasmFile, n));
    byWorkers[n] = max(runs);
    console.log(`arena serve --workers ${n}, idle after ${LOAD_CONNECTIONS * LOAD_REQUESTS} requests: RSS less resident wasm ${runs.map(formatBytes).join(", ")}`);
  }
  const slope = (byWorkers[workersMax] - byWorkers[2]) / (workersMax - 2);
  console.log(`one worker (main thread): ${formatBytes(byWorkers[1])}; per worker thread: ${formatBytes(Math.round(slope))}; ` +
    `the primary beside its workers: ${formatBytes(Math.round(byWorkers[2] - 2 * slope))}`);
  fs.rmSync(wasmFile, { force: true });
}

await main();
