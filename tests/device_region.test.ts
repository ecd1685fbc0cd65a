// The device region: host memory outside the wasm memory, by handle. The table's rules
// (generations make a freed handle stale, the bound is shared by every worker's table, a
// closed build gives its bytes back), then an app's round trip through the SDK (write,
// read, send, free, the stale handle after), a response body of several MiB sent from a
// device buffer by a server whose arena is 256 KiB, the bound as a value, and a reload.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { ArenaServer } from "../host/index.ts";
import { DEVICE_FULL, DEVICE_OK, DEVICE_RANGE, DEVICE_STALE, DeviceRegion, DeviceTable } from "../host/memory/device_region.ts";
import { DEVICE_HANDLES_MAX } from "../host/limits.ts";
import { MemoryLogger } from "../host/log.ts";
import { buildApp, exchange, get, postRequest, type ParsedResponse } from "./helpers.ts";

const MiB = 1024 * 1024;

describe("device table", () => {
  it("gives handles that go stale when freed, and never names another buffer", () => {
    const region = DeviceRegion.create(1 * MiB);
    const t = new DeviceTable(region);
    const a = t.alloc(100);
    assert.ok(a > 0);
    assert.equal(t.get(a)!.length, 100);
    assert.ok(t.get(a)!.every((b) => b === 0), "zeroed");
    assert.equal(region.used, 100);
    assert.equal(t.free(a), DEVICE_OK);
    assert.equal(region.used, 0);
    assert.equal(t.get(a), null);
    assert.equal(t.free(a), DEVICE_STALE);
    // The index is reused with a new generation: the old handle stays stale.
    const b = t.alloc(10);
    assert.notEqual(b, a);
    assert.equal(b % 4096, a % 4096, "same index");
    assert.equal(t.get(a), null);
    assert.equal(t.get(b)!.length, 10);
    for (const bad of [0, -1, 1.5, 0x7fffffff, b + 1, 2 ** 53, NaN]) assert.equal(t.get(bad), null, String(bad));
  });

  it("never gives the same handle twice: not after 100,000 allocations of one index, not in another table (a reload, another worker)", () => {
    const region = DeviceRegion.create(1 * MiB, null, 2);
    const t = new DeviceTable(region);
    const first = t.alloc(8);
    t.free(first);
    const seen = new Set<number>([first]);
    for (let i = 0; i < 100_000; i++) {
      const h = t.alloc(8);
      assert.ok(!seen.has(h), `handle ${h} given twice`);
      seen.add(h);
      assert.equal(t.get(first), null);
      t.free(h);
    }
    // A new build's table, and another worker's, on the same region: index 0 again, but
    // never a handle any table gave.
    const reloaded = new DeviceTable(region);
    const worker1 = new DeviceTable(DeviceRegion.attach(region.shared(), null, 1));
    for (const other of [reloaded, worker1]) {
      const h = other.alloc(8);
      assert.ok(!seen.has(h), `handle ${h} of another table`);
      assert.equal(t.get(h), null, "another table's handle is stale here");
      assert.equal(other.get(first), null);
    }
  });

  it("gives back what a stopped worker held, and what an allocation the process could not make took", () => {
    const region = DeviceRegion.create(1000, null, 2);
    const worker1 = new DeviceTable(DeviceRegion.attach(region.shared(), null, 1));
    assert.ok(worker1.alloc(600) > 0);
    assert.equal(new DeviceTable(region).alloc(600), -DEVICE_FULL);
    region.reclaim(1); // the primary, when worker 1's thread has ended
    assert.equal(region.used, 0);
    assert.ok(new DeviceTable(region).alloc(600) > 0);
    class NoMemory extends DeviceTable {
      protected newBuffer(size: number): Uint8Array {
        throw new RangeError(`Array buffer allocation failed (${size})`);
      }
    }
    const before = region.used;
    assert.equal(new NoMemory(region).alloc(300), -DEVICE_FULL);
    assert.equal(region.used, before, "the bound got its bytes back");
  });

  it("bounds every table of a region together, as a value", () => {
    const region = DeviceRegion.create(1000);
    const worker1 = new DeviceTable(region);
    const worker2 = new DeviceTable(DeviceRegion.attach(region.shared(), null));
    const a = worker1.alloc(600);
    assert.ok(a > 0);
    assert.equal(worker2.alloc(600), -DEVICE_FULL, "the other worker sees the same bound");
    assert.ok(worker2.alloc(400) > 0);
    assert.equal(worker1.alloc(1), -DEVICE_FULL);
    assert.equal(worker1.alloc(-1), -DEVICE_RANGE);
    worker1.free(a);
    assert.ok(worker1.alloc(600) > 0);
  });

  it("runs out of handles as a value, and a closed table gives its bytes back", () => {
    const region = DeviceRegion.create(1 * MiB);
    const t = new DeviceTable(region);
    for (let i = 0; i < DEVICE_HANDLES_MAX; i++) assert.ok(t.alloc(1) > 0);
    assert.equal(t.alloc(1), -DEVICE_FULL);
    assert.equal(region.used, DEVICE_HANDLES_MAX);
    t.close();
    assert.equal(region.used, 0);
    assert.equal(t.alloc(1), -DEVICE_STALE, "a closed build allocates nothing");
  });
});

