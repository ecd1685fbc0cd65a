// fetchAll (`arena.fetch_all`): every fetch of a group starts at once and the handler
// resumes once, each result its own value in the arena. Tested through
// tests/fixtures/fetchallapp.ts against local upstreams: all succeeding (and running at the
// same time, seen from the upstream), one of several failing in each way while the others
// succeed, the group's timeout, a client that leaves (every fetch of its group is
// cancelled and its socket closed), the PARALLEL_FETCHES_MAX limit, and a fetch after a
// group (the answers were moved down and committed soundly). A response head that fits a
// small share but leaves no room for its header table is that fetch's TooLarge, alone or
// in a group (the server goes on serving), and a raw `arena.fetch_all` whose list or
// descriptors lie in the free arena or overlap is refused before anything is written.

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

/** A raw upstream whose /head?size=N&n=K&id=X answers 200 with Content-Length: 0 and a head
 *  of exactly N bytes with K fields (x-id: X among them), then closes. */
async function startHeadUpstream(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    let got = "";
    s.on("data", (b: Buffer) => {
      got += b.toString("latin1");
      if (!got.includes("\r\n\r\n")) return;
      const u = new URL(got.split(" ")[1], "http://x");
      const size = Number(u.searchParams.get("size") ?? 0);
      const n = Number(u.searchParams.get("n") ?? 3);
      let head = `HTTP/1.1 200 OK\r\nx-id: ${u.searchParams.get("id") ?? "-"}\r\ncontent-length: 0\r\n`;
      for (let i = 0; i < n - 3; i++) head += `h${i}: v\r\n`;
      const pad = Math.max(0, size - head.length - "x-pad: \r\n\r\n".length);
      head += `x-pad: ${"p".repeat(pad)}\r\n\r\n`;
      s.end(head);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
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

  async function raw(mode: string): Promise<string[]> {
    const res = await fetch(`http://127.0.0.1:${t.port}/raw?mode=${mode}&url=${q(`${up.url}/echo?id=3`)}`, { signal: AbortSignal.timeout(15_000) });
    assert.equal(res.status, 200);
    return (await res.text()).trimEnd().split("\n");
  }

  /** Where the memory differs from `before`: the slots that changed, and whether anything
   *  below the slots (static data, the startup region, the heap) did. */
  function changed(before: Uint8Array): { slots: number[]; belowSlots: number } {
    const memory = t.server.app.memory;
    const u8 = memory.u8;
    const plan = memory.plan;
    let belowSlots = 0;
    for (let i = plan.startupBytes; i < plan.slotsBase; i++) if (u8[i] !== before[i]) belowSlots++;
    const slots: number[] = [];
    for (let slot = 0; slot < plan.slots; slot++) {
      const base = memory.slotBase(slot);
      for (let i = base; i < base + plan.slotBytes; i++) {
        if (u8[i] !== before[i]) {
          slots.push(slot);
          break;
        }
      }
    }
    return { slots, belowSlots };
  }

  it("a raw fetch_all with a sound list runs (the fixture's raw route works)", async () => {
    assert.deepEqual(await raw("ok"), ["group 0", "0 effect 0 status 200 error -", "1 effect 0 status 200 error -"]);
  });

  for (const [mode, what] of [["dup", "the same descriptor twice"], ["overlap", "descriptors that overlap"],
    ["above", "a descriptor in the free arena"], ["straddle", "a descriptor across the region's top"],
    ["listabove", "a list in the free arena"]] as const) {
    it(`refuses a raw fetch_all with ${what}: BadArgument, nothing fetched, nothing written outside the slot`, async () => {
      const hits = up.hits.get("/echo") ?? 0;
      const before = t.server.app.memory.u8.slice();
      const lines = await raw(mode);
      assert.equal(lines[0], "group 11");
      const why = mode === "listabove" ? "the list of descriptors" : mode === "dup" || mode === "overlap" ? "overlap" : "descriptor";
      // The listed descriptors the app may read (below the top) carry the reason; overlap
      // lists d0 and two of its own, not d1.
      for (const line of lines.slice(1, mode === "overlap" ? 2 : 3)) {
        assert.match(line, /^\d effect 11 status 0 error fetch_all: /);
        assert.ok(line.includes(why), line);
      }
      assert.equal(up.hits.get("/echo") ?? 0, hits, "no fetch started");
      const diff = changed(before);
      assert.equal(diff.belowSlots, 0, "nothing below the slots changed");
      assert.ok(diff.slots.length <= 1, `only the request's own slot changed: ${diff.slots}`);
    });
  }
});

describe("fetchAll in small shares", () => {
  let t: Running;
  let heads: Awaited<ReturnType<typeof startHeadUpstream>>;
  let up: TestUpstream;

  before(async () => {
    heads = await startHeadUpstream();
    up = await startTestUpstream();
    t = await startTestServer({ slots: 4, slotBytes: 64 * 1024 }, false, APP);
  });
  after(async () => {
    await t.server.close();
    await heads.close();
    await up.close();
  });

  async function get(path: string): Promise<string[]> {
    const res = await fetch(`http://127.0.0.1:${t.port}${path}`, { signal: AbortSignal.timeout(15_000) });
    assert.equal(res.status, 200);
    return (await res.text()).trimEnd().split("\n");
  }

  // Four fetches with limit(1) share ~52 KiB: about 13,200 bytes each. A head of 12,500 bytes
  // fits a share; with 100 fields (HEADER_COUNT_MAX) its header table (1,616 bytes) does not.
  const big = (id: string) => `/head?size=12500&n=100&id=${id}`;
  const small = (id: string) => `/head?size=200&n=5&id=${id}`;

  it("a head that fits its share but its header table does not is that fetch's TooLarge; the others answer", async () => {
    for (const order of [[big("a"), small("b"), small("c"), small("d")], [small("a"), small("b"), small("c"), big("d")]]) {
      const lines = await get(`/all?limit=1&urls=${q(order.map((p) => heads.url + p).join("|"))}`);
      assert.equal(lines.length, 4, lines.join("\n"));
      for (const [i, line] of lines.entries()) {
        const id = "abcd"[i];
        if (order[i].includes("size=12500")) {
          assert.match(line, new RegExp(`^${i} error TooLarge: the upstream's response head \\(12500 bytes, 100 fields\\) and its header table are over this fetch's share of the request's arena \\(\\d+ bytes\\)$`));
        } else {
          assert.equal(line.trimEnd(), `${i} status 200 x-id ${id} len 0 body`);
        }
      }
    }
    // The server goes on serving, fetches included.
    assert.deepEqual(await get(`/all?urls=${q(`${up.url}/echo?id=2`)}`), ["0 status 200 x-id 2 len 13 body upstream 2 xx"]);
  });

  it("a fetch of its own near a full arena: the same head is TooLarge, and the server goes on", async () => {
    assert.match((await get(`/one?room=13700&url=${q(heads.url + big("x"))}`))[0],
      /^error TooLarge: the upstream's response head \(12500 bytes, 100 fields\) and its header table are over what is free in the request's arena \(\d+ bytes\)$/);
    assert.deepEqual(await get(`/one?room=13700&url=${q(heads.url + small("y"))}`), ["status 200 len 0"]);
    assert.deepEqual(await get(`/one?room=100000&url=${q(`${up.url}/echo?id=2`)}`), ["status 200 len 13"]);
  });
});
