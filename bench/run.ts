// `npm run bench`: Arena beside node:http, Fastify, Hono (@hono/node-server), Bun.serve and
// Deno.serve, in one session, on W1 (hello), W2 (fetch JSON from a local upstream → HTML
// table), W2b (the same render from a JSON document held in memory), and W3/W3b (the same
// two for a second document shape, orders). nginx `return 200` is W1's physical-limit row
// and Arena's W2 transport row (fetch, precomputed page) W2's.
//
//   npm run bench                      full run: per workload a warm-up, then 3 × 10 s
//   npm run bench -- --quick           smoke run: 1 s warm-up, 1 × 3 s
//   npm run bench -- --servers=arena,node:http   only these servers (names as in the table)
//   npm run bench -- --runs=5 --seconds=20       override the run count / length
//
// How: every server and the upstream run pinned to CPU 0 (taskset -c 0); wrk runs pinned to
// CPU 1 (taskset -c 1 wrk -t1 -c64 --latency). Before measuring, the harness fetches each
// route once and compares the body bytes and Content-Type with bench/reference.ts; a server
// whose answer differs is not measured. Results: bench/results/bench.{json,md,svg}.
// Method and caveats: docs/performance.md.

import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { prepareBenchData } from "./data.ts";
import { childPids, ensureNginx, nginxCommand, nginxVersion } from "./nginx.ts";
import { HELLO_BODY, HELLO_TYPE, HTML_TYPE, firstDifference, referenceOrders, referenceTable } from "./reference.ts";
import { fmtGc, fmtHeap, fmtMiB, fmtMs, markdown, svgChart, targets, type Result, type Run, type Workload } from "./report.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const RESULTS = path.join(ROOT, "bench/results");
const argv = process.argv.slice(2);
const flag = (name: string): string | undefined => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const QUICK = argv.includes("--quick");
const RUNS = Number(flag("runs") ?? (QUICK ? 1 : 3));
const SECONDS = Number(flag("seconds") ?? (QUICK ? 3 : 10));
const WARMUP_SECONDS = QUICK ? 1 : 3;
const CONNECTIONS = 64;
const UPSTREAM_PORT = 3190;
const FIRST_PORT = 3191;
/** A run during which other processes used more than this share of the two CPUs is
 *  repeated (up to RUNS more times per workload) and left out of the medians. */
const DISTURBED_PCT = Number(flag("disturbed-pct") ?? 5);

// ---------------------------------------------------------------------------------------
// Servers and workloads

type Runtime = "node" | "bun" | "deno" | "native";

interface ServerDef {
  name: string;
  runtime: Runtime;
  /** Command after `taskset -c 0` (nginx's is made at start, with its config). */
  command: string[];
  /** The workloads it does, when not all; the others are reported n/a with `why`. */
  only?: Workload["id"][];
  why?: string;
}

const NODE = process.execPath;
const BUN = path.join(ROOT, "node_modules/bun/bin/bun.exe");
const DENO = path.join(ROOT, "node_modules/deno/deno");
const PROBE = ["--import", "./bench/probe.ts"];

const SERVERS: ServerDef[] = [
  { name: "arena", runtime: "node", command: [NODE, ...PROBE, "bench/peers/arena.ts", "bench/apps/bench.wasm"] },
  { name: "node:http", runtime: "node", command: [NODE, ...PROBE, "bench/peers/node_http.ts"] },
  { name: "fastify", runtime: "node", command: [NODE, ...PROBE, "bench/peers/fastify.ts"] },
  { name: "hono", runtime: "node", command: [NODE, ...PROBE, "bench/peers/hono.ts"] },
  { name: "bun", runtime: "bun", command: [BUN, "bench/peers/bun.ts"] },
  { name: "deno", runtime: "deno", command: [DENO, "run", "--allow-net", "--allow-read", "--allow-env", "bench/peers/deno.ts"] },
  {
    name: "nginx", runtime: "native", command: [], only: ["W1"],
    why: "nginx `return 200` is the physical-limit row of W1 (an answer from its config, no application code); it has no JSON or HTML code to run the other workloads",
  },
];


