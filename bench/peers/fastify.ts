// Fastify peer: the same five routes as node_http.ts, through Fastify's router and reply.
import fs from "node:fs";
import Fastify from "fastify";
import { fetchOrders, fetchProducts } from "./node_client.ts";
import { HELLO, HTML_TYPE, TEXT_TYPE, renderOrders, renderTable, type Order, type Product } from "./render.ts";

const hello = Buffer.from(HELLO);
const docText = fs.readFileSync(process.env.BENCH_DATA ?? "", "utf8");
const ordersText = fs.readFileSync(process.env.BENCH_ORDERS ?? "", "utf8");
const port = Number(process.env.PORT ?? 3100);

const app = Fastify({ logger: false });
app.get("/", (_req, reply) => {
  reply.header("content-type", TEXT_TYPE).send(hello);
});
app.get("/w2", async (_req, reply) => {
  const products = await fetchProducts();
  reply.header("content-type", HTML_TYPE);
  return renderTable(products);
});
app.get("/w2b", (_req, reply) => {
  reply.header("content-type", HTML_TYPE).send(renderTable(JSON.parse(docText) as Product[]));
});
app.get("/w3", async (_req, reply) => {
  const doc = await fetchOrders();
  reply.header("content-type", HTML_TYPE);
  return renderOrders(doc);
});
app.get("/w3b", (_req, reply) => {
  reply.header("content-type", HTML_TYPE).send(renderOrders(JSON.parse(ordersText) as { orders: Order[] }));
});
await app.listen({ port, host: "127.0.0.1" });
process.stdout.write(`listening ${port}\n`);
