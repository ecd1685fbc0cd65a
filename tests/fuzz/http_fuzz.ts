// Mutation fuzzer for the HTTP/1.1 request parser, the chunked decoder and the live server.
//
//   node tests/fuzz/http_fuzz.ts [--seconds N] [--seed S] [--crash-dir DIR] [--server-every K]
//
// Mutates a seed corpus of valid and tricky requests (tests/smuggling_corpus.ts and a few
// more): bit flips, byte insert/delete/duplicate, splices of two inputs, boundary values in
// Content-Length and chunk sizes, duplicated and injected header lines. Every input goes to
// the parser functions directly (whole and split at random points, as the connection feeds
// them); every K-th also goes to a live server over a socket (half-closed after sending).
// Invariants: no exception escapes; results and offsets stay in bounds; a split input gives
// the result of the whole one; the server answers with complete, valid HTTP responses and
// closes; it still serves a known-good request afterwards; all slots and connections are
// free at the end. A failing input is saved to the crash directory (tests/fuzz/crashes/,
// gitignored) as <hash>.bin with <hash>.txt saying why. One summary line at the end; exit
// status 1 when anything failed.

import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CHUNKED_DONE } from "../../host/http/chunked.ts";
import { checkHeadBounds, decodeChunked, feedHead, splitMustAgree } from "./harness.ts";
import { parseResponses, startTestServer, waitFor, type Running } from "../helpers.ts";
import { FOLLOW, SMUGGLED, SMUGGLING_CORPUS, SPLIT_REQUEST } from "../smuggling_corpus.ts";
import { rng } from "../rng.ts";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BODY_MAX = 64 * 1024;
const STATUSES = new Set([100, 200, 204, 400, 404, 405, 408, 413, 414, 417, 431, 500, 501, 503, 505]);

export interface FuzzOptions {
  seconds: number;
  seed: number;
  crashDir: string;
  /** Send every K-th input to the live server. */
  serverEvery: number;
  log?: (line: string) => void;
}

export interface FuzzSummary {
  inputs: number;
  serverInputs: number;
  execPerSec: number;
  outcomes: number;
  crashes: number;
}


const latin1 = (s: string): Uint8Array => Uint8Array.from(s, (ch) => ch.charCodeAt(0) & 0xff);

function seedCorpus(): Uint8Array[] {
  const texts = SMUGGLING_CORPUS.map((c) => (Array.isArray(c.send) ? c.send.join("") : c.send)).filter((t) => t.length < 8192);
  texts.push(
    SPLIT_REQUEST + FOLLOW,
    "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n",
    "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello",
    "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n0\r\nX: y\r\n\r\n",
    "GET http://t/ident?x=1 HTTP/1.1\r\nHost: t\r\nX-Tag: a\r\nConnection: keep-alive\r\n\r\n",
    "OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n",
    "GET /ident HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    `POST /ident HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`,
  );
  return texts.map(latin1);
}

const INTERESTING = latin1("\r\n\t :;,=\"\0\x7f\x80\xff0123456789abcdefxX-+/?*");
const TOKENS = [
  "\r\n", "\n", "\r", " ", "\t", "\0", ":", ",", ";", "0\r\n\r\n", "chunked", "Transfer-Encoding: chunked\r\n",
  "Content-Length: 0\r\n", "Content-Length: 5\r\n", "Host: t\r\n", "Connection: close\r\n", "Expect: 100-continue\r\n",
  "Transfer-Encoding: identity\r\n", " chunked", "HTTP/1.0", "HTTP/1.1", SMUGGLED,
].map(latin1);
const BOUNDARY_NUMBERS = ["0", "1", "00", "-1", "+1", "4294967295", "4294967296", "9007199254740991", "9007199254740993",
  "18446744073709551616", "99999999999999999999999", String(BODY_MAX), String(BODY_MAX + 1), "1 1", "1,1", "0x1"];
const BOUNDARY_HEX = ["0", "1", "f", "F", "7fffffff", "ffffffff", "100000000", "fffffffffffffffff", "10000000000000001",
  (BODY_MAX).toString(16), (BODY_MAX + 1).toString(16), "-1", "0x1", "", " 1", "1 ", "1;", "g"];

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** Starts of lines (index after each LF, and 0). */
function lineStarts(b: Uint8Array): number[] {
  const out = [0];
  for (let i = 0; i < b.length; i++) if (b[i] === 0x0a) out.push(i + 1);
  return out;
}