const NO_PROBE_REASON: Record<Runtime, string> = {
  node: "",
  bun: "Bun (JavaScriptCore) has no per-GC event stream or v8.GCProfiler",
  deno: "Deno does not implement v8.GCProfiler or PerformanceObserver('gc')",
  native: "nginx is C: it has no JavaScript heap or GC",
};

// ---------------------------------------------------------------------------------------
// Small helpers

const log = (line: string) => process.stdout.write(line + "\n");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

function firstLine(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  return `${r.stdout ?? ""}${r.stderr ?? ""}`.split("\n").find((l) => l.trim() !== "")?.trim() ?? "?";
}

function pkgVersion(name: string): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "not installed";
  }
}

function ensureWrk(): void {
  if (spawnSync("wrk", ["-v"]).error === undefined) return;
  log("wrk not found: installing it from Debian's packages (apt-get)");
  execFileSync("bash", ["-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk"], { stdio: "inherit" });
}

// ---------------------------------------------------------------------------------------
// Processes

interface Proc {
  child: ChildProcess;
  output: () => string;
}

interface StartOptions {
  ipc?: boolean;
  /** Ready when this resolves true; by default when the process prints "listening". */
  ready?: () => Promise<boolean>;
  /** Run as this user and group (nginx, when the harness runs as root). */
  uid?: number;
  gid?: number;
}

async function startProcess(name: string, command: string[], env: Record<string, string>, o: StartOptions = {}): Promise<Proc> {
  const child = spawn("taskset", ["-c", "0", ...command], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: o.ipc ? ["ignore", "pipe", "pipe", "ipc"] : ["ignore", "pipe", "pipe"],
    uid: o.uid,
    gid: o.gid,
  });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  child.on("error", (err) => (out += `\nspawn error: ${err.message}`));
  const until = Date.now() + 60_000;
  const ready = o.ready ?? (async () => /^listening/m.test(out));
  while (!(await ready())) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > until) {
      child.kill("SIGKILL");
      throw new Error(`${name} did not start: ${out.trim().slice(-2000) || "(no output)"}`);
    }
    await sleep(50);
  }
  return { child, output: () => out };
}

async function stopProcess(p: Proc): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  const exited = new Promise((r) => p.child.once("exit", r));
  p.child.kill("SIGTERM");
  const t = setTimeout(() => p.child.kill("SIGKILL"), 3000);
  await exited;
  clearTimeout(t);
}

interface ProbeReport {
  allocatedBytes: number;
  gcCount: number;
  gcByType: Record<string, number>;
  rssBytes: number;
  extra: Record<string, number>;
}

function probe(p: Proc, cmd: "start" | "stop"): Promise<ProbeReport & { probe: string }> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("probe did not answer")), 10_000);
    const onMessage = (m: ProbeReport & { probe: string }) => {
      if (m.probe !== (cmd === "start" ? "started" : "report")) return;
      clearTimeout(t);
      p.child.off("message", onMessage);
      resolve(m);
    };
    p.child.on("message", onMessage);
    p.child.send({ probe: cmd });
  });
}

// ---------------------------------------------------------------------------------------
// The byte-identical check

function getOnce(port: number, urlPath: string): Promise<{ status: number; type: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path: urlPath, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"] ?? ""), body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error("timed out")));
    req.on("error", reject);
  });
}

