// The catalogue's upstream: a small JSON API over data/products.json. It stands in for an
// external service the Arena catalogue app fetches from, so it is plain node:http.
//
//   node examples/catalog/upstream.ts [--port N] [--host H] [--data FILE]
//   # upstream listening on http://127.0.0.1:N
//
// Endpoints (JSON, content-type: application/json; charset=utf-8):
//   GET /products?q=&skip=0&limit=20   {"products":[…],"total":N,"skip":S,"limit":L}
//       q: case-insensitive substring of title, brand, category or a tag; products come
//       without reviews; limit 1..200 (default 20), 0 = all; total counts all matches.
//   GET /products/:id                  the product without its reviews
//   GET /products/:id/reviews          {"productId":id,"reviews":[…]}
//   GET /health                        {"ok":true}
// 400 {"message"} for a bad skip/limit/delay, 404 {"message"} for unknown products and
// paths, 405 (with Allow) for methods other than GET/HEAD. Any endpoint takes `delay=ms`
// (0..30000) to answer late, which tests use to simulate a slow upstream.

import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const DEFAULT_DATA_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), "data", "products.json");
export const MAX_LIMIT = 200;
export const DEFAULT_LIMIT = 20;
export const MAX_DELAY_MS = 30000;

export interface Upstream {
  port: number;
  url: string;
  close(): Promise<void>;
}

interface Entry {
  id: number;
  /** The product without reviews, serialized. */
  json: string;
  /** Lower-cased title, brand, category and tags, separated by newlines. */
  haystack: string;
  /** The /products/:id/reviews body. */
  reviews: Buffer;
  /** The /products/:id body. */
  detail: Buffer;
}

function loadEntries(dataFile: string): Entry[] {
  const products = JSON.parse(fs.readFileSync(dataFile, "utf8")) as Record<string, unknown>[];
  if (!Array.isArray(products)) throw new Error(`${dataFile}: expected a JSON array of products`);
  return products.map((p) => {
    const { reviews, ...rest } = p;
    const json = JSON.stringify(rest);
    const tags = Array.isArray(rest.tags) ? (rest.tags as string[]) : [];
    return {
      id: Number(rest.id),
      json,
      haystack: [rest.title, rest.brand, rest.category, ...tags].map((s) => String(s).toLowerCase()).join("\n"),
      reviews: Buffer.from(JSON.stringify({ productId: Number(rest.id), reviews: reviews ?? [] })),
      detail: Buffer.from(json),
    };
  });
}

