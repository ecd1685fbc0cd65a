// The fetch client's connections: one keep-alive pool per upstream origin (host:port, and
// https://host:port apart from it), each socket serving one fetch at a time.
//
//   OriginPool (one per origin, ≤ FETCH_ORIGINS_MAX)
//     idle: [Upstream …] (LIFO, closed after FETCH_IDLE_TIMEOUT_MS by one shared sweep)
//     open ≤ FETCH_SOCKETS_PER_ORIGIN_MAX, then waiters (FIFO, PARALLEL_FETCHES_MAX per slot at most)
//
// TLS sessions: the last session each https origin gave is kept (UpstreamPools.sessions, at
// most FETCH_ORIGINS_MAX, the oldest dropped first) and offered by its next connection, so
// the handshake resumes instead of starting over. They outlive the pools: a pool is dropped
// when its last socket closes, which is exactly when the next connection needs the session.
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
import tls from "node:tls";
import { assert } from "../../assert.ts";
import {
  FETCH_CONNECT_TIMEOUT_MS, FETCH_IDLE_TIMEOUT_MS, FETCH_ORIGINS_MAX, FETCH_SOCKETS_PER_ORIGIN_MAX, PARALLEL_FETCHES_MAX, TIMER_SWEEP_MS,
} from "../../limits.ts";
import { READ_BUFFER_BYTES, SocketWriter } from "../../http/socket_io.ts";
import { TlsTrust } from "./tls.ts";
import { WaiterQueue } from "./waiters.ts";

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
  /** PEM text of authorities trusted besides Node's and the system's (--fetch-ca). */
  caPem?: string;
}

const encoder = new TextEncoder();

export class OriginPool {
  /** host:port, its key in the pools' map. */
  readonly key: string;
  readonly host: string;
  readonly port: number;
  /** https: its sockets are TLS, their server name `host` (none for an IP address: SNI
   *  carries names only). */
  readonly tls: boolean;
  /** The Host header value, as bytes. */
  readonly authority: Uint8Array;
  readonly idle: Upstream[] = [];
  /** Sockets open or opening for this origin, idle ones included. */
  open = 0;
  readonly waiters: WaiterQueue<UpstreamUser>;
  /** UpstreamPools.uses when a fetch last chose this pool: eviction takes the lowest. */
  lastUsed = 0;
  /** Out of the pools' map (empty or evicted): a slot's memo must not hand it out again. */
  dropped = false;

  constructor(key: string, host: string, port: number, authority: Uint8Array, slots: number, secure: boolean) {
    this.key = key;
    this.host = host;
    this.port = port;
    this.tls = secure;
    this.authority = authority;
    this.waiters = new WaiterQueue<UpstreamUser>(slots * PARALLEL_FETCHES_MAX);
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
    // Reads land in the pools' one shared buffer (net's public `onread` option, which
    // tls.connect takes too, for the decrypted bytes): no Buffer per chunk. The bytes are
    // consumed before the callback returns.
    const onread = {
      buffer: pools.readBuffer,
      callback: (n: number, buf: Uint8Array): boolean => {
        if (this.op !== null) this.op.onData(buf, n);
        else socket.destroy(); // nothing was asked: an upstream talking out of turn is not reused
        return true;
      },
    };
    const socket: net.Socket = pool.tls ? tlsConnect(pool, pools, onread) : net.connect({ host: pool.host, port: pool.port, noDelay: true, onread });
    this.socket = socket;
    this.writer = new SocketWriter(socket, (err: boolean) => this.op?.written(err));
    // The connect timeout covers the handshake: an https upstream is connected once it is.
    socket.setTimeout(pools.connectTimeoutMs);
    socket.on(pool.tls ? "secureConnect" : "connect", () => {
      this.connected = true;
      socket.setTimeout(0);
      this.op?.connected();
    });
    if (pool.tls) socket.on("session", (session: Buffer) => pools.keepSession(pool.key, session));
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

/** A TLS connection to `pool`'s origin, verified against `trust`, resuming its last session. */
function tlsConnect(pool: OriginPool, pools: UpstreamPools, onread: net.OnReadOpts): tls.TLSSocket {
  // tls.connect takes net's `onread` (the test of https upstreams reads through it), though
  // @types/node does not list it among its options.
  const options: tls.ConnectionOptions & { onread: net.OnReadOpts } = {
    host: pool.host,
    port: pool.port,
    servername: net.isIP(pool.host) === 0 ? pool.host : undefined,
    secureContext: pools.trust.secureContext(),
    session: pools.sessions.get(pool.key),
    onread,
  };
  const socket = tls.connect(options);
  socket.setNoDelay(true);
  return socket;
}

/** Every origin's pool, with the accounting that keeps them within their bounds. */
export class UpstreamPools {
  readonly socketsPerOrigin: number;
  readonly originsMax: number;
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
  /** The authorities https upstreams are checked against. */
  readonly trust: TlsTrust;
  /** The last TLS session of each https origin (pool key), oldest first. */
  readonly sessions = new Map<string, Buffer>();
  /** Where every upstream socket's reads land; consumed before the read callback returns. */
  readonly readBuffer = new Uint8Array(READ_BUFFER_BYTES);
  /** Slots: a pool may hold PARALLEL_FETCHES_MAX waiters for each. */
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
    this.trust = new TlsTrust(options.caPem);
  }

  /** The pool for host:port (over TLS when `secure`), made when needed; null when there are
   *  originsMax pools and every one has a fetch in flight or waiting. Stamps the pool as
   *  just used. */
  pool(host: string, port: number, authority: string, secure = false): OriginPool | null {
    const key = secure ? `https://${host}:${port}` : `${host}:${port}`;
    let pool = this.pools.get(key);
    if (pool === undefined) {
      if (this.pools.size >= this.originsMax && !this.evictOne()) return null;
      pool = new OriginPool(key, host, port, encoder.encode(authority), this.slots, secure);
      this.pools.set(key, pool);
      this.startSweep();
    }
    this.touch(pool);
    return pool;
  }

  /** Keeps `session` as the one `key`'s next connection resumes, within FETCH_ORIGINS_MAX. */
  keepSession(key: string, session: Buffer): void {
    this.sessions.delete(key);
    if (this.sessions.size >= this.originsMax) this.sessions.delete(this.sessions.keys().next().value!);
    this.sessions.set(key, session);
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
    assert(queued, "a pool's waiters fit: PARALLEL_FETCHES_MAX fetches per slot, and the queue holds as many");
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
