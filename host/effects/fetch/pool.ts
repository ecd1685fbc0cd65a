// The fetch client's connections: one keep-alive pool per upstream origin (host:port),
// each socket serving one fetch at a time.
//
//   OriginPool (one per host:port, ≤ FETCH_ORIGINS_MAX)
//     idle: [Upstream …] (LIFO, closed after FETCH_IDLE_TIMEOUT_MS by one shared sweep)
//     open ≤ FETCH_SOCKETS_PER_ORIGIN_MAX, then waiters (FIFO, one per slot at most)
//
// Pools are bounded because the origin may come from the app's client (27,000 spellings of
// 127.0.0.1 once made 27,000 pools): a pool with no socket and no waiter is dropped, and a
// new origin past FETCH_ORIGINS_MAX evicts the least recently used pool that has no fetch
// in flight (closing its idle sockets), or gets none (the fetch fails with
// FetchError.Unavailable).
//
// A socket's user is an UpstreamUser (the fetch client's per-slot FetchOp): the pool hands
// it a socket, and the socket reports its bytes, its writes and its end to it.

import net from "node:net";
import { assert } from "../../assert.ts";
import { FETCH_CONNECT_TIMEOUT_MS, FETCH_IDLE_TIMEOUT_MS, FETCH_ORIGINS_MAX, FETCH_SOCKETS_PER_ORIGIN_MAX, TIMER_SWEEP_MS } from "../../limits.ts";
import { WaitQueue } from "../../memory/slots.ts";
import { READ_BUFFER_BYTES, SocketWriter } from "../../http/socket_io.ts";

/** What uses an upstream socket: a fetch, from the pool's hand-over to the socket's end. */
export interface UpstreamUser {
  /** The pool gives this user a socket (open, or still connecting). */
  assign(conn: Upstream): void;
  /** The socket it was given has connected. */
  connected(): void;
  /** The request went out (or failed to: `closed` follows then). */
  written(err: boolean): void;
  /** `n` bytes from the upstream at buf[0, n); valid only during the call. */
  onData(buf: Uint8Array, n: number): void;
  /** The socket closed while this user had it. */
  closed(conn: Upstream): void;
}

export interface PoolOptions {
  socketsPerOrigin?: number;
  originsMax?: number;
  connectTimeoutMs?: number;
  idleTimeoutMs?: number;
}

const encoder = new TextEncoder();

export class OriginPool {
  /** host:port, its key in the pools' map. */
  readonly key: string;
  readonly host: string;
  readonly port: number;
  /** The Host header value, as bytes. */
  readonly authority: Uint8Array;
  readonly idle: Upstream[] = [];
  /** Sockets open or opening for this origin, idle ones included. */
  open = 0;
  readonly waiters: WaitQueue<UpstreamUser>;
  /** UpstreamPools.uses when a fetch last chose this pool: eviction takes the lowest. */
  lastUsed = 0;
  /** Out of the pools' map (empty or evicted): a slot's memo must not hand it out again. */
  dropped = false;

  constructor(key: string, host: string, port: number, authority: Uint8Array, slots: number) {
    this.key = key;
    this.host = host;
    this.port = port;
    this.authority = authority;
    this.waiters = new WaitQueue<UpstreamUser>(slots);
  }
}

/** One socket to an upstream. It serves one fetch at a time, then waits in its pool. */
export class Upstream {
  readonly socket: net.Socket;
  readonly pool: OriginPool;
  readonly writer: SocketWriter;
  op: UpstreamUser | null = null;
  connected = false;
  /** When it was pooled idle (the pools' sweep closes it after FETCH_IDLE_TIMEOUT_MS). */
  idleSince = 0;
  /** Responses completed on this socket; a reused socket may have been closed under us. */
  served = 0;
  lastError: NodeJS.ErrnoException | null = null;

