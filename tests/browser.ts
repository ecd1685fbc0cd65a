// Headless browser checks without npm dependencies: finds (or installs, with apt-get)
// Debian's chromium, launches it headless with a throwaway profile, and drives it over the
// Chrome DevTools Protocol with Node's global WebSocket.
//
//   const chrome = await ensureChromium();
//   const page = await loadPage("http://127.0.0.1:3000/", { screenshot: "tests/.artifacts/home.png" });
//   // page.status, page.title, page.text, page.consoleErrors
//
// Every browser this module starts is killed by its PID and its temp profile removed, on
// success, on errors and on timeouts.

import { spawn, execFile, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const CANDIDATES = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];
const ABSOLUTE = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome", "/usr/bin/google-chrome-stable"];

function findOnPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch { /* not here */ }
  }
  return null;
}

function findChromium(): string | null {
  for (const p of ABSOLUTE) {
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch { /* not here */ }
  }
  for (const name of CANDIDATES) {
    const p = findOnPath(name);
    if (p) return p;
  }
  return null;
}

/** Runs a command, streaming its output to stderr; resolves with its exit code. */
function runLogged(cmd: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    process.stderr.write(`browser: $ ${cmd} ${args.join(" ")}\n`);
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    child.stdout!.on("data", (d: Buffer) => process.stderr.write(d));
    child.stderr!.on("data", (d: Buffer) => process.stderr.write(d));
    child.on("error", reject);
    child.on("close", (code) => resolve(code ?? 1));
  });
}

let installing: Promise<string> | null = null;

/** Temp profile folders are `${PROFILE_PREFIX}${pid}-…`. */
export const PROFILE_PREFIX = "arena-chromium-";

/**
 * Returns the path of a chromium binary: Debian's `chromium` (or chromium-browser /
 * google-chrome when present). When none is installed it runs
 * `apt-get update && apt-get install -y --no-install-recommends chromium`, logging to
 * stderr, and throws an Error with one clear line if that is impossible.
 */
