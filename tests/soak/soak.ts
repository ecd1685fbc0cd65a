// Soak: many requests against one server process, good ones mixed with every kind of fault
// — memory bombs, traps (before and after an await), endless loops, malformed requests,
// clients that disconnect mid-request and mid-response — and with the attacks of issue 9:
// pipelining floods, bodies that arrive slowly, handlers that wait forever or work between
// waits, overlong UTF-8, chunk-extension floods, and for the whole run as many clients as
// there are slots holding bodies they never send. Every good response is checked byte for
// byte; at the end every slot must be free and the wasm memory unchanged, and the server's
// RSS is reported before and after.
//
//   node tests/soak/soak.ts [--requests N] [--workers N] [--seed N] [--json FILE]
//
// tests/soak.test.ts runs a short one in CI; docs/reliability.md has the figures of a long
// one and the command that produced them.

import { fork, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildApp, ROOT, stopChild } from "../helpers.ts";
import { startTestUpstream } from "../upstream_fixture.ts";
import { rng } from "../rng.ts";

export interface SoakOptions {
  requests: number;
  workers: number;
  seed: number;
  log?: (line: string) => void;
}

export interface SoakReport {
  requests: number;
  seconds: number;
  byKind: Record<string, number>;
  byStatus: Record<string, number>;
  serverErrors: Record<string, number>;
  goodRequests: number;
  goodFailed: number;
  bytesLost: number;
  failures: string[];
  slotsFree: number;
  slots: number;
  wasmBytesBefore: number;
  wasmBytesAfter: number;
  rssStart: number;
  rssAfterWarmup: number;
  rssEnd: number;
}

/** The mix: kind → weight (per 10,000). */
const MIX: [string, number][] = [
  ["good", 6800],
  ["echo", 800],
  ["fetch", 800],
  ["bomb", 200],
  ["trap", 200],
  ["trap-after-fetch", 100],
  ["spin", 5],
  ["malformed", 495],
  ["disconnect-mid-request", 300],
  ["disconnect-mid-response", 200],
  ["pipeline-flood", 10],
  ["slow-body", 20],
  ["sleep-forever", 5],
  ["work-between-waits", 5],
  ["overlong-utf8", 50],
  ["extension-flood", 10],
];

/** Requests in one pipeline-flood write; each answer is checked. */
const FLOOD_REQUESTS = 200;
/** Percent-encoded query values: overlong forms of '.', '/', CR, LF, NUL, invalid bytes,
 *  surrogates and beyond U+10FFFF, mixed with valid text. Decoded bytes must give what
 *  the WHATWG decoder (TextDecoder) gives, never ASCII smuggled in an overlong form. */
const UTF8_CASES = [
  "%C0%AE%C0%AE%C0%AFetc", "%C0%8D%C0%8A", "%C0%80", "%FF%FE", "%F4%90%80%80", "%ED%A0%80", "%E0%80%AF",
  "caf%C3%A9", "%F0%9F%98%80%F0%9F", "a%C3", "%E2%82", "%C2%A0%E2%80%A8ok",
];

const MALFORMED = [
  "GET / HTTP/1.1\r\nHost: s\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
  "GET /\x00 HTTP/1.1\r\nHost: s\r\n\r\n",
  "GET / HTTP/1.1\nHost: s\n\n",
  "GET / HTTP/1.1\r\nHost : s\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: s\r\n folded\r\n\r\n",
  "POST /echo HTTP/1.1\r\nHost: s\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nxx\r\n0\r\n\r\n",
  "GET / HTTP/2.0\r\nHost: s\r\n\r\n",
  "BAD\r\n\r\n",
  "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\nHost: s\r\n\r\n",
];


const PATTERN = "abcdefghijklmnopqrstuvwxyz0123456789";
function goodBody(id: number): string {
  const n = id % 997;
  let s = `good ${id} `;
  for (let i = 0; i < n; i++) s += PATTERN[i % PATTERN.length];
  return s;
}

interface Reply { status: number; body: Buffer; code?: string }

/** One keep-alive connection that sends a request and reads one Content-Length framed
 *  response (Arena always sends Content-Length). */
class Client {
  private socket: net.Socket | null = null;
  private buf: Buffer = Buffer.alloc(0);
  private waiter: ((r: Reply | null) => void) | null = null;
  private readonly port: number;
  constructor(port: number) {
    this.port = port;
  }

