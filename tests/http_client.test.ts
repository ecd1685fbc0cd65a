// The HTTP client behind fetch, through the effects app (its /fetch route takes the URL from
// the query): upstream answers that are invalid fail at once and close the socket instead
// of holding the fetch until its timeout; a body over the limit is TooLarge however it is
// framed; the connection pools stay within FETCH_ORIGINS_MAX however many spellings of
// an origin the app is handed.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { startTestServer, waitFor, type Running } from "./helpers.ts";
import { startTestUpstream, type TestUpstream } from "./upstream_fixture.ts";

const APP = "tests/fixtures/effectsapp.ts";
/** The fetch timeout the app asks for: an answer that fails "at once" fails well before it. */
const FETCH_TIMEOUT_MS = 6000;
const AT_ONCE_MS = 2000;

/** A raw upstream on 127.0.0.1: each request's path picks what it answers, byte for byte.
 *  Unless the behaviour closes it, the socket stays open, as a confused upstream's would. */
interface RawUpstream {
  url: string;
  /** Paths whose socket has closed (by either side). */
  closed: Set<string>;
  connections(): number;
  close(): Promise<void>;
}

type Behaviour = (socket: net.Socket) => void;

async function startRawUpstream(behaviours: Record<string, Behaviour>): Promise<RawUpstream> {
  const closed = new Set<string>();
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on("error", () => {});
    let path = "";
    socket.on("close", () => {
      sockets.delete(socket);
      closed.add(path);
    });
    socket.once("data", (chunk: Buffer) => {
      path = /^[A-Z]+ (\S+) HTTP/.exec(chunk.toString("latin1"))?.[1] ?? "";
      const behave = behaviours[path];
      if (behave === undefined) socket.destroy();
      else behave(socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    closed,
    connections: () => connections,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

function q(url: string): string {
  return encodeURIComponent(url);
}

async function get(srv: Running, path: string): Promise<{ status: number; body: string; ms: number }> {
  const t0 = performance.now();
  const res = await fetch(`http://127.0.0.1:${srv.port}${path}`);
  const body = await res.text();
  return { status: res.status, body, ms: performance.now() - t0 };
}

const CHUNK = `400\r\n${"c".repeat(0x400)}\r\n`;

describe("invalid upstream answers", () => {
  let srv: Running;
  let raw: RawUpstream;
  // [path, what the upstream writes (and keeps the socket open), what the app reports]
  const invalid: [string, string, RegExp][] = [
    ["/http09", "hello world\n", /^error Protocol: the upstream did not answer with an HTTP\/1\.x status line\n$/],
    ["/banner", "SSH-2.0-OpenSSH_9.6\r\n", /^error Protocol: the upstream did not answer with an HTTP\/1\.x status line\n$/],
    ["/status-4-digits", "HTTP/1.1 2000 OK\r\n", /^error Protocol: malformed status line\n$/],
    ["/http12", "HTTP/1.2 200 OK\r\n", /^error Protocol: the upstream answered with an unsupported HTTP version\n$/],
    ["/lf-only", "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", /^error Protocol: bare LF in the upstream's head\n$/],
    ["/nul-in-field", "HTTP/1.1 200 OK\r\nX: a\x00b\r\n", /^error Protocol: control character in the upstream's head\n$/],
    ["/obs-fold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n", /^error Protocol: the upstream's head is malformed: obsolete line folding\n$/],
    ["/switching", "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", /^error Protocol: the upstream switched protocols \(101\)/],
    ["/interim-then-garbage", "HTTP/1.1 100 Continue\r\n\r\nnot http\r\n", /^error Protocol: the upstream did not answer with an HTTP\/1\.x status line\n$/],
  ];
  const behaviours: Record<string, Behaviour> = {
    // Closes before the head is complete: Reset, at once.
    "/close-mid-head": (s) => s.end("HTTP/1.1 200 OK\r\nContent-"),
    // A complete response followed by bytes nobody asked for, in the same write and later.
    "/extra-same-write": (s) => s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n"),
    "/extra-later": (s) => {
      s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      setTimeout(() => s.write("HTTP/1.1 200 OK\r\n"), 30);
    },
    // Bodies over a 3000-byte limit, framed three ways.
    "/over-chunked": (s) => s.write(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${CHUNK.repeat(5)}0\r\n\r\n`),
    "/over-small-chunks": (s) => s.write(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${`10\r\n${"s".repeat(16)}\r\n`.repeat(300)}0\r\n\r\n`),
    "/over-length": (s) => s.write(`HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n${"l".repeat(5000)}`),
    "/over-until-close": (s) => s.end(`HTTP/1.1 200 OK\r\n\r\n${"u".repeat(5000)}`),
    "/under-chunked": (s) => s.write(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${CHUNK.repeat(2)}0\r\n\r\n`),
  };
  for (const [path, bytes] of invalid) behaviours[path] = (s) => s.write(bytes);

  before(async () => {
    raw = await startRawUpstream(behaviours);
    srv = await startTestServer({ slots: 16, slotBytes: 256 * 1024 }, true, APP);
  });
  after(async () => {
    await srv?.server.close();
    await raw?.close();
  });

  async function fetchRaw(path: string, extra = ""): Promise<{ status: number; body: string; ms: number }> {
    return get(srv, `/fetch?timeout=${FETCH_TIMEOUT_MS}${extra}&url=${q(raw.url + path)}`);
  }

  for (const [path, , expected] of invalid) {
    it(`fails at once with Protocol and closes the socket: ${path}`, async () => {
      const r = await fetchRaw(path);
      assert.equal(r.status, 502);
      assert.match(r.body, expected);
      assert.ok(r.ms < AT_ONCE_MS, `took ${r.ms.toFixed(0)} ms`);
      await waitFor(() => raw.closed.has(path), 1000);
    });
  }

  it("a close before the head ends is Reset, at once", async () => {
    const r = await fetchRaw("/close-mid-head");
    assert.match(r.body, /^error Reset: 127\.0\.0\.1:\d+ closed the connection before a complete response head\n$/);
    assert.ok(r.ms < AT_ONCE_MS, `took ${r.ms.toFixed(0)} ms`);
  });

  it("bytes after a complete response: the response stands, the socket is not reused", async () => {
    for (const path of ["/extra-same-write", "/extra-later"]) {
      const r = await fetchRaw(path);
      assert.equal(r.status, 200, r.body);
      assert.match(r.body, /^status 200\n[\s\S]*\n\nok$/);
      await waitFor(() => raw.closed.has(path), 1000);
    }
  });

  it("a body over the limit is TooLarge however it is framed", async () => {
    for (const path of ["/over-chunked", "/over-small-chunks", "/over-length", "/over-until-close"]) {
      const r = await fetchRaw(path, "&limit=3000");
      assert.equal(r.status, 502, path);
      assert.match(r.body, /^error TooLarge: the upstream's body is (5000 bytes, )?over the fetch's body limit \(3000 bytes\)\n$/, path);
      assert.ok(r.ms < AT_ONCE_MS, `${path} took ${r.ms.toFixed(0)} ms`);
      await waitFor(() => raw.closed.has(path), 1000);
    }
    // Under the limit, the same chunked framing is read whole.
    const ok = await fetchRaw("/under-chunked", "&limit=3000");
    assert.match(ok.body, /^status 200\n[\s\S]*\n\nc{2048}$/);
  });
});

describe("connection pools per origin", () => {
  const ORIGINS = 4;
  let srv: Running;
  let up: TestUpstream;
  /** The same loopback address spelled with k leading zeros in its last part (the resolver
   *  reads 127.0.0.001 as 127.0.0.1): a distinct origin to the client for every k. */
  const spelling = (k: number) => `127.0.0.${"0".repeat(k)}1`;
  const urlFor = (k: number, path: string) => up.url.replace("127.0.0.1", spelling(k)) + path;
  const stats = () => srv.server.effects.client.stats();

  before(async () => {
    up = await startTestUpstream();
    srv = await startTestServer({ slots: 16, slotBytes: 256 * 1024, fetch: { originsMax: ORIGINS, idleTimeoutMs: 1500 } }, true, APP);
  });
  after(async () => {
    await srv?.server.close();
    await up?.close();
  });

  it("keeps at most FETCH_ORIGINS_MAX pools, evicting the least recently used idle one", async () => {
    const bounded = () => {
      const s = stats();
      assert.ok(s.origins <= ORIGINS, `${s.origins} pools kept`);
      assert.ok(s.sockets <= ORIGINS, `${s.sockets} sockets kept`);
    };
    for (let k = 0; k < ORIGINS; k++) {
      const r = await get(srv, `/fetch?url=${q(urlFor(k, `/echo?id=${k}`))}`);
      assert.match(r.body, new RegExp(`\\n\\nupstream ${k} x{${k}}$`));
      bounded();
    }
    assert.equal(stats().origins, ORIGINS);
    // Spelling 0 is used again (its socket is reused), so spelling 1 is the least recent.
    const opened = up.connections();
    await get(srv, `/fetch?url=${q(urlFor(0, "/echo?id=0"))}`);
    assert.equal(up.connections(), opened);
    await get(srv, `/fetch?url=${q(urlFor(ORIGINS, "/echo?id=1"))}`);
    bounded();
    await get(srv, `/fetch?url=${q(urlFor(0, "/echo?id=0"))}`);
    assert.equal(up.connections(), opened + 1, "spelling 0 kept its pool and its socket");
    await get(srv, `/fetch?url=${q(urlFor(1, "/echo?id=1"))}`);
    assert.equal(up.connections(), opened + 2, "spelling 1 was evicted and connects anew");
    // Many more spellings than the limit: every fetch works, the pools stay bounded.
    for (let k = 0; k < 40; k++) {
      const r = await get(srv, `/fetch?url=${q(urlFor(k, `/echo?id=${k}`))}`);
      assert.equal(r.status, 200, r.body);
      bounded();
    }
  });

  it("fails at once with Unavailable when every pool has a fetch in flight, and recovers", async () => {
    const hung = Array.from({ length: ORIGINS }, (_, k) => get(srv, `/fetch?timeout=1500&url=${q(urlFor(100 + k, "/hang"))}`));
    await waitFor(() => (up.hits.get("/hang") ?? 0) >= ORIGINS);
    const r = await get(srv, `/fetch?url=${q(urlFor(200, "/echo?id=5"))}`);
    assert.equal(r.status, 502);
    assert.match(r.body, /^error Unavailable: the HTTP client keeps pools for FETCH_ORIGINS_MAX \(4\) upstream origins and each has a fetch in flight, so none can make room for 127\.0\.0\.0+1:\d+\n$/);
    assert.ok(r.ms < AT_ONCE_MS, `took ${r.ms.toFixed(0)} ms`);
    for (const h of await Promise.all(hung)) assert.match(h.body, /^error Timeout: /);
    // Their sockets were closed, so their pools are dropped at once.
    await waitFor(() => stats().origins === 0, 1000);
    const ok = await get(srv, `/fetch?url=${q(urlFor(200, "/echo?id=5"))}`);
    assert.equal(ok.status, 200, ok.body);
  });

  it("drops a pool when its sockets are gone: at once after a close, by the sweep when idle or never used", async () => {
    await get(srv, `/fetch?url=${q(urlFor(300, "/echo?id=1"))}`);
    const kept = stats().origins;
    assert.ok(kept >= 1);
    // Refused: the pool's only socket closed before the fetch failed, and the pool with it.
    const refused = await get(srv, `/fetch?url=${q("http://127.0.0.1:1/")}`);
    assert.match(refused.body, /^error Refused: /);
    assert.equal(stats().origins, kept);
    // A fetch refused before connecting (a header the client owns) leaves an unused pool.
    const bad = await get(srv, `/fetch?header=Content-Length&url=${q(urlFor(301, "/echo"))}`);
    assert.match(bad.body, /^error BadArgument: /);
    assert.equal(stats().origins, kept + 1);
    // Past the idle timeout (1.5 s) and a sweep, nothing is kept.
    await waitFor(() => stats().origins === 0 && stats().sockets === 0, 4000);
  });
});
