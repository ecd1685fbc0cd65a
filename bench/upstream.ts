// W2's upstream: a tiny keep-alive node:http server that answers every GET with the same
// precomputed JSON bytes (BENCH_DATA), so the upstream costs as little as it can. The
// harness pins it to CPU 0, beside the server under test.
//
//   BENCH_DATA=file PORT=N node bench/upstream.ts   # prints "listening N"

import fs from "node:fs";
import http from "node:http";

const body = fs.readFileSync(process.env.BENCH_DATA ?? "");
const port = Number(process.env.PORT ?? 3190);
const headers = { "Content-Type": "application/json; charset=utf-8", "Content-Length": String(body.length) };
const server = http.createServer((req, res) => {
  res.writeHead(200, headers);
  res.end(body);
});
server.keepAliveTimeout = 120_000;
server.headersTimeout = 130_000;
server.listen(port, "127.0.0.1", () => process.stdout.write(`listening ${port}\n`));
