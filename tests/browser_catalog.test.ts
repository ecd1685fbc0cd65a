// The flagship example in a real browser: headless Chromium (Debian's, installed when
// missing) loads the catalogue's pages from an Arena server over the embedded upstream.
// Every page must load with no console errors, failed resources or script exceptions; the
// run saves a screenshot of the list page to tests/.artifacts/catalog-list.png.

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { startUpstream, type Upstream } from "../examples/catalog/upstream.ts";
import { ensureChromium, loadPage } from "./browser.ts";
import { ROOT, startCatalog, type Running } from "./helpers.ts";

const SCREENSHOT = path.join(ROOT, "tests/.artifacts/catalog-list.png");
const INSTALL_TIMEOUT_MS = 15 * 60 * 1000;

describe("catalogue in headless Chromium", { timeout: INSTALL_TIMEOUT_MS + 5 * 60 * 1000 }, () => {
  let upstream: Upstream;
  let site: Running;
  let base: string;
  before(async () => {
    await ensureChromium();
    upstream = await startUpstream();
    site = await startCatalog({ UPSTREAM_URL: upstream.url });
    base = `http://127.0.0.1:${site.port}`;
  }, { timeout: INSTALL_TIMEOUT_MS });
  after(async () => {
    await site?.server.close();
    await upstream?.close();
  });

  test("the list page loads with no console errors; screenshot saved", { timeout: 60_000 }, async () => {
    fs.rmSync(SCREENSHOT, { force: true });
    const page = await loadPage(`${base}/`, { screenshot: SCREENSHOT, width: 1200, height: 900 });
    assert.equal(page.status, 200);
    assert.equal(page.title, "All products · Arena Shop");
    assert.match(page.text, /200 products/);
    assert.match(page.text, /Page 1 of 10/);
    assert.deepEqual(page.consoleErrors, []);
    const png = fs.readFileSync(SCREENSHOT);
    assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47], "a PNG");
    assert.equal(png.readUInt32BE(16), 1200);
  });

  test("search, paging and detail pages load with no console errors", { timeout: 90_000 }, async () => {
    const search = await loadPage(`${base}/?q=${encodeURIComponent("tom & <b>")}`);
    assert.equal(search.status, 200);
    assert.equal(search.title, "Search: tom & <b> · Arena Shop");
    assert.match(search.text, /No products match “tom & <b>”/);
    assert.deepEqual(search.consoleErrors, []);

    const paged = await loadPage(`${base}/?page=2&q=kitchen`);
    assert.equal(paged.status, 200);
    assert.match(paged.text, /products matching “kitchen”/);
    assert.deepEqual(paged.consoleErrors, []);

    const detail = await loadPage(`${base}/products/2`);
    assert.equal(detail.status, 200);
    assert.equal(detail.title, "Weekend Rain Shell · Arena Shop");
    assert.match(detail.text, /Reviews/);
    assert.match(detail.text, /Aoife Ní Bhriain/);
    assert.deepEqual(detail.consoleErrors, []);
  });
});
