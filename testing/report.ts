// `arena profile`: runs a file of requests against an app and prints each route's peak
// arena use and the --arena-bytes it suggests (the rule is in host/memory/arena_peaks.ts,
// the same table a check build's server logs when it closes).
//
// The requests file, one request per line, run in order, one at a time:
//
//   # a comment; blank lines are skipped
//   GET /
//   GET /hello/Ada?times=2
//   POST /echo some text          the rest of the line is the body
//   POST /api/notes @note.json    @file: the body is that file's bytes (from the requests file's folder)
//   POST /notes title=Milk
//     content-type: application/x-www-form-urlencoded     an indented line: a header of the request above
//
// A body gets `content-type: application/json` when it parses as JSON and
// `text/plain; charset=utf-8` otherwise, unless a header line sets one. Or the file is a
// JSON list: [{"method": "POST", "path": "/api/notes", "headers": {…}, "body": "…"}], with
// "bodyFile" in place of "body" for a file's bytes.

import fs from "node:fs";
import path from "node:path";
import { ArenaError, parseSize, sizeFlag } from "../host/index.ts";
import { startApp, type TestApp } from "./app.ts";

/** One request of a requests file. */
export interface ProfileRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Uint8Array;
  /** Where it was written, for messages: "requests.txt:3". */
  where: string;
}

const USAGE = `arena profile <app.ts|app.wasm> <requests-file> [--arena-bytes SIZE] [--heap-bytes SIZE] [--check]
  Runs the requests in order and prints, per route, the requests, statuses, the peak arena
  use and the --arena-bytes it suggests. The app runs with --arena-bytes 1MiB unless told.
  --check   profile the check build (the plain build is what \`arena serve\` runs; the
            figures agree within a few dozen bytes)
  Requests file: one request a line, \`METHOD /path [body | @body-file]\`, an indented
  \`Name: value\` line adds a header to the request above, # starts a comment; or a JSON
  list of {"method", "path", "headers"?, "body"? | "bodyFile"?}.`;

function usage(detail: string): ArenaError {
  return new ArenaError("ARENA_E_USAGE", detail, "see arena profile --help");
}

function withContentType(headers: Record<string, string>, body: Uint8Array | undefined): Record<string, string> {
  if (body === undefined || Object.keys(headers).some((k) => k.toLowerCase() === "content-type")) return headers;
  let json = true;
  try {
    JSON.parse(new TextDecoder().decode(body));
  } catch {
    json = false;
  }
  return { ...headers, "content-type": json ? "application/json" : "text/plain; charset=utf-8" };
}

