// The app test harness behind `arena/testing`: startApp builds an app (cached by content,
// testing/build_cache.ts) or loads a .wasm, serves it with the host's ArenaServer on
// 127.0.0.1 at a port the system picks, and sends it requests over node:http. Every
// response carries the arena peak of its request, reported by the server's onRequestDone
// hook and matched to the request by a header the harness adds (x-arena-test).

import fs from "node:fs";
import http from "node:http";
import { fileURLToPath } from "node:url";
import { ArenaError, ArenaPeaks, ArenaServer, MemoryLogger, parseSize, type RequestDone, type RoutePeak, type ServerOptions } from "../host/index.ts";
import { buildCached } from "./build_cache.ts";

/** The request header that ties a response to the server's report of its request. */
export const TEST_REQUEST_HEADER = "x-arena-test";

/** How `startApp` builds and serves the app. Sizes are bytes or text as the CLI takes it
 *  (`"256KiB"`). `startApp("app.ts", { arenaBytes: "256KiB", env: { GREETING: "hi" } })` */
export interface StartOptions {
  /** Bytes per request, what `--arena-bytes` sets: 1 MiB, as `arena serve`. */
  arenaBytes?: number | string;
  /** The heap region, what `--heap-bytes` sets: 16 MiB, as `arena serve`. */
  heapBytes?: number | string;
  /** Requests in flight at once: 16 (a test needs few; `arena serve` has 256). */
  slots?: number;
  /** Environment variables the app reads with `env()`: set in process.env from start until
   *  `close()`, then restored (apps in one process share it: give them the same values). */
  env?: Record<string, string>;
  /** Build a .ts with `--check` (the default, true): a request that stores one of its
   *  objects into a start-up or heap object or a module-level variable is stopped with 500
   *  ARENA_E_CHECK naming the field, where the plain build would leave a dangling reference
   *  that breaks a later request. Tests are where that should show. arenaBytes is the
   *  same in both builds, within a few dozen bytes. Ignored for a .wasm. */
  check?: boolean;
  /** Any other server option (`cpuBudgetMs`, `deadlineMs`, `bodyBytesMax`, `log`…). */
  server?: ServerOptions;
}

/** A request's options. `app.request("POST", "/notes", { headers: { "content-type": "application/json" }, body: '{"title":"a"}' })` */
export interface RequestOptions {
  headers?: Record<string, string>;
  /** Sent with its Content-Length; a string as UTF-8. */
  body?: string | Uint8Array;
}

/** The response to one request, read whole.
 *  `const res = await app.request("GET", "/"); assert.equal(res.status, 200); assert.match(res.text(), /Welcome/);` */
export class TestResponse {
  /** The status code. */
  readonly status: number;
  /** The response headers (`res.headers.get("location")`; `getSetCookie()` for cookies). */
  readonly headers: Headers;
  /** The body as bytes (empty for HEAD, 204 and 304). */
  readonly bytes: Uint8Array;
  /** Bytes of its arena the request used: the request as the host wrote it plus everything
   *  the handler allocated (the arena never frees, so this is its peak); 0 when the request
   *  never reached the app (a 400 or 413 of the host). */
  readonly arenaBytes: number;
  /** The route pattern that handled it ("/notes/:id"), or null (none matched). */
  readonly route: string | null;
  private readonly what: string;

  constructor(what: string, status: number, headers: Headers, bytes: Uint8Array, done: RequestDone | undefined) {
    this.what = what;
    this.status = status;
    this.headers = headers;
    this.bytes = bytes;
    this.arenaBytes = done?.arenaBytes ?? 0;
    this.route = done?.route ?? null;
  }

  /** The body decoded as UTF-8. `assert.equal(res.text(), "hello\n")` */
  text(): string {
    return new TextDecoder().decode(this.bytes);
  }

  /** The body parsed as JSON; throws, with the body's start, when it is not JSON.
   *  `assert.equal(res.json().title, "a")` */
  json<T = any>(): T {
    const text = this.text();
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new Error(`${this.what}: the body of the ${this.status} response is not JSON: ${JSON.stringify(text.slice(0, 200))}`);
    }
  }
}

/** Each route's arena use so far, and the --arena-bytes it suggests (the rule of
 *  `arena profile`). `console.log(app.memoryReport().text)` */
export interface MemoryReport {
  /** Per route ("GET /notes/:id"): requests, statuses, peakBytes, largestBody, suggestedBytes. */
  routes: RoutePeak[];
  /** The --arena-bytes that serves every route seen, in bytes. */
  suggestedArenaBytes: number;
  /** The same as a table, as `arena profile` prints it. */
  text: string;
}

/** An app served for a test. `const app = await startApp("app.ts"); … await app.close();` */
export interface TestApp {
  /** The port it listens on, on 127.0.0.1. */
  readonly port: number;
  /** `http://127.0.0.1:<port>`, for other clients (fetch, a browser). */
  readonly url: string;
  /** The host's server, for what the harness does not cover (`server.stats()`). */
  readonly server: ArenaServer;
  /** The server's log lines (errors with their code, the app's log lines), unless
   *  `server.log` was given. `assert.ok(app.logs.some((l) => l.includes("ARENA_E_TRAP")))` */
  readonly logs: string[];
  /** Sends one request and reads the whole response. Requests may run concurrently.
   *  `const res = await app.request("DELETE", "/api/notes/1"); assert.equal(res.status, 204);` */
  request(method: string, path: string, options?: RequestOptions): Promise<TestResponse>;
  /** Per route, the requests served so far and their arena peak. `app.memoryReport().routes` */
  memoryReport(): MemoryReport;
  /** Stops the server (in-flight requests finish) and restores the environment.
   *  `after(() => app.close());` */
  close(): Promise<void>;
}

