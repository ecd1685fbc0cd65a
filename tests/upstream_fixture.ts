// A local upstream for the effects tests, on 127.0.0.1 with an ephemeral port. Each path is
// one upstream behaviour (good, slow, broken); raw ones write bytes straight to the socket.

import http from "node:http";
import net from "node:net";

export interface TestUpstream {
  url: string;
  /** A raw socket server for byte-level misbehaviour: /garbage, /reset-mid-body, … */
  rawUrl: string;
  /** Requests received, by path. */
  hits: Map<string, number>;
  /** Sockets accepted: shows whether connections were reused. */
  connections(): number;
  close(): Promise<void>;
}

export async function startTestUpstream(): Promise<TestUpstream> {
  const hits = new Map<string, number>();
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? "/", "http://x");
    hits.set(u.pathname, (hits.get(u.pathname) ?? 0) + 1);
    const delay = Number(u.searchParams.get("delay") ?? 0);
    const reply = () => {
      switch (u.pathname) {
        case "/echo": {
          const id = u.searchParams.get("id") ?? "";
          res.setHeader("content-type", "text/plain");
          res.setHeader("x-id", id);
          res.end(`upstream ${id} ${"x".repeat(Number(id) % 97)}`);
          return;
        }
        case "/method": {
          const chunks: Buffer[] = [];
          req.on("data", (c: Buffer) => chunks.push(c));
          req.on("end", () => {
            res.setHeader("content-type", "text/plain");
            res.end(`${req.method} ${req.headers["content-length"] ?? "-"} ${Buffer.concat(chunks).toString()} host=${req.headers.host}`);
          });
          return;
        }
        case "/big": {
          const n = Number(u.searchParams.get("n") ?? 0);
          res.setHeader("content-type", "application/octet-stream");
          res.end(Buffer.alloc(n, 0x61));
          return;
        }
        case "/chunked": {
          res.setHeader("content-type", "text/plain");
          res.write("part one, ");
          setTimeout(() => { res.write("part two, "); res.end("end"); }, 5);
          return;
        }
        case "/status": {
          res.statusCode = Number(u.searchParams.get("code") ?? 200);
          res.end(`status ${res.statusCode}`);
          return;
        }
        case "/hang":
          return; // never answers
        default:
          res.statusCode = 404;
          res.end("not found");
      }
    };
    if (delay > 0) setTimeout(reply, delay);
    else reply();
  });
  server.keepAliveTimeout = 5000;
  server.on("connection", (socket: net.Socket) => {
    connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  // Raw behaviours an HTTP server library would not produce, decided on the request line.
  const raw = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    socket.once("data", (chunk: Buffer) => {
      const line = chunk.toString("latin1", 0, Math.min(chunk.length, 200));
      if (line.includes(" /garbage ")) {
        socket.end("this is not HTTP\r\n\r\n");
      } else if (line.includes(" /reset-mid-body ")) {
        socket.write("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nonly a part");
        setTimeout(() => socket.resetAndDestroy(), 10);
      } else if (line.includes(" /close-early ")) {
        socket.destroy();
      } else if (line.includes(" /smuggle ")) {
        socket.end("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
      } else if (line.includes(" /until-close ")) {
        socket.end("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nread until close");
      } else if (line.includes(" /interim ")) {
        socket.end("HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal");
      } else if (line.includes(" /huge-head ")) {
        socket.end(`HTTP/1.1 200 OK\r\nX-Big: ${"b".repeat(20000)}\r\nContent-Length: 0\r\n\r\n`);
      } else {
        socket.destroy();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  await new Promise<void>((resolve) => raw.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  const rawPort = (raw.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    rawUrl: `http://127.0.0.1:${rawPort}`,
    hits,
    connections: () => connections,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      raw.close();
      server.close(() => resolve());
    }),
  };
}
