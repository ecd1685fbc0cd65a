// The slot pool and the bounded wait queue. A slot is one in-flight request's arena; when
// every slot is busy a request waits here (holding only its connection's head buffer),
// and past QUEUE depth it gets 503. Both structures are fixed-size arrays allocated at
// start: acquiring, releasing, queueing and dequeueing allocate nothing.

import { assert } from "../assert.ts";

const FREE = 0;
const BUSY = 1;

export class SlotPool {
  readonly size: number;
  private readonly free: Int32Array;
  private readonly state: Uint8Array;
  private top: number;

  constructor(size: number) {
    this.size = size;
    this.free = new Int32Array(size);
    this.state = new Uint8Array(size);
    // Hand out low slots first: a lightly loaded server touches few pages of memory.
    for (let i = 0; i < size; i++) this.free[i] = size - 1 - i;
    this.top = size;
  }

  /** A free slot index, or -1 when all are busy. */
  acquire(): number {
    if (this.top === 0) return -1;
    const slot = this.free[--this.top];
    // Constant messages: this runs for every request, and a template would allocate.
    assert(this.state[slot] === FREE, "a slot is handed out once");
    this.state[slot] = BUSY;
    return slot;
  }

  release(slot: number): void {
    if (!(slot >= 0 && slot < this.size && this.state[slot] === BUSY)) assert(false, `only a busy slot is released (slot ${slot} is not busy)`);
    this.state[slot] = FREE;
    this.free[this.top++] = slot;
  }

  get available(): number {
    return this.top;
  }

  isBusy(slot: number): boolean {
    return this.state[slot] === BUSY;
  }
}

/** A fixed-capacity FIFO ring of waiters. */
export class WaitQueue<T> {
  readonly capacity: number;
  private readonly items: (T | null)[];
  private head = 0;
  private count = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.items = new Array<T | null>(capacity).fill(null);
  }

  get length(): number {
    return this.count;
  }

  /** False when full: the caller answers 503. */
  push(item: T): boolean {
    if (this.count === this.capacity) return false;
    this.items[(this.head + this.count) % this.capacity] = item;
    this.count++;
    return true;
  }

  /** The oldest waiter without removing it, or null. */
  peek(): T | null {
    return this.count === 0 ? null : this.items[this.head];
  }

  /** The oldest waiter, or null. */
  shift(): T | null {
    if (this.count === 0) return null;
    const item = this.items[this.head];
    this.items[this.head] = null;
    this.head = (this.head + 1) % this.capacity;
    this.count--;
    return item;
  }

  /** Drops `item` (a waiter whose client went away); O(capacity), only on disconnects. */
  remove(item: T): void {
    let kept = 0;
    for (let k = 0; k < this.count; k++) {
      const idx = (this.head + k) % this.capacity;
      const it = this.items[idx];
      this.items[idx] = null;
      if (it !== item) this.items[(this.head + kept++) % this.capacity] = it;
    }
    this.count = kept;
  }
}
