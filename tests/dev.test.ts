// `arena dev` (cli/dev.ts) as a user runs it, on an app in a temp folder: an edit is served
// by the next requests, a request in flight when the build is swapped still gets its answer,
// keep-alive clients see no failed request across swaps, a compile error is the page (500,
// the compiler's message) and one report in the terminal until it is fixed, and SIGINT
// stops the dev server and every child it started.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT } from "./helpers.ts";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "arena-dev-test-"));
const APP = path.join(tmp, "app.ts");
// devCommand run as cli/arena.ts would run it, without depending on that file's wiring.
const ENTRY = `import { devCommand } from ${JSON.stringify(pathToFileURL(path.join(ROOT, "cli/dev.ts")).href)};
process.exitCode = await devCommand(process.argv.slice(1));`;
/** Bound on one build and swap while the suite runs other files alongside. */
const SWAP_WITHIN_MS = 60_000;

function source(version: string, broken = ""): string {
  return `import { Router, Request, Response, serve, sleep } from "arena";
function home(req: Request): Response { return Response.text("${version}\\n"); }
function slow(req: Request): Response { sleep(1500); return Response.text("slow ${version}\\n"); }
function echo(req: Request): Response { return Response.bytes(req.body, "application/octet-stream").header("x-version", "${version}"); }
${broken}
const app = new Router();
app.get("/", home);
app.get("/slow", slow);
app.post("/echo", echo);
serve(app);
`;
}

let dev: ChildProcess;
let output = "";
let base = "";
const seenPids = new Set<number>();

async function waitFor<T>(what: string, ms: number, probe: () => Promise<T | null> | T | null): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== null) return v;
    if (Date.now() > end) assert.fail(`${what}: not within ${ms} ms; output so far:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The PIDs of the dev server's child processes (Linux's /proc), noted for the last test. */
function childPids(): number[] {
  const pids: number[] = [];
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${name}/stat`, "utf8");
    } catch {
      continue; // it ended meanwhile
    }
    // pid (comm) state ppid …: comm may hold spaces, so read after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (ppid === dev.pid) pids.push(Number(name));
  }
  for (const p of pids) seenPids.add(p);
  return pids;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function get(p: string): Promise<{ status: number; body: string; headers: Headers }> {
  const r = await fetch(base + p);
  return { status: r.status, body: await r.text(), headers: r.headers };
}

/** Writes version `v` and waits until a request is answered by it; the ms that took. */
async function swapTo(v: string): Promise<number> {
  const t0 = performance.now();
  fs.writeFileSync(APP, source(v));
  await waitFor(`${v} served`, SWAP_WITHIN_MS, async () => ((await get("/")).body === `${v}\n` ? true : null));
  return Math.round(performance.now() - t0);
}