  private connect(): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const s = net.connect(this.port, "127.0.0.1");
      s.setNoDelay(true);
      s.once("connect", () => resolve(s));
      s.once("error", reject);
      s.on("data", (d: Buffer) => {
        this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
        this.tryParse();
      });
      s.on("close", () => {
        if (this.socket === s) this.socket = null;
        const w = this.waiter;
        this.waiter = null;
        w?.(null);
      });
      s.on("error", () => {});
    });
  }

  private tryParse(): void {
    if (this.waiter === null) return;
    const end = this.buf.indexOf("\r\n\r\n");
    if (end < 0) return;
    const head = this.buf.subarray(0, end).toString("latin1");
    const len = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? 0);
    if (this.buf.length < end + 4 + len) return;
    const body = this.buf.subarray(end + 4, end + 4 + len);
    this.buf = this.buf.subarray(end + 4 + len);
    // The server closes after this response: the next request needs a new connection.
    if (/\r\nconnection: close/i.test(head)) this.reset();
    const w = this.waiter;
    this.waiter = null;
    w({ status: Number(head.slice(9, 12)), body });
  }

  /** Sends `bytes` (and `later`, `delayMs` after); resolves with the response, or null when
   *  the server closed first. */
  async request(bytes: string | Buffer, delayMs = 0, later = ""): Promise<Reply | null> {
    if (this.socket === null) this.socket = await this.connect();
    const socket = this.socket;
    return new Promise((resolve) => {
      this.waiter = resolve;
      socket.write(bytes);
      if (later !== "") setTimeout(() => { if (!socket.destroyed) socket.write(later); }, delayMs);
    });
  }

  /** Sends `bytes` and drops the connection at once (a client that goes away). */
  async abandon(bytes: string): Promise<void> {
    if (this.socket === null) this.socket = await this.connect();
    const s = this.socket;
    this.socket = null;
    this.buf = Buffer.alloc(0);
    s.write(bytes);
    s.destroy();
  }

  close(): void {
    this.socket?.destroy();
    this.socket = null;
  }

  reset(): void {
    this.close();
    this.buf = Buffer.alloc(0);
  }
}

/** Writes `bytes` (many requests) in one write on a fresh connection and collects `count`
 *  Content-Length framed responses, or fewer if the server closes. */
function pipelined(port: number, bytes: string, count: number): Promise<Reply[]> {
  return new Promise((resolve) => {
    const replies: Reply[] = [];
    let buf: Buffer = Buffer.alloc(0);
    const s = net.connect(port, "127.0.0.1");
    const done = () => {
      s.destroy();
      resolve(replies);
    };
    s.on("error", () => {});
    s.on("close", done);
    s.on("connect", () => s.write(bytes));
    s.on("data", (d: Buffer) => {
      buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
      for (;;) {
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) break;
        const head = buf.subarray(0, end).toString("latin1");
        const len = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + len) break;
        replies.push({ status: Number(head.slice(9, 12)), body: buf.subarray(end + 4, end + 4 + len) });
        buf = buf.subarray(end + 4 + len);
      }
      if (replies.length >= count) done();
    });
  });
}

type Msg = Record<string, unknown>;

function ask(child: ChildProcess, msg: string): Promise<Msg> {
  return new Promise((resolve) => {
    child.once("message", (m) => resolve(m as Msg));
    child.send(msg);
  });
}

