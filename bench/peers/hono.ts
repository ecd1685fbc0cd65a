// Hono peer on Node (@hono/node-server): the same five routes, as Hono handlers.
import fs from "node:fs";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { fetchOrders, fetchProducts } from "./node_client.ts";
import { HELLO, HTML_TYPE, TEXT_TYPE, renderOrders, renderTable, type Order, type Product } from "./render.ts";

const docText = fs.readFileSync(process.env.BENCH_DATA ?? "", "utf8");
const ordersText = fs.readFileSync(process.env.BENCH_ORDERS ?? "", "utf8");
const port = Number(process.env.PORT ?? 3100);
const html = { "content-type": HTML_TYPE };

const app = new Hono();
app.get("/", (c) => c.body(HELLO, 200, { "content-type": TEXT_TYPE }));
app.get("/w2", async (c) => c.body(renderTable(await fetchProducts()), 200, html));
app.get("/w2b", (c) => c.body(renderTable(JSON.parse(docText) as Product[]), 200, html));
app.get("/w3", async (c) => c.body(renderOrders(await fetchOrders()), 200, html));
app.get("/w3b", (c) => c.body(renderOrders(JSON.parse(ordersText) as { orders: Order[] }), 200, html));
serve({ fetch: app.fetch, port, hostname: "127.0.0.1" }, () => process.stdout.write(`listening ${port}\n`));
