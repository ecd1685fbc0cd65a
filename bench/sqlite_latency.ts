// What a synchronous SQLite query costs the other requests of its worker: node:sqlite runs
// a statement on the worker's event loop, so while one request's query runs nobody else's
// code does. Serves tests/fixtures/sqliteapp.ts with one worker and measures the latency
// of a cheap route (GET /cheap) alone, then while another client runs a ~20 ms query
// (GET /slow, a recursive CTE) back to back; and a one-row query (GET /echo) against the
// cheap route, which is the per-statement cost. Reports only; docs/abi.md ("SQLite")
// quotes a run.
//
//   ./node_modules/.bin/node bench/sqlite_latency.ts [requests]

import { spawn } from "node:child_process";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "../cli/build.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const N = Number(process.argv[2] ?? 2000);
/** Rows of the recursive CTE that takes about 20 ms on the machine this was written on. */
const SLOW_ROWS = 100_000;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

function get(port: number, p: string): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    http.get({ host: "127.0.0.1", port, path: p, agent }, (res) => {
      res.resume();
      res.on("end", () => resolve(performance.now() - t0));
    }).on("error", reject);
  });
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))];
}

function report(what: string, xs: number[]): void {
  console.log(`${what.padEnd(44)} p50 ${pct(xs, 50).toFixed(2)} ms  p99 ${pct(xs, 99).toFixed(2)} ms  max ${pct(xs, 100).toFixed(2)} ms`);
}

async function series(port: number, p: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await get(port, p));
  return out;
}

async function main(): Promise<void> {
  const wasm = path.join(ROOT, "bench/results/sqliteapp.wasm");
  await build(path.join(ROOT, "tests/fixtures/sqliteapp.ts"), { out: wasm, check: false });
  const port = await freePort();
  const server = spawn(process.execPath, ["cli/arena.ts", "serve", wasm, "--port", String(port), "--workers", "1", "--cpu-ms", "1000"], {
    cwd: ROOT, stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, SQLITE_TEST_DB: ":memory:" },
  });
  try {
    for (let i = 0; ; i++) {
      try {
        await get(port, "/cheap");
        break;
      } catch {
        if (i > 100) throw new Error("the server did not start");
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    await series(port, "/cheap", 200); // warm up
    await series(port, "/echo?type=int&v=1", 200);
    report("GET /cheap alone", await series(port, "/cheap", N));
    report("GET /echo (one-row query) alone", await series(port, "/echo?type=int&v=1", N));
    const slow = await series(port, `/slow?n=${SLOW_ROWS}`, 20);
    report(`GET /slow?n=${SLOW_ROWS} alone`, slow);
    let running = true;
    const loop = (async () => {
      while (running) await get(port, `/slow?n=${SLOW_ROWS}`);
    })();
    report("GET /cheap while /slow runs back to back", await series(port, "/cheap", Math.min(N, 500)));
    running = false;
    await loop;
  } finally {
    server.kill("SIGTERM");
    agent.destroy();
  }
}

await main();