function readBody(dir: string, file: string, where: string): Uint8Array {
  try {
    return fs.readFileSync(path.resolve(dir, file));
  } catch (err) {
    throw usage(`${where}: cannot read the body file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** The requests of a text requests file (`text`, from `file`). */
function parseLines(text: string, file: string): ProfileRequest[] {
  const out: ProfileRequest[] = [];
  const dir = path.dirname(file);
  text.split(/\r?\n/).forEach((line, i) => {
    const where = `${file}:${i + 1}`;
    if (line.trim() === "" || line.trimStart().startsWith("#")) return;
    if (/^\s/.test(line)) {
      const m = /^\s+([^\s:]+):\s*(.*)$/.exec(line);
      if (m === null || out.length === 0) throw usage(`${where}: an indented line is a header of the request above, "Name: value"`);
      out[out.length - 1].headers[m[1]] = m[2];
      return;
    }
    const m = /^([A-Z]+) (\/\S*)(?: (.*))?$/.exec(line);
    if (m === null) throw usage(`${where}: expected "METHOD /path [body | @file]", got ${JSON.stringify(line.slice(0, 80))}`);
    const rest = m[3];
    const body = rest === undefined ? undefined : rest.startsWith("@") ? readBody(dir, rest.slice(1), where) : new TextEncoder().encode(rest);
    out.push({ method: m[1], path: m[2], headers: {}, body, where });
  });
  return out;
}

/** The requests of a JSON requests file. */
function parseJson(text: string, file: string): ProfileRequest[] {
  let list: unknown;
  try {
    list = JSON.parse(text);
  } catch (err) {
    throw usage(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(list)) throw usage(`${file}: expected a JSON list of requests`);
  return list.map((r: Record<string, unknown>, i) => {
    const where = `${file}[${i}]`;
    if (typeof r?.method !== "string" || typeof r.path !== "string" || !r.path.startsWith("/")) {
      throw usage(`${where}: a request needs "method" and a "path" that starts with /`);
    }
    const body = typeof r.body === "string" ? new TextEncoder().encode(r.body)
      : typeof r.bodyFile === "string" ? readBody(path.dirname(file), r.bodyFile, where) : undefined;
    return { method: r.method, path: r.path, headers: { ...(r.headers as Record<string, string> | undefined) }, body, where };
  });
}

/** Reads a requests file: a JSON list when it starts with `[`, lines otherwise (the format
 *  is described at the top of this file). Throws ARENA_E_USAGE naming the line at fault.
 *  `readRequests("requests.txt")` → `[{ method: "GET", path: "/", headers: {}, where: "requests.txt:1" }, …]` */
export function readRequests(file: string): ProfileRequest[] {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw usage(`cannot read the requests file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const list = text.trimStart().startsWith("[") ? parseJson(text, file) : parseLines(text, file);
  if (list.length === 0) throw usage(`${file} holds no requests`);
  return list.map((r) => ({ ...r, headers: withContentType(r.headers, r.body) }));
}

interface ProfileArgs {
  app: string;
  requests: string;
  arenaBytes?: number;
  heapBytes?: number;
  check: boolean;
}

function parseProfileArgs(argv: string[]): ProfileArgs | null {
  const positional: string[] = [];
  const sizes: Record<string, number> = {};
  let check = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--help" || a === "-h") return null;
    if (a === "--check") {
      check = true;
    } else if (a.startsWith("--arena-bytes") || a.startsWith("--heap-bytes")) {
      const [flag, inline] = a.split("=", 2);
      const value = inline ?? argv[++i];
      if (value === undefined) throw usage(`${flag} needs a value`);
      sizes[flag] = parseSize(flag, value);
    } else if (a.startsWith("-")) {
      throw usage(`unknown option ${a}`);
    } else {
      positional.push(a);
    }
  }
  if (positional.length !== 2) throw usage("profile takes an app (.ts or .wasm) and a requests file");
  return { app: positional[0], requests: positional[1], arenaBytes: sizes["--arena-bytes"], heapBytes: sizes["--heap-bytes"], check };
}

/** Where profileCommand writes; the process's streams by default. */
export interface ProfileOutput {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

async function runRequests(app: TestApp, list: ProfileRequest[], out: ProfileOutput): Promise<void> {
  for (const r of list) {
    const res = await app.request(r.method, r.path, { headers: r.headers, body: r.body });
    if (res.status >= 500) out.stderr.write(`${r.where}: ${r.method} ${r.path} answered ${res.status}: ${res.text().trim().slice(0, 300)}\n`);
  }
}

/**
 * `arena profile <app.ts|app.wasm> <requests-file> [--arena-bytes SIZE] [--heap-bytes SIZE]
 * [--check]`: runs the requests and prints the per-route table of arena peaks with the
 * --arena-bytes each suggests. Returns the exit code: 0, or 1 after one line
 * `arena: CODE: …` on stderr (the app does not build or start, a bad requests file).
 * `process.exitCode = await profileCommand(["app.ts", "requests.txt"]);`
 */
export async function profileCommand(argv: string[], out: ProfileOutput = process): Promise<number> {
  try {
    const args = parseProfileArgs(argv);
    if (args === null) {
      out.stdout.write(`${USAGE}\n`);
      return 0;
    }
    const list = readRequests(args.requests);
    const arenaBytes = args.arenaBytes ?? 1024 * 1024;
    const app = await startApp(args.app, { check: args.check, arenaBytes, heapBytes: args.heapBytes, slots: 4 });
    try {
      await runRequests(app, list, out);
    } finally {
      await app.close();
    }
    const report = app.memoryReport();
    out.stdout.write(`arena profile: ${list.length} request(s) to ${args.app} (${args.check ? "check" : "plain"} build, ` +
      `--arena-bytes ${sizeFlag(arenaBytes)})\n${report.text}\n`);
    return 0;
  } catch (err) {
    const line = err instanceof ArenaError ? err.line() : (err as Error).message;
    out.stderr.write(`${line.startsWith("arena: ") ? line : `arena: ${line}`}\n`);
    return 1;
  }
}