function mutate(input: Uint8Array, corpus: Uint8Array[], rand: () => number): Uint8Array {
  const pick = <T>(a: T[] | Uint8Array): T => a[Math.floor(rand() * a.length)] as T;
  const pos = (b: Uint8Array, extra = 0) => Math.floor(rand() * (b.length + extra));
  let b = input;
  const n = 1 + Math.floor(rand() * 4);
  for (let k = 0; k < n; k++) {
    switch (Math.floor(rand() * 11)) {
      case 0: { // bit flip
        if (b.length === 0) break;
        b = b.slice();
        const i = pos(b);
        b[i] ^= 1 << Math.floor(rand() * 8);
        break;
      }
      case 1: { // set an interesting byte
        if (b.length === 0) break;
        b = b.slice();
        b[pos(b)] = pick(INTERESTING);
        break;
      }
      case 2: { // insert a byte
        const i = pos(b, 1);
        b = concat(b.subarray(0, i), Uint8Array.of(rand() < 0.5 ? pick(INTERESTING) : Math.floor(rand() * 256)), b.subarray(i));
        break;
      }
      case 3: { // delete a range
        const i = pos(b);
        const len = 1 + Math.floor(rand() * 8);
        b = concat(b.subarray(0, i), b.subarray(i + len));
        break;
      }
      case 4: { // duplicate a range
        const i = pos(b);
        const len = 1 + Math.floor(rand() * 32);
        const piece = b.slice(i, i + len);
        const at = pos(b, 1);
        b = concat(b.subarray(0, at), piece, b.subarray(at));
        break;
      }
      case 5: { // splice with another input
        const other = pick(corpus);
        b = concat(b.subarray(0, pos(b, 1)), other.subarray(pos(other, 1)));
        break;
      }
      case 6: { // boundary value after "Content-Length:"
        const s = String.fromCharCode(...b);
        const m = /content-length:[ \t]*([^\r\n]*)/i.exec(s);
        if (!m) break;
        const at = m.index + m[0].length - m[1].length;
        b = concat(b.subarray(0, at), latin1(pick(BOUNDARY_NUMBERS)), b.subarray(at + m[1].length));
        break;
      }
      case 7: { // boundary value as a chunk size (a hex run at a line start after the head)
        const starts = lineStarts(b).filter((i) => /^[0-9a-fA-F]/.test(String.fromCharCode(b[i] ?? 0)));
        if (starts.length === 0) break;
        const i = pick(starts);
        let j = i;
        while (j < b.length && /[0-9a-fA-F]/.test(String.fromCharCode(b[j]))) j++;
        b = concat(b.subarray(0, i), latin1(pick(BOUNDARY_HEX)), b.subarray(j));
        break;
      }
      case 8: { // duplicate a header line
        const starts = lineStarts(b);
        if (starts.length < 3) break;
        const li = 1 + Math.floor(rand() * (starts.length - 2));
        const line = b.slice(starts[li], starts[li + 1]);
        const at = pick(starts);
        b = concat(b.subarray(0, at), line, b.subarray(at));
        break;
      }
      case 9: { // inject a token at a line start
        const at = pick(lineStarts(b));
        b = concat(b.subarray(0, at), pick(TOKENS), b.subarray(at));
        break;
      }
      default: { // inject a token anywhere
        const at = pos(b, 1);
        b = concat(b.subarray(0, at), pick(TOKENS), b.subarray(at));
        break;
      }
    }
  }
  return b.length > 32 * 1024 ? b.subarray(0, 32 * 1024) : b;
}

function randomCuts(len: number, rand: () => number): number[] {
  const cuts: number[] = [];
  const n = Math.floor(rand() * 6);
  for (let i = 0; i < n; i++) cuts.push(1 + Math.floor(rand() * Math.max(1, len - 1)));
  if (rand() < 0.1) for (let i = 1; i < Math.min(len, 64); i++) cuts.push(i); // byte by byte at the start
  return cuts;
}

