// Shared test helpers: build apps once (cached by content), start servers on 127.0.0.1
// with an ephemeral port, and talk raw HTTP/1.1 over sockets so every byte is checked.

import crypto from "node:crypto";
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "../cli/build.ts";
import { ArenaServer, MemoryLogger, type ServerOptions } from "../host/index.ts";
import { DEVICE_BYTES_DEFAULT } from "../host/limits.ts";
import { DeviceRegion } from "../host/memory/device_region.ts";
import { loadStatic } from "../host/memory/static_load.ts";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const CACHE = path.join(ROOT, "tests/.build");

function hashTree(hash: crypto.Hash, dir: string): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) hashTree(hash, p);
    else if (entry.name.endsWith(".ts") || entry.name.endsWith(".js")) hash.update(p).update(fs.readFileSync(p));
  }
}

/** Builds `source` (relative to the repo) once per content of it, the runtime and the SDK. */
export async function buildApp(source: string, check = false): Promise<Uint8Array> {
  const abs = path.join(ROOT, source);
  const hash = crypto.createHash("sha256").update(fs.readFileSync(abs)).update(String(check));
  // The app may import its neighbours (tests/fixtures/misbehaving.ts): they are part of it.
  hashTree(hash, path.dirname(abs));
  hashTree(hash, path.join(ROOT, "runtime"));
  hashTree(hash, path.join(ROOT, "sdk"));
  // The build reads the waiting imports' names from host/abi/constants.ts: a change there changes the wasm.
  for (const f of ["cli/build.ts", "cli/instrument.ts", "cli/uncounted.ts", "cli/stdlib_patch.ts", "host/abi/constants.ts"]) hash.update(fs.readFileSync(path.join(ROOT, f)));
  // A measuring switch of cli/build.ts (which loops are counted) changes the output too.
  hash.update(process.env.ARENA_INTERNAL_LOOP_COUNTING ?? "");
  const out = path.join(CACHE, `${path.basename(source, ".ts")}-${hash.digest("hex").slice(0, 16)}${check ? ".check" : ""}.wasm`);
  if (!fs.existsSync(out)) {
    fs.mkdirSync(CACHE, { recursive: true });
    // Build to a private name and rename: test files build in parallel processes.
    const tmp = `${out}.${process.pid}.tmp`;
    await build(abs, { out: tmp, check });
    fs.renameSync(tmp, out);
  }
  return fs.readFileSync(out);
}

export interface Running {
  server: ArenaServer;
  port: number;
  log: MemoryLogger;
}

/** Starts a server for the test app (check build unless told otherwise) on 127.0.0.1:0. */
export async function startTestServer(options: ServerOptions = {}, check = true, source = "tests/fixtures/testapp.ts"): Promise<Running> {
  const wasm = await buildApp(source, check);
  const log = new MemoryLogger();
  const server = await ArenaServer.create(wasm, source, { slots: 16, slotBytes: 256 * 1024, log, ...options });
  const port = await server.listen(0, "127.0.0.1");
  return { server, port, log };
}

/** Starts the flagship catalogue app with `env` set while its start-up code reads it
 *  (UPSTREAM_URL, UPSTREAM_TIMEOUT_MS); the process environment is restored after. */
export async function startCatalog(env: Record<string, string>, slots = 32): Promise<Running> {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    // Its stylesheet and icon are static files, as `npm start` serves them (--static).
    const device = DeviceRegion.create(DEVICE_BYTES_DEFAULT, loadStatic(path.join(ROOT, "examples/catalog/public"), DEVICE_BYTES_DEFAULT));
    return await startTestServer({ slots, slotBytes: 1024 * 1024, device }, false, "examples/catalog/app.ts");
  } finally {
    for (const k of Object.keys(env)) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
}

export interface ParsedResponse {
  status: number;
  reason: string;
  headers: Map<string, string>;
  body: Buffer;
  raw: string;
}

/** Splits a byte stream into complete HTTP/1.1 responses (Content-Length framed, or no
 *  body for 1xx/204/304 and responses to HEAD when `headRequests` says so). */
export function parseResponses(buf: Buffer, headRequests: boolean[] = []): { responses: ParsedResponse[]; rest: Buffer } {
  const responses: ParsedResponse[] = [];
  let off = 0;
  for (;;) {
    const end = buf.indexOf("\r\n\r\n", off);
    if (end < 0) break;
    const headText = buf.subarray(off, end).toString("latin1");
    const [statusLine, ...lines] = headText.split("\r\n");
    const m = /^HTTP\/1\.1 (\d{3}) ?(.*)$/.exec(statusLine);
    if (!m) throw new Error(`bad status line: ${JSON.stringify(statusLine)}`);
    const headers = new Map<string, string>();
    for (const line of lines) {
      const i = line.indexOf(":");
      headers.set(line.slice(0, i).toLowerCase(), line.slice(i + 1).trim());
    }
    const status = Number(m[1]);
    const isHead = status >= 200 && headRequests[responses.filter((r) => r.status >= 200).length] === true;
    const len = status < 200 || status === 204 || status === 304 || isHead ? 0 : Number(headers.get("content-length") ?? 0);
    if (buf.length < end + 4 + len) break;
    const body = buf.subarray(end + 4, end + 4 + len);
    responses.push({ status, reason: m[2], headers, body, raw: buf.subarray(off, end + 4 + len).toString("latin1") });
    off = end + 4 + len;
  }
  return { responses, rest: buf.subarray(off) };
}

export interface Exchange {
  responses: ParsedResponse[];
  /** True when the server closed the connection. */
  closed: boolean;
  bytes: Buffer;
}

/**
 * Sends `parts` (written one after another, `delayMs` apart) and collects what comes back
 * until `expect` final responses arrived (then closes), the server closes, or `timeoutMs`.
 */