before(async () => {
  fs.writeFileSync(APP, source("v1"));
  dev = spawn(process.execPath, ["--input-type=module", "-e", ENTRY, "--", APP, "--port", "0", "--slots", "16", "--arena-bytes", "256KiB"], {
    cwd: tmp, stdio: ["ignore", "pipe", "pipe"],
  });
  dev.stdout!.on("data", (d) => (output += d));
  dev.stderr!.on("data", (d) => (output += d));
  const port = await waitFor("the serving line", 120_000, () => /serving on http:\/\/127\.0\.0\.1:(\d+)\//.exec(output)?.[1] ?? null);
  base = `http://127.0.0.1:${port}`;
});

after(() => {
  if (dev.exitCode === null && dev.signalCode === null) dev.kill("SIGKILL");
  for (const pid of seenPids) if (alive(pid)) process.kill(pid, "SIGKILL");
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("arena dev", () => {
  it("serves the app; after an edit the next requests see the new build, and a request in flight finishes on the old one", async (t) => {
    assert.match(output, /arena dev: built app\.ts \(check build\) in \d+ ms; serving on http:\/\/127\.0\.0\.1:\d+\//);
    const first = await get("/");
    assert.equal(first.status, 200);
    assert.equal(first.body, "v1\n");
    // Through the proxy: a body both ways, the app's own fields, a 404.
    const echo = await fetch(base + "/echo", { method: "POST", body: "é".repeat(30_000) });
    assert.equal(echo.status, 200);
    assert.equal(echo.headers.get("x-version"), "v1");
    assert.equal(await echo.text(), "é".repeat(30_000));
    assert.equal((await get("/nope")).status, 404);
    const slow = get("/slow");
    await new Promise((r) => setTimeout(r, 100));
    const ms = await swapTo("v2");
    t.diagnostic(`edit → v2 served in ${ms} ms`);
    const answer = await slow;
    assert.equal(answer.status, 200);
    assert.equal(answer.body, "slow v1\n");
    assert.match(output, /^rebuilt app\.ts in \d+ ms; serving the new build$/m);
    childPids();
  });

  it("4 keep-alive clients in a loop see no failed request across 3 swaps", async (t) => {
    let running = true;
    const failures: string[] = [];
    const seen = new Map<string, number>();
    const loop = async () => {
      while (running) {
        try {
          const r = await get("/");
          if (r.status !== 200 || !/^v\d+\n$/.test(r.body)) failures.push(`${r.status} ${r.body.slice(0, 80)}`);
          else seen.set(r.body.trim(), (seen.get(r.body.trim()) ?? 0) + 1);
        } catch (err) {
          failures.push(`${(err as Error).message}: ${String((err as Error & { cause?: unknown }).cause)}`);
        }
      }
    };
    const loops = [loop(), loop(), loop(), loop()];
    const times: number[] = [];
    try {
      for (const v of ["v3", "v4", "v5"]) {
        times.push(await swapTo(v));
        childPids();
      }
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      running = false;
      await Promise.all(loops);
    }
    const total = [...seen.values()].reduce((a, b) => a + b, 0);
    t.diagnostic(`swaps (edit → served) ${times.join(", ")} ms; ${total} requests: ${JSON.stringify(Object.fromEntries(seen))}; ${failures.length} failed`);
    assert.deepEqual(failures, []);
    for (const v of ["v3", "v4", "v5"]) assert.ok((seen.get(v) ?? 0) > 0, `${v} was served`);
    assert.equal((output.match(/^rebuilt app\.ts in \d+ ms; serving the new build$/gm) ?? []).length, 4);
  });

  it("a compile error is the page (500, the compiler's message) and one report in the terminal until it is fixed", async () => {
    const before = output.length;
    fs.writeFileSync(APP, source("v6", "function broken( {"));
    const page = await waitFor("the error page", SWAP_WITHIN_MS, async () => {
      const r = await get("/");
      return r.status === 500 ? r : null;
    });
    assert.match(page.headers.get("content-type")!, /^text\/html/);
    assert.equal(page.headers.get("connection"), "close");
    assert.match(page.body, /<h1>app\.ts did not compile<\/h1>/);
    assert.match(page.body, /TS1003: Identifier expected\./);
    assert.match(page.body, /function broken\( \{/);
    const other = await get("/anything?at=all");
    assert.equal(other.status, 500);
    assert.match(other.body, /TS1003/);
    // Under CI (the CI variable) the compiler colours its messages; the page never has them.
    const terminal = output.slice(before).replace(/\x1b\[[0-9;]*m/g, "");
    assert.doesNotMatch(page.body, /\x1b/);
    assert.match(terminal, /ERROR TS1003: Identifier expected\./);
    assert.equal((terminal.match(/ERROR TS1003/g) ?? []).length, 1, "the messages are shown once per failed build");
    assert.match(terminal, /arena dev: app\.ts did not compile/);
    // Fixed: served again.
    await swapTo("v6");
    assert.equal((await get("/")).status, 200);
  });

  it("SIGINT stops the dev server and its children, with one line", async () => {
    const pids = childPids();
    assert.ok(pids.length >= 1, "a child serves the app");
    const builds = pids.map((p) => path.dirname(fs.readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0")[3]));
    const before = output.length;
    dev.kill("SIGINT");
    const code = await waitFor("exit", 30_000, () => dev.exitCode);
    assert.equal(code, 0);
    assert.equal(output.slice(before), "arena dev: stopped\n");
    for (const pid of seenPids) assert.ok(!alive(pid), `child ${pid} is gone`);
    for (const dir of builds) assert.ok(!fs.existsSync(dir), `${dir} is removed`);
  });
});
