// The headless browser tooling (tests/browser.ts) against the hello example: real chromium,
// driven over the DevTools protocol, loading pages an ArenaServer serves.
// The first run on a machine without chromium installs it with apt-get (minutes, at worst).

import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { chromiumVersion, ensureChromium, loadPage, PROFILE_PREFIX } from "./browser.ts";
import { ROOT, startTestServer, type Running } from "./helpers.ts";

const SCREENSHOT = path.join(ROOT, "tests/.artifacts/hello.png");

// Installing chromium can take minutes on a slow mirror; hooks get their own timeout
// (npm test's --test-timeout would otherwise apply to them).
const INSTALL_TIMEOUT_MS = 15 * 60 * 1000;

describe("headless browser check", { timeout: INSTALL_TIMEOUT_MS + 5 * 60 * 1000 }, () => {
  let running: Running;
  let base: string;
  before(async () => {
    await ensureChromium();
    running = await startTestServer({}, false, "examples/hello/app.ts");
    base = `http://127.0.0.1:${running.port}`;
  }, { timeout: INSTALL_TIMEOUT_MS });
  after(async () => {
    await running?.server.close();
  });

  test("chromium is available", async () => {
    assert.match(await chromiumVersion(), /^(Chromium|Google Chrome) \d+\./);
  });

  test("loads / with status, text, no script errors and a screenshot", { timeout: 60_000 }, async () => {
    fs.rmSync(SCREENSHOT, { force: true });
    const page = await loadPage(`${base}/`, { screenshot: SCREENSHOT, width: 800, height: 600 });
    assert.equal(page.status, 200);
    assert.equal(page.title, ""); // text/plain: chromium shows it in a <pre>, no <title>
    assert.equal(page.text, "Hello from Arena!\n"); // innerText of the <pre>, newline kept
    // The hello example has no /favicon.ico, and chromium asks for one after a page loads;
    // the 404 is reported as a network error log entry. A site that serves a favicon (or
    // links one) has none of these, and any other error here is a real failure.
    assert.deepEqual(page.consoleErrors, [
      `network: Failed to load resource: the server responded with a status of 404 (Not Found) (${base}/favicon.ico)`,
    ]);
    const png = fs.readFileSync(SCREENSHOT);
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], "a PNG");
    assert.equal(png.readUInt32BE(16), 800); // IHDR width
    assert.equal(png.readUInt32BE(20), 600); // IHDR height
  });

  test("loads /hello/browser; UTF-8 path parameters survive", { timeout: 60_000 }, async () => {
    let page = await loadPage(`${base}/hello/browser`);
    assert.equal(page.status, 200);
    assert.equal(page.text, "Hello, browser!\n");
    page = await loadPage(`${base}/hello/Zo%C3%AB%20%F0%9F%9A%80`);
    assert.equal(page.status, 200);
    assert.equal(page.text, "Hello, Zoë 🚀!\n");
  });

  test("reports a 404 document and script errors", { timeout: 60_000 }, async () => {
    const page = await loadPage(`${base}/nope`);
    assert.equal(page.status, 404);
    assert.ok(page.consoleErrors.some((e) => e.includes(`404 (Not Found) (${base}/nope)`)), page.consoleErrors.join("\n"));

    const html = "<title>t</title><script>console.error('boom', 42); console.assert(1 === 2, 'nope'); null.x;</script><p>hi</p>";
    const scripted = await loadPage(`data:text/html,${encodeURIComponent(html)}`);
    assert.equal(scripted.title, "t");
    assert.equal(scripted.text, "hi");
    assert.equal(scripted.consoleErrors[0], "console.error: boom 42");
    assert.equal(scripted.consoleErrors[1], "console.assert: nope");
    assert.match(scripted.consoleErrors[2], /^exception: TypeError: Cannot read properties of null \(reading 'x'\)/);
    assert.equal(scripted.consoleErrors.length, 3);
  });

  test("rejects unreachable URLs and timeouts, leaving no browser behind", { timeout: 60_000 }, async () => {
    const before = chromiumPids();
    // A port nothing listens on (chromium refuses "unsafe" ports like 1 before connecting).
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const closedPort = (closed.address() as net.AddressInfo).port;
    await new Promise((r) => closed.close(r));
    await assert.rejects(loadPage(`http://127.0.0.1:${closedPort}/`), /^Error: loadPage http:\/\/127\.0\.0\.1:\d+\/: net::ERR_CONNECTION_REFUSED$/);
    // A server that accepts and never answers.
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((s) => {
      sockets.add(s);
      s.on("error", () => {});
    });
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    try {
      const port = (silent.address() as net.AddressInfo).port;
      await assert.rejects(loadPage(`http://127.0.0.1:${port}/`, { timeoutMs: 1500 }), /timed out after 1500 ms/);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
    assert.deepEqual(chromiumPids().filter((p) => !before.includes(p)), []);
  });
});

/** PIDs of chromium processes whose command line carries one of this process's temp
 *  profiles (other test files may run browsers at the same time). */
function chromiumPids(): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (cmd.includes(`${PROFILE_PREFIX}${process.pid}-`)) pids.push(Number(entry));
    } catch { /* gone */ }
  }
  return pids;
}
