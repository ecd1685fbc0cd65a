// The public side of `arena dev` (cli/dev.ts): an HTTP/1.1 proxy on the user's port in
// front of the `arena serve` child that runs the current build, on a private port.
//
// It proxies requests, not TCP connections. A client's keep-alive connection ends here;
// each request is sent to the child that is current when it arrives, on a connection of
// its own that closes with the response. So after a swap the very next request, on any
// client connection, reaches the new build; a request never lands on a connection the old
// child is closing (an old child is told to stop only when the proxy has nothing in flight
// with it: Target.onIdle); and a browser's or undici's idle keep-alive connection is never
// closed under it by a swap.
//
// While the build is broken (or the child would not start) every request is answered here:
// 500 with an HTML page that shows the compiler's messages, Connection: close. The page
// polls STATE_PATH and reloads itself when the state changes.

import http from "node:http";
import type net from "node:net";
import { ArenaError } from "../host/index.ts";

/** Answered by the proxy itself, never by the app: the state's number, for the error page. */
export const STATE_PATH = "/__arena_dev/state";

/** A running child, as the proxy sees it. */
export interface Target {
  port: number;
  /** Requests the proxy has in flight with this child. */
  inflight: number;
  /** Called when inflight drops to 0 (set when the child is being replaced). */
  onIdle: (() => void) | null;
}

/** Why there is nothing to serve: the page's title and the text under it. */
export interface Broken {
  title: string;
  text: string;
}

// Hop-by-hop fields (RFC 9110 §7.6.1): about one connection, not passed on.
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"]);

/** Raw header pairs without the hop-by-hop ones (and those the Connection field names). */
function endToEnd(raw: string[]): string[] {
  const named = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].toLowerCase() === "connection") for (const t of raw[i + 1].split(",")) named.add(t.trim().toLowerCase());
  }
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (!HOP_BY_HOP.has(name) && !named.has(name)) out.push(raw[i], raw[i + 1]);
  }
  return out;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The compiler colours its messages when it writes to a terminal or runs under CI (the `CI`
 *  variable); a browser shows those escape sequences as litter, so the page drops them. */
export function stripTerminalColours(s: string): string {
  return s.replace(/\x1b\[[0-9;]*m/g, "");
}

/** The error page: the title, the messages as the terminal shows them, and a script that
 *  reloads the page once the state is no longer `state`. */
export function errorPage(broken: Broken, state: number): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(broken.title)}</title>
<style>body{font:15px/1.45 system-ui,sans-serif;margin:2rem;color:#222}h1{color:#b00020;font-size:1.4rem}
pre{background:#1e1e1e;color:#eee;padding:1rem;overflow:auto;font:13px/1.4 ui-monospace,monospace}</style></head>
<body><h1>${escapeHtml(broken.title)}</h1>
<pre>${escapeHtml(stripTerminalColours(broken.text))}</pre>
<p>arena dev shows this page until the next build that works; it reloads by itself.</p>
<script>setInterval(async()=>{try{const r=await fetch(${JSON.stringify(STATE_PATH)},{cache:"no-store"});if(await r.text()!=="${state}")location.reload()}catch{}},700)</script>
</body></html>
`;
}

export class DevProxy {
  private readonly server: http.Server;
  private target: Target | null = null;
  private broken: Broken | null = null;
  /** Changes with every new target or broken state; the error page polls it. */
  private state = 0;
  /** Requests that came before the first build was ready. */
  private waiting: (() => void)[] = [];

  constructor() {
    this.server = http.createServer((req, res) => this.handle(req, res));
    // An idle client connection may stay open as long as the client likes within Node's
    // default keep-alive; a swap does not close it.
    this.server.on("clientError", (_err, socket: net.Socket) => socket.destroy());
  }

  /** Listens on host:port; resolves with the bound port. */
  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once("error", (err: NodeJS.ErrnoException) => {
        if (err.code === "EADDRINUSE") reject(new ArenaError("ARENA_E_LISTEN", `port ${port} on ${host} is already in use`, "stop the other server or pick another --port"));
        else reject(new ArenaError("ARENA_E_LISTEN", `cannot listen on ${host}:${port}: ${err.message}`));
      });
      this.server.listen(port, host, () => resolve((this.server.address() as net.AddressInfo).port));
    });
  }

  /** New requests go to `target` from now on. */
  serve(target: Target): void {
    this.target = target;
    this.broken = null;
    this.changed();
  }

  /** New requests get the error page from now on. */
  fail(broken: Broken): void {
    this.target = null;
    this.broken = broken;
    this.changed();
  }

  private changed(): void {
    this.state++;
    const waiting = this.waiting;
    this.waiting = [];
    for (const retry of waiting) retry();
  }

  /** Stops listening and closes every client connection. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
      for (const retry of this.waiting) retry();
      this.waiting = [];
    });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.url === STATE_PATH) {
      res.writeHead(200, { "Content-Type": "text/plain", "Cache-Control": "no-store" });
      res.end(String(this.state));
      return;
    }
    if (this.broken !== null) {
      this.page(req, res, 500, this.broken);
    } else if (this.target !== null) {
      this.forward(req, res, this.target);
    } else if (this.server.listening) {
      this.waiting.push(() => this.handle(req, res));
    } else {
      res.destroy();
    }
  }

  private page(req: http.IncomingMessage, res: http.ServerResponse, status: number, broken: Broken): void {
    req.resume();
    const body = errorPage(broken, this.state);
    res.writeHead(status, {
      "Content-Type": "text/html; charset=utf-8",
      "Content-Length": Buffer.byteLength(body),
      "Cache-Control": "no-store",
      Connection: "close",
    });
    res.end(req.method === "HEAD" ? undefined : body);
  }

  /** Sends the request to `target` on a connection of its own and streams the answer back. */
  private forward(req: http.IncomingMessage, res: http.ServerResponse, target: Target): void {
    target.inflight++;
    let done = false;
    const finished = () => {
      if (done) return;
      done = true;
      if (--target.inflight === 0) target.onIdle?.();
    };
    const upstream = http.request({
      host: "127.0.0.1", port: target.port, method: req.method, path: req.url,
      headers: endToEnd(req.rawHeaders), setHost: false, agent: false,
    });
    upstream.on("response", (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, endToEnd(answer.rawHeaders));
      answer.pipe(res);
    });
    upstream.on("error", (err) => {
      if (res.headersSent) res.destroy();
      else this.page(req, res, 502, { title: "the app's server did not answer", text: `${err.message}\n` });
    });
    // 'close' comes when the child's connection is closed: answered, failed or aborted.
    upstream.on("close", finished);
    res.on("close", () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  }
}
