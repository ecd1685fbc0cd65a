// Deno.serve peer (run by Deno, not Node): the same five routes, W2 and W3 with Deno's own
// fetch (keep-alive pooled) and `Response.json()`.
import fs from "node:fs";
import { HELLO, HTML_TYPE, TEXT_TYPE, renderOrders, renderTable, type Order, type Product } from "./render.ts";

// Deno's global, declared here so that tsc (which has Node's types only) accepts the file.
declare const Deno: {
  serve(options: { port: number; hostname: string; onListen?: () => void }, handler: (req: Request) => Response | Promise<Response>): unknown;
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

Deno.serve({ port, hostname: "127.0.0.1", onListen: () => console.log(`listening ${port}`) }, (req) => {
  const url = req.url;
  const path = url.slice(url.indexOf("/", url.indexOf("//") + 2));
  if (path === "/") return new Response(HELLO, { headers: textHeaders });
  if (path === "/w2") return fetched<Product[]>("/products", renderTable);
  if (path === "/w2b") return new Response(renderTable(JSON.parse(docText) as Product[]), { headers: htmlHeaders });
  if (path === "/w3") return fetched<{ orders: Order[] }>("/orders", renderOrders);
  if (path === "/w3b") return new Response(renderOrders(JSON.parse(ordersText) as { orders: Order[] }), { headers: htmlHeaders });
  return new Response("not found\n", { status: 404 });
});
