// The connection-buffer pool: buffers are reused, the pool keeps at most
// CONNECTION_BUFFERS_KEPT_MAX of them after a burst (the bound docs/reliability.md gives for
// the RSS a pipelining flood can leave), and a buffer returned twice is a loud bug.

import { it } from "node:test";
import assert from "node:assert/strict";
import { CONNECTION_BUFFERS_KEPT_MAX } from "../host/limits.ts";
import { BufferPool, CONNECTION_BUFFER_BYTES } from "../host/memory/connection_buffers.ts";

it("reuses returned buffers and keeps at most CONNECTION_BUFFERS_KEPT_MAX after a burst", () => {
  const pool = new BufferPool();
  const a = pool.take();
  assert.equal(a.length, CONNECTION_BUFFER_BYTES);
  pool.give(a);
  assert.equal(pool.take(), a, "a returned buffer is lent again");
  pool.give(a);
  const burst = Array.from({ length: CONNECTION_BUFFERS_KEPT_MAX + 100 }, () => pool.take());
  assert.equal(pool.lent, burst.length);
  for (const b of burst) pool.give(b);
  assert.equal(pool.lent, 0);
  assert.equal(pool.kept, CONNECTION_BUFFERS_KEPT_MAX);
});

it("a buffer returned more often than lent fails an assertion", () => {
  const pool = new BufferPool();
  const a = pool.take();
  pool.give(a);
  assert.throws(() => pool.give(a), /assert: a connection buffer is returned once/);
});