export function exchange(port: number, parts: (string | Buffer)[] | string | Buffer,
  opts: { expect?: number; timeoutMs?: number; delayMs?: number; headRequests?: boolean[]; keepOpen?: boolean } = {}): Promise<Exchange> {
  const list = Array.isArray(parts) ? parts : [parts];
  const expect = opts.expect ?? Infinity;
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const bytes = Buffer.concat(chunks);
      try {
        const { responses } = parseResponses(bytes, opts.headRequests);
        if (!opts.keepOpen) socket.destroy();
        resolve({ responses, closed, bytes });
      } catch (err) {
        socket.destroy();
        reject(err);
      }
    };
    const timer = setTimeout(() => finish(false), opts.timeoutMs ?? 5000);
    socket.on("data", (d: Buffer) => {
      chunks.push(d);
      if (expect !== Infinity) {
        const { responses } = parseResponses(Buffer.concat(chunks), opts.headRequests);
        if (responses.filter((r) => r.status >= 200).length >= expect) finish(false);
      }
    });
    socket.on("close", () => finish(true));
    socket.on("error", () => { /* 'close' follows */ });
    socket.on("connect", async () => {
      for (const part of list) {
        if (socket.destroyed) return;
        socket.write(part);
        if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
      }
    });
  });
}

/** A GET request with Host, as bytes a client would send. */
export function get(pathAndQuery: string, extra = ""): string {
  return `GET ${pathAndQuery} HTTP/1.1\r\nHost: t\r\n${extra}\r\n`;
}

/**
 * Collects a spawned process's stdout and stderr, and waits for `arena serve`'s "serving"
 * line: `url` resolves to the address the line names (the first group of `line`), or
 * rejects with everything printed when the process exits first.
 * `const { url, exited, output } = servingUrl(child, "npm start");`
 */
export function servingUrl(child: import("node:child_process").ChildProcess, what: string,
  line = /serving .* on (http:\/\/127\.0\.0\.1:\d+)\//): { url: Promise<string>; exited: Promise<number | null>; output: () => string } {
  let output = "";
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const url = new Promise<string>((resolve, reject) => {
    const onData = (d: Buffer) => {
      output += d.toString();
      const m = line.exec(output);
      if (m) resolve(m[1]);
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.on("error", reject);
    exited.then((code) => reject(new Error(`${what} exited with ${code}: ${output}`)));
  });
  return { url, exited, output: () => output };
}

/** Asks a forked fixture server (tests/fixtures/steady_server.ts) to exit, and kills it if
 *  it has not after 5 s. */
export async function stopChild(child: import("node:child_process").ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  if (child.connected) child.send("exit");
  const timer = setTimeout(() => child.kill(), 5000);
  await exited;
  clearTimeout(timer);
}

/** Counts the calls `server` makes into its app through JSPI while `run` runs. */
export async function countJspiCalls(server: ArenaServer, run: () => Promise<void>): Promise<number> {
  const app = server.app;
  const callAsync = app.callAsync;
  let calls = 0;
  app.callAsync = (slot: number, desc: number) => {
    calls++;
    return callAsync.call(app, slot, desc);
  };
  try {
    await run();
  } finally {
    app.callAsync = callAsync;
  }
  return calls;
}

/** Waits until `cond` holds or `ms` passes. */
export async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error("timed out waiting for condition");
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A POST request with `body` (a string is UTF-8), as bytes to send. */
export function postRequest(path: string, body: string | Buffer): Buffer {
  const b = typeof body === "string" ? Buffer.from(body) : body;
  return Buffer.concat([Buffer.from(`POST ${path} HTTP/1.1\r\nHost: t\r\nContent-Length: ${b.length}\r\n\r\n`), b]);
}

/** Sends the requests pipelined on one connection, 64 at a time, and returns every
 *  response in order (asserting each batch was answered whole). */
export async function pipelined(port: number, reqs: Buffer[], timeoutMs = 30_000): Promise<ParsedResponse[]> {
  const out: ParsedResponse[] = [];
  for (let i = 0; i < reqs.length; i += 64) {
    const batch = reqs.slice(i, i + 64);
    const r = await exchange(port, Buffer.concat(batch), { expect: batch.length, timeoutMs });
    assert.equal(r.responses.length, batch.length, "every pipelined request is answered");
    out.push(...r.responses);
  }
  return out;
}

/** One HTTP request through `agent` (false: a new connection); resolves with the status and
 *  the body as text, or status 0 when the connection failed.
 *  `const r = await httpGet(false, port, "/version");` */
export function httpGet(agent: http.Agent | false, port: number, p: string, method = "GET"): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = http.request({ host: "127.0.0.1", port, path: p, agent, method }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", () => resolve({ status: 0, body: "" }));
    req.end();
  });
}

/** A keep-alive load of `clients` loops of GET `p` on 127.0.0.1:`port`, until stop(): the
 *  bodies seen, the responses that were not 200 (a reload under load must have none) and
 *  the responses received.
 *  `const load = keepAliveLoad(port, "/version", 8); …; await load.stop();` */
export function keepAliveLoad(port: number, p: string, clients: number): { seen: Set<string>; failed: () => number; answered: () => number; stop: () => Promise<void> } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const seen = new Set<string>();
  let failed = 0;
  let answered = 0;
  let stopped = false;
  const loop = async () => {
    while (!stopped) {
      const r = await httpGet(agent, port, p);
      if (r.status !== 200) failed++;
      if (r.status !== 0) answered++;
      seen.add(r.body);
    }
  };
  const loops = Array.from({ length: clients }, loop);
  return {
    seen,
    failed: () => failed,
    answered: () => answered,
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
      agent.destroy();
    },
  };
}
