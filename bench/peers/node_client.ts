// The upstream client of the Node-based peers (node:http, Fastify, Hono): node:http with a
// keep-alive Agent, the body collected as Buffers and parsed with JSON.parse. (Node's
// global fetch, undici, is slower here; this is the fastest thing Node ships.)

import http from "node:http";
import type { Product } from "./render.ts";

const url = new URL((process.env.BENCH_UPSTREAM_URL ?? "http://127.0.0.1:3190") + "/products");
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const options: http.RequestOptions = { host: url.hostname, port: url.port, path: url.pathname, agent };

export function fetchProducts(): Promise<Product[]> {
  return new Promise((resolve, reject) => {
    http.get(options, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        if (res.statusCode !== 200) return reject(new Error(`upstream answered ${res.statusCode}`));
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")) as Product[]);
        } catch (err) {
          reject(err);
        }
      });
      res.on("error", reject);
    }).on("error", reject);
  });
}