/** null when the answer is byte-identical to the reference, else what differs. */
async function verify(port: number, w: Workload): Promise<string | null> {
  let r;
  try {
    r = await getOnce(port, w.path);
  } catch (err) {
    return `GET ${w.path} failed: ${(err as Error).message}`;
  }
  if (r.status !== 200) return `GET ${w.path} answered ${r.status}: ${r.body.toString("utf8").slice(0, 200)}`;
  if (r.type !== w.contentType) return `Content-Type is ${JSON.stringify(r.type)}, expected ${JSON.stringify(w.contentType)}`;
  const at = firstDifference(r.body, w.body);
  if (at >= 0) {
    const show = (b: Buffer) => JSON.stringify(b.subarray(Math.max(0, at - 40), at + 40).toString("utf8"));
    return `body differs at byte ${at} (got ${r.body.length} bytes, expected ${w.body.length}): got ${show(r.body)}, expected ${show(w.body)}`;
  }
  return null;
}

// ---------------------------------------------------------------------------------------
// wrk


function toMs(text: string): number {
  const m = /([\d.]+)(us|ms|s|m)\b/.exec(text);
  if (!m) return NaN;
  const v = Number(m[1]);
  const ms = m[2] === "us" ? v / 1000 : m[2] === "s" ? v * 1000 : m[2] === "m" ? v * 60_000 : v;
  return Math.round(ms * 1000) / 1000;
}

const CLK_TCK = 100; // Linux USER_HZ, the unit of /proc/stat and /proc/PID/stat

/** user+nice+system ticks of CPUs 0 and 1 (interrupt time left out: loopback traffic is
 *  accounted there and belongs to the benchmark), and their steal ticks. */
function cpuTicks(): { busy: number; steal: number } {
  let busy = 0, steal = 0;
  for (const line of fs.readFileSync("/proc/stat", "utf8").split("\n")) {
    const m = /^cpu([01]) (.*)/.exec(line);
    if (!m) continue;
    const f = m[2].trim().split(/\s+/).map(Number);
    busy += f[0] + f[1] + f[2];
    steal += f[7] ?? 0;
  }
  return { busy, steal };
}

/** utime+stime ticks of a process (all its threads), 0 when it is gone. */
function procTicks(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(f[11]) + Number(f[12]);
  } catch {
    return 0;
  }
}

/** Runs wrk on CPU 1 (through bash, whose `times` reports wrk's CPU time) and measures how
 *  much CPU anything else used on CPUs 0 and 1 meanwhile: user+system time of the two CPUs
 *  minus the server's, the upstream's, wrk's and this harness's. */
function wrk(port: number, urlPath: string, seconds: number, ours: (number | undefined)[]): Run {
  const cmd = `taskset -c 1 wrk -t1 -c${CONNECTIONS} -d${seconds}s --latency http://127.0.0.1:${port}${urlPath}; rc=$?; times; exit $rc`;
  const cpu0 = cpuTicks();
  const ours0 = ours.reduce<number>((t, pid) => t + procTicks(pid), 0);
  const self0 = process.cpuUsage();
  const r = spawnSync("bash", ["-c", cmd], { encoding: "utf8", timeout: (seconds + 30) * 1000 });
  const self = process.cpuUsage(self0);
  const cpu1 = cpuTicks();
  const ours1 = ours.reduce<number>((t, pid) => t + procTicks(pid), 0);
  const out = r.stdout ?? "";
  const t = /\n(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/.exec(out);
  const wrkSeconds = t ? Number(t[1]) * 60 + Number(t[2]) + Number(t[3]) * 60 + Number(t[4]) : seconds;
  const foreignSeconds = (cpu1.busy - cpu0.busy - (ours1 - ours0)) / CLK_TCK - wrkSeconds - (self.user + self.system) / 1e6;
  const requests = Number(/(\d+) requests in ([\d.]+)(\w+)/.exec(out)?.[1] ?? NaN);
  const errors = [/Non-2xx or 3xx responses: \d+/.exec(out)?.[0], /Socket errors: .*/.exec(out)?.[0]].filter(Boolean).join("; ");
  if (r.status !== 0 || !Number.isFinite(requests)) throw new Error(`wrk failed: ${out}${r.stderr ?? ""}`);
  return {
    requests,
    seconds,
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN),
    p50ms: toMs(/ 50%\s+(\S+)/.exec(out)?.[1] ?? ""),
    p99ms: toMs(/ 99%\s+(\S+)/.exec(out)?.[1] ?? ""),
    errors: errors === "" ? null : errors,
    otherCpuPct: Math.max(0, (100 * foreignSeconds) / (2 * seconds)),
    stealPct: (100 * (cpu1.steal - cpu0.steal)) / CLK_TCK / (2 * seconds),
    disturbed: false,
  };
}

