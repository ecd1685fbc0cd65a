// fetchAll (`arena.fetch_all`): every fetch of a group starts at once and the handler
// resumes once, each result its own value in the arena. Tested through
// tests/fixtures/fetchallapp.ts against local upstreams: all succeeding (and running at the
// same time, seen from the upstream), one of several failing in each way while the others
// succeed, the group's timeout, a client that leaves (every fetch of its group is
// cancelled and its socket closed), the PARALLEL_FETCHES_MAX limit, and a fetch after a
// group (the answers were moved down and committed soundly).

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { startTestServer, waitFor, type Running } from "./helpers.ts";
import { startTestUpstream, type TestUpstream } from "./upstream_fixture.ts";
import { PARALLEL_FETCHES_MAX } from "../host/limits.ts";

const APP = "tests/fixtures/fetchallapp.ts";
const q = encodeURIComponent;

/** An upstream whose /slow?id=N answers after `holdMs`, counting requests in flight at once. */
async function startCountingUpstream(holdMs: number): Promise<{ url: string; maxInFlight(): number; open(): number; close(): Promise<void> }> {
  let inFlight = 0;
  let max = 0;
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    inFlight++;
    max = Math.max(max, inFlight);
    const id = new URL(req.url ?? "/", "http://x").searchParams.get("id") ?? "";
    const t = setTimeout(() => {
      inFlight--;
      res.setHeader("x-id", id);
      res.end(`slow ${id}`);
    }, holdMs);
    res.on("close", () => {
      clearTimeout(t);
      if (!res.writableFinished) inFlight--;
    });
  });
  server.on("connection", (s: net.Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    maxInFlight: () => max,
    open: () => sockets.size,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

describe("fetchAll", () => {
  let t: Running;
  let up: TestUpstream;
  let slow: Awaited<ReturnType<typeof startCountingUpstream>>;

  before(async () => {
    up = await startTestUpstream();
    slow = await startCountingUpstream(300);
    t = await startTestServer({ slots: 8, slotBytes: 512 * 1024 }, false, APP);
  });
  after(async () => {
    await t.server.close();
    await up.close();
    await slow.close();
  });

  async function all(urls: string[], extra = ""): Promise<string[]> {
    const res = await fetch(`http://127.0.0.1:${t.port}/all?urls=${q(urls.join("|"))}${extra}`, { signal: AbortSignal.timeout(15_000) });
    assert.equal(res.status, 200);
    return (await res.text()).trimEnd().split("\n");
  }

  it("runs every fetch at the same time and gives each its own response, in order", async () => {
    const lines = await all([1, 2, 3].map((i) => `${slow.url}/slow?id=${i}`));
    assert.deepEqual(lines, [1, 2, 3].map((i) => `${i - 1} status 200 x-id ${i} len 6 body slow ${i}`));
    assert.equal(slow.maxInFlight(), 3, "the upstream had all three requests at once");
  });

  it("keeps the others' responses when one fails: a 404, a refused connection, a timeout", async () => {
    const lines = await all([`${up.url}/echo?id=5`, `${up.url}/nope`, "http://127.0.0.1:1/", `${up.url}/hang`, `${up.url}/echo?id=7`], "&timeout=600");
    assert.equal(lines[0], "0 status 200 x-id 5 len 16 body upstream 5 xxxxx");
    assert.equal(lines[1], "1 status 404 x-id - len 9 body not found");
    assert.match(lines[2], /^2 error Refused: connection refused by 127\.0\.0\.1:1$/);
    assert.match(lines[3], /^3 error Timeout: no complete response from 127\.0\.0\.1:\d+ within the group's 600 ms \(waiting for the response head\)$/);
    assert.equal(lines[4], "4 status 200 x-id 7 len 18 body upstream 7 xxxxxxx");
  });

  it("a bad URL fails at once, alone", async () => {
    const lines = await all([`${up.url}/echo?id=1`, "ftp://x/"]);
    assert.equal(lines[0], "0 status 200 x-id 1 len 12 body upstream 1 x");
    assert.match(lines[1], /^1 error BadUrl: the URL scheme ftp: is not supported/);
  });

  it("the group's timeout ends every fetch still running as timed out", async () => {
    const lines = await all([`${up.url}/hang`, `${up.url}/hang`], "&timeout=300");
    for (const [i, line] of lines.entries()) assert.match(line, new RegExp(`^${i} error Timeout: .* within the group's 300 ms`));
  });

  it("a client that leaves cancels every fetch of its group and closes their sockets", async () => {
    const before = slow.maxInFlight();
    const hold = await startCountingUpstream(60_000);
    try {
      const socket = net.connect(t.port, "127.0.0.1");
      const urls = [1, 2, 3].map((i) => `${hold.url}/slow?id=${i}`).join("|");
      socket.write(`GET /all?urls=${q(urls)} HTTP/1.1\r\nHost: t\r\n\r\n`);
      await waitFor(() => hold.open() === 3, 5000);
      const logBefore = t.log.lines.length;
      // Gone: a reset (a client that only half-closes is still answered).
      socket.resetAndDestroy();
      await waitFor(() => hold.open() === 0, 5000);
      await waitFor(() => t.server.effects.client.stats().sockets === 0 && t.server.stats().slotsFree === 8, 5000);
      // Cancelled quietly: the app saw FetchError.Cancelled for each and returned; nothing trapped.
      assert.deepEqual(t.log.lines.slice(logBefore), []);
    } finally {
      await hold.close();
    }
    assert.equal(slow.maxInFlight(), before);
  });

  it(`refuses more than PARALLEL_FETCHES_MAX (${PARALLEL_FETCHES_MAX}) requests, each with the reason`, async () => {
    const lines = await all(Array.from({ length: PARALLEL_FETCHES_MAX + 1 }, (_, i) => `${up.url}/echo?id=${i}`));
    assert.equal(lines.length, PARALLEL_FETCHES_MAX + 1);
    for (const line of lines) assert.match(line, /^\d+ error BadArgument: fetchAll takes at most PARALLEL_FETCHES_MAX \(8\) requests/);
    const full = await all(Array.from({ length: PARALLEL_FETCHES_MAX }, (_, i) => `${up.url}/echo?id=${i}`));
    assert.deepEqual(full.map((l) => l.split(" ").slice(0, 3).join(" ")), Array.from({ length: PARALLEL_FETCHES_MAX }, (_, i) => `${i} status 200`));
  });

  it("shares the arena: bodies arrive whole, and the request goes on allocating and fetching after", async () => {
    const lines = await all([`${up.url}/big?n=100000`, `${up.url}/echo?id=9`, `${up.url}/big?n=120000`], `&then=${q(`${up.url}/echo?id=4`)}`);
    assert.deepEqual(lines, ["0 status 200 x-id - len 100000 body (long)", "1 status 200 x-id 9 len 20 body upstream 9 xxxxxxxxx",
      "2 status 200 x-id - len 120000 body (long)", "then upstream 4 xxxx"]);
    // One body over its share (a third of ~500 KiB) is TooLarge; the others arrive.
    const over = await all([`${up.url}/big?n=300000`, `${up.url}/echo?id=2`, `${up.url}/echo?id=3`]);
    assert.match(over[0], /^0 error TooLarge: the upstream's body is 300000 bytes, over what is free in the request's arena/);
    assert.equal(over[1], "1 status 200 x-id 2 len 13 body upstream 2 xx");
  });
});
