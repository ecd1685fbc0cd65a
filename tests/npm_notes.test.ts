// What `npm run notes` runs (`arena start examples/notes/app.ts`), as a user starts it: npm builds the
// notes example and serves it, flags after `--` reach `arena serve` (a 1 MiB heap here, in
// the budget line), a note created through the API shows on the list page, and Ctrl-C —
// SIGINT to the whole process group, as a terminal sends it — shuts the server down
// gracefully. The port is ephemeral so it never clashes.

import { it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { ROOT, servingUrl } from "./helpers.ts";

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try { process.kill(-pid, signal); } catch { /* already gone */ }
}

it("npm run notes builds and serves the notes app, and stops on Ctrl-C", { timeout: 120_000 }, async () => {
  // detached: npm, its shell and the launcher get a process group of their own, like a
  // terminal's foreground job; the launcher's server has its own group below it.
  const child = spawn("npm", ["run", "notes", "--", "--heap-bytes", "1MiB"], {
    cwd: ROOT,
    env: { ...process.env, PORT: "0" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const { url, exited, output } = servingUrl(child, "npm run notes");
  try {
    const base = await url;
    assert.match(output(), /built examples\/notes\/app\.wasm/);
    assert.match(output(), /memory: (?:\d+ workers × \()?256 slots × 1 MiB \+ 4 MiB startup \+ 1 MiB heap = 261 MiB\)? \+ [\d.]+ [KM]iB shared = [\d.]+ [KMG]iB, fixed/);
    const made = await fetch(`${base}/api/notes`, { method: "POST", body: '{"title":"Hello from npm","body":"","tags":["npm"]}' });
    assert.equal(made.status, 201);
    const res = await fetch(`${base}/`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /Hello from npm/);
    signalGroup(child.pid!, "SIGINT");
    await exited;
    assert.match(output(), /shutdown complete/);
  } finally {
    // SIGTERM, not SIGKILL: the launcher passes it on to the server it started.
    if (child.exitCode === null && child.signalCode === null) signalGroup(child.pid!, "SIGTERM");
  }
});
