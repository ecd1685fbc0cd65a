// Bun.serve peer (run by Bun, not Node): the same five routes through Bun's `routes`, W2
// and W3 with Bun's own fetch (keep-alive pooled) and `Response.json()`.
import fs from "node:fs";
import { HELLO, HTML_TYPE, TEXT_TYPE, renderOrders, renderTable, type Order, type Product } from "./render.ts";

// Bun's globals, declared here so that tsc (which has Node's types only) accepts the file.
declare const Bun: {
  serve(options: { port: number; hostname: string; routes: Record<string, (req: Request) => Response | Promise<Response>> }): { port: number };
};

const docText = fs.readFileSync(process.env.BENCH_DATA ?? "", "utf8");
const ordersText = fs.readFileSync(process.env.BENCH_ORDERS ?? "", "utf8");
const port = Number(process.env.PORT ?? 3100);
const upstream = process.env.BENCH_UPSTREAM_URL ?? "http://127.0.0.1:3190";
const textHeaders = { "content-type": TEXT_TYPE };
const htmlHeaders = { "content-type": HTML_TYPE };

async function fetched<T>(path: string, render: (doc: T) => string): Promise<Response> {
  const res = await fetch(upstream + path);
  if (res.status !== 200) return new Response(`upstream answered ${res.status}\n`, { status: 502 });
  return new Response(render(await res.json() as T), { headers: htmlHeaders });
}

Bun.serve({
  port,
  hostname: "127.0.0.1",
  routes: {
    "/": () => new Response(HELLO, { headers: textHeaders }),
    "/w2": () => fetched<Product[]>("/products", renderTable),
    "/w2b": () => new Response(renderTable(JSON.parse(docText) as Product[]), { headers: htmlHeaders }),
    "/w3": () => fetched<{ orders: Order[] }>("/orders", renderOrders),
    "/w3b": () => new Response(renderOrders(JSON.parse(ordersText) as { orders: Order[] }), { headers: htmlHeaders }),
  },
});
process.stdout.write(`listening ${port}\n`);
