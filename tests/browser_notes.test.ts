// The notes example (examples/notes/app.ts) in a real browser: headless Chromium (Debian's,
// installed when missing) loads its pages after notes were created through the JSON API
// (tests/browser.ts loads pages; it does not submit forms, which tests/notes.test.ts
// covers). Every page must load with no console errors, failed resources or script
// exceptions, and escaped text must read as the text that was written; the run saves a
// screenshot of the list page to tests/.artifacts/notes-list.png.

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { ensureChromium, loadPage } from "./browser.ts";
import { ROOT, startTestServer, type Running } from "./helpers.ts";

const SCREENSHOT = path.join(ROOT, "tests/.artifacts/notes-list.png");
const INSTALL_TIMEOUT_MS = 15 * 60 * 1000;
const EVIL = '<script>alert("x")</script> & <b>bold</b>';

describe("notes in headless Chromium", { timeout: INSTALL_TIMEOUT_MS + 5 * 60 * 1000 }, () => {
  let site: Running;
  let base: string;
  let evilId = 0;
  before(async () => {
    await ensureChromium();
    site = await startTestServer({ slots: 8, slotBytes: 1024 * 1024 }, false, "examples/notes/app.ts");
    base = `http://127.0.0.1:${site.port}`;
    const notes = [
      ...Array.from({ length: 22 }, (_, i) => ({ title: `Older note ${i + 1}`, body: "Something to remember.", tags: ["archive"] })),
      { title: "Groceries", body: "milk\neggs\ncoffee ☕", tags: ["home", "errands"] },
      { title: "Sprint planning", body: "Ship the notes example. ".repeat(20), tags: ["work"] },
      { title: EVIL, body: EVIL, tags: ["<i>"] },
    ];
    for (const n of notes) {
      const res = await fetch(`${base}/api/notes`, { method: "POST", body: JSON.stringify(n) });
      assert.equal(res.status, 201);
      evilId = ((await res.json()) as { id: number }).id;
    }
  }, { timeout: INSTALL_TIMEOUT_MS });
  after(async () => {
    await site?.server.close();
  });

  test("the list page loads with no console errors; screenshot saved", { timeout: 60_000 }, async () => {
    fs.rmSync(SCREENSHOT, { force: true });
    const page = await loadPage(`${base}/`, { screenshot: SCREENSHOT, width: 1200, height: 900 });
    assert.equal(page.status, 200);
    assert.equal(page.title, "All notes · Arena Notes");
    assert.match(page.text, /25 notes/);
    assert.match(page.text, /Page 1 of 2/);
    assert.ok(page.text.includes(EVIL), "the <script> title reads as text");
    assert.match(page.text, /Groceries/);
    assert.match(page.text, /Add note/);
    assert.deepEqual(page.consoleErrors, []);
    const png = fs.readFileSync(SCREENSHOT);
    assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47], "a PNG");
    assert.equal(png.readUInt32BE(16), 1200);
  });

  test("a note's page, a tag filter, the second page and a 404 load with no console errors", { timeout: 90_000 }, async () => {
    const note = await loadPage(`${base}/notes/${evilId}`);
    assert.equal(note.status, 200);
    assert.equal(note.title, `${EVIL} · Arena Notes`);
    assert.ok(note.text.includes(EVIL));
    assert.deepEqual(note.consoleErrors, []);

    const tagged = await loadPage(`${base}/?tag=${encodeURIComponent("home")}`);
    assert.equal(tagged.status, 200);
    assert.match(tagged.text, /1 note tagged “home”/);
    assert.deepEqual(tagged.consoleErrors, []);

    const second = await loadPage(`${base}/?page=2`);
    assert.equal(second.status, 200);
    assert.match(second.text, /Page 2 of 2/);
    assert.match(second.text, /Older note 1\b/);
    assert.deepEqual(second.consoleErrors, []);

    // A 404 document logs "Failed to load resource" in Chromium; it must load and say why.
    const missing = await loadPage(`${base}/notes/999999`);
    assert.equal(missing.status, 404);
    assert.match(missing.text, /there is no note 999999/);
  });

  test("the open list page shows a note created through the API, and drops a deleted one, without a reload (GET /events)", { timeout: 90_000 }, async () => {
    const title = `Live note ${Date.now()}`;
    let id = 0;
    const page = await loadPage(`${base}/`, {
      timeoutMs: 60_000,
      during: async (evaluate) => {
        await evaluate("window.__loadedOnce = true");
        const res = await fetch(`${base}/api/notes`, { method: "POST", body: JSON.stringify({ title, body: "pushed", tags: ["live"] }) });
        assert.equal(res.status, 201);
        id = ((await res.json()) as { id: number }).id;
        await waitForPage(evaluate, `document.getElementById("notes").innerText.includes(${JSON.stringify(title)})`);
        assert.equal(await evaluate("window.__loadedOnce"), true, "the same document: no reload");
        assert.equal((await fetch(`${base}/api/notes/${id}`, { method: "DELETE" })).status, 204);
        await waitForPage(evaluate, `!document.getElementById("notes").innerText.includes(${JSON.stringify(title)})`);
      },
    });
    assert.equal(page.status, 200);
    assert.deepEqual(page.consoleErrors, []);
  });
});

/** Polls `condition` in the page until it is true (10 s at most). */
async function waitForPage(evaluate: (expression: string) => Promise<unknown>, condition: string): Promise<void> {
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    if ((await evaluate(`!!(${condition})`)) === true) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`the page never had ${condition}`);
}
