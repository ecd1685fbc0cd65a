// `npm start`: builds the catalogue app, starts the embedded upstream (the JSON API with
// the shipped dataset) unless UPSTREAM_URL points elsewhere, then serves the app with
// `arena serve` in a child process (which prints the memory budget and handles Ctrl-C
// gracefully). Ctrl-C stops both; the exit code is the server's.
//
//   npm start                                    # upstream on 127.0.0.1:4000, site on :3000
//   UPSTREAM_URL=http://127.0.0.1:9000 npm start # use another API with the same shape
//   PORT=8080 npm start                          # any `arena serve` env/flag works
//
// The stylesheet and the icon (examples/catalog/public/) are served by the host with
// `--static`, before the app: loaded once at start into the device region.

import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startUpstream, type Upstream } from "./upstream.ts";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "../..");
const UPSTREAM_PORT_DEFAULT = 4000;

function fail(message: string): never {
  process.stderr.write(`npm start: ${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  const source = path.join(HERE, "app.ts");
  const wasm = path.join(HERE, "app.wasm");
  // The compiler is loaded here only; the serving process never loads it (~65 MiB).
  const { build } = await import("../../cli/build.ts");
  try {
    await build(source, { out: wasm });
  } catch (err) {
    fail((err as Error).message);
  }
  process.stderr.write(`built ${path.relative(ROOT, wasm)}\n`);

  let upstream: Upstream | null = null;
  const env = { ...process.env };
  if (!env.UPSTREAM_URL) {
    const port = Number(process.env.UPSTREAM_PORT ?? UPSTREAM_PORT_DEFAULT);
    try {
      upstream = await startUpstream({ port, host: "127.0.0.1" });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const what = e.code === "EADDRINUSE" ? `port ${port} for the embedded upstream is already in use` : `cannot start the embedded upstream: ${e.message}`;
      fail(`${what}; set UPSTREAM_PORT to another port, or UPSTREAM_URL to an API that is already running`);
    }
    env.UPSTREAM_URL = upstream.url;
    process.stderr.write(`embedded upstream (examples/catalog/data/products.json) on ${upstream.url}\n`);
  } else {
    process.stderr.write(`upstream: ${env.UPSTREAM_URL}\n`);
  }

  // The server runs in its own process group, so a Ctrl-C reaches it once, from here (a
  // second SIGINT means "exit without waiting" to `arena serve`).
  const child = spawn(process.execPath, [path.join(ROOT, "cli/arena.ts"), "serve", wasm, "--static", path.join(HERE, "public"), ...process.argv.slice(2)], {
    stdio: "inherit",
    env,
    detached: true,
  });
  // One Ctrl-C can arrive twice (from the terminal and again from npm, which passes
  // signals on to its script); a repeat within a second is the same keypress.
  let lastForward = 0;
  const forward = (signal: NodeJS.Signals) => () => {
    const now = Date.now();
    if (child.exitCode !== null || now - lastForward < 1000) return;
    lastForward = now;
    child.kill(signal);
  };
  process.on("SIGINT", forward("SIGINT"));
  process.on("SIGTERM", forward("SIGTERM"));
  process.on("exit", () => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
  child.on("exit", async (code, signal) => {
    if (upstream !== null) await upstream.close();
    process.exit(code ?? (signal ? 1 : 0));
  });
}

main().catch((err: Error) => fail(err.message));