export async function runSoak(opts: SoakOptions): Promise<SoakReport> {
  const log = opts.log ?? (() => {});
  const wasm = path.join(ROOT, "tests/.build/soakapp-run.wasm");
  fs.mkdirSync(path.dirname(wasm), { recursive: true });
  fs.writeFileSync(wasm, await buildApp("tests/fixtures/soakapp.ts"));
  const up = await startTestUpstream();
  // A small CPU budget and deadline so endless loops and endless waits cost little soak
  // time (the budget stays well above the CPU clock's two-tick error, THREAD_CPU_CLOCK_SLACK_MS,
  // or a good request could be stopped on a busy machine); 64 slots of 256 KiB.
  const child = fork(path.join(ROOT, "tests/fixtures/steady_server.ts"), [wasm, "64", JSON.stringify({ cpuBudgetMs: 20, deadlineMs: 1000 })],
    { stdio: ["ignore", "inherit", "inherit", "ipc"], execArgv: process.env.SOAK_ONLY ? ["--expose-gc"] : [] });
  const report: SoakReport = {
    requests: 0, seconds: 0, byKind: {}, byStatus: {}, serverErrors: {}, goodRequests: 0, goodFailed: 0, bytesLost: 0,
    failures: [], slotsFree: 0, slots: 0, wasmBytesBefore: 0, wasmBytesAfter: 0, rssStart: 0, rssAfterWarmup: 0, rssEnd: 0,
  };
  try {
    const hello = await new Promise<Msg>((resolve) => child.once("message", (m) => resolve(m as Msg)));
    const port = hello.port as number;
    report.rssStart = hello.rss as number;
    report.wasmBytesBefore = hello.memoryBytes as number;
    const random = rng(opts.seed);
    const total = opts.requests;
    const warmup = Math.floor(total / 10);
    let issued = 0;
    let warmedUp = false;
    const t0 = performance.now();
    const count = (map: Record<string, number>, key: string) => (map[key] = (map[key] ?? 0) + 1);
    const fail = (what: string, bytes: number) => {
      report.goodFailed++;
      report.bytesLost += bytes;
      if (report.failures.length < 20) report.failures.push(what);
    };
    const only = process.env.SOAK_ONLY; // investigate one kind at a time
    const pick = (): string => {
      if (only) return only;
      let r = Math.floor(random() * 10000);
      for (const [kind, w] of MIX) {
        if (r < w) return kind;
        r -= w;
      }
      return "good";
    };
    // As many clients as the server has slots hold a body for the whole run: half send a
    // head with a small Content-Length (read before a slot), half a large one (may stream
    // into at most half the slots). Good requests must still all pass.
    const holders: net.Socket[] = [];
    for (let i = 0; i < 64; i++) {
      const s = net.connect(port, "127.0.0.1");
      s.on("error", () => {});
      s.on("data", () => {});
      s.write(`POST /echo HTTP/1.1\r\nHost: s\r\nContent-Length: ${i % 2 === 0 ? 100 : 60_000}\r\n\r\nx`);
      holders.push(s);
    }
    const worker = async () => {
      const c = new Client(port);
      while (issued < total) {
        const n = issued++;
        if (n === warmup && !warmedUp) {
          warmedUp = true;
          const m = await ask(child, "start");
          report.rssAfterWarmup = m.rss as number;
          if (process.env.SOAK_ONLY) log(`after warm-up: heapUsed ${m.heapUsed} external ${m.external}`);
        }
        const kind = pick();
        count(report.byKind, kind);
        const id = Math.floor(random() * 1_000_000);
        if (kind === "good") {
          report.goodRequests++;
          const want = goodBody(id);
          const r = await c.request(`GET /good/${id} HTTP/1.1\r\nHost: s\r\n\r\n`);
          count(report.byStatus, String(r?.status ?? "closed"));
          if (r === null || r.status !== 200 || r.body.toString() !== want) fail(`good ${id}: ${r?.status ?? "closed"} ${r?.body.subarray(0, 80)}`, want.length);
        } else if (kind === "echo") {
          report.goodRequests++;
          const body = "e".repeat(id % 8192) + `#${id}`;
          const r = await c.request(`POST /echo HTTP/1.1\r\nHost: s\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
          count(report.byStatus, String(r?.status ?? "closed"));
          if (r === null || r.status !== 200 || r.body.toString() !== body) fail(`echo ${id}: ${r?.status ?? "closed"}`, body.length);
        } else if (kind === "fetch") {
          report.goodRequests++;
          const want = `fetched ${id} upstream ${id} ${"x".repeat(id % 97)}`;
          const r = await c.request(`GET /fetch/${id}?url=${encodeURIComponent(`${up.url}/echo?id=${id}`)} HTTP/1.1\r\nHost: s\r\n\r\n`);
          count(report.byStatus, String(r?.status ?? "closed"));
          if (r === null || r.status !== 200 || r.body.toString() !== want) fail(`fetch ${id}: ${r?.status ?? "closed"} ${r?.body.subarray(0, 80)}`, want.length);
        } else if (kind === "bomb" || kind === "trap" || kind === "spin" || kind === "trap-after-fetch") {
          const target = kind === "trap-after-fetch" ? `/trap-after-fetch?url=${encodeURIComponent(`${up.url}/echo?id=1`)}` : `/${kind}`;
          const r = await c.request(`GET ${target} HTTP/1.1\r\nHost: s\r\n\r\n`);
          count(report.byStatus, String(r?.status ?? "closed"));
          const expected = kind === "bomb" ? "ARENA_E_MEMORY" : kind === "spin" ? "ARENA_E_CPU" : "ARENA_E_TRAP";
          const code = r !== null && r.status === 500 ? (JSON.parse(r.body.toString()) as { code: string }).code : "";
          if (code !== expected && report.failures.length < 20) report.failures.push(`${kind}: expected 500 ${expected}, got ${r?.status ?? "closed"} ${code}`);
        } else if (kind === "malformed") {
          const bytes = MALFORMED[id % MALFORMED.length];
          const r = await c.request(bytes);
          count(report.byStatus, String(r?.status ?? "closed"));
          if (r !== null && (r.status < 400 || r.status > 505) && report.failures.length < 20) report.failures.push(`malformed ${JSON.stringify(bytes)}: ${r.status}`);
          c.reset(); // the server closes after a protocol error
        } else if (kind === "pipeline-flood") {
          report.goodRequests += FLOOD_REQUESTS;
          const ids = Array.from({ length: FLOOD_REQUESTS }, (_, k) => id + k);
          const replies = await pipelined(port, ids.map((k) => `GET /good/${k} HTTP/1.1\r\nHost: s\r\n\r\n`).join(""), FLOOD_REQUESTS);
          count(report.byStatus, replies.length === FLOOD_REQUESTS ? "200" : "closed");
          for (let k = 0; k < FLOOD_REQUESTS; k++) {
            const want = goodBody(ids[k]);
            const r = replies[k];
            if (r === undefined || r.status !== 200 || r.body.toString() !== want) fail(`pipelined good ${ids[k]}: ${r?.status ?? "missing"}`, want.length);
          }
        } else if (kind === "slow-body") {
          report.goodRequests++;
          const body = "s".repeat(100 + (id % 30_000)) + `#${id}`;
          const head = `POST /echo HTTP/1.1\r\nHost: s\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
          const half = Math.floor(body.length / 2);
          const r = await c.request(head + body.slice(0, half), 20, body.slice(half));
          count(report.byStatus, String(r?.status ?? "closed"));
          if (r === null || r.status !== 200 || r.body.toString() !== body) fail(`slow body ${id}: ${r?.status ?? "closed"}`, body.length);
        } else if (kind === "sleep-forever" || kind === "work-between-waits") {
          const r = await c.request(`GET /${kind} HTTP/1.1\r\nHost: s\r\n\r\n`);
          count(report.byStatus, String(r?.status ?? "closed"));
          // Contained either way: the deadline (1 s here) or the CPU budget (20 ms here), which
          // a thousand suspensions or the work between them reach first on a busy machine.
          const code = r !== null && (r.status === 504 || r.status === 500) ? (JSON.parse(r.body.toString()) as { code: string }).code : "";
          if (code !== "ARENA_E_DEADLINE" && code !== "ARENA_E_CPU" && report.failures.length < 20) {
            report.failures.push(`${kind}: expected 504 ARENA_E_DEADLINE or 500 ARENA_E_CPU, got ${r?.status ?? "closed"} ${code}`);
          }
        } else if (kind === "overlong-utf8") {
          report.goodRequests++;
          const q = UTF8_CASES[id % UTF8_CASES.length];
          const want = new TextDecoder("utf-8").decode(Buffer.from(q.replace(/%([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))), "latin1"));
          const r = await c.request(`GET /decode?q=${q} HTTP/1.1\r\nHost: s\r\n\r\n`);
          count(report.byStatus, String(r?.status ?? "closed"));
          if (r === null || r.status !== 200 || r.body.toString("utf8") !== want) fail(`decode ${q}: ${r?.status ?? "closed"} ${JSON.stringify(r?.body.toString("utf8"))} want ${JSON.stringify(want)}`, want.length);
        } else if (kind === "extension-flood") {
          // 1-byte chunks, each with a 4,000-byte extension: refused once the extensions
          // pass their bound, long before the body limit.
          const ext = ";e=" + "x".repeat(4000);
          const r = await c.request(`POST /echo HTTP/1.1\r\nHost: s\r\nTransfer-Encoding: chunked\r\n\r\n` + `1${ext}\r\na\r\n`.repeat(40));
          count(report.byStatus, String(r?.status ?? "closed"));
          if ((r === null || (r.status !== 413 && r.status !== 400)) && report.failures.length < 20) report.failures.push(`extension flood: ${r?.status ?? "closed"}`);
          c.reset();
        } else if (kind === "disconnect-mid-request") {
          await c.abandon(`POST /echo HTTP/1.1\r\nHost: s\r\nContent-Length: 1000\r\n\r\npartial body`);
          count(report.byStatus, "abandoned");
        } else {
          await c.abandon(`GET /fetch/${id}?url=${encodeURIComponent(`${up.url}/echo?id=${id}&delay=5`)} HTTP/1.1\r\nHost: s\r\n\r\n`);
          count(report.byStatus, "abandoned");
        }
        report.requests++;
        if (report.requests % 100_000 === 0) log(`${report.requests} requests, ${report.goodFailed} good failed, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
      }
      c.close();
    };
    await Promise.all(Array.from({ length: opts.workers }, worker));
    report.seconds = (performance.now() - t0) / 1000;
    for (const s of holders) s.destroy();
    // Abandoned requests finish on their own (cancelled fetches, closed sockets): wait.
    let stats: Msg = {};
    for (let i = 0; i < 100; i++) {
      stats = await ask(child, "stop");
      // Each "stop" hands over the error counts since the last one.
      for (const [code, n] of Object.entries(stats.errors as Record<string, number>)) report.serverErrors[code] = (report.serverErrors[code] ?? 0) + n;
      if (stats.slotsFree === stats.slots) break;
      await new Promise((r) => setTimeout(r, 50));
      await ask(child, "start");
    }
    report.slotsFree = stats.slotsFree as number;
    report.slots = stats.slots as number;
    report.wasmBytesAfter = stats.memoryBytes as number;
    report.rssEnd = stats.rss as number;
    if (process.env.SOAK_ONLY) {
      log(`end: heapUsed ${stats.heapUsed} external ${stats.external}`);
      const g = await ask(child, "gc");
      log(`after a full GC: rss ${((g.rss as number) / 1048576).toFixed(1)} MiB heapUsed ${g.heapUsed}`);
    }
    return report;
  } finally {
    await stopChild(child);
    await up.close();
  }
}

function mib(n: number): string {
  return `${(n / 1048576).toFixed(1)} MiB`;
}

/** The report as Markdown, for the console and docs/reliability.md. */
export function formatReport(r: SoakReport, seed: number, workers: number): string {
  const lines = [
    `Soak: ${r.requests.toLocaleString("en-US")} requests in ${r.seconds.toFixed(1)} s (${Math.round(r.requests / r.seconds).toLocaleString("en-US")} req/s), ${workers} client connections, seed ${seed}`,
    "",
    "| requests by kind | count |",
    "|---|---|",
    ...Object.entries(r.byKind).sort((a, b) => b[1] - a[1]).map(([k, v]) => `| ${k} | ${v.toLocaleString("en-US")} |`),
    "",
    "| responses by status | count |",
    "|---|---|",
    ...Object.entries(r.byStatus).sort((a, b) => b[1] - a[1]).map(([k, v]) => `| ${k} | ${v.toLocaleString("en-US")} |`),
    "",
    "| server error log lines by code | count |",
    "|---|---|",
    ...Object.entries(r.serverErrors).sort((a, b) => b[1] - a[1]).map(([k, v]) => `| ${k} | ${v.toLocaleString("en-US")} |`),
    "",
    `| figure | value |`,
    `|---|---|`,
    `| good requests (checked byte for byte) | ${r.goodRequests.toLocaleString("en-US")} |`,
    `| good requests failed | ${r.goodFailed} |`,
    `| bytes lost | ${r.bytesLost} |`,
    `| slots free after | ${r.slotsFree} of ${r.slots} |`,
    `| wasm memory before → after | ${mib(r.wasmBytesBefore)} → ${mib(r.wasmBytesAfter)} |`,
    `| server RSS at start → after warm-up (10 %) → end | ${mib(r.rssStart)} → ${mib(r.rssAfterWarmup)} → ${mib(r.rssEnd)} |`,
  ];
  if (r.failures.length > 0) lines.push("", "Failures (first 20):", ...r.failures.map((f) => `- ${f}`));
  return lines.join("\n");
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name: string, def: number) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : def;
  };
  const jsonAt = process.argv.indexOf("--json");
  const requests = arg("requests", 1_000_000);
  const workers = arg("workers", 32);
  const seed = arg("seed", 1);
  const report = await runSoak({ requests, workers, seed, log: (l) => process.stderr.write(`soak: ${l}\n`) });
  const text = formatReport(report, seed, workers);
  process.stdout.write(`${text}\n`);
  if (jsonAt > 0) {
    fs.mkdirSync(path.dirname(process.argv[jsonAt + 1]), { recursive: true });
    fs.writeFileSync(process.argv[jsonAt + 1], JSON.stringify(report, null, 2));
  }
  const ok = report.goodFailed === 0 && report.slotsFree === report.slots && report.wasmBytesAfter === report.wasmBytesBefore && report.failures.length === 0;
  process.exitCode = ok ? 0 : 1;
}
