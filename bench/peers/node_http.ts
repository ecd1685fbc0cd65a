// node:http peer for W1: the same body and content type as examples/hello's "/" route.
import http from "node:http";

const body = Buffer.from("Hello from Arena!\n");
const port = Number(process.env.PORT ?? 3100);
http.createServer((req, res) => {
  res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8", "Content-Length": body.length });
  res.end(body);
}).listen(port, "127.0.0.1", () => process.stdout.write(`listening ${port}\n`));