// ---------------------------------------------------------------------------------------
// Measuring one server


async function measure(p: Proc, def: ServerDef, port: number, w: Workload, upstreamPid: number | undefined): Promise<Result> {
  // nginx's worker is a child of its master: its CPU is the server's, not another process's.
  const ours = [p.child.pid, ...childPids(p.child.pid), upstreamPid];
  const base = { server: def.name, workload: w.id };
  const diff = await verify(port, w);
  if (diff !== null) {
    log(`  ${w.id}: REFUSED (${diff})`);
    return { ...base, status: "refused", reason: diff };
  }
  try {
    wrk(port, w.path, WARMUP_SECONDS, ours);
    const pid = p.child.pid!;
    // nginx's RSS is its master's and its worker's.
    const rss = () => [pid, ...childPids(pid)].reduce((t, x) => t + rssBytes(x), 0);
    const rssBefore = rss();
    const hasProbe = def.runtime === "node";
    const started = hasProbe ? await probe(p, "start") : null;
    const runs: Run[] = [];
    let kept = 0;
    for (let attempt = 0; kept < RUNS && attempt < 2 * RUNS; attempt++) {
      const run = wrk(port, w.path, SECONDS, ours);
      run.disturbed = run.otherCpuPct > DISTURBED_PCT;
      if (run.disturbed) log(`  ${w.id}: run disturbed: other processes used ${run.otherCpuPct.toFixed(1)}% of CPUs 0-1 (${Math.round(run.rps)} req/s); repeating`);
      else kept++;
      runs.push(run);
    }
    const used = kept > 0 ? runs.filter((r) => !r.disturbed) : runs;
    const report = hasProbe ? await probe(p, "stop") : null;
    const rssAfter = rss();
    const requests = runs.reduce((s, r) => s + r.requests, 0);
    const after = await verify(port, w); // still answering correctly after the load?
    const errors = runs.map((r) => r.errors).filter((e): e is string => e !== null);
    const disturbed = runs.filter((r) => r.disturbed).length;
    if (kept < RUNS) errors.push(`only ${kept} of ${RUNS} runs undisturbed (other processes used up to ${Math.max(...runs.map((r) => r.otherCpuPct)).toFixed(1)}% of CPUs 0-1): numbers unreliable`);
    else if (disturbed > 0) errors.push(`${disturbed} disturbed run(s) repeated and left out`);
    if (after !== null) errors.push(`after the runs: ${after}`);
    const result: Result = {
      ...base, status: "measured", runs, requests,
      rps: median(used.map((r) => r.rps)), p50ms: median(used.map((r) => r.p50ms)), p99ms: median(used.map((r) => r.p99ms)),
      otherCpuPct: Math.max(...used.map((r) => r.otherCpuPct)),
      heapBytesPerRequest: report ? report.allocatedBytes / requests : null,
      gcPer100k: report ? (report.gcCount / requests) * 100_000 : null,
      gcByType: report?.gcByType,
      heapNote: hasProbe ? undefined : NO_PROBE_REASON[def.runtime],
      rssBeforeBytes: rssBefore, rssAfterBytes: rssAfter,
      wasmMemoryBeforeBytes: started?.extra.wasmMemoryBytes, wasmMemoryAfterBytes: report?.extra.wasmMemoryBytes,
      errors,
    };
    log(`  ${w.id}: ${Math.round(result.rps!)} req/s (median of ${used.length}), p50 ${fmtMs(result.p50ms)} ms, p99 ${fmtMs(result.p99ms)} ms, ` +
      `${fmtHeap(result.heapBytesPerRequest)} B/req heap, ${fmtGc(result.gcPer100k)} GC/100k, ` +
      `RSS ${fmtMiB(rssBefore)} → ${fmtMiB(rssAfter)} MiB over ${requests} requests, other CPU ≤ ${result.otherCpuPct!.toFixed(1)}%${errors.length ? `, ERRORS: ${errors.join("; ")}` : ""}`);
    return result;
  } catch (err) {
    const reason = (err as Error).message.split("\n").slice(0, 6).join(" ");
    log(`  ${w.id}: FAILED (${reason})`);
    return { ...base, status: "failed", reason };
  }
}