  constructor(pool: OriginPool, pools: UpstreamPools) {
    this.pool = pool;
    // Reads land in the pools' one shared buffer (net's public `onread` option): no
    // Buffer per chunk. The bytes are consumed before the callback returns.
    const socket = net.connect({
      host: pool.host,
      port: pool.port,
      noDelay: true,
      onread: {
        buffer: pools.readBuffer,
        callback: (n: number, buf: Uint8Array): boolean => {
          if (this.op !== null) this.op.onData(buf, n);
          else socket.destroy(); // nothing was asked: an upstream talking out of turn is not reused
          return true;
        },
      },
    });
    this.socket = socket;
    this.writer = new SocketWriter(socket, (err: boolean) => this.op?.written(err));
    socket.setTimeout(pools.connectTimeoutMs);
    socket.on("connect", () => {
      this.connected = true;
      socket.setTimeout(0);
      this.op?.connected();
    });
    socket.on("timeout", () => {
      // Connect timeout (the idle timeout is the pools' sweep).
      if (!this.connected) this.lastError = Object.assign(new Error(`could not connect within ${pools.connectTimeoutMs} ms`), { code: "ETIMEDOUT" });
      socket.destroy();
    });
    socket.on("error", (err: NodeJS.ErrnoException) => {
      this.lastError = err;
    });
    socket.on("close", () => pools.closed(this));
  }
}

/** Every origin's pool, with the accounting that keeps them within their bounds. */
export class UpstreamPools {
  readonly socketsPerOrigin: number;
  readonly originsMax: number;
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
  /** Where every upstream socket's reads land; consumed before the read callback returns. */
  readonly readBuffer = new Uint8Array(READ_BUFFER_BYTES);
  /** Waiters a pool may hold: one fetch per slot. */
  private readonly slots: number;
  private readonly pools = new Map<string, OriginPool>();
  /** Counts fetches that chose a pool; OriginPool.lastUsed holds it (a number, not a time:
   *  stamping it costs no clock read and no allocation). */
  private uses = 0;
  private closing = false;
  private sweepTimer: NodeJS.Timeout | null = null;

  constructor(slots: number, options: PoolOptions = {}) {
    this.slots = slots;
    this.socketsPerOrigin = options.socketsPerOrigin ?? FETCH_SOCKETS_PER_ORIGIN_MAX;
    this.originsMax = options.originsMax ?? FETCH_ORIGINS_MAX;
    assert(this.originsMax >= 1, "the HTTP client needs room for at least one origin");
    this.connectTimeoutMs = options.connectTimeoutMs ?? FETCH_CONNECT_TIMEOUT_MS;
    this.idleTimeoutMs = options.idleTimeoutMs ?? FETCH_IDLE_TIMEOUT_MS;
  }

  /** The pool for host:port, made when needed; null when there are originsMax pools and
   *  every one has a fetch in flight or waiting. Stamps the pool as just used. */
  pool(host: string, port: number, authority: string): OriginPool | null {
    const key = `${host}:${port}`;
    let pool = this.pools.get(key);
    if (pool === undefined) {
      if (this.pools.size >= this.originsMax && !this.evictOne()) return null;
      pool = new OriginPool(key, host, port, encoder.encode(authority), this.slots);
      this.pools.set(key, pool);
      this.startSweep();
    }
    this.touch(pool);
    return pool;
  }

  /** Stamps `pool` as just chosen by a fetch. */
  touch(pool: OriginPool): void {
    pool.lastUsed = ++this.uses;
  }

  /** Drops the least recently used pool whose sockets are all idle and that nobody waits
   *  for, closing those sockets. False when every pool is busy. O(pools), only when a new
   *  origin arrives at the limit. */
  private evictOne(): boolean {
    let victim: OriginPool | null = null;
    for (const pool of this.pools.values()) {
      if (pool.open === pool.idle.length && pool.waiters.length === 0 && (victim === null || pool.lastUsed < victim.lastUsed)) victim = pool;
    }
    if (victim === null) return false;
    this.drop(victim);
    // Their close events find the pool dropped: they only fix its counts.
    for (const conn of victim.idle.splice(0)) conn.socket.destroy();
    return true;
  }

  private drop(pool: OriginPool): void {
    assert(this.pools.get(pool.key) === pool, "a pool is dropped once, while it is in the map");
    pool.dropped = true;
    this.pools.delete(pool.key);
  }

