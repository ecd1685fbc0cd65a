// Slot pool and wait queue invariants.

import { it } from "node:test";
import assert from "node:assert/strict";
import { SlotPool, WaitQueue } from "../host/memory/slots.ts";

it("hands out every slot once and refuses double release", () => {
  const pool = new SlotPool(4);
  const got = [pool.acquire(), pool.acquire(), pool.acquire(), pool.acquire()];
  assert.deepEqual([...got].sort(), [0, 1, 2, 3]);
  assert.equal(pool.acquire(), -1);
  pool.release(2);
  assert.throws(() => pool.release(2), /not busy/);
  assert.equal(pool.acquire(), 2);
});

it("the queue is FIFO, bounded, and can drop a waiter", () => {
  const q = new WaitQueue<string>(3);
  assert.ok(q.push("a") && q.push("b") && q.push("c"));
  assert.equal(q.push("d"), false);
  q.remove("b");
  assert.equal(q.length, 2);
  assert.equal(q.shift(), "a");
  assert.ok(q.push("e"));
  assert.equal(q.shift(), "c");
  assert.equal(q.shift(), "e");
  assert.equal(q.shift(), null);
});
