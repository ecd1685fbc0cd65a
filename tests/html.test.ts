// The HTML writer (sdk/lib/arena/html.ts) over real requests to tests/fixtures/jsonapp.ts:
// escaping in text and attribute contexts, raw output only when asked, UTF-8 kept intact,
// and JSON strings rendered straight from their bytes.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { exchange, get, startTestServer, type ParsedResponse, type Running } from "./helpers.ts";

let t: Running;

before(async () => {
  t = await startTestServer({ slots: 4 }, true, "tests/fixtures/jsonapp.ts");
});
after(async () => {
  await t.server.close();
});

async function call(path: string, body: string | Buffer): Promise<ParsedResponse> {
  const b = typeof body === "string" ? Buffer.from(body) : body;
  const req = Buffer.concat([Buffer.from(`POST ${path} HTTP/1.1\r\nHost: t\r\nContent-Length: ${b.length}\r\n\r\n`), b]);
  const r = await exchange(t.port, req, { expect: 1 });
  return r.responses[0];
}

const NASTY = `<script>alert("x")</script> & 'quotes' "double" é 中 😀`;
const NASTY_ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quotes&#39; &quot;double&quot; é 中 😀";

describe("Html: escaping", () => {
  it("escapes & < > \" ' in text and keeps non-ASCII and emoji as UTF-8", async () => {
    const r = await call("/escape?mode=text", NASTY);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(r.body.toString(), NASTY_ESCAPED);
  });

  it("escapes attribute values so they cannot leave their quotes", async () => {
    const r = await call("/escape?mode=attr", `" onmouseover="alert(1)`);
    assert.equal(r.body.toString(), `<p title="&quot; onmouseover=&quot;alert(1)"></p>`);
    const r2 = await call("/escape?mode=attr", NASTY);
    assert.equal(r2.body.toString(), `<p title="${NASTY_ESCAPED}"></p>`);
  });

  it("escapes UTF-8 bytes and replaces malformed sequences with U+FFFD", async () => {
    const r = await call("/escape?mode=bytes", Buffer.concat([Buffer.from(NASTY), Buffer.from([0xff, 0x3c, 0xc3])]));
    assert.equal(r.body.toString(), NASTY_ESCAPED + "\uFFFD&lt;\uFFFD");
  });

  it("writes markup unescaped only through raw()", async () => {
    const r = await call("/escape?mode=raw", "<b>bold</b> & more");
    assert.equal(r.body.toString(), "<b>bold</b> & more");
  });

  it("builds elements, attributes, flags and numbers", async () => {
    const r = await call("/escape?mode=el", "a<b");
    assert.equal(r.body.toString(), `<b>a&lt;b</b><br><input disabled value="a&lt;b">-420.5NaN`);
  });

  it("handles text longer than the staging buffer", async () => {
    const s = "<".repeat(1000) + "é".repeat(1000) + "😀".repeat(500);
    const r = await call("/escape?mode=text", s);
    assert.equal(r.body.toString(), "&lt;".repeat(1000) + "é".repeat(1000) + "😀".repeat(500));
  });

  it("aborts on an attribute without an open tag and on a tag name that is not plain", async () => {
    // The message says which check stopped the handler; any other 500 would not prove it.
    const cases: [string, string][] = [
      ["5", "Html.attr: no open tag for attribute 'a'"],
      ["6", "Html.open: invalid tag name 'a onclick'"],
    ];
    for (const [n, message] of cases) {
      const r = await exchange(t.port, get(`/misuse/${n}`), { expect: 1 });
      assert.equal(r.responses[0].status, 500, r.responses[0].body.toString());
      assert.deepEqual(JSON.parse(r.responses[0].body.toString()), {
        statusCode: 500, code: "ARENA_E_TRAP", error: "Internal Server Error",
        message: `GET /misuse/${n} (route /misuse/:n): ${message}`,
      });
    }
  });
});

describe("Html: JSON to HTML", () => {
  it("renders JSON strings escaped straight from their bytes, escapes decoded first", async () => {
    const items = `[
      {"name": "Tom & Jerry", "url": "/t?a=1&b=2", "tags": ["cat", "mouse"]},
      {"name": "\\u003cscript\\u003e \\"hi\\" it\\u0027s", "url": "/x\\"onclick=\\"y"},
      {"name": "caf\\u00e9 \\ud83d\\ude00 中 😀 \\ud800", "tags": [42, true, null, "a\\\\b", {"k": "<v>"}]},
      {"tags": []}
    ]`;
    const r = await call("/html", items);
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(),
      `<!doctype html><ul class="items">` +
      `<li><a href="/t?a=1&amp;b=2">Tom &amp; Jerry</a> <span class="tag">cat</span> <span class="tag">mouse</span></li>` +
      `<li><a href="/x&quot;onclick=&quot;y">&lt;script&gt; &quot;hi&quot; it&#39;s</a></li>` +
      `<li>café 😀 中 😀 \uFFFD <span class="tag">42</span> <span class="tag">true</span> <span class="tag">null</span>` +
      ` <span class="tag">a\\b</span> <span class="tag">{&quot;k&quot;: &quot;&lt;v&gt;&quot;}</span></li>` +
      `<li></li></ul>`);
  });

  it("answers invalid JSON with the error and its position", async () => {
    const r = await call("/html", `[{"name": "x"},]`);
    assert.equal(r.status, 400);
    assert.deepEqual(JSON.parse(r.body.toString()), { error: "expected a value", pos: 15 });
  });
});