let server: ArenaServer;
let port: number;
let wasm: Uint8Array;
const device = DeviceRegion.create(8 * MiB);

before(async () => {
  wasm = await buildApp("tests/fixtures/deviceapp.ts", true);
  server = await ArenaServer.create(wasm, "deviceapp", { slots: 4, slotBytes: 256 * 1024, device, log: new MemoryLogger() });
  port = await server.listen(0, "127.0.0.1");
});

after(() => server.close());

async function one(request: string | Buffer, head = false): Promise<ParsedResponse> {
  const r = await exchange(port, request, { expect: 1, headRequests: [head], timeoutMs: 10_000 });
  assert.equal(r.responses.length, 1, r.bytes.toString("latin1").slice(0, 300));
  return r.responses[0];
}
const text = async (p: string) => (await one(get(p))).body.toString();

describe("Device from an app", () => {
  it("etag() gives a device body no ETag, so two buffers never share one and If-None-Match never turns it into 304", async () => {
    const a = Number((await one(postRequest("/blob", "first buffer"))).body.toString());
    const b = Number((await one(postRequest("/blob", "second buffer"))).body.toString());
    for (const h of [a, b]) {
      const r = await one(get(`/send-etag/${h}`, "If-None-Match: *\r\n"));
      assert.equal(r.status, 200);
      assert.equal(r.headers.get("etag"), undefined);
      assert.equal(await text(`/free/${h}`), "Ok");
    }
  });

  it("writes, reads, sends and frees a buffer; the freed handle is Stale, never bytes", async () => {
    const h = Number((await one(postRequest("/blob", "hello, device"))).body.toString());
    assert.ok(h > 0);
    assert.equal(await text(`/size/${h}`), "13");
    assert.equal(await text(`/read/${h}?off=7&len=6`), "device");
    assert.equal(await text(`/write/${h}?off=0&s=HELLO`), "Ok");
    assert.equal(await text(`/read/${h}?off=0&len=13`), "HELLO, device");
    assert.equal(await text(`/read/${h}?off=10&len=4`), "Range");
    assert.equal(await text(`/read/${h}?off=-1&len=2`), "Range");
    assert.equal(await text(`/write/${h}?off=12&s=xy`), "Range");
    const sent = await one(get(`/send/${h}`));
    assert.equal(sent.status, 200);
    assert.equal(sent.headers.get("content-type"), "application/octet-stream");
    assert.equal(sent.body.toString(), "HELLO, device");
    const head = await one(`HEAD /send/${h} HTTP/1.1\r\nHost: t\r\n\r\n`, true);
    assert.equal(head.headers.get("content-length"), "13");
    assert.equal(await text(`/free/${h}`), "Ok");
    assert.equal(await text(`/free/${h}`), "Stale");
    assert.equal(await text(`/read/${h}?off=0&len=1`), "Stale");
    assert.equal(await text(`/size/${h}`), "-Stale");
    assert.equal(await text(`/write/${h}?off=0&s=x`), "Stale");
    const stale = await one(get(`/send/${h}`));
    assert.equal(stale.status, 500);
    assert.match(stale.body.toString(), /ARENA_E_RESPONSE.*device handle \d+, which is stale/);
    // A handle that was never given is as stale.
    assert.equal(await text("/read/12345?off=0&len=1"), "Stale");
  });

  it("sends a body of several MiB from a device buffer, byte for byte, with a 256 KiB arena", async () => {
    const before = server.app.memory.memory.buffer.byteLength;
    const h = Number(await text("/big?mib=3"));
    assert.ok(h > 0);
    const r = await one(get(`/send/${h}`));
    assert.equal(r.status, 200);
    assert.equal(r.body.length, 3 * MiB);
    const want = Buffer.alloc(3 * MiB);
    for (let i = 0; i < want.length; i++) want[i] = i & 255;
    assert.ok(r.body.equals(want), "the bytes the app wrote");
    assert.equal(server.app.memory.memory.buffer.byteLength, before, "the wasm memory did not grow");
    // Reading it all back into the arena does not fit: a value, nothing allocated.
    assert.equal(await text(`/read/${h}?off=0&len=${3 * MiB}`), "NoRoom");
    assert.equal(await text(`/free/${h}`), "Ok");
  });

  it("a device body is never compressed, even of a compressible type to a client that accepts gzip", async () => {
    const body = "compressible text ".repeat(2000);
    const h = Number((await one(postRequest("/blob", body))).body.toString());
    const r = await one(get(`/send-text/${h}`, "Accept-Encoding: gzip, br\r\n"));
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("content-encoding"), undefined);
    assert.equal(r.body.toString(), body);
    assert.equal(await text(`/free/${h}`), "Ok");
  });

  it("a buffer freed while its response is still being written to a slow client still sends every byte", async () => {
    const h = Number(await text("/big?mib=3"));
    const socket = net.connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.write(get(`/send/${h}`, "Connection: close\r\n"));
    socket.pause(); // the response waits in the kernel's and the host's buffers
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(await text(`/free/${h}`), "Ok", "freed while the response is in flight");
    assert.equal(await text(`/size/${h}`), "-Stale");
    const done = new Promise((resolve) => socket.on("end", resolve));
    socket.resume();
    await done;
    const all = Buffer.concat(chunks);
    const body = all.subarray(all.indexOf("\r\n\r\n") + 4);
    assert.equal(body.length, 3 * MiB);
    const want = Buffer.alloc(3 * MiB);
    for (let i = 0; i < want.length; i++) want[i] = i & 255;
    assert.ok(body.equals(want), "the bytes the app wrote, though the buffer was freed");
  });

  it("answers Full past --device-bytes, and Range past DEVICE_BUFFER_BYTES_MAX", async () => {
    assert.equal(await text(`/alloc/${9 * MiB}`), "-Full");
    assert.equal(await text(`/alloc/${2 ** 31 - 1}`), "-Range");
    assert.equal(await text("/alloc/-5"), "-Range");
    const h = await text(`/alloc/${MiB}`);
    assert.ok(Number(h) > 0);
    assert.equal(await text(`/free/${h}`), "Ok");
    assert.equal(await text("/open?path=/style.css"), "-Absent", "no --static");
  });

  it("a reload starts with no buffers: the old build's are freed, their handles stale", async () => {
    const h = Number((await one(postRequest("/blob", "kept"))).body.toString());
    assert.ok(device.used >= 4);
    const usedBefore = device.used;
    await server.reload(wasm, "deviceapp");
    // The old build is closed once its last request is done (the server's sweep).
    const deadline = Date.now() + 5000;
    while (server.builds > 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(server.builds, 1);
    assert.equal(device.used, usedBefore - 4);
    assert.equal(await text(`/read/${h}?off=0&len=4`), "Stale");
  });
});