// ---------------------------------------------------------------------------------------
// Main

/** The workloads and their expected bodies, rendered by the reference from the documents. */
function workloadsFor(products: Buffer, orders: Buffer): Workload[] {
  const table = referenceTable(products);
  const ordersPage = referenceOrders(orders);
  return [
    { id: "W1", path: "/", what: "hello (18-byte text/plain body)", contentType: HELLO_TYPE, body: HELLO_BODY },
    { id: "W2", path: "/w2", what: `fetch ${products.length} B of JSON (200 products) from the local upstream per request, render an HTML table`, contentType: HTML_TYPE, body: table },
    {
      id: "W2t", path: "/w2t", what: "Arena fetches the same document per request and answers the page rendered once at start-up (no parse, no render): how fast W2 could go if parsing and rendering cost nothing",
      contentType: HTML_TYPE, body: table, servers: ["arena"], rowOf: "W2",
    },
    { id: "W2b", path: "/w2b", what: "the same render from the JSON document held in memory, parsed per request", contentType: HTML_TYPE, body: table },
    { id: "W3", path: "/w3", what: `fetch ${orders.length} B of JSON (100 orders: nested objects, many short strings, numbers in every JSON form) from the local upstream per request, render an HTML table`, contentType: HTML_TYPE, body: ordersPage },
    { id: "W3b", path: "/w3b", what: "the same orders render from the document held in memory, parsed per request", contentType: HTML_TYPE, body: ordersPage },
  ];
}

function machineInfo(): Record<string, string> {
  const gitHead = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).stdout.trim();
  const dirty = spawnSync("git", ["status", "--porcelain", "host", "runtime", "sdk", "cli"], { cwd: ROOT, encoding: "utf8" }).stdout.trim() !== "";
  return {
    date: new Date().toISOString(),
    cpu: /model name\s*:\s*(.*)/.exec(fs.readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? os.cpus()[0]?.model ?? "?",
    cores: String(os.cpus().length),
    kernel: os.release(),
    memory: `${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB RAM`,
    node: process.version,
    bun: firstLine(BUN, ["--version"]),
    deno: firstLine(DENO, ["--version"]).replace(/^deno /, ""),
    nginx: nginxVersion(),
    wrk: firstLine("wrk", ["-v"]).replace(/ Copyright.*/, ""),
    fastify: pkgVersion("fastify"),
    hono: pkgVersion("hono"),
    honoNodeServer: pkgVersion("@hono/node-server"),
    assemblyscript: pkgVersion("assemblyscript"),
    arenaCommit: `${gitHead}${dirty ? " + uncommitted changes in host/runtime/sdk/cli" : ""}`,
    loadBefore: os.loadavg().map((l) => l.toFixed(2)).join(" "),
  };
}

