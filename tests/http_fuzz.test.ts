// A short, fixed-seed run of the mutation fuzzer (tests/fuzz/http_fuzz.ts) as a child
// process: ~8 s of mutated requests against the parser, the chunked decoder and a live
// server. Long runs: node tests/fuzz/http_fuzz.ts --seconds 3600.

import { it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT } from "./helpers.ts";

it("the HTTP fuzzer finds nothing in a short fixed-seed run", { timeout: 60_000 }, async () => {
  const crashDir = fs.mkdtempSync(path.join(os.tmpdir(), "arena-fuzz-"));
  const args = ["tests/fuzz/http_fuzz.ts", "--seconds", "8", "--seed", "20260521", "--crash-dir", crashDir];
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, args, { cwd: ROOT, timeout: 50_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr });
    });
  });
  const saved = fs.existsSync(crashDir) ? fs.readdirSync(crashDir).filter((f) => f.endsWith(".txt")) : [];
  const reports = saved.slice(0, 3).map((f) => fs.readFileSync(path.join(crashDir, f), "utf8")).join("\n");
  fs.rmSync(crashDir, { recursive: true, force: true });
  assert.equal(code, 0, `fuzzer failed:\n${stdout}\n${stderr}\n${reports}`);
  const m = /^http_fuzz: .* inputs=(\d+) exec\/s=\d+ server=(\d+) outcomes=(\d+) .*crashes=0$/m.exec(stdout);
  assert.ok(m, `no summary line:\n${stdout}\n${stderr}`);
  assert.ok(Number(m[1]) > 1000 && Number(m[2]) > 10 && Number(m[3]) > 20, m[0]);
});
