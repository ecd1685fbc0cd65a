// The admin listener: a small node:http server beside the app's port (--admin-port, on
// 127.0.0.1 unless --admin-host says otherwise) for the platform that runs Arena, not for
// its clients. Admin traffic is a scrape every few seconds and a probe or two, so it uses
// node:http, not the host's own HTTP server, and runs in the primary, never in a worker.
//
//   GET  /metrics   the metrics (OpenMetrics, or Prometheus text for an Accept of text/plain)
//   GET  /healthz   200 "ok" while the process is live, else 503
//   GET  /readyz    200 "ready" while it serves, 503 while it starts or drains
//   POST /reload    loads the app's file again; only from a loopback client (else 403)
//
// Anything else is 404, or 405 for a known path with another method, with a JSON body.

import http from "node:http";
import { ArenaError, reasonPhrase } from "../errors.ts";
import type { Logger } from "../log.ts";
import { METRICS_CONTENT_TYPES, metricsFormat, type MetricsFormat } from "./exposition.ts";

export interface AdminHandlers {
  /** The metrics text in `format` (Metrics.render). */
  metrics(format: MetricsFormat): string;
  /** The process is live: false only when it should be restarted. */
  live(): boolean;
  /** The server serves: false while it starts or drains. */
  ready(): boolean;
  /** Reloads the app; `line` is what happened, the ARENA_E_RELOAD line when not ok. */
  reload(): Promise<{ ok: boolean; line: string }>;
}

export interface Admin {
  /** The port it listens on (the one bound for port 0). */
  readonly port: number;
  /** Stops listening and closes its connections. */
  close(): Promise<void>;
}

/** The methods each path answers. */
const ROUTES: Record<string, string> = { "/metrics": "GET, HEAD", "/healthz": "GET, HEAD", "/readyz": "GET, HEAD", "/reload": "POST" };

/** Whether `addr` (a socket's remoteAddress) is this machine: 127.0.0.0/8, ::1, or either
 *  as an IPv4-mapped IPv6 address. */
export function isLoopback(addr: string | undefined): boolean {
  if (addr === undefined) return false;
  const v4 = addr.startsWith("::ffff:") ? addr.slice(7) : addr;
  return v4.startsWith("127.") || addr === "::1";
}

function send(res: http.ServerResponse, status: number, type: string, body: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { "Content-Type": type, "Content-Length": Buffer.byteLength(body), "Cache-Control": "no-store", ...extra });
  res.end(res.req.method === "HEAD" ? undefined : body);
}

/** An error answer, with the JSON body shape of the host's own errors (no code: these are
 *  not ArenaErrors). */
function sendError(res: http.ServerResponse, status: number, message: string, extra: Record<string, string> = {}): void {
  const body = JSON.stringify({ statusCode: status, error: reasonPhrase(status), message }) + "\n";
  send(res, status, "application/json; charset=utf-8", body, extra);
}

function sendText(res: http.ServerResponse, status: number, text: string): void {
  send(res, status, "text/plain; charset=utf-8", `${text}\n`);
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse, h: AdminHandlers, log: Logger): Promise<void> {
  req.resume(); // a body is never read: drain it so the connection can be reused
  const path = (req.url ?? "/").split("?")[0];
  const allowed = ROUTES[path];
  if (allowed === undefined) return sendError(res, 404, `no admin endpoint ${path}; there are ${Object.keys(ROUTES).join(", ")}`);
  if (!allowed.split(", ").includes(req.method ?? "")) return sendError(res, 405, `${path} answers ${allowed}`, { Allow: allowed });
  if (path === "/metrics") {
    const text = h.metrics(metricsFormat(req.headers.accept));
    // The type follows the text (OpenMetrics ends with "# EOF"), so the two always agree.
    return send(res, 200, METRICS_CONTENT_TYPES[text.endsWith("# EOF\n") ? "openmetrics" : "prometheus"], text);
  }
  if (path === "/healthz") return h.live() ? sendText(res, 200, "ok") : sendText(res, 503, "not live");
  if (path === "/readyz") return h.ready() ? sendText(res, 200, "ready") : sendText(res, 503, "not ready");
  if (!isLoopback(req.socket.remoteAddress)) {
    log.info(`admin: refused POST /reload from ${req.socket.remoteAddress ?? "?"}: reloads are taken from this machine only`);
    return sendError(res, 403, "reloads are taken from this machine only (a loopback client)");
  }
  let result: { ok: boolean; line: string };
  try {
    result = await h.reload();
  } catch (err) {
    const e = err instanceof ArenaError ? err : new ArenaError("ARENA_E_RELOAD", `the reload failed: ${(err as Error)?.message ?? err}`);
    log.error("ARENA_E_RELOAD", e.message);
    result = { ok: false, line: e.line() };
  }
  sendText(res, result.ok ? 200 : 500, result.line);
}

/** The ARENA_E_LISTEN error for the admin listener's `err`. */
function listenError(err: NodeJS.ErrnoException, port: number, host: string): ArenaError {
  if (err.code === "EADDRINUSE") return new ArenaError("ARENA_E_LISTEN", `admin port ${port} on ${host} is already in use`, "pick another --admin-port");
  if (err.code === "EACCES") return new ArenaError("ARENA_E_LISTEN", `no permission to listen on ${host}:${port} for the admin listener`, "use an --admin-port above 1023");
  if (err.code === "EADDRNOTAVAIL" || err.code === "ENOTFOUND") {
    return new ArenaError("ARENA_E_LISTEN", `admin address ${host} is not available on this machine`, "use --admin-host 127.0.0.1");
  }
  return new ArenaError("ARENA_E_LISTEN", `cannot listen on ${host}:${port} for the admin listener: ${err.message}`);
}

/** Starts the admin listener on host:port; rejects with ArenaError ARENA_E_LISTEN. */
export async function startAdmin(host: string, port: number, handlers: AdminHandlers, log: Logger): Promise<Admin> {
  const server = http.createServer((req, res) => {
    handle(req, res, handlers, log).catch((err) => {
      // A handler threw (metrics, live, ready): answer 500 rather than leave the probe hanging.
      log.info(`admin: ${req.method} ${req.url} failed: ${(err as Error)?.stack ?? err}`);
      if (!res.headersSent) sendError(res, 500, "the admin endpoint failed; the log says why");
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) => reject(listenError(err as NodeJS.ErrnoException, port, host)));
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as import("node:net").AddressInfo).port;
  let closed: Promise<void> | null = null;
  return {
    port: bound,
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
