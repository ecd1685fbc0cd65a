// `npm run bench:workers`: what --workers buys on this machine. W1 (hello) and W2 (fetch
// JSON from the local upstream, render HTML) against `arena serve bench/apps/bench.wasm`
// with 1 and 2 workers, and the RSS of the server's process (worker threads are in it).
//
// How the cores are shared, on a 2-core machine: the standard bench setting (1 worker and
// the upstream on CPU 0, wrk on CPU 1) cannot show a second worker, which needs a core of
// its own. So two more settings run everything unpinned (server, upstream and wrk share
// both cores, as they would on one machine): 1 worker and 2 workers. Their ratio is what a
// second worker adds when the load generator takes its share of the same two cores; on a
// machine with cores to spare for the load, it is more.
//
//   node bench/workers.ts [--seconds=10] [--runs=3]

import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { prepareBenchData } from "./data.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const argv = process.argv.slice(2);
const flag = (name: string): string | undefined => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const SECONDS = Number(flag("seconds") ?? 10);
const RUNS = Number(flag("runs") ?? 3);
const WARMUP_SECONDS = 3;
const CONNECTIONS = 64;
const UPSTREAM_PORT = 3290;
const PORT = 3291;
const NODE = process.execPath;
const log = (line: string) => process.stdout.write(line + "\n");

interface Setting {
  name: string;
  workers: number;
  /** taskset CPU list for the server and the upstream, or null for none. */
  serverCpus: string | null;
  /** taskset CPU list and threads for wrk. */
  wrkCpus: string | null;
  wrkThreads: number;
}

const SETTINGS: Setting[] = [
  { name: "1 worker on CPU 0, wrk on CPU 1 (the standard bench)", workers: 1, serverCpus: "0", wrkCpus: "1", wrkThreads: 1 },
  { name: "1 worker, all unpinned (wrk -t2 shares both cores)", workers: 1, serverCpus: null, wrkCpus: null, wrkThreads: 2 },
  { name: "2 workers, all unpinned (wrk -t2 shares both cores)", workers: 2, serverCpus: null, wrkCpus: null, wrkThreads: 2 },
];

const WORKLOADS = [{ id: "W1", path: "/" }, { id: "W2", path: "/w2" }];

function pinned(cpus: string | null, command: string[]): string[] {
  return cpus === null ? command : ["taskset", "-c", cpus, ...command];
}

async function start(command: string[], env: Record<string, string>, ready: RegExp): Promise<ChildProcess> {
  const child = spawn(command[0], command.slice(1), { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`did not start: ${command.join(" ")}\n${out}`)), 30_000);
    const on = (d: Buffer) => {
      out += d;
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on("data", on);
    child.stderr!.on("data", on);
    child.on("exit", (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const done = new Promise((r) => child.once("exit", r));
  child.kill("SIGINT");
  await done;
}

/** VmRSS of `pid` and its descendants, in bytes. */
function treeRss(pid: number): number {
  let total = 0;
  const visit = (p: number) => {
    try {
      total += Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${p}/status`, "utf8"))![1]) * 1024;
      for (const c of fs.readFileSync(`/proc/${p}/task/${p}/children`, "utf8").trim().split(/\s+/).filter(Boolean)) visit(Number(c));
    } catch {
      // gone meanwhile
    }
  };
  visit(pid);
  return total;
}

function wrk(s: Setting, urlPath: string, seconds: number): { rps: number; p99: string } {
  const cmd = pinned(s.wrkCpus, ["wrk", `-t${s.wrkThreads}`, `-c${CONNECTIONS}`, `-d${seconds}s`, "--latency", `http://127.0.0.1:${PORT}${urlPath}`]);
  const r = spawnSync(cmd[0], cmd.slice(1), { encoding: "utf8", timeout: (seconds + 30) * 1000 });
  const out = r.stdout ?? "";
  if (r.status !== 0 || /Non-2xx|Socket errors/.test(out)) throw new Error(`wrk failed or saw errors: ${out}${r.stderr}`);
  return { rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)![1]), p99: / 99%\s+(\S+)/.exec(out)![1] };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

async function main(): Promise<void> {
  const data = prepareBenchData(ROOT);
  execFileSync(NODE, ["cli/arena.ts", "build", "bench/apps/bench.ts"], { cwd: ROOT, stdio: "inherit" });
  const docs = { BENCH_DATA: data.productsFile, BENCH_ORDERS: data.ordersFile };
  const rows: string[] = [];
  const results: unknown[] = [];
  for (const s of SETTINGS) {
    const upstream = await start(pinned(s.serverCpus, [NODE, "bench/upstream.ts"]), { PORT: String(UPSTREAM_PORT), ...docs }, /listening/);
    const server = await start(pinned(s.serverCpus, [NODE, "cli/arena.ts", "serve", "bench/apps/bench.wasm", "--port", String(PORT), "--workers", String(s.workers)]),
      { ...docs, BENCH_UPSTREAM_URL: `http://127.0.0.1:${UPSTREAM_PORT}` }, /serving/);
    try {
      for (const w of WORKLOADS) {
        wrk(s, w.path, WARMUP_SECONDS);
        const runs = Array.from({ length: RUNS }, () => wrk(s, w.path, SECONDS));
        const rss = treeRss(server.pid!);
        const rps = median(runs.map((r) => r.rps));
        const p99 = runs.map((r) => r.p99).join(" / ");
        results.push({ setting: s.name, workers: s.workers, workload: w.id, rps, runs: runs.map((r) => r.rps), p99, rssBytes: rss });
        rows.push(`| ${s.name} | ${w.id} | ${Math.round(rps).toLocaleString("en-US")} | ${p99} | ${(rss / 1048576).toFixed(0)} MiB |`);
        log(rows[rows.length - 1]);
      }
    } finally {
      await stop(server);
      await stop(upstream);
    }
  }
  log(`\n| setting | workload | req/s (median of ${RUNS} × ${SECONDS} s) | p99 per run | server RSS after the runs |\n|---|---|--:|---|--:|\n${rows.join("\n")}`);
  fs.writeFileSync(path.join(ROOT, "bench/results/workers.json"), JSON.stringify({ date: new Date().toISOString(), seconds: SECONDS, runs: RUNS, connections: CONNECTIONS, results }, null, 2));
}

await main();