/** Runs the parser functions on one input; returns the outcome key, throws on a violation. */
function execDirect(input: Uint8Array, rand: () => number): string {
  const whole = feedHead(input, [], BODY_MAX);
  checkHeadBounds(whole, BODY_MAX);
  const split = feedHead(input, randomCuts(input.length, rand), BODY_MAX);
  checkHeadBounds(split, BODY_MAX);
  const agree = splitMustAgree(input, whole, split);
  if (agree === "exact" && (split.r !== whole.r || split.reason !== whole.reason)) {
    throw new Error(`split changed the head result: whole ${whole.r} (${whole.reason}), split ${split.r} (${split.reason})`);
  }
  if (agree === "both-refuse" && !(split.r < 0 && whole.r < 0)) {
    throw new Error(`split changed acceptance: whole ${whole.r} (${whole.reason}), split ${split.r} (${split.reason})`);
  }
  let key = `h${whole.r > 0 ? "+" : whole.r}:${whole.reason}`;
  if (whole.r > 0 && whole.head.chunked) {
    const rest = input.subarray(whole.r);
    const a = decodeChunked(rest, [], BODY_MAX);
    const b = decodeChunked(rest, randomCuts(rest.length, rand), BODY_MAX);
    if (a.r !== b.r || a.reason !== b.reason) throw new Error(`split changed the chunked result: whole ${a.r} (${a.reason}), split ${b.r} (${b.reason})`);
    if (a.r === CHUNKED_DONE && (a.consumed !== b.consumed || Buffer.compare(a.body, b.body) !== 0)) throw new Error("split changed the decoded body");
    key += `|c${a.r}:${a.reason}`;
  }
  return key;
}

/** Sends one input to the server, half-closes, and checks what comes back. */
function execServer(port: number, input: Uint8Array): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error("server neither finished answering nor closed within 5 s"));
    }, 5000);
    socket.on("data", (d: Buffer) => chunks.push(d));
    socket.on("error", () => { /* 'close' follows; a reset after our FIN is routine */ });
    socket.on("close", () => {
      clearTimeout(timer);
      const bytes = Buffer.concat(chunks);
      try {
        const statuses = checkResponses(bytes, input.includes(0x48) && String.fromCharCode(...input).includes("HEAD"));
        resolve(`s${statuses.join(",")}`);
      } catch (err) {
        reject(err);
      }
    });
    socket.end(input);
  });
}

/** Checks that `bytes` is a sequence of complete, valid HTTP/1.1 responses; returns their
 *  statuses. A response to HEAD has a Content-Length but no body: when the input may hold
 *  HEAD requests, a response whose body would start where the next status line does (or
 *  past the end) is taken as bodiless. */
function checkResponses(bytes: Buffer, mayHaveHead: boolean): number[] {
  const statuses: number[] = [];
  let off = 0;
  while (off < bytes.length) {
    const end = bytes.indexOf("\r\n\r\n", off);
    if (end < 0) throw new Error(`incomplete response head: ${JSON.stringify(bytes.subarray(off, off + 200).toString("latin1"))}`);
    const head = bytes.subarray(off, end).toString("latin1");
    const m = /^HTTP\/1\.1 (\d{3}) [^\r\n]*(\r\n[!-9;-~]+: [^\r\n]*)*$/.exec(head);
    if (!m) throw new Error(`malformed response head: ${JSON.stringify(head.slice(0, 200))}`);
    const status = Number(m[1]);
    if (!STATUSES.has(status)) throw new Error(`unexpected status ${status}`);
    if (status === 500) throw new Error(`500 from the server: ${JSON.stringify(bytes.subarray(end + 4, end + 300).toString("latin1"))}`);
    statuses.push(status);
    const cl = /\r\ncontent-length: (\d+)/i.exec(head);
    let len = status < 200 || status === 204 || status === 304 ? 0 : cl ? Number(cl[1]) : -1;
    if (len < 0) throw new Error(`response ${status} without Content-Length`);
    const next = end + 4;
    if (mayHaveHead && len > 0 && (next === bytes.length || bytes.subarray(next, next + 9).toString("latin1") === "HTTP/1.1 ")) len = 0;
    if (next + len > bytes.length) throw new Error(`truncated response body (${bytes.length - next} of ${len} bytes)`);
    off = next + len;
  }
  return statuses;
}

async function knownGood(port: number): Promise<void> {
  const bytes = latin1("GET /ident?x=alive HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  const got = await new Promise<Buffer>((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => { socket.destroy(); reject(new Error("known-good request: no answer in 5 s")); }, 5000);
    socket.on("data", (d: Buffer) => chunks.push(d));
    socket.on("error", () => { /* 'close' follows */ });
    socket.on("close", () => { clearTimeout(timer); resolve(Buffer.concat(chunks)); });
    socket.write(bytes);
  });
  const { responses } = parseResponses(got);
  if (responses.length !== 1 || responses[0].status !== 200 || responses[0].body.toString() !== "GET /ident x=alive tag=- body=\n") {
    throw new Error(`known-good request failed: ${JSON.stringify(got.toString("latin1").slice(0, 300))}`);
  }
}

