// The upstream client of the Node-based peers (node:http, Fastify, Hono): node:http with a
// keep-alive Agent, the body collected as Buffers and parsed with JSON.parse. (Node's
// global fetch, undici, is slower here; this is the fastest thing Node ships.)

import http from "node:http";
import type { Order, Product } from "./render.ts";

const base = new URL(process.env.BENCH_UPSTREAM_URL ?? "http://127.0.0.1:3190");
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function fetchJson<T>(path: string): Promise<T> {
  const options: http.RequestOptions = { host: base.hostname, port: base.port, path, agent };
  return new Promise((resolve, reject) => {
    http.get(options, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        if (res.statusCode !== 200) return reject(new Error(`upstream answered ${res.statusCode}`));
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")) as T);
        } catch (err) {
          reject(err);
        }
      });
      res.on("error", reject);
    }).on("error", reject);
  });
}

export const fetchProducts = (): Promise<Product[]> => fetchJson<Product[]>("/products");
export const fetchOrders = (): Promise<{ orders: Order[] }> => fetchJson<{ orders: Order[] }>("/orders");
