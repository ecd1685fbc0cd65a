// `node bench/compress.ts`: what response compression costs, per KB of body, at each gzip
// level and brotli quality, on the benchmark's real responses: the W2 page (200 products
// as an HTML table), the W3 page (100 orders) and the W2 upstream's JSON document. Times the
// engine the server uses (host/http/zlib_engine.ts: one reused native handle, output into a
// buffer it is given) and, at the chosen levels, node:zlib's gzipSync / brotliCompressSync
// (a new stream and output buffers per call) for comparison.
//
//   taskset -c 0 node bench/compress.ts            every level, ~0.3 s of work each
//   taskset -c 0 node bench/compress.ts --quick    the chosen levels only
//
// Run it on a quiet machine: it is a CPU timing. Results go to stdout as a markdown table.

import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import zlib from "node:zlib";
import { BROTLI_QUALITY, GZIP_LEVEL, ZlibEngine, type Coding } from "../host/index.ts";
import { prepareBenchData } from "./data.ts";
import { referenceOrders, referenceTable } from "./reference.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const QUICK = process.argv.includes("--quick");
/** Each measurement is BATCHES batches of about BATCH_MS each, after a warm-up batch: the
 *  median batch is reported (robust to other processes taking the CPU now and then) and the
 *  fastest (the cost with the CPU to itself). */
const BATCHES = 21;
const BATCH_MS = 15;

interface Row {
  body: string;
  coding: string;
  level: number;
  path: string;
  inBytes: number;
  outBytes: number;
  usPerCall: number;
  usFastest: number;
}

/** µs per call of `run`: [median batch, fastest batch]. */
function time(run: () => number): [number, number] {
  const perCall: number[] = [];
  for (let b = -1; b < BATCHES; b++) {
    let calls = 0;
    const start = performance.now();
    let now = start;
    while (now - start < BATCH_MS) {
      run();
      calls++;
      now = performance.now();
    }
    if (b >= 0) perCall.push(((now - start) * 1000) / calls);
  }
  perCall.sort((x, y) => x - y);
  return [perCall[BATCHES >> 1], perCall[0]];
}

function measure(body: string, input: Buffer, coding: Coding, level: number, rows: Row[]): void {
  const engine = new ZlibEngine(coding, level);
  const out = Buffer.alloc(input.length);
  let n = 0;
  const [us, fastest] = time(() => (n = engine.compress(input, 0, input.length, out, 0, out.length)));
  const plain = coding === "gzip" ? zlib.gunzipSync(out.subarray(0, n)) : zlib.brotliDecompressSync(out.subarray(0, n));
  if (!plain.equals(input)) throw new Error(`${coding} ${level} did not round-trip ${body}`);
  rows.push({ body, coding, level, path: `server engine (${engine.path})`, inBytes: input.length, outBytes: n, usPerCall: us, usFastest: fastest });
  engine.close();
  const chosen = coding === "gzip" ? GZIP_LEVEL : BROTLI_QUALITY;
  if (level !== chosen) return;
  const opts = coding === "gzip" ? { level } : { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: level } };
  const [usSync, syncFastest] = time(() => (coding === "gzip" ? zlib.gzipSync(input, opts) : zlib.brotliCompressSync(input, opts)).length);
  rows.push({ body, coding, level, path: `${coding === "gzip" ? "gzipSync" : "brotliCompressSync"} per call`, inBytes: input.length, outBytes: n, usPerCall: usSync, usFastest: syncFastest });
}

const data = prepareBenchData(ROOT);
const bodies: [string, Buffer][] = [
  ["W2 page (HTML)", referenceTable(data.products)],
  ["W3 page (HTML)", referenceOrders(data.orders)],
  ["W2 upstream (JSON)", data.products],
];
const gzipLevels = QUICK ? [GZIP_LEVEL] : [1, 4, 5, 6, 9];
const brotliQualities = QUICK ? [BROTLI_QUALITY] : [1, 3, 4, 5, 6];
const rows: Row[] = [];
for (const [name, input] of bodies) {
  for (const level of gzipLevels) measure(name, input, "gzip", level, rows);
  for (const q of brotliQualities) measure(name, input, "br", q, rows);
}

const cpu = os.cpus()[0]?.model ?? "?";
process.stdout.write(`Compression cost on ${cpu}, Node ${process.version}; per row the median and the fastest of ${BATCHES} batches of ${BATCH_MS} ms; ` +
  `load average before ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}\n\n`);
process.stdout.write("| body | coding | level | path | bytes in → out | ratio | µs per response: median (fastest) | µs per KB in (fastest) | MB/s in (fastest) |\n|---|---|--:|---|--:|--:|--:|--:|--:|\n");
for (const r of rows) {
  const perKb = r.usFastest / (r.inBytes / 1024);
  process.stdout.write(`| ${r.body} | ${r.coding} | ${r.level} | ${r.path} | ${r.inBytes} → ${r.outBytes} | ${(r.inBytes / r.outBytes).toFixed(1)}× | ` +
    `${r.usPerCall.toFixed(0)} (${r.usFastest.toFixed(0)}) | ${perKb.toFixed(2)} | ${(r.inBytes / r.usFastest).toFixed(0)} |\n`);
}
