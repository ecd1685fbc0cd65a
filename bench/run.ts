// `npm run bench`: Arena beside node:http, Fastify, Hono (@hono/node-server), Bun.serve and
// Deno.serve, in one session, on W1 (hello), W2 (fetch JSON from a local upstream → HTML
// table) and W2b (the same render from a JSON document held in memory).
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
import { HELLO_BODY, HELLO_TYPE, HTML_TYPE, benchDocument, firstDifference, referenceTable } from "./reference.ts";

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
const MiB = 1024 * 1024;
/** A run during which other processes used more than this share of the two CPUs is
 *  repeated (up to RUNS more times per workload) and left out of the medians. */
const DISTURBED_PCT = Number(flag("disturbed-pct") ?? 5);

// ---------------------------------------------------------------------------------------
// Servers and workloads

type Runtime = "node" | "bun" | "deno";

interface ServerDef {
  name: string;
  runtime: Runtime;
  /** Command after `taskset -c 0`. */
  command: string[];
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
];

interface Workload {
  id: "W1" | "W2" | "W2b";
  path: string;
  what: string;
  contentType: string;
  body: Buffer;
}

const NO_PROBE_REASON: Record<Runtime, string> = {
  node: "",
  bun: "Bun (JavaScriptCore) has no per-GC event stream or v8.GCProfiler",
  deno: "Deno does not implement v8.GCProfiler or PerformanceObserver('gc')",
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

async function startProcess(name: string, command: string[], env: Record<string, string>, ipc: boolean): Promise<Proc> {
  const child = spawn("taskset", ["-c", "0", ...command], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ipc ? ["ignore", "pipe", "pipe", "ipc"] : ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  child.on("error", (err) => (out += `\nspawn error: ${err.message}`));
  const until = Date.now() + 60_000;
  while (!/^listening/m.test(out)) {
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

interface Run {
  requests: number;
  seconds: number;
  rps: number;
  p50ms: number;
  p99ms: number;
  errors: string | null;
  /** CPU time other processes used on CPUs 0 and 1 during the run, % of the two CPUs. */
  otherCpuPct: number;
  stealPct: number;
  /** otherCpuPct over DISTURBED_PCT: the run is repeated and left out of the medians. */
  disturbed: boolean;
}

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

interface Result {
  server: string;
  workload: Workload["id"];
  status: "measured" | "refused" | "failed";
  reason?: string;
  runs?: Run[];
  requests?: number;
  rps?: number;
  p50ms?: number;
  p99ms?: number;
  heapBytesPerRequest?: number | null;
  gcPer100k?: number | null;
  gcByType?: Record<string, number>;
  heapNote?: string;
  rssBeforeBytes?: number;
  rssAfterBytes?: number;
  wasmMemoryBeforeBytes?: number;
  wasmMemoryAfterBytes?: number;
  errors?: string[];
  /** The largest otherCpuPct among the runs in the medians. */
  otherCpuPct?: number;
}

async function measure(p: Proc, def: ServerDef, port: number, w: Workload, upstreamPid: number | undefined): Promise<Result> {
  const ours = [p.child.pid, upstreamPid];
  const base = { server: def.name, workload: w.id };
  const diff = await verify(port, w);
  if (diff !== null) {
    log(`  ${w.id}: REFUSED (${diff})`);
    return { ...base, status: "refused", reason: diff };
  }
  try {
    wrk(port, w.path, WARMUP_SECONDS, ours);
    const pid = p.child.pid!;
    const rssBefore = rssBytes(pid);
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
    const rssAfter = rssBytes(pid);
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
// Formatting

const fmtMiB = (b: number | undefined) => (b === undefined || Number.isNaN(b) ? "?" : (b / MiB).toFixed(1));
const fmtHeap = (v: number | null | undefined) => (v === null || v === undefined ? "n/a" : v < 10 ? v.toFixed(1) : String(Math.round(v)));
const fmtGc = (v: number | null | undefined) => (v === null || v === undefined ? "n/a" : v < 10 ? v.toFixed(2) : v.toFixed(0));
const fmtRatio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || !b ? "–" : `${(a / b).toFixed(2)}×`);
const fmtMs = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? "?" : v < 10 ? v.toFixed(2) : v.toFixed(1));

interface Target {
  what: string;
  goal: string;
  actual: string;
  met: boolean | null;
}

function targets(results: Result[]): Target[] {
  const get = (server: string, w: string) => results.find((r) => r.server === server && r.workload === w && r.status === "measured");
  const out: Target[] = [];
  const rpsRatio = (w: string, peer: string, goal: number, label: string) => {
    const a = get("arena", w);
    const b = get(peer, w);
    out.push({
      what: `${w} req/s vs ${label}`, goal: `≥ ${goal}×`,
      actual: a && b ? `${(a.rps! / b.rps!).toFixed(2)}×` : "not measured",
      met: a && b ? a.rps! >= goal * b.rps! : null,
    });
  };
  rpsRatio("W1", "node:http", 2, "node:http");
  rpsRatio("W1", "bun", 1, "Bun.serve");
  rpsRatio("W2", "node:http", 3, "node:http");
  rpsRatio("W2", "bun", 1, "Bun.serve");
  rpsRatio("W2b", "node:http", 3, "node:http");
  const w1 = get("arena", "W1");
  out.push({
    what: "W1 JS heap allocated per request (Arena host)", goal: "≤ 64 B",
    actual: w1?.heapBytesPerRequest != null ? `${fmtHeap(w1.heapBytesPerRequest)} B` : "not measured",
    met: w1?.heapBytesPerRequest != null ? w1.heapBytesPerRequest <= 64 : null,
  });
  out.push({
    what: "W1 GC events per 100k requests (Arena host)", goal: "≤ 2",
    actual: w1?.gcPer100k != null ? fmtGc(w1.gcPer100k) : "not measured",
    met: w1?.gcPer100k != null ? w1.gcPer100k <= 2 : null,
  });
  if (w1) {
    // The target is over 1M requests: a shorter window (--quick) can only fail it.
    const growth = w1.rssAfterBytes! - w1.rssBeforeBytes!;
    const enough = w1.requests! >= 1_000_000;
    out.push({
      what: "W1 RSS growth over 1M requests (Arena)", goal: "≤ 1 MiB",
      actual: `${(growth / MiB).toFixed(2)} MiB over ${w1.requests} requests`,
      met: growth > MiB ? false : enough ? true : null,
    });
  } else {
    out.push({ what: "W1 RSS growth over 1M requests (Arena)", goal: "≤ 1 MiB", actual: "not measured", met: null });
  }
  for (const w of ["W1", "W2", "W2b"]) {
    const a = get("arena", w);
    const b = get("node:http", w);
    out.push({
      what: `${w} p99 latency at ${CONNECTIONS} connections vs node:http`, goal: "≤ node:http's",
      actual: a && b ? `${fmtMs(a.p99ms)} ms vs ${fmtMs(b.p99ms)} ms` : "not measured",
      met: a && b ? a.p99ms! <= b.p99ms! : null,
    });
  }
  return out;
}

function markdown(results: Result[], machine: Record<string, string>, tgt: Target[], workloads: Workload[], method: string): string {
  const lines: string[] = [];
  lines.push(`Run ${machine.date}${QUICK ? " (**--quick** smoke run: not for quoting)" : ""}: ${RUNS} × ${SECONDS} s per workload after a ${WARMUP_SECONDS} s warm-up, ` +
    `\`wrk -t1 -c${CONNECTIONS}\` on CPU 1, each server and the upstream on CPU 0.`);
  lines.push("");
  lines.push(`Machine: ${machine.cpu}, ${machine.cores} cores, Linux ${machine.kernel}, ${machine.memory}. ` +
    `Node ${machine.node}, Bun ${machine.bun}, Deno ${machine.deno}, ${machine.wrk}; ` +
    `fastify ${machine.fastify}, hono ${machine.hono}, @hono/node-server ${machine.honoNodeServer}, assemblyscript ${machine.assemblyscript}; ` +
    `Arena at ${machine.arenaCommit}. Load average (1/5/15 min) before ${machine.loadBefore}, after ${machine.loadAfter} ` +
    "(the benchmark itself keeps about 2 CPUs busy; a high load before means something else was running).");
  for (const w of workloads) {
    const node = results.find((r) => r.server === "node:http" && r.workload === w.id && r.status === "measured");
    const bun = results.find((r) => r.server === "bun" && r.workload === w.id && r.status === "measured");
    lines.push("", `### ${w.id}: ${w.what}`, "");
    lines.push("| server | req/s (median) | vs node:http | vs Bun.serve | p50 ms | p99 ms | JS heap B/req | GC /100k req | RSS before → after (MiB) | requests | other CPU |");
    lines.push("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    for (const r of results.filter((x) => x.workload === w.id)) {
      const label = r.server === "bun" ? "Bun.serve" : r.server === "deno" ? "Deno.serve" : r.server === "hono" ? "Hono (node-server)" : r.server === "fastify" ? "Fastify" : r.server === "arena" ? "**Arena**" : r.server;
      if (r.status !== "measured") {
        lines.push(`| ${label} | ${r.status === "refused" ? "refused: body differs" : "failed"} | | | | | | | | | |`);
        continue;
      }
      const wasm = r.wasmMemoryBeforeBytes !== undefined ? `; wasm ${fmtMiB(r.wasmMemoryBeforeBytes)} → ${fmtMiB(r.wasmMemoryAfterBytes)}` : "";
      lines.push(`| ${label} | ${Math.round(r.rps!)} | ${fmtRatio(r.rps, node?.rps)} | ${fmtRatio(r.rps, bun?.rps)} | ${fmtMs(r.p50ms)} | ${fmtMs(r.p99ms)} | ` +
        `${fmtHeap(r.heapBytesPerRequest)} | ${fmtGc(r.gcPer100k)} | ${fmtMiB(r.rssBeforeBytes)} → ${fmtMiB(r.rssAfterBytes)}${wasm} | ${r.requests} | ${r.otherCpuPct!.toFixed(1)}% |`);
    }
  }
  const problems = results.filter((r) => r.status !== "measured" || (r.errors && r.errors.length > 0));
  if (problems.length > 0) {
    lines.push("", "Problems:", "");
    for (const r of problems) lines.push(`- ${r.server} ${r.workload}: ${r.status !== "measured" ? `${r.status}: ${r.reason}` : r.errors!.join("; ")}`);
  }
  const noProbe = [...new Set(results.filter((r) => r.heapNote).map((r) => `${r.server}: ${r.heapNote}`))];
  if (noProbe.length > 0) lines.push("", `n/a: ${noProbe.join("; ")}.`);
  lines.push("", "### Targets (Arena, from the benchmark issue)", "");
  lines.push("| target | goal | this run | |", "|---|---|---|---|");
  for (const t of tgt) lines.push(`| ${t.what} | ${t.goal} | ${t.actual} | ${t.met === null ? "not decided" : t.met ? "met" : "**not met**"} |`);
  lines.push("", method);
  return lines.join("\n") + "\n";
}

const COLORS: Record<string, string> = { arena: "#2f5bd3", "node:http": "#5fa04e", fastify: "#8a8a8a", hono: "#e36002", bun: "#c9a227", deno: "#222222" };

/** Three panels (one per workload, each with its own scale) of req/s bars per server. */
function svgChart(results: Result[], workloads: Workload[], title: string): string {
  const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const servers = SERVERS.map((s) => s.name).filter((n) => results.some((r) => r.server === n));
  const panelW = 300, panelH = 260, top = 60, left = 20, barGap = 8;
  const width = left * 2 + panelW * workloads.length, height = top + panelH + 70;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="11">`);
  parts.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  parts.push(`<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="600">${esc(title)}</text>`);
  parts.push(`<text x="${width / 2}" y="40" text-anchor="middle" fill="#555">requests per second (median), higher is better; each panel has its own scale</text>`);
  workloads.forEach((w, i) => {
    const x0 = left + i * panelW + 20;
    const innerW = panelW - 40;
    const rows = servers.map((s) => results.find((r) => r.server === s && r.workload === w.id));
    const max = Math.max(1, ...rows.map((r) => (r?.status === "measured" ? r.rps! : 0)));
    const barW = (innerW - barGap * (servers.length - 1)) / servers.length;
    const baseY = top + panelH - 30;
    const scale = (panelH - 60) / max;
    parts.push(`<text x="${x0 + innerW / 2}" y="${top + 4}" text-anchor="middle" font-size="13" font-weight="600">${esc(w.id)}</text>`);
    parts.push(`<line x1="${x0}" y1="${baseY}" x2="${x0 + innerW}" y2="${baseY}" stroke="#999"/>`);
    rows.forEach((r, j) => {
      const x = x0 + j * (barW + barGap);
      const name = servers[j];
      if (r?.status === "measured") {
        const h = r.rps! * scale;
        parts.push(`<rect x="${x.toFixed(1)}" y="${(baseY - h).toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}" fill="${COLORS[name] ?? "#777"}"/>`);
        const label = r.rps! >= 10_000 ? `${(r.rps! / 1000).toFixed(0)}k` : r.rps! >= 1000 ? `${(r.rps! / 1000).toFixed(1)}k` : String(Math.round(r.rps!));
        parts.push(`<text x="${(x + barW / 2).toFixed(1)}" y="${(baseY - h - 4).toFixed(1)}" text-anchor="middle">${label}</text>`);
      } else {
        parts.push(`<text x="${(x + barW / 2).toFixed(1)}" y="${baseY - 4}" text-anchor="middle" fill="#b42318">${r ? r.status : "–"}</text>`);
      }
      parts.push(`<text x="${(x + barW / 2).toFixed(1)}" y="${baseY + 14}" text-anchor="middle" fill="#333" font-size="10">${esc(name === "bun" ? "Bun" : name === "deno" ? "Deno" : name)}</text>`);
    });
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

// ---------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  const only = flag("servers")?.split(",");
  const servers = only ? SERVERS.filter((s) => only.includes(s.name)) : SERVERS;
  if (servers.length === 0) throw new Error(`--servers matched none of ${SERVERS.map((s) => s.name).join(", ")}`);
  if (os.cpus().length < 2) throw new Error("needs 2 CPUs: servers on CPU 0, wrk on CPU 1");
  ensureWrk();
  fs.mkdirSync(RESULTS, { recursive: true });

  // The data, the expected bodies and the Arena app (with the document compiled in).
  const doc = benchDocument(ROOT);
  const dataFile = path.join(RESULTS, "products.json");
  fs.writeFileSync(dataFile, doc);
  const workloads: Workload[] = [
    { id: "W1", path: "/", what: "hello (18-byte text/plain body)", contentType: HELLO_TYPE, body: HELLO_BODY },
    { id: "W2", path: "/w2", what: `fetch ${doc.length} B of JSON (200 products) from the local upstream per request, render an HTML table`, contentType: HTML_TYPE, body: referenceTable(doc) },
    { id: "W2b", path: "/w2b", what: "the same render from the JSON document held in memory, parsed per request", contentType: HTML_TYPE, body: referenceTable(doc) },
  ];
  const gen = path.join(ROOT, "bench/apps/generated");
  fs.mkdirSync(gen, { recursive: true });
  fs.writeFileSync(path.join(gen, "products_json.ts"),
    `// Generated by bench/run.ts from examples/catalog/data/products.json: do not edit.\nexport const PRODUCTS_JSON: string = ${JSON.stringify(doc.toString("utf8"))};\n`);
  if (servers.some((s) => s.name === "arena")) {
    execFileSync(NODE, ["cli/arena.ts", "build", "bench/apps/bench.ts"], { cwd: ROOT, stdio: "inherit" });
  }

  const gitHead = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).stdout.trim();
  const dirty = spawnSync("git", ["status", "--porcelain", "host", "runtime", "sdk", "cli"], { cwd: ROOT, encoding: "utf8" }).stdout.trim() !== "";
  const machine: Record<string, string> = {
    date: new Date().toISOString(),
    cpu: /model name\s*:\s*(.*)/.exec(fs.readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? os.cpus()[0]?.model ?? "?",
    cores: String(os.cpus().length),
    kernel: os.release(),
    memory: `${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB RAM`,
    node: process.version,
    bun: firstLine(BUN, ["--version"]),
    deno: firstLine(DENO, ["--version"]).replace(/^deno /, ""),
    wrk: firstLine("wrk", ["-v"]).replace(/ Copyright.*/, ""),
    fastify: pkgVersion("fastify"),
    hono: pkgVersion("hono"),
    honoNodeServer: pkgVersion("@hono/node-server"),
    assemblyscript: pkgVersion("assemblyscript"),
    arenaCommit: `${gitHead}${dirty ? " + uncommitted changes in host/runtime/sdk/cli" : ""}`,
    loadBefore: os.loadavg().map((l) => l.toFixed(2)).join(" "),
  };

  const method = [
    "How: each server runs alone on CPU 0 (`taskset -c 0`) with the W2 upstream (a node:http server answering every GET with the same precomputed JSON bytes, keep-alive); " +
      `wrk runs on CPU 1 (\`taskset -c 1 wrk -t1 -c${CONNECTIONS} --latency\`). Per server and workload: one GET whose body and Content-Type must equal the reference ` +
      `renderer's byte for byte (else the server is refused), a ${WARMUP_SECONDS} s warm-up, then ${RUNS} run(s) of ${SECONDS} s. ` +
      "req/s, p50 and p99 are the medians over the runs of wrk's figures. JS heap B/req and GC/100k come from a probe preloaded into the Node processes " +
      "(`node --import ./bench/probe.ts`, v8.GCProfiler between two IPC messages around the runs): allocated ≈ Σ(used heap before each GC − used heap after the previous one) + the final delta, " +
      "divided by the requests wrk completed in the window; GC events are all V8 collections (scavenges included) in the window. RSS is VmRSS from /proc/PID/status before the first " +
      "and after the last run; for Arena also the wasm memory (fixed at start). Arena's ratios are against the same-session numbers of node:http and Bun.serve. " +
      "Other CPU: during each run the harness compares the user+system time of CPUs 0 and 1 (/proc/stat) with the CPU time of the server, the upstream, wrk and itself; " +
      `a run in which other processes used more than ${DISTURBED_PCT}% of the two CPUs is repeated (up to ${RUNS} more times) and left out of the medians; the column shows the largest share among the runs kept.`,
  ].join("\n");
  log(`Benchmark: ${servers.map((s) => s.name).join(", ")}; ${RUNS} × ${SECONDS} s per workload after ${WARMUP_SECONDS} s warm-up${QUICK ? " (--quick)" : ""}`);
  log(`Machine: ${machine.cpu}, ${machine.cores} cores, Linux ${machine.kernel}; node ${machine.node}, bun ${machine.bun}, deno ${machine.deno}, ${machine.wrk}`);
  log(method + "\n");

  const upstream = await startProcess("upstream", [NODE, "bench/upstream.ts"], { PORT: String(UPSTREAM_PORT), BENCH_DATA: dataFile }, false);
  const results: Result[] = [];
  try {
    let port = FIRST_PORT;
    for (const def of servers) {
      port++;
      log(`${def.name} (port ${port}):`);
      let p: Proc;
      try {
        p = await startProcess(def.name, def.command, {
          PORT: String(port), BENCH_DATA: dataFile, BENCH_UPSTREAM_URL: `http://127.0.0.1:${UPSTREAM_PORT}`, NODE_ENV: "production",
        }, def.runtime === "node");
      } catch (err) {
        const reason = (err as Error).message;
        log(`  FAILED to start: ${reason}`);
        for (const w of workloads) results.push({ server: def.name, workload: w.id, status: "failed", reason });
        continue;
      }
      try {
        for (const w of workloads) results.push(await measure(p, def, port, w, upstream.child.pid));
      } finally {
        await stopProcess(p);
      }
    }
  } finally {
    await stopProcess(upstream);
  }

  // Anything else busy on these two CPUs skews every number: say so in the results.
  machine.loadAfter = os.loadavg().map((l) => l.toFixed(2)).join(" ");
  const tgt = targets(results);
  const md = markdown(results, machine, tgt, workloads, method);
  const title = `Arena vs node:http, Fastify, Hono, Bun.serve, Deno.serve — ${machine.cpu}, ${machine.cores} cores${QUICK ? " (--quick)" : ""}`;
  fs.writeFileSync(path.join(RESULTS, "bench.json"), JSON.stringify({
    machine, quick: QUICK, runs: RUNS, seconds: SECONDS, warmupSeconds: WARMUP_SECONDS, connections: CONNECTIONS,
    workloads: workloads.map((w) => ({ id: w.id, path: w.path, what: w.what, contentType: w.contentType, bodyBytes: w.body.length })),
    results, targets: tgt,
  }, null, 2) + "\n");
  fs.writeFileSync(path.join(RESULTS, "bench.md"), md);
  fs.writeFileSync(path.join(RESULTS, "bench.svg"), svgChart(results, workloads, title));
  log("\n" + md);
  log(`Written: bench/results/bench.json, bench/results/bench.md, bench/results/bench.svg`);
}

await main();