export async function ensureChromium(): Promise<string> {
  const found = findChromium();
  if (found) return found;
  installing ??= (async () => {
    const apt = findOnPath("apt-get");
    if (!apt) throw new Error("chromium is not installed and apt-get is not available to install it");
    if (typeof process.getuid === "function" && process.getuid() !== 0) {
      throw new Error("chromium is not installed; install it as root: apt-get update && apt-get install -y --no-install-recommends chromium");
    }
    const started = Date.now();
    process.stderr.write("browser: chromium not found, installing it with apt-get\n");
    let code: number;
    try {
      const flock = findOnPath("flock");
      if (flock) {
        // Test files run in parallel processes and may all find chromium missing: one
        // installs under the lock, the others wait for it and then find it installed.
        code = await runLogged(flock, ["/tmp/arena-chromium-install.lock", "sh", "-c",
          "[ -x /usr/bin/chromium ] || { apt-get update && apt-get install -y --no-install-recommends chromium; }"]);
      } else {
        code = await runLogged(apt, ["update"]);
        if (code === 0) code = await runLogged(apt, ["install", "-y", "--no-install-recommends", "chromium"]);
      }
    } catch (err) {
      throw new Error(`could not run apt-get to install chromium: ${(err as Error).message}`);
    }
    if (code !== 0) throw new Error(`apt-get could not install chromium (exit code ${code}); see the output above`);
    const p = findChromium();
    if (!p) throw new Error("apt-get finished but no chromium binary was found");
    process.stderr.write(`browser: installed ${p} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    return p;
  })();
  try {
    return await installing;
  } catch (err) {
    installing = null;
    throw err;
  }
}

/** `chromium --version`, e.g. "Chromium 131.0.6778.85 built on Debian 12.8". */
export async function chromiumVersion(): Promise<string> {
  const bin = await ensureChromium();
  return new Promise((resolve, reject) => {
    execFile(bin, ["--version"], { timeout: 10000 }, (err, stdout) => (err ? reject(err) : resolve(stdout.trim())));
  });
}

// --- A tiny Chrome DevTools Protocol client --------------------------------------------------

type CdpEvent = { method: string; params: any; sessionId?: string };

class Cdp {
  private ws: WebSocket;
  private nextId = 1;
  private pending = new Map<number, { resolve(v: any): void; reject(e: Error): void; method: string }>();
  private listeners: ((e: CdpEvent) => void)[] = [];
  private closedError: Error | null = null;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.addEventListener("message", (ev: MessageEvent) => {
      const msg = JSON.parse(typeof ev.data === "string" ? ev.data : Buffer.from(ev.data as ArrayBuffer).toString("utf8"));
      if (typeof msg.id === "number") {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        if (msg.error) p.reject(new Error(`CDP ${p.method}: ${msg.error.message}`));
        else p.resolve(msg.result);
      } else if (typeof msg.method === "string") {
        for (const l of this.listeners) l(msg as CdpEvent);
      }
    });
    ws.addEventListener("close", () => this.fail(new Error("DevTools connection closed")));
    ws.addEventListener("error", () => this.fail(new Error("DevTools connection error")));
  }

  static connect(url: string): Promise<Cdp> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.binaryType = "arraybuffer";
      const onOpen = () => { cleanup(); resolve(new Cdp(ws)); };
      const onError = () => { cleanup(); reject(new Error(`could not connect to DevTools at ${url}`)); };
      const cleanup = () => { ws.removeEventListener("open", onOpen); ws.removeEventListener("error", onError); };
      ws.addEventListener("open", onOpen);
      ws.addEventListener("error", onError);
    });
  }

  private fail(err: Error): void {
    if (this.closedError) return;
    this.closedError = err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  send(method: string, params: object = {}, sessionId?: string): Promise<any> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, method });
      this.ws.send(JSON.stringify(sessionId ? { id, method, params, sessionId } : { id, method, params }));
    });
  }

  on(listener: (e: CdpEvent) => void): void {
    this.listeners.push(listener);
  }

  close(): void {
    try { this.ws.close(); } catch { /* already closed */ }
  }
}

// --- Launching ---------------------------------------------------------------------------------

interface Browser {
  child: ChildProcess;
  profile: string;
  wsUrl: Promise<string>;
}

// Browsers still running, so that a process exiting abruptly (an uncaught exception, an
// EPIPE on stderr, process.exit) still takes them down; SIGKILL of this process cannot.
const live = new Set<Browser>();
let exitHookInstalled = false;

function killGroup(pid: number, sig: NodeJS.Signals): void {
  try { process.kill(-pid, sig); } catch {
    try { process.kill(pid, sig); } catch { /* gone */ }
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const b of live) {
      if (b.child.pid !== undefined && b.child.exitCode === null && b.child.signalCode === null) killGroup(b.child.pid, "SIGKILL");
      try { fs.rmSync(b.profile, { recursive: true, force: true }); } catch { /* best effort */ }
    }
  });
}

function launch(bin: string, width: number, height: number): Browser {
  installExitHook();
  // The profile's name carries our PID, so a test can tell its own browsers from those of
  // test files running beside it.
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), `${PROFILE_PREFIX}${process.pid}-`));
  const args = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--remote-debugging-port=0",
    `--user-data-dir=${profile}`,
    `--window-size=${width},${height}`,
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--metrics-recording-only",
    "--mute-audio",
    "--hide-scrollbars",
    "about:blank",
  ];
  // detached: its own process group, so killing -pid also ends chromium's helper processes.
  const child = spawn(bin, args, { stdio: ["ignore", "ignore", "pipe"], detached: true });
  let err = "";
  const wsUrl = new Promise<string>((resolve, reject) => {
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (d: string) => {
      err += d;
      if (err.length > 64 * 1024) err = err.slice(-32 * 1024);
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(err);
      if (m) resolve(m[1]);
    });
    child.on("error", (e) => reject(new Error(`could not start ${bin}: ${e.message}`)));
    child.on("exit", (code, signal) => reject(new Error(`chromium exited (${signal ?? `code ${code}`}) before DevTools was ready: ${lastLines(err)}`)));
  });
  wsUrl.catch(() => { /* observed by the caller */ });
  const browser: Browser = { child, profile, wsUrl };
  live.add(browser);
  return browser;
}

function lastLines(s: string): string {
  return s.trim().split("\n").slice(-3).join(" | ") || "(no output)";
}

async function shutdown(b: Browser): Promise<void> {
  const { child } = b;
  if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    const kill = (sig: NodeJS.Signals) => killGroup(child.pid!, sig);
    kill("SIGTERM");
    const t = setTimeout(() => kill("SIGKILL"), 2000);
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    clearTimeout(t);
  }
  live.delete(b);
  // Chromium's helpers may hold files briefly after the main process is gone.
  for (let i = 0; i < 5; i++) {
    try {
      fs.rmSync(b.profile, { recursive: true, force: true });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

const QUIET_MS = 250;
const IDLE_CAP_MS = 5000;

/** Runs while a loaded page is open; `evaluate` returns an expression's value in the page. */
export type PageAction = (evaluate: (expression: string) => Promise<unknown>) => Promise<void>;

export interface LoadedPage {
  /** HTTP status of the main document (0 when no response was seen, e.g. connection refused). */
  status: number;
  title: string;
  /** document.body.innerText */
  text: string;
  /** Console errors/asserts, uncaught exceptions and error log entries (failed loads). */
  consoleErrors: string[];
}

/**
 * Loads `url` in headless chromium and reports the main document's HTTP status, the title,
 * the body's text and every console error. With `screenshot`, saves a PNG there (creating
 * directories). With `during`, runs it once the page has loaded, before its text is read
 * (to act while the page is open: a page that updates itself). Rejects after `timeoutMs`
 * (default 30 s); the browser is always killed.
 */
export async function loadPage(url: string, options: { screenshot?: string; width?: number; height?: number; timeoutMs?: number; during?: PageAction } = {}): Promise<LoadedPage> {
  const width = options.width ?? 1280;
  const height = options.height ?? 800;
  const timeoutMs = options.timeoutMs ?? 30000;
  const bin = await ensureChromium();
  const browser = launch(bin, width, height);
  let cdp: Cdp | null = null;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`loadPage ${url}: timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  timeout.catch(() => { /* raced below */ });

  const run = async (): Promise<LoadedPage> => {
    cdp = await Cdp.connect(await browser.wsUrl);
    const c: Cdp = cdp;
    const { targetId } = await c.send("Target.createTarget", { url: "about:blank" });
    const { sessionId } = await c.send("Target.attachToTarget", { targetId, flatten: true });
    const send = (method: string, params: object = {}) => c.send(method, params, sessionId);

    const consoleErrors: string[] = [];
    let status = 0;
    let documentRequestId: string | null = null;
    let loaded: () => void = () => {};
    const loadEvent = new Promise<void>((r) => { loaded = r; });
    // Requests in flight and when the network was last busy, to wait for it to go quiet
    // after the load event (chromium asks for /favicon.ico just after it).
    const inflight = new Set<string>();
    let lastActivity = Date.now();

    c.on((e) => {
      if (e.sessionId !== sessionId) return;
      const p = e.params;
      switch (e.method) {
        case "Runtime.consoleAPICalled":
          if (p.type === "error" || p.type === "assert") {
            consoleErrors.push(`console.${p.type}: ${(p.args as any[]).map(remoteToString).join(" ")}`);
          }
          break;
        case "Runtime.exceptionThrown": {
          const d = p.exceptionDetails;
          consoleErrors.push(`exception: ${d.exception?.description ?? d.text}`);
          break;
        }
        case "Log.entryAdded":
          if (p.entry.level === "error") {
            consoleErrors.push(`${p.entry.source}: ${p.entry.text}${p.entry.url ? ` (${p.entry.url})` : ""}`);
          }
          break;
        case "Network.requestWillBeSent":
          if (p.type === "Document" && documentRequestId === null) documentRequestId = p.requestId;
          // An event stream stays open for the page's life: it never makes the network busy.
          if (p.type !== "EventSource") inflight.add(p.requestId);
          lastActivity = Date.now();
          break;
        case "Network.loadingFinished":
        case "Network.loadingFailed":
          inflight.delete(p.requestId);
          lastActivity = Date.now();
          break;
        case "Network.responseReceived":
          if (p.type === "Document" && (documentRequestId === null || p.requestId === documentRequestId)) {
            status = p.response.status;
          }
          break;
        case "Page.loadEventFired":
          loaded();
          break;
      }
    });

    await Promise.all([
      send("Page.enable"),
      send("Runtime.enable"),
      send("Log.enable"),
      send("Network.enable"),
      send("Emulation.setDeviceMetricsOverride", { width, height, deviceScaleFactor: 1, mobile: false }),
    ]);
    const nav = await send("Page.navigate", { url });
    if (nav.errorText) throw new Error(`loadPage ${url}: ${nav.errorText}`);
    await loadEvent;
    // Network idle: nothing in flight for QUIET_MS (at most IDLE_CAP_MS after load), so late
    // requests (the favicon, fetches by scripts) and the errors they log are seen.
    const loadedAt = Date.now();
    while (Date.now() - loadedAt < IDLE_CAP_MS && (inflight.size > 0 || Date.now() - lastActivity < QUIET_MS)) {
      await new Promise((r) => setTimeout(r, 25));
    }

    if (options.during) {
      await options.during(async (expression: string) =>
        (await send("Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true })).result.value);
    }
    const evaluated = await send("Runtime.evaluate", {
      expression: "JSON.stringify({ title: document.title, text: document.body ? document.body.innerText : '' })",
      returnByValue: true,
    });
    const { title, text } = JSON.parse(evaluated.result.value as string) as { title: string; text: string };

    if (options.screenshot) {
      const shot = await send("Page.captureScreenshot", { format: "png" });
      fs.mkdirSync(path.dirname(path.resolve(options.screenshot)), { recursive: true });
      fs.writeFileSync(options.screenshot, Buffer.from(shot.data as string, "base64"));
    }
    return { status, title, text, consoleErrors: [...consoleErrors] };
  };

  try {
    return await Promise.race([run(), timeout]);
  } finally {
    clearTimeout(timer);
    (cdp as Cdp | null)?.close();
    await shutdown(browser);
  }
}

function remoteToString(arg: any): string {
  if (arg.type === "string") return arg.value;
  if ("value" in arg) return JSON.stringify(arg.value);
  return arg.description ?? arg.type;
}