const METHOD = [
  "How: each server runs alone on CPU 0 (`taskset -c 0`) with the upstream of W2 and W3 (a node:http server answering GET /products and GET /orders with the same precomputed JSON bytes, keep-alive); " +
    `wrk runs on CPU 1 (\`taskset -c 1 wrk -t1 -c${CONNECTIONS} --latency\`). Per server and workload: one GET whose body and Content-Type must equal the reference ` +
    `renderer's byte for byte (else the server is refused), a ${WARMUP_SECONDS} s warm-up, then ${RUNS} run(s) of ${SECONDS} s. ` +
    "req/s, p50 and p99 are the medians over the runs of wrk's figures. JS heap B/req and GC/100k come from a probe preloaded into the Node processes " +
    "(`node --import ./bench/probe.ts`, v8.GCProfiler between two IPC messages around the runs): allocated ≈ Σ(used heap before each GC − used heap after the previous one) + the final delta, " +
    "divided by the requests wrk completed in the window; GC events are all V8 collections (scavenges included) in the window. RSS is VmRSS from /proc/PID/status before the first " +
    "and after the last run; for Arena also the wasm memory (fixed at start). Arena's ratios are against the same-session numbers of node:http and Bun.serve. " +
    "nginx `return 200` (one worker, access log off, keep-alive) answers W1 from its config: the limit of the sockets for that answer. Arena's W2 transport row does W2's fetch and answers a page rendered at start-up: the limit of W2 without parse and render. " +
    "Other CPU: during each run the harness compares the user+system time of CPUs 0 and 1 (/proc/stat) with the CPU time of the server (nginx: master and worker), the upstream, wrk and itself; " +
    `a run in which other processes used more than ${DISTURBED_PCT}% of the two CPUs is repeated (up to ${RUNS} more times) and left out of the medians; the column shows the largest share among the runs kept.`,
].join("\n");

const NOBODY = 65534;
/** nginx's binary or why there is none: looked up (and installed) once, before the run. */
let nginxFound: ReturnType<typeof ensureNginx> = { error: "nginx was not looked up" };

