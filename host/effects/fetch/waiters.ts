// The fetches waiting for a connection of one origin's pool, oldest first. A slot may have
// up to PARALLEL_FETCHES_MAX fetches waiting (a fetchAll to one origin), so a pool's queue
// could reach slots × PARALLEL_FETCHES_MAX: a ring of that size made up front for every
// pool would cost 2,048 entries per origin for a case most pools never see. This ring
// starts small and doubles up to its capacity instead, and keeps what it grew to (the pool
// is dropped when empty, so its ring goes with it).

import { assert } from "../../assert.ts";

const INITIAL = 8;

export class WaiterQueue<T> {
  /** Most waiters it may hold: one per fetch that can be in flight. */
  readonly capacity: number;
  private items: (T | null)[];
  private head = 0;
  private count = 0;

  constructor(capacity: number) {
    assert(capacity >= 1, "a waiter queue holds at least one waiter");
    this.capacity = capacity;
    this.items = new Array<T | null>(Math.min(INITIAL, capacity)).fill(null);
  }

  get length(): number {
    return this.count;
  }

  /** False when it holds `capacity` waiters already. */
  push(item: T): boolean {
    if (this.count === this.capacity) return false;
    if (this.count === this.items.length) this.grow();
    this.items[(this.head + this.count) % this.items.length] = item;
    this.count++;
    return true;
  }

  /** The oldest waiter, or null. */
  shift(): T | null {
    if (this.count === 0) return null;
    const item = this.items[this.head];
    this.items[this.head] = null;
    this.head = (this.head + 1) % this.items.length;
    this.count--;
    return item;
  }

  /** Drops `item` (a fetch that ended while waiting); O(length), only on failures. */
  remove(item: T): void {
    const size = this.items.length;
    let kept = 0;
    for (let k = 0; k < this.count; k++) {
      const idx = (this.head + k) % size;
      const it = this.items[idx];
      this.items[idx] = null;
      if (it !== item) this.items[(this.head + kept++) % size] = it;
    }
    this.count = kept;
  }

  private grow(): void {
    const size = this.items.length;
    const next = new Array<T | null>(Math.min(size * 2, this.capacity)).fill(null);
    for (let k = 0; k < this.count; k++) next[k] = this.items[(this.head + k) % size];
    this.items = next;
    this.head = 0;
  }
}
