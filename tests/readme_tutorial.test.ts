// The README tutorial must work verbatim: this test runs its shell blocks as written
// (only the folder and the port are swapped so it cannot clobber a user's my-app/ or
// collide with a running server), and checks each curl against the output the README shows.

import { it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { ROOT, waitFor } from "./helpers.ts";

function block(readme: string, marker: string): string {
  const m = new RegExp(`<!-- tutorial:${marker} -->\\s*\`\`\`sh\\n([\\s\\S]*?)\`\`\``).exec(readme);
  assert.ok(m, `README has a tutorial:${marker} block`);
  return m[1];
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

it("the README tutorial builds, serves and answers as written", { timeout: 120_000 }, async () => {
  const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
  const dir = `tests/.build/my-app-${process.pid}`;
  const port = await freePort();
  const swap = (text: string) => text.replaceAll("my-app", dir).replaceAll("3001", String(port));
  const bash = (script: string) => execFileSync("bash", ["-euo", "pipefail", "-c", script], { cwd: ROOT, encoding: "utf8", timeout: 60_000, stdio: ["ignore", "pipe", "pipe"] });

  fs.mkdirSync(path.join(ROOT, "tests/.build"), { recursive: true });
  try {
    bash(swap(block(readme, "app")));
    const [buildCmd, serveCmd] = swap(block(readme, "run")).trim().split("\n");
    const built = bash(buildCmd);
    assert.match(built, /built .*app\.wasm/);

    const server = spawn("bash", ["-c", `exec ${serveCmd}`], { cwd: ROOT, detached: true });
    let out = "";
    server.stdout.on("data", (d) => (out += d));
    server.stderr.on("data", (d) => (out += d));
    try {
      await waitFor(() => out.includes("serving"), 30_000);
      assert.match(out, /memory: (?:\d+ workers × \()?64 slots × 256 KiB \+ 4 MiB startup \+ 16 MiB heap = 36 MiB\)? \+ [\d.]+ [KM]iB shared = [\d.]+ [KMG]iB, fixed/);
      // Each curl line is followed by "# <first line of its output>".
      const lines = swap(block(readme, "try")).trim().split("\n");
      let checked = 0;
      for (let i = 0; i < lines.length; i += 2) {
        const expected = lines[i + 1].replace(/^# /, "");
        const got = bash(lines[i]).split(/\r?\n/)[0];
        assert.equal(got, expected, lines[i]);
        checked++;
      }
      assert.equal(checked, 4);
    } finally {
      process.kill(-server.pid!, "SIGTERM");
      await new Promise((r) => server.on("exit", r));
    }
  } finally {
    fs.rmSync(path.join(ROOT, dir), { recursive: true, force: true });
  }
});