/** Starts one server on `port`: nginx with a config of its own, the others from their command. */
async function startServer(def: ServerDef, port: number, env: Record<string, string>): Promise<Proc & { cleanup?: () => void }> {
  if (def.runtime !== "native") return startProcess(def.name, def.command, env, { ipc: def.runtime === "node" });
  if ("error" in nginxFound) throw new Error(nginxFound.error);
  const { command, dir } = nginxCommand(nginxFound.binary, port, HELLO_BODY.toString("utf8"), HELLO_TYPE);
  // Unprivileged even when the harness runs as root: the whole folder belongs to nobody.
  const root = process.getuid?.() === 0;
  if (root) for (const f of [dir, ...fs.readdirSync(dir).map((n) => path.join(dir, n))]) fs.chownSync(f, NOBODY, NOBODY);
  const ready = () => getOnce(port, "/").then(() => true, () => false);
  const p = await startProcess(def.name, command, {}, { ready, uid: root ? NOBODY : undefined, gid: root ? NOBODY : undefined });
  return { ...p, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Every workload on one server (n/a where it does not do it, nothing for another server's row). */
async function runServer(def: ServerDef, port: number, workloads: Workload[], env: Record<string, string>, upstreamPid: number | undefined): Promise<Result[]> {
  const mine = workloads.filter((w) => !w.servers || w.servers.includes(def.name));
  const results: Result[] = [];
  for (const w of mine.filter((w) => def.only && !def.only.includes(w.id))) results.push({ server: def.name, workload: w.id, status: "n/a", reason: def.why });
  const todo = mine.filter((w) => !def.only || def.only.includes(w.id));
  log(`${def.name} (port ${port}):`);
  let p: Proc & { cleanup?: () => void };
  try {
    p = await startServer(def, port, env);
  } catch (err) {
    const reason = (err as Error).message;
    log(`  FAILED to start: ${reason}`);
    return [...results, ...todo.map((w) => ({ server: def.name, workload: w.id, status: "failed" as const, reason }))];
  }
  try {
    for (const w of todo) results.push(await measure(p, def, port, w, upstreamPid));
  } finally {
    await stopProcess(p);
    p.cleanup?.();
  }
  return results;
}

async function main(): Promise<void> {
  const only = flag("servers")?.split(",");
  const servers = only ? SERVERS.filter((s) => only.includes(s.name)) : SERVERS;
  if (servers.length === 0) throw new Error(`--servers matched none of ${SERVERS.map((s) => s.name).join(", ")}`);
  if (os.cpus().length < 2) throw new Error("needs 2 CPUs: servers on CPU 0, wrk on CPU 1");
  ensureWrk();
  if (servers.some((s) => s.runtime === "native")) nginxFound = ensureNginx(log);

  // The data, the expected bodies and the Arena app (with the documents compiled in).
  const data = prepareBenchData(ROOT);
  const workloads = workloadsFor(data.products, data.orders);
  if (servers.some((s) => s.name === "arena")) {
    execFileSync(NODE, ["cli/arena.ts", "build", "bench/apps/bench.ts"], { cwd: ROOT, stdio: "inherit" });
  }
  const machine = machineInfo();
  log(`Benchmark: ${servers.map((s) => s.name).join(", ")}; ${RUNS} × ${SECONDS} s per workload after ${WARMUP_SECONDS} s warm-up${QUICK ? " (--quick)" : ""}`);
  log(`Machine: ${machine.cpu}, ${machine.cores} cores, Linux ${machine.kernel}; node ${machine.node}, bun ${machine.bun}, deno ${machine.deno}, ${machine.wrk}`);
  log(METHOD + "\n");

  const docs = { BENCH_DATA: data.productsFile, BENCH_ORDERS: data.ordersFile };
  const upstream = await startProcess("upstream", [NODE, "bench/upstream.ts"], { PORT: String(UPSTREAM_PORT), ...docs });
  const results: Result[] = [];
  try {
    let port = FIRST_PORT;
    for (const def of servers) {
      port++;
      const env = { PORT: String(port), ...docs, BENCH_UPSTREAM_URL: `http://127.0.0.1:${UPSTREAM_PORT}`, NODE_ENV: "production" };
      results.push(...await runServer(def, port, workloads, env, upstream.child.pid));
    }
  } finally {
    await stopProcess(upstream);
  }

  // Anything else busy on these two CPUs skews every number: say so in the results.
  machine.loadAfter = os.loadavg().map((l) => l.toFixed(2)).join(" ");
  const settings = { quick: QUICK, runs: RUNS, seconds: SECONDS, warmupSeconds: WARMUP_SECONDS, connections: CONNECTIONS, servers: SERVERS.map((s) => s.name) };
  const tgt = targets(results, CONNECTIONS, 1_000_000);
  const md = markdown(results, machine, tgt, workloads, METHOD, settings);
  const title = `Arena vs nginx, node:http, Fastify, Hono, Bun.serve, Deno.serve — ${machine.cpu}, ${machine.cores} cores${QUICK ? " (--quick)" : ""}`;
  fs.writeFileSync(path.join(RESULTS, "bench.json"), JSON.stringify({
    machine, quick: QUICK, runs: RUNS, seconds: SECONDS, warmupSeconds: WARMUP_SECONDS, connections: CONNECTIONS,
    workloads: workloads.map((w) => ({ id: w.id, path: w.path, what: w.what, contentType: w.contentType, bodyBytes: w.body.length, servers: w.servers, rowOf: w.rowOf })),
    results, targets: tgt,
  }, null, 2) + "\n");
  fs.writeFileSync(path.join(RESULTS, "bench.md"), md);
  fs.writeFileSync(path.join(RESULTS, "bench.svg"), svgChart(results, workloads, title, settings.servers));
  log("\n" + md);
  log(`Written: bench/results/bench.json, bench/results/bench.md, bench/results/bench.svg`);
}

await main();
