// What `npm start` runs (examples/catalog/start.ts), as a new user gets it: it builds the
// flagship, starts the embedded upstream and the server, the site answers, and Ctrl-C
// (SIGINT) stops both with exit code 0. Ports are ephemeral so it never clashes.

import { it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { ROOT, servingUrl } from "./helpers.ts";

it("npm start serves the catalogue over the embedded upstream and stops on SIGINT", { timeout: 120_000 }, async () => {
  const child = spawn(process.execPath, [path.join(ROOT, "examples/catalog/start.ts")], {
    cwd: ROOT,
    env: { ...process.env, PORT: "0", UPSTREAM_PORT: "0", UPSTREAM_URL: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  // The budget and "serving" lines go to stdout, progress and log lines to stderr.
  const { url, exited, output } = servingUrl(child, "npm start");
  try {
    const base = await url;
    assert.match(output(), /embedded upstream \(examples\/catalog\/data\/products\.json\) on http:\/\/127\.0\.0\.1:\d+/);
    assert.match(output(), /memory: (?:\d+ workers × \()?256 slots × 1 MiB \+ 4 MiB startup \+ 16 MiB heap = 276 MiB\)? \+ [\d.]+ [KM]iB shared = [\d.]+ [KMG]iB, fixed/);
    const res = await fetch(`${base}/?q=tom`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /Tom &amp; Sons/);
    child.kill("SIGINT");
    assert.equal(await exited, 0);
    assert.match(output(), /shutdown complete/);
  } finally {
    // SIGTERM, not SIGKILL: the launcher passes it on to the server it started.
    if (child.exitCode === null) child.kill("SIGTERM");
  }
});