class HttpError extends Error {
  status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** A non-negative integer from a query parameter, or the default when absent. */
function intParam(params: URLSearchParams, name: string, def: number, max: number): number {
  const raw = params.get(name);
  if (raw === null || raw === "") return def;
  if (!/^\d{1,9}$/.test(raw) || Number(raw) > max) {
    throw new HttpError(400, `${name} must be an integer from 0 to ${max}, got ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}

export async function startUpstream(options: { port?: number; host?: string; dataFile?: string } = {}): Promise<Upstream> {
  const host = options.host ?? "127.0.0.1";
  const entries = loadEntries(options.dataFile ?? DEFAULT_DATA_FILE);
  const byId = new Map(entries.map((e) => [e.id, e]));
  const health = Buffer.from('{"ok":true}');
  const timers = new Set<NodeJS.Timeout>();

  function list(params: URLSearchParams): Buffer {
    const skip = intParam(params, "skip", 0, Number.MAX_SAFE_INTEGER);
    const limit = intParam(params, "limit", DEFAULT_LIMIT, MAX_LIMIT);
    const q = (params.get("q") ?? "").trim().toLowerCase();
    const matches = q === "" ? entries : entries.filter((e) => e.haystack.includes(q));
    const page = matches.slice(skip, limit === 0 ? undefined : skip + limit);
    return Buffer.from(`{"products":[${page.map((e) => e.json).join(",")}],"total":${matches.length},"skip":${skip},"limit":${limit}}`);
  }

  function product(idText: string): Entry {
    const e = /^\d{1,9}$/.test(idText) ? byId.get(Number(idText)) : undefined;
    if (!e) throw new HttpError(404, `Product ${idText} not found`);
    return e;
  }

  function route(pathname: string, params: URLSearchParams): Buffer {
    if (pathname === "/health") return health;
    if (pathname === "/products") return list(params);
    const m = /^\/products\/([^/]+)(\/reviews)?$/.exec(pathname);
    if (m) {
      const e = product(decodeURIComponent(m[1]));
      return m[2] ? e.reviews : e.detail;
    }
    throw new HttpError(404, `Not found: ${pathname}`);
  }

  const server = http.createServer((req, res) => {
    let status = 200;
    let body: Buffer;
    let delay = 0;
    const headers: Record<string, string> = { "content-type": "application/json; charset=utf-8" };
    try {
      const url = new URL(req.url ?? "/", "http://upstream.invalid");
      delay = intParam(url.searchParams, "delay", 0, MAX_DELAY_MS);
      if (req.method !== "GET" && req.method !== "HEAD") {
        headers.allow = "GET, HEAD";
        throw new HttpError(405, `Method ${req.method} not allowed; use GET`);
      }
      body = route(url.pathname, url.searchParams);
    } catch (err) {
      status = err instanceof HttpError ? err.status : 400;
      const message = err instanceof HttpError ? err.message : `Bad request: ${(err as Error).message}`;
      body = Buffer.from(JSON.stringify({ message }));
    }
    headers["content-length"] = String(body.length);
    const send = () => {
      if (res.destroyed) return;
      res.writeHead(status, headers);
      res.end(body);
    };
    if (delay === 0) return send();
    const t = setTimeout(() => {
      timers.delete(t);
      send();
    }, delay);
    timers.add(t);
    res.on("close", () => {
      clearTimeout(t);
      timers.delete(t);
    });
  });
  server.keepAliveTimeout = 5000;

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once("error", onError);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", onError);
      resolve();
    });
  });
  const port = (server.address() as { port: number }).port;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  let closing: Promise<void> | null = null;
  return {
    port,
    url: `http://${urlHost}:${port}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function usage(): never {
  console.error("usage: node examples/catalog/upstream.ts [--port N] [--host H] [--data FILE]");
  process.exit(2);
}

async function main(argv: string[]): Promise<void> {
  const options: { port?: number; host?: string; dataFile?: string } = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.startsWith("--") && arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const value = () => inline ?? argv[++i] ?? usage();
    if (flag === "--port") {
      const v = value();
      if (!/^\d{1,5}$/.test(v) || Number(v) > 65535) {
        console.error(`upstream: --port must be a number from 0 to 65535, got ${JSON.stringify(v)}`);
        process.exit(2);
      }
      options.port = Number(v);
    } else if (flag === "--host") options.host = value();
    else if (flag === "--data") options.dataFile = value();
    else if (flag === "--help" || flag === "-h") {
      console.log("usage: node examples/catalog/upstream.ts [--port N] [--host H] [--data FILE]");
      return;
    } else usage();
  }
  let upstream: Upstream;
  try {
    upstream = await startUpstream(options);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const where = `${options.host ?? "127.0.0.1"}:${options.port ?? 0}`;
    const msg = e.code === "EADDRINUSE" ? `port ${options.port} is already in use (${where})`
      : e.code === "EACCES" ? `no permission to listen on ${where}`
      : e.code === "EADDRNOTAVAIL" || e.code === "ENOTFOUND" ? `cannot listen on ${where}: address not available`
      : e.code === "ENOENT" ? `data file not found: ${e.path ?? options.dataFile}`
      : e.message.split("\n")[0];
    console.error(`upstream: ${msg}`);
    process.exit(1);
  }
  console.log(`upstream listening on ${upstream.url}`);
  const stop = () => {
    upstream.close().then(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main(process.argv.slice(2));
}