  /** Drops `pool` if nothing uses it: no socket (idle ones included) and no waiter. */
  private dropIfEmpty(pool: OriginPool): void {
    if (!pool.dropped && pool.open === 0 && pool.waiters.length === 0) this.drop(pool);
  }

  /** Pools and sockets kept (for tests and diagnostics). */
  stats(): { origins: number; sockets: number; idle: number } {
    let sockets = 0;
    let idle = 0;
    for (const pool of this.pools.values()) {
      sockets += pool.open;
      idle += pool.idle.length;
    }
    return { origins: this.pools.size, sockets, idle };
  }

  /** An idle socket, a new one, or null after queueing `user` (the pool is full). */
  take(pool: OriginPool, user: UpstreamUser): Upstream | null {
    assert(!pool.dropped, "a fetch takes a socket from a pool in the map, not a dropped one");
    while (pool.idle.length > 0) {
      const conn = pool.idle.pop()!;
      if (!conn.socket.destroyed) return conn;
    }
    if (pool.open < this.socketsPerOrigin) {
      pool.open++;
      return new Upstream(pool, this);
    }
    this.wait(pool, user);
    return null;
  }

  /** A fresh socket for `user`, bypassing the idle list (the retry after a stale socket). */
  connectFor(pool: OriginPool, user: UpstreamUser): void {
    assert(!pool.dropped, "a fetch retries on a pool in the map, not a dropped one");
    if (pool.open < this.socketsPerOrigin) {
      pool.open++;
      user.assign(new Upstream(pool, this));
    } else {
      this.wait(pool, user);
    }
  }

  private wait(pool: OriginPool, user: UpstreamUser): void {
    const queued = pool.waiters.push(user);
    assert(queued, "a pool's waiters fit: one fetch per slot, and the queue holds one per slot");
  }

  /** `conn` finished a response; reuse it for a waiter, pool it, or close it. */
  release(conn: Upstream, reusable: boolean): void {
    if (!reusable || this.closing) {
      conn.socket.destroy();
      return;
    }
    const next = conn.pool.waiters.shift();
    if (next !== null) {
      next.assign(conn);
      return;
    }
    conn.idleSince = performance.now();
    conn.pool.idle.push(conn);
  }

  private startSweep(): void {
    if (this.sweepTimer !== null || this.closing) return;
    // One timer for every idle socket of every origin, not one per socket; it runs while
    // any pool exists (a pool exists before its first socket is pooled).
    this.sweepTimer = setInterval(() => this.sweepIdle(), Math.max(TIMER_SWEEP_MS, this.idleTimeoutMs / 4));
    this.sweepTimer.unref();
  }

  private sweepIdle(): void {
    const limit = performance.now() - this.idleTimeoutMs;
    for (const pool of this.pools.values()) {
      // The idle list is LIFO: the oldest are first.
      while (pool.idle.length > 0 && pool.idle[0].idleSince < limit) pool.idle.shift()!.socket.destroy();
      // A pool that never got a socket (its fetch failed before connecting) goes here;
      // one whose sockets all closed went in closed().
      this.dropIfEmpty(pool);
    }
    if (this.pools.size === 0 && this.sweepTimer !== null) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = null;
    }
  }

  /** A socket closed (by either side): fix the counts, fail its fetch, serve a waiter. */
  closed(conn: Upstream): void {
    const pool = conn.pool;
    assert(pool.open > 0, "a pool counts every socket it opened until that socket closes");
    pool.open--;
    const i = pool.idle.indexOf(conn);
    if (i >= 0) pool.idle.splice(i, 1);
    const op = conn.op;
    conn.op = null;
    if (op !== null) op.closed(conn);
    if (pool.open < this.socketsPerOrigin && !this.closing) {
      const next = pool.waiters.shift();
      if (next !== null) {
        pool.open++;
        next.assign(new Upstream(pool, this));
      }
    }
    this.dropIfEmpty(pool);
  }

  /** Closes idle sockets now and every socket as soon as its fetch ends. */
  close(): void {
    this.closing = true;
    if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    for (const pool of this.pools.values()) {
      for (const conn of pool.idle.splice(0)) conn.socket.destroy();
    }
  }
}