function size(value: number | string | undefined, what: string): number | undefined {
  return typeof value === "string" ? parseSize(what, value) : value;
}

/** Errors come out as the CLI prints them: one line, `arena: CODE: what (what to do)`. */
function asLine(err: unknown): unknown {
  return err instanceof ArenaError ? new Error(err.line(), { cause: err }) : err;
}

/** The app's wasm: built from a .ts, read from a .wasm (the messages of `arena serve`). */
async function loadWasm(file: string, check: boolean): Promise<Uint8Array> {
  if (!file.endsWith(".wasm")) return buildCached(file, check);
  try {
    return fs.readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ArenaError("ARENA_E_WASM", code === "ENOENT" ? `${file} does not exist` : `cannot read ${file}: ${(err as Error).message}`,
      "build it first with `npm run arena -- build <app.ts>`");
  }
}

/** Sets `env` in process.env; returns what puts it back. */
function applyEnv(env: Record<string, string>): () => void {
  const saved = new Map<string, string | undefined>();
  for (const [k, v] of Object.entries(env)) {
    saved.set(k, process.env[k]);
    process.env[k] = v;
  }
  return () => {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

/**
 * Builds the app (a .ts, check build by default, cached by content in `.arena/build/`
 * beside it) or loads a built .wasm, and serves it on 127.0.0.1 at a free port. A path is
 * taken from the working directory; pass `new URL("./app.ts", import.meta.url)` to name
 * it from the test file. Throws an Error with the CLI's one-line message when the app does
 * not compile or does not start.
 *
 * ```ts
 * import { it, after } from "node:test";
 * import assert from "node:assert/strict";
 * import { startApp } from "arena/testing";
 *
 * const app = await startApp("app.ts");
 * after(() => app.close());
 * it("greets", async () => {
 *   const res = await app.request("GET", "/hi/Ada");
 *   assert.equal(res.status, 200);
 *   assert.equal(res.text(), "Hi, Ada\n");
 *   assert.ok(res.arenaBytes < 16 * 1024);
 * });
 * ```
 */
export async function startApp(app: string | URL, options: StartOptions = {}): Promise<TestApp> {
  const file = typeof app === "string" ? app : fileURLToPath(app);
  const restoreEnv = applyEnv(options.env ?? {});
  try {
    const wasm = await loadWasm(file, options.check ?? true);
    const peaks = new ArenaPeaks();
    const reports = new Map<string, RequestDone>();
    const log = new MemoryLogger();
    const server = await ArenaServer.create(wasm, file, {
      slots: 16, log, memoryReport: false, ...options.server,
      slotBytes: size(options.arenaBytes, "arenaBytes") ?? options.server?.slotBytes,
      heapBytes: size(options.heapBytes, "heapBytes") ?? options.server?.heapBytes,
      ...(options.slots !== undefined ? { slots: options.slots } : {}),
      onRequestDone: (info) => {
        peaks.add(info);
        const tag = info.header(TEST_REQUEST_HEADER);
        if (tag !== null) reports.set(tag, info);
        options.server?.onRequestDone?.(info);
      },
    });
    const port = await server.listen(0, "127.0.0.1");
    return new ServedApp(server, port, log, peaks, reports, restoreEnv);
  } catch (err) {
    restoreEnv();
    throw asLine(err);
  }
}

class ServedApp implements TestApp {
  readonly server: ArenaServer;
  readonly port: number;
  readonly url: string;
  private readonly log: MemoryLogger;
  private readonly peaks: ArenaPeaks;
  /** The server's reports of the harness's requests in flight, by their header's value. */
  private readonly reports: Map<string, RequestDone>;
  private readonly restoreEnv: () => void;
  private readonly agent = new http.Agent({ keepAlive: true });
  private sent = 0;
  private closing: Promise<void> | null = null;

  constructor(server: ArenaServer, port: number, log: MemoryLogger, peaks: ArenaPeaks, reports: Map<string, RequestDone>, restoreEnv: () => void) {
    this.server = server;
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
    this.log = log;
    this.peaks = peaks;
    this.reports = reports;
    this.restoreEnv = restoreEnv;
  }

  get logs(): string[] {
    return this.log.lines;
  }

  request(method: string, path: string, options: RequestOptions = {}): Promise<TestResponse> {
    if (!path.startsWith("/")) return Promise.reject(new Error(`request path must start with "/", got ${JSON.stringify(path)}`));
    const tag = String(++this.sent);
    const what = `${method} ${path}`;
    return new Promise<TestResponse>((resolve, reject) => {
      const fail = (err: Error) => {
        this.reports.delete(tag);
        reject(new Error(`${what}: ${err.message}`, { cause: err }));
      };
      const req = http.request({ host: "127.0.0.1", port: this.port, method, path, agent: this.agent,
        headers: { ...options.headers, [TEST_REQUEST_HEADER]: tag } }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", fail);
        res.on("end", () => {
          const headers = new Headers();
          for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) headers.append(res.rawHeaders[i], res.rawHeaders[i + 1]);
          const done = this.reports.get(tag);
          this.reports.delete(tag);
          resolve(new TestResponse(what, res.statusCode ?? 0, headers, new Uint8Array(Buffer.concat(chunks)), done));
        });
      });
      req.on("error", fail);
      req.end(options.body === undefined ? undefined : typeof options.body === "string" ? options.body : Buffer.from(options.body));
    });
  }

  memoryReport(): MemoryReport {
    return { routes: this.peaks.routes(), suggestedArenaBytes: this.peaks.suggestion(), text: this.peaks.table().join("\n") };
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.agent.destroy();
      await this.server.close();
      this.restoreEnv();
    })();
    return this.closing;
  }
}
