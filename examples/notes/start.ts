// `npm run notes`: builds the notes app, then serves it with `arena serve` in a child
// process (which prints the memory budget, heap included, and handles Ctrl-C gracefully).
// Ctrl-C stops it; the exit code is the server's. Notes live in the server's heap region,
// so they are gone when it stops.
//
//   npm run notes                        # http://127.0.0.1:3000
//   PORT=8080 npm run notes              # any `arena serve` env/flag works
//   npm run notes -- --heap-bytes 1MiB   # a small heap, to see 507 when it is full

import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "../..");

function fail(message: string): never {
  process.stderr.write(`npm run notes: ${message}\n`);
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

  // The server runs in its own process group, so a Ctrl-C reaches it once, from here (a
  // second SIGINT means "exit without waiting" to `arena serve`).
  const child = spawn(process.execPath, [path.join(ROOT, "cli/arena.ts"), "serve", wasm, ...process.argv.slice(2)], {
    stdio: "inherit",
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
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

main().catch((err: Error) => fail(err.message));
