// The strict check's fast walk (sdk/lib/arena/json/grammar.ts) against JavaScript's
// JSON.parse: it decides validity alone for valid documents and hands invalid ones to the
// precise walk (validate.ts) for the message and offset, so a document it wrongly accepts
// would be read as valid, and one it wrongly rejects would still be valid but slower (not
// seen here). Checked through tests/fixtures/json_read/app.ts: Json.parse (/rt?read=0) and
// Json.read + validate() (/validate) must accept exactly what JSON.parse accepts, on
// documents built to hit the walk's own paths: escapes at every offset of a 64-byte block
// (its block-at-a-time escape pass), scalars in every gap position and in every broken
// form, whitespace around tokens, and state-machine mutations of seeded random documents.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { pipelined, postRequest as post, startTestServer, type ParsedResponse, type Running } from "./helpers.ts";
import { rng, randomJson, randomNumberText } from "./fixtures/json_read/gen.ts";

let t: Running;

before(async () => {
  t = await startTestServer({ slots: 4, slotBytes: 1024 * 1024 }, true, "tests/fixtures/json_read/app.ts");
});
after(async () => {
  await t.server.close();
});

function callMany(reqs: Buffer[]): Promise<ParsedResponse[]> {
  return pipelined(t.port, reqs);
}

/** Each text: parse and validate() accept it exactly when JSON.parse does; a rejection
 *  has a message and an offset inside the input, the same from both. Returns how many
 *  were valid, so a test can check that its inputs were not all of one kind. */
async function acceptance(texts: string[]): Promise<number> {
  const res = await callMany(texts.flatMap((x) => [post("/rt?read=0&mode=bytes", x), post("/validate", x)]));
  let valid = 0;
  texts.forEach((x, n) => {
    const label = JSON.stringify(x).slice(0, 160);
    const [strict, validated] = res.slice(2 * n, 2 * n + 2);
    // What is sent is x as UTF-8 (a lone surrogate becomes U+FFFD), so JSON.parse judges that.
    let ok = true;
    try {
      JSON.parse(Buffer.from(x).toString());
    } catch {
      ok = false;
    }
    if (ok) {
      valid++;
      assert.equal(strict.status, 200, `parse ${label} → ${strict.body.toString()}`);
      assert.equal(validated.status, 200, `validate ${label} → ${validated.body.toString()}`);
      return;
    }
    assert.equal(strict.status, 400, `parse accepted ${label}`);
    const e = JSON.parse(strict.body.toString()) as { error: string; pos: number };
    assert.ok(e.error.length > 0 && e.pos >= 0 && e.pos <= Buffer.byteLength(x), `${label}: ${strict.body.toString()}`);
    assert.deepEqual(JSON.parse(validated.body.toString()), e, `validate ${label}`);
  });
  return valid;
}

const ESCAPES = ["\\n", "\\\\", '\\"', "\\/", "\\b", "\\f", "\\r", "\\t", "\\u00e9", "\\uD83D\\uDE00", "\\u12", "\\x", "\\u12G4", "\\ ", "\\\\\\", "\\\\\\\\"];

describe("strict check, fast walk: accepts exactly what JSON.parse accepts", () => {
  it("checks escapes at every offset of a 64-byte block, valid and invalid, across block ends", async () => {
    const texts: string[] = [];
    for (const esc of ESCAPES) {
      for (let pad = 0; pad < 70; pad++) {
        texts.push(`["${"a".repeat(pad)}${esc}"]`);
        texts.push(`{"k":"x","${"b".repeat(pad)}${esc}${"c".repeat(pad & 7)}":[1,"${esc}"]}`);
      }
    }
    // A backslash outside a string, where the escape pass reads it too.
    for (let pad = 0; pad < 70; pad++) texts.push(`[${" ".repeat(pad)}\\n, "a"]`, `["${"d".repeat(pad)}",\\"x"]`);
    const valid = await acceptance(texts);
    assert.ok(valid > 500 && valid < texts.length - 500, `${valid} of ${texts.length} valid`);
  });

  it("checks scalars in every gap: numbers of every form, literals, broken ones, whitespace", async () => {
    const r = rng(9001);
    const scalars = ["0", "-0", "1", "-1", "10", "0.5", "-0.0", "1e5", "1E+5", "1e-05", "0e0", "true", "false", "null",
      "01", "-", "1.", ".5", "1e", "1e+", "--1", "+1", "0x1", "1.2.3", "tru", "nul", "falsey", "truefalse", "1 2", "- 1", "NaN", "1,"];
    for (let k = 0; k < 60; k++) scalars.push(randomNumberText(r));
    const texts: string[] = [];
    for (const s of scalars) {
      for (const w of ["", " ", "\n\t ", "\r\n"]) {
        texts.push(`${w}${s}${w}`, `[${w}${s}${w}]`, `[1,${w}${s}${w},2]`, `{"a":${w}${s}${w}}`, `{"a":${s},"b":[${s}]}`);
      }
    }
    const valid = await acceptance(texts);
    assert.ok(valid > 300 && valid < texts.length - 300, `${valid} of ${texts.length} valid`);
  });

  it("follows the grammar's states: random documents with a token inserted, removed or swapped", async () => {
    const r = rng(31337);
    const tokens = ["{", "}", "[", "]", ",", ":", '"k"', "1", " ", "true"];
    const texts: string[] = ["", " ", "{}", "[]", "{ }", "[ ]", '{"a"}', '{"a":}', '{"a" 1}', "[1 2]", '{"a":1,}', "[1,]", "[,1]", "{,}",
      '{"a":"x" 1}', '["x" 1]', '[[] 1]', '{"a":{} 1}', '"x" 1', '{"a":1 "b":2}', '[1]]', '[[1]', '{"a":[}]', '["a":1]', '{"a"::1}', '{1:2}', "[]{}", '"a""b"', "[][]"];
    for (let k = 0; k < 400; k++) {
      const doc = randomJson(r, 0);
      texts.push(doc);
      const at = Math.floor(r() * (doc.length + 1));
      const tok = tokens[Math.floor(r() * tokens.length)];
      const op = r();
      if (op < 0.4) texts.push(doc.slice(0, at) + tok + doc.slice(at));
      else if (op < 0.7) texts.push(doc.slice(0, at) + doc.slice(at + 1));
      else texts.push(doc.slice(0, at) + tok + doc.slice(at + 1));
    }
    const valid = await acceptance(texts);
    assert.ok(valid > 400 && valid < texts.length - 100, `${valid} of ${texts.length} valid`);
  });

  it("fills the container table as it goes: nesting to JSON_DEPTH_MAX and one level over", async () => {
    const deep = (n: number, open: string, close: string, inner: string) => open.repeat(n) + inner + close.repeat(n);
    const texts = [deep(128, "[", "]", ""), deep(128, '{"a":', "}", "1"), deep(127, "[1,", "]", "[]"),
      deep(128, "[", "]", "").slice(0, -1), deep(128, "[", "]", "") + "]"];
    assert.equal(await acceptance(texts), 3);
    // One level deeper is valid to JSON.parse but over the limit: the error is at the opener.
    const res = await callMany([post("/rt?read=0", deep(129, "[", "]", "")), post("/validate", deep(129, '{"a":', "}", "1"))]);
    assert.deepEqual(JSON.parse(res[0].body.toString()), { error: "nesting deeper than JSON_DEPTH_MAX (128)", pos: 128 });
    assert.deepEqual(JSON.parse(res[1].body.toString()), { error: "nesting deeper than JSON_DEPTH_MAX (128)", pos: 640 });
  });
});
