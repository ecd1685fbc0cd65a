// A short soak in CI: 30,000 requests mixing good ones with memory bombs, traps before and
// after an await, endless loops, malformed requests and disconnects (tests/soak/soak.ts).
// Every good response must be exact, every slot free and the wasm memory unchanged after.
// The long soak (1M requests) is `npm run soak`; its figures are in docs/reliability.md.

import { it } from "node:test";
import assert from "node:assert/strict";
import { formatReport, runSoak } from "./soak/soak.ts";

it("30,000 mixed requests: no good request failed, no byte lost, all slots free, memory unchanged", { timeout: 120_000 }, async () => {
  const report = await runSoak({ requests: 30_000, workers: 16, seed: 7 });
  process.stdout.write(`${formatReport(report, 7, 16).split("\n").map((l) => `# ${l}`).join("\n")}\n`);
  assert.deepEqual(report.failures, []);
  assert.equal(report.goodFailed, 0);
  assert.equal(report.bytesLost, 0);
  assert.equal(report.slotsFree, report.slots);
  assert.equal(report.wasmBytesAfter, report.wasmBytesBefore);
  // Every fault kind was exercised.
  for (const kind of ["bomb", "trap", "trap-after-fetch", "spin", "malformed", "disconnect-mid-request", "disconnect-mid-response",
    "pipeline-flood", "slow-body", "sleep-forever", "work-between-waits", "overlong-utf8", "extension-flood"]) {
    assert.ok((report.byKind[kind] ?? 0) > 0, `no ${kind} in the mix`);
  }
  assert.ok((report.serverErrors.ARENA_E_CPU ?? 0) > 0 && (report.serverErrors.ARENA_E_MEMORY ?? 0) > 0);
  assert.ok((report.serverErrors.ARENA_E_DEADLINE ?? 0) > 0);
});
