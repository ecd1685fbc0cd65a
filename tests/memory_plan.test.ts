// The memory plan: the budget arithmetic, its printed line, and refusals.

import { it } from "node:test";
import assert from "node:assert/strict";
import { budgetLine, CONNECTION_BYTES_MAX, formatBytes, planMemory } from "../host/memory/plan.ts";
import { ArenaError } from "../host/errors.ts";
import {
  ARENA_BYTES_DEFAULT, CONNECTION_IDLE_BYTES, CONNECTIONS_MAX_DEFAULT, HEADER_BYTES_MAX, RESPONSE_HEAD_BYTES_MAX, SLOTS_DEFAULT, STARTUP_BYTES_DEFAULT, HEAP_BYTES_DEFAULT,
} from "../host/limits.ts";
import { parseSize } from "../host/config.ts";

it("the default plan is 256 × 1 MiB + 4 MiB startup + 16 MiB heap = 276 MiB", () => {
  const plan = planMemory(SLOTS_DEFAULT, ARENA_BYTES_DEFAULT, STARTUP_BYTES_DEFAULT);
  assert.equal(budgetLine(plan, CONNECTIONS_MAX_DEFAULT),
    "memory: 256 slots × 1 MiB + 4 MiB startup + 16 MiB heap = 276 MiB, fixed; connections: up to 10,000 × 42 KiB = 410.16 MiB (10 KiB each while idle)");
  // The heap sits between the startup region and the slots.
  assert.equal(plan.slotsBase, STARTUP_BYTES_DEFAULT + HEAP_BYTES_DEFAULT);
  // The connection figure is the idle cost plus the two buffers a busy connection can hold.
  assert.equal(CONNECTION_BYTES_MAX, CONNECTION_IDLE_BYTES + 2 * HEADER_BYTES_MAX);
  assert.equal(plan.totalBytes, 276 * 1024 * 1024);
  assert.equal(plan.pages, 276 * 16);
  assert.equal(plan.arenaBytes, ARENA_BYTES_DEFAULT - RESPONSE_HEAD_BYTES_MAX);
});

it("refuses layouts over 4 GiB, zero slots and tiny arenas", () => {
  assert.throws(() => planMemory(4096, 1024 * 1024, 4 * 1024 * 1024), (e: ArenaError) => e.code === "ARENA_E_CONFIG" && /over the wasm32 limit/.test(e.message));
  assert.throws(() => planMemory(0, 1024 * 1024, 4 * 1024 * 1024), /at least 1/);
  assert.throws(() => planMemory(1, 0, 4 * 1024 * 1024), /at least 64 KiB/);
  assert.throws(() => planMemory(1, 65536 + 8, 4 * 1024 * 1024), /multiple of 16/);
  assert.throws(() => planMemory(1, 65536, 1000), /whole number of 64 KiB pages/);
  assert.throws(() => planMemory(1, 65536, 65536, 1000), /heap region must be a whole number of 64 KiB pages/);
  // Exactly 4 GiB fits; a heap of 0 is allowed (no state between requests).
  assert.equal(planMemory(4092, 1024 * 1024, 4 * 1024 * 1024, 0).pages, 65536);
  assert.equal(planMemory(4076, 1024 * 1024, 4 * 1024 * 1024).pages, 65536);
});

it("formats and parses sizes", () => {
  assert.equal(formatBytes(1536), "1.5 KiB");
  assert.equal(formatBytes(100), "100 B");
  assert.equal(parseSize("x", "1MiB"), 1048576);
  assert.equal(parseSize("x", "512k"), 524288);
  assert.equal(parseSize("x", "4 MiB"), 4194304);
  assert.equal(parseSize("x", "65536"), 65536);
  assert.throws(() => parseSize("--arena-bytes", "1 potato"), /'1 potato' is not a size/);
});
