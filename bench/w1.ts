// W1 (hello) benchmark: Arena beside node:http, in one run, on this machine.
//
// How: each server runs pinned to CPU 0 (taskset -c 0), wrk runs pinned to CPU 1 with one
// thread and 50 connections; after a warm-up, RUNS runs of SECONDS each; we report the
// median req/s, the median p50/p99 latency and the server's RSS before and after. Both
// servers send byte-identical bodies with the same Content-Type. Results go to
// bench/results/w1.json and w1.md. `--quick` does one 2-second run per server.
//
// The full comparison (Fastify, Hono, Bun, Deno; W2/W2b; heap and GC figures) is the
// benchmark issue's; this script is its first piece.

import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const quick = process.argv.includes("--quick");
const RUNS = quick ? 1 : 5;
const SECONDS = quick ? 2 : 10;
const CONNECTIONS = 50;

function ensureWrk(): void {
  if (spawnSync("wrk", ["--version"]).error === undefined) return;
  process.stdout.write("wrk not found: installing it from Debian's packages (apt-get)\n");
  execFileSync("bash", ["-c", "apt-get update -qq && apt-get install -y -qq wrk"], { stdio: "inherit" });
}

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : 0;
}

async function start(name: string, args: string[], port: number): Promise<ChildProcess> {
  const child = spawn("taskset", ["-c", "0", process.execPath, ...args], { cwd: ROOT, env: { ...process.env, PORT: String(port) } });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const until = Date.now() + 30_000;
  while (!/listening|serving/.test(out)) {
    if (Date.now() > until || child.exitCode !== null) throw new Error(`${name} did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return child;
}

interface Run { rps: number; p50ms: number; p99ms: number }

function toMs(text: string): number {
  const m = /([\d.]+)(us|ms|s)/.exec(text)!;
  const v = Number(m[1]);
  return m[2] === "us" ? v / 1000 : m[2] === "s" ? v * 1000 : v;
}

function wrk(port: number, seconds: number): Run {
  const out = execFileSync("taskset", ["-c", "1", "wrk", "-t1", `-c${CONNECTIONS}`, `-d${seconds}s`, "--latency", `http://127.0.0.1:${port}/`], { encoding: "utf8" });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)![1]);
  if (/Non-2xx|Socket errors/.test(out)) throw new Error(`wrk saw errors:\n${out}`);
  return { rps, p50ms: toMs(/ 50%\s+(\S+)/.exec(out)![1]), p99ms: toMs(/ 99%\s+(\S+)/.exec(out)![1]) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function bench(name: string, args: string[], port: number) {
  const child = await start(name, args, port);
  try {
    const check = execFileSync("curl", ["-s", `http://127.0.0.1:${port}/`], { encoding: "utf8" });
    if (check !== "Hello from Arena!\n") throw new Error(`${name} answered ${JSON.stringify(check)}`);
    wrk(port, 2); // warm-up
    const rssBefore = rssKiB(child.pid!);
    const runs: Run[] = [];
    for (let i = 0; i < RUNS; i++) runs.push(wrk(port, SECONDS));
    const rssAfter = rssKiB(child.pid!);
    const result = {
      name, runs, rps: median(runs.map((r) => r.rps)), p50ms: median(runs.map((r) => r.p50ms)),
      p99ms: median(runs.map((r) => r.p99ms)), rssBeforeKiB: rssBefore, rssAfterKiB: rssAfter,
    };
    process.stdout.write(`${name}: ${Math.round(result.rps)} req/s (median of ${RUNS}), p50 ${result.p50ms} ms, p99 ${result.p99ms} ms\n`);
    return result;
  } finally {
    child.kill("SIGKILL");
  }
}

ensureWrk();
execFileSync(process.execPath, ["cli/arena.ts", "build", "examples/hello/app.ts"], { cwd: ROOT, stdio: "inherit" });
const results = [
  await bench("arena", ["cli/arena.ts", "serve", "examples/hello/app.wasm"], 3100),
  await bench("node:http", ["bench/peers/node_http.ts"], 3101),
];
const ratio = results[0].rps / results[1].rps;
const machine = { cpus: os.cpus()[0]?.model ?? "?", cores: os.cpus().length, node: process.version, date: new Date().toISOString() };
const md = [
  `W1 hello, wrk -t1 -c${CONNECTIONS}, ${RUNS} × ${SECONDS}s, server on CPU 0, wrk on CPU 1 (${machine.cpus}, node ${machine.node}, ${machine.date})`,
  "",
  "| server | req/s (median) | p50 ms | p99 ms | RSS before → after |",
  "|---|---|---|---|---|",
  ...results.map((r) => `| ${r.name} | ${Math.round(r.rps)} | ${r.p50ms} | ${r.p99ms} | ${(r.rssBeforeKiB / 1024).toFixed(1)} → ${(r.rssAfterKiB / 1024).toFixed(1)} MiB |`),
  "",
  `arena / node:http = ${ratio.toFixed(2)}×`,
].join("\n");
fs.mkdirSync(path.join(ROOT, "bench/results"), { recursive: true });
fs.writeFileSync(path.join(ROOT, "bench/results/w1.json"), JSON.stringify({ machine, runs: RUNS, seconds: SECONDS, connections: CONNECTIONS, results, ratio }, null, 2) + "\n");
fs.writeFileSync(path.join(ROOT, "bench/results/w1.md"), md + "\n");
process.stdout.write(`\n${md}\n`);