export async function runFuzz(opts: FuzzOptions): Promise<FuzzSummary> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const rand = rng(opts.seed);
  const corpus = seedCorpus();
  const outcomes = new Set<string>();
  const crashes = new Set<string>();
  let inputs = 0;
  let serverInputs = 0;

  const save = (input: Uint8Array, why: string): void => {
    const hash = crypto.createHash("sha1").update(input).digest("hex").slice(0, 16);
    if (crashes.has(hash)) return;
    crashes.add(hash);
    fs.mkdirSync(opts.crashDir, { recursive: true });
    fs.writeFileSync(path.join(opts.crashDir, `${hash}.bin`), input);
    fs.writeFileSync(path.join(opts.crashDir, `${hash}.txt`), `seed ${opts.seed}, input ${inputs}\n${why}\n${JSON.stringify(String.fromCharCode(...input))}\n`);
    log(`crash ${hash}: ${why.split("\n")[0]}`);
  };

  const t: Running = await startTestServer({ bodyBytesMax: BODY_MAX, headersTimeoutMs: 2000, bodyTimeoutMs: 2000, keepAliveTimeoutMs: 2000 });
  const started = Date.now();
  const deadline = started + opts.seconds * 1000;
  try {
    while (Date.now() < deadline) {
      // A batch of direct runs, then one input for the server.
      let last = corpus[0];
      for (let k = 0; k < opts.serverEvery; k++) {
        const base = corpus[Math.floor(rand() * corpus.length)];
        const input = rand() < 0.05 ? base : mutate(base, corpus, rand);
        inputs++;
        last = input;
        try {
          const key = execDirect(input, rand);
          if (!outcomes.has(key)) {
            outcomes.add(key);
            // An input reaching a new outcome joins the corpus (a coverage proxy).
            if (input.length < 8192 && corpus.length < 4096) corpus.push(input);
          }
        } catch (err) {
          save(input, `direct: ${(err as Error).stack ?? err}`);
        }
      }
      serverInputs++;
      try {
        outcomes.add(await execServer(t.port, last));
      } catch (err) {
        save(last, `server: ${(err as Error).message}`);
      }
      if (serverInputs % 20 === 0) {
        try { await knownGood(t.port); } catch (err) { save(last, `after this input: ${(err as Error).message}`); }
      }
    }
    await knownGood(t.port).catch((err: Error) => save(new Uint8Array(0), `final: ${err.message}`));
    try {
      await waitFor(() => t.server.stats().connections === 0 && t.server.stats().slotsFree === t.server.stats().slots, 10_000);
    } catch {
      const s = t.server.stats();
      save(new Uint8Array(0), `at the end: ${s.connections} connections open, ${s.slots - s.slotsFree} slots busy`);
    }
  } finally {
    await t.server.close();
  }
  const secs = (Date.now() - started) / 1000;
  const summary: FuzzSummary = {
    inputs, serverInputs, execPerSec: Math.round(inputs / secs), outcomes: outcomes.size, crashes: crashes.size,
  };
  log(`http_fuzz: seed=${opts.seed} seconds=${secs.toFixed(1)} inputs=${inputs} exec/s=${summary.execPerSec} ` +
    `server=${serverInputs} outcomes=${summary.outcomes} corpus=${corpus.length} crashes=${summary.crashes}` +
    (summary.crashes > 0 ? ` (saved in ${opts.crashDir})` : ""));
  return summary;
}

function parseArgs(argv: string[]): FuzzOptions {
  const opts: FuzzOptions = { seconds: 60, seed: Date.now() % 2 ** 31, crashDir: path.join(HERE, "crashes"), serverEvery: 200 };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1];
    switch (argv[i]) {
      case "--seconds": opts.seconds = Number(v); i++; break;
      case "--seed": opts.seed = Number(v); i++; break;
      case "--crash-dir": opts.crashDir = path.resolve(v); i++; break;
      case "--server-every": opts.serverEvery = Math.max(1, Number(v)); i++; break;
      default:
        console.error("usage: node tests/fuzz/http_fuzz.ts [--seconds N] [--seed S] [--crash-dir DIR] [--server-every K]");
        process.exit(2);
    }
  }
  if (!Number.isFinite(opts.seconds) || !Number.isFinite(opts.seed)) {
    console.error("--seconds and --seed take numbers");
    process.exit(2);
  }
  return opts;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const summary = await runFuzz(parseArgs(process.argv.slice(2)));
  process.exit(summary.crashes > 0 ? 1 : 0);
}
