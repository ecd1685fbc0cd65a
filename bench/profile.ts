// Where the time goes: runs one Arena workload under `node --cpu-prof` and prints the
// functions with the most self time (wasm functions by name: the app is built with names).
//
//   node bench/profile.ts [w1|w2|w2t|w2b|w3|w3b] [--seconds N]
//
// Server and upstream on CPU 0, wrk on CPU 1, as in `npm run bench`. The .cpuprofile is
// left in bench/results/ for Chrome DevTools or speedscope.

import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "../cli/build.ts";
import { prepareBenchData } from "./data.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const workload = process.argv[2] ?? "w2b";
const seconds = Number(process.argv[process.argv.indexOf("--seconds") + 1] || 5);
const out = path.join(ROOT, "bench/results");
fs.mkdirSync(out, { recursive: true });

// The bench app built as `npm run bench` builds it (arena build: patched stdlib, CPU-budget
// counters, may-wait list), keeping its name section so wasm frames have names, with the
// documents bench/run.ts serves.
const data = prepareBenchData(ROOT);
const wasm = path.join(out, "profile-app.wasm");
await build(path.join(ROOT, "bench/apps/bench.ts"), { out: wasm, names: true });

function start(args: string[], env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn("taskset", ["-c", "0", process.execPath, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let text = "";
    const on = (d: Buffer) => {
      text += d;
      if (/listening|serving/.test(text)) resolve(child);
    };
    child.stdout!.on("data", on);
    child.stderr!.on("data", on);
    child.on("exit", (code) => reject(new Error(`exited ${code}: ${text}`)));
  });
}

const upstream = await start(["bench/upstream.ts"], { PORT: "3290", BENCH_DATA: data.productsFile, BENCH_ORDERS: data.ordersFile });
const before = new Set(fs.readdirSync(out));
const server = await start(["--cpu-prof", `--cpu-prof-dir=${out}`, "cli/arena.ts", "serve", wasm, "--port", "3291"], { BENCH_UPSTREAM_URL: "http://127.0.0.1:3290" });
const target = `http://127.0.0.1:3291${workload === "w1" ? "/" : `/${workload}`}`;
execFileSync("taskset", ["-c", "1", "wrk", "-t1", "-c64", "-d1s", target]);
const report = execFileSync("taskset", ["-c", "1", "wrk", "-t1", "-c64", `-d${seconds}s`, target], { encoding: "utf8" });
server.kill("SIGINT");
await new Promise((r) => server.once("exit", r));
upstream.kill();
const file = fs.readdirSync(out).find((f) => f.endsWith(".cpuprofile") && !before.has(f))!;

interface Node { id: number; callFrame: { functionName: string; url: string }; hitCount: number }
const profile = JSON.parse(fs.readFileSync(path.join(out, file), "utf8")) as { nodes: Node[] };
const self = new Map<string, number>();
let total = 0;
for (const n of profile.nodes) {
  const name = `${n.callFrame.functionName || "(anonymous)"} ${n.callFrame.url.startsWith("wasm") ? "[wasm]" : path.basename(n.callFrame.url)}`;
  self.set(name, (self.get(name) ?? 0) + n.hitCount);
  total += n.hitCount;
}
process.stdout.write(`${workload}: ${/Requests\/sec:\s+(\S+)/.exec(report)?.[1]} req/s under the profiler; ${file}\n`);
for (const [name, hits] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
  process.stdout.write(`${((hits / total) * 100).toFixed(1).padStart(5)} %  ${name}\n`);
}
