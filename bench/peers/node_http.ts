// node:http peer: W1 "/", W2 "/w2" (fetch from the upstream, render), W2b "/w2b" (render
// from the JSON text held in memory, JSON.parse per request), and W3 "/w3" / W3b "/w3b"
// (the same for the orders document).
import fs from "node:fs";
import http from "node:http";
import { fetchOrders, fetchProducts } from "./node_client.ts";
import { HELLO, HTML_TYPE, TEXT_TYPE, renderOrders, renderTable, type Order, type Product } from "./render.ts";

const hello = Buffer.from(HELLO);
const docText = fs.readFileSync(process.env.BENCH_DATA ?? "", "utf8");
const ordersText = fs.readFileSync(process.env.BENCH_ORDERS ?? "", "utf8");
const port = Number(process.env.PORT ?? 3100);

function sendHtml(res: http.ServerResponse, html: string): void {
  const body = Buffer.from(html);
  res.writeHead(200, { "Content-Type": HTML_TYPE, "Content-Length": body.length });
  res.end(body);
}

function upstreamFailed(res: http.ServerResponse): (err: Error) => void {
  return (err) => {
    res.writeHead(502, { "Content-Type": TEXT_TYPE });
    res.end(`upstream: ${err.message}\n`);
  };
}

http.createServer((req, res) => {
  if (req.url === "/") {
    res.writeHead(200, { "Content-Type": TEXT_TYPE, "Content-Length": hello.length });
    res.end(hello);
  } else if (req.url === "/w2") {
    fetchProducts().then((products) => sendHtml(res, renderTable(products)), upstreamFailed(res));
  } else if (req.url === "/w2b") {
    sendHtml(res, renderTable(JSON.parse(docText) as Product[]));
  } else if (req.url === "/w3") {
    fetchOrders().then((doc) => sendHtml(res, renderOrders(doc)), upstreamFailed(res));
  } else if (req.url === "/w3b") {
    sendHtml(res, renderOrders(JSON.parse(ordersText) as { orders: Order[] }));
  } else {
    res.writeHead(404, { "Content-Type": TEXT_TYPE });
    res.end("not found\n");
  }
}).listen(port, "127.0.0.1", () => process.stdout.write(`listening ${port}\n`));
