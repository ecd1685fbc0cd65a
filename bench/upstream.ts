// W2's and W3's upstream: a tiny keep-alive node:http server that answers GET /orders with
// the orders document (BENCH_ORDERS) and every other GET with the products document
// (BENCH_DATA), both precomputed, so the upstream costs as little as it can. The harness
// pins it to CPU 0, beside the server under test.
//
//   BENCH_DATA=file BENCH_ORDERS=file PORT=N node bench/upstream.ts   # prints "listening N"
//   (PORT=0 takes a free port and prints it)

import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";

function document(variable: string): { body: Buffer; headers: Record<string, string> } {
  const file = process.env[variable];
  if (!file || !fs.existsSync(file)) {
    process.stderr.write(`upstream: ${variable} must name a document (run by bench/run.ts, which writes them)\n`);
    process.exit(1);
  }
  const body = fs.readFileSync(file);
  return { body, headers: { "Content-Type": "application/json; charset=utf-8", "Content-Length": String(body.length) } };
}

const products = document("BENCH_DATA");
const orders = document("BENCH_ORDERS");
const port = Number(process.env.PORT ?? 3190);
const server = http.createServer((req, res) => {
  const doc = req.url === "/orders" ? orders : products;
  res.writeHead(200, doc.headers);
  res.end(doc.body);
});
server.keepAliveTimeout = 120_000;
server.headersTimeout = 130_000;
server.listen(port, "127.0.0.1", () => process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`));
