// The JSON reader's structural index and its two modes (sdk/lib/arena/json/: stage1.ts,
// validate.ts, nav.ts, fields.ts), through tests/fixtures/json_read/app.ts: Json.parse and
// Json.read against JavaScript's JSON.parse over seeded random documents of two shapes,
// every input length across the 64-byte blocks, invalid UTF-8 and backslash runs at every
// block position, mutated inputs, deep nesting, and JsonFields.pick against get().

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { pipelined, postRequest as post, startTestServer, type ParsedResponse, type Running } from "./helpers.ts";
import { norm, rng, randomJson, shape2 } from "./fixtures/json_read/gen.ts";

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


/** Each text through /rt in both modes: equal to JSON.parse when it accepts, else a 400
 *  with a message and a position inside the input, the same in both modes for parse. */
async function differential(texts: (string | Buffer)[]): Promise<void> {
  const reqs = texts.flatMap((x) => [post("/rt?read=0&mode=bytes", x), post("/rt?read=1&mode=bytes", x), post("/validate", x)]);
  const res = await callMany(reqs);
  texts.forEach((x, n) => {
    const label = JSON.stringify(x.toString()).slice(0, 120);
    const [strict, onDemand, validated] = res.slice(3 * n, 3 * n + 3);
    let expected: unknown;
    let valid = true;
    try {
      expected = JSON.parse(x.toString());
      // JSON.parse replaces invalid UTF-8 before parsing; the reader refuses it.
      if (Buffer.isBuffer(x) && !Buffer.from(x.toString()).equals(x)) valid = false;
    } catch {
      valid = false;
    }
    for (const [mode, r] of [["parse", strict], ["read", onDemand]] as const) {
      if (valid) {
        assert.equal(r.status, 200, `${mode} ${label} → ${r.body.toString()}`);
        assert.deepStrictEqual(JSON.parse(r.body.toString()), norm(expected), `${mode} ${label}`);
      } else {
        assert.equal(r.status, 400, `${mode} ${label} → ${r.body.toString()}`);
        const e = JSON.parse(r.body.toString()) as { error: string; pos: number };
        assert.ok(e.pos >= 0 && e.pos <= Buffer.byteLength(x) && e.error.length > 0, `${mode} ${label}: ${r.body.toString()}`);
      }
    }
    // validate() after Json.read agrees with Json.parse, error for error.
    if (valid) assert.equal(validated.status, 200, `validate ${label} → ${validated.body.toString()}`);
    else assert.deepEqual(JSON.parse(validated.body.toString()), JSON.parse(strict.body.toString()), `validate ${label}`);
  });
}

describe("JSON reader, both modes: against JSON.parse", () => {
  it("reads 300 seeded random documents like JSON.parse (parse, read, read + validate)", async () => {
    const r = rng(424242);
    await differential(Array.from({ length: 300 }, () => randomJson(r, 0)));
  });

  it("reads on demand what a whole walk reads: trailing data after the root is an error in both modes", async () => {
    await differential(["1,2", "true{}", '"a" ]', "[1] x", '{"a":1}}', "[] x", "{}]", "1 ", ' "a" ', " [1] ", "{}\n", " [] "]);
  });

  it("reads the second document shape (nested objects, many short strings, exponents)", async () => {
    const r = rng(77);
    await differential([shape2(r, 1), shape2(r, 20), shape2(r, 60), JSON.stringify(JSON.parse(shape2(r, 30)), null, 2)]);
  });

  it("handles every input length 0..200 (the last block partial) and every prefix of a document", async () => {
    const r = rng(5);
    const texts: string[] = [];
    for (let len = 0; len <= 200; len++) {
      let s = "";
      while (s.length < len) s = randomJson(r, 0);
      texts.push(s.length === len ? s : "[" + '"' + "x".repeat(Math.max(0, len - 4)) + '"' + "]".slice(0, len >= 4 ? 1 : 0));
    }
    const doc = shape2(rng(9), 2);
    for (let len = 0; len <= Math.min(doc.length, 200); len++) texts.push(doc.slice(0, len));
    await differential(texts);
  });

  it("gives an error with a position, never a trap, for 600 mutated documents", async () => {
    const r = rng(31337);
    const bytes = ['"', "\\", "{", "}", "[", "]", ",", ":", " ", "0", "-", "e", ".", "t", "n", "\u0001", "\u00e9"];
    const texts: Buffer[] = [];
    for (let i = 0; i < 600; i++) {
      const b = Buffer.from(r() < 0.5 ? randomJson(r, 0) : shape2(r, 2));
      const k = Math.floor(r() * b.length);
      const mut = r();
      const ins = Buffer.from(bytes[Math.floor(r() * bytes.length)]);
      if (mut < 0.4) texts.push(Buffer.concat([b.subarray(0, k), ins, b.subarray(k)]));
      else if (mut < 0.7) texts.push(Buffer.concat([b.subarray(0, k), b.subarray(k + 1)]));
      else if (mut < 0.9) texts.push(Buffer.concat([b.subarray(0, k), ins, b.subarray(k + 1)]));
      else texts.push(Buffer.concat([b.subarray(0, k), Buffer.from([0xff]), b.subarray(k + 1)]));
    }
    await differential(texts);
  });
});

describe("JSON reader, both modes: stage 1 across 64-byte blocks", () => {
  it("reports invalid UTF-8 at its lead byte at every position of a block and across blocks", async () => {
    const cases: { text: Buffer; pos: number }[] = [];
    for (let k = 0; k < 140; k++) {
      for (const bad of [[0xff], [0xc3, 0x28], [0xe2, 0x82, 0x28], [0xf0, 0x9f, 0x98]]) {
        cases.push({ text: Buffer.concat([Buffer.from('["' + "a".repeat(k)), Buffer.from(bad), Buffer.from('b"]')]), pos: 2 + k });
      }
    }
    const res = await callMany(cases.flatMap((c) => [post("/rt?read=0", c.text), post("/rt?read=1", c.text)]));
    cases.forEach((c, i) => {
      for (const r of [res[2 * i], res[2 * i + 1]]) {
        assert.equal(r.status, 400, c.text.toString("hex"));
        assert.deepEqual(JSON.parse(r.body.toString()), { error: "invalid UTF-8", pos: c.pos }, c.text.toString("hex"));
      }
    });
  });

  it("ends strings right after runs of backslashes ending anywhere around a block boundary", async () => {
    const texts: string[] = [];
    for (let pad = 50; pad < 140; pad++) {
      for (const run of [1, 2, 3, 4, 7, 64, 65]) {
        // `run` escaped backslashes, then an escaped quote, then a key after the string.
        const s = "x".repeat(pad % 64) + "\\".repeat(run) + '"' + "y";
        texts.push(JSON.stringify([s, { k: s }, "z".repeat(pad)]));
      }
    }
    await differential(texts);
  });

  it("reports a control character inside a string and an unterminated string with their offsets", async () => {
    const res = await callMany([post("/rt?read=1", '["' + "a".repeat(70) + '\u0001"]'), post("/rt?read=1", '["ok", "' + "a".repeat(100))]);
    assert.deepEqual(JSON.parse(res[0].body.toString()), { error: "control character in string (must be escaped)", pos: 72 });
    assert.deepEqual(JSON.parse(res[1].body.toString()), { error: "unterminated string", pos: 7 });
  });
});

describe("JSON reader, Json.read: on demand", () => {
  it("checks the values it reads: a malformed one is an error with its offset after the walk", async () => {
    const cases: [string, string, number][] = [
      ["[1, 2x]", "expected ',' or ']' after an array element", 5],
      ['{"a":tru}', "expected a value", 5],
      ['{"a" 1}', "expected ':' after an object key", 5],
      ['["\\x"]', "invalid escape", 2],
      ["[01]", "leading zeros are not allowed", 2],
      ["[1,]", "expected a value", 3],
    ];
    const res = await callMany(cases.map(([x]) => post("/rt?read=1", x)));
    cases.forEach(([x, error, pos], i) => assert.deepEqual(JSON.parse(res[i].body.toString()), { error, pos }, x));
  });

  it("accepts nesting at JSON_DEPTH_MAX and records an error one level deeper", async () => {
    const res = await callMany([post("/rt?read=1", "[".repeat(128) + "]".repeat(128)), post("/rt?read=1", "[".repeat(129) + "]".repeat(129)), post("/validate", "[".repeat(129) + "]".repeat(129))]);
    assert.equal(res[0].status, 200);
    assert.deepEqual(JSON.parse(res[1].body.toString()), { error: "nesting deeper than JSON_DEPTH_MAX (128)", pos: 128 });
    assert.deepEqual(JSON.parse(res[2].body.toString()), { error: "nesting deeper than JSON_DEPTH_MAX (128)", pos: 128 });
  });
});

describe("JsonKeys / JsonFields.pick", () => {
  async function pickCheck(texts: string[], keys: string[][]): Promise<void> {
    const reqs = texts.flatMap((x, i) => ["0", "1"].map((m) => post(`/pick?read=${m}&keys=${encodeURIComponent(keys[i].join(","))}`, x)));
    const res = await callMany(reqs);
    texts.forEach((x, i) => {
      const v = JSON.parse(x);
      const objs = Array.isArray(v) ? v : [v];
      for (const r of [res[2 * i], res[2 * i + 1]]) {
        assert.equal(r.status, 200, `${x} → ${r.body.toString()}`);
        const got = JSON.parse(r.body.toString()) as unknown[][][];
        assert.equal(got.length, objs.length);
        objs.forEach((o, n) => {
          const want = keys[i].map((k) => (o !== null && typeof o === "object" && !Array.isArray(o) && Object.hasOwn(o, k) ? o[k] : "<missing>"));
          assert.deepStrictEqual(got[n][0], want, `get ${x} ${keys[i]}`);
          assert.deepStrictEqual(got[n][1], want, `pick ${x} ${keys[i]}`);
        });
      }
    });
  }

  it("picks what get() finds on random objects: missing keys, the last of duplicates, escaped names, non-objects", async () => {
    const r = rng(12);
    const names = ["id", "title", "a", "", "longer_than_8_bytes", "longer_than_8_bytez", "é", "t"];
    const texts: string[] = [];
    const keys: string[][] = [];
    for (let i = 0; i < 150; i++) {
      const members: string[] = [];
      const n = Math.floor(r() * 8);
      for (let m = 0; m < n; m++) {
        const k = names[Math.floor(r() * names.length)];
        const raw = r() < 0.2 ? k.split("").map((c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0")).join("") : k;
        members.push(`"${raw}":${randomJson(r, 3)}`);
      }
      const obj = "{" + members.join(",") + "}";
      texts.push(r() < 0.1 ? "[1,\"x\",null," + obj + "]" : "[" + obj + "," + obj + "]");
      keys.push(names.filter(() => r() < 0.6));
    }
    await pickCheck(texts, keys);
  });

  it("checks the members' frame it walks on demand: a picked object that is not well formed is an error", async () => {
    const bad = ['[{"id",1}]', '[{"id":1 "title":2}]', '[{"id":1,}]', '[{"a":1,"id":2 ,}]', '[{1:2}]', '[{"id":1},{"title":"x" "id":3}]',
      '[{xyz"id":1}]', '[{"a":1, junk "id":2}]', '[{"id":"x" junk}]', '[{"id":[1] junk}]', '[{"a" zz :1,"id":2}]', '[{"a":,"id":2}]',
      '[{"\\id":2,"id":1}]', '[{"i\\d":2,"id":1}]'];
    const good = ['[{"id" :1, "x" : [1,{"id":5}] ,"title":"t"}]', '[{"i\\u0064":1}]', '[{"id":1},{"id":2,"title":"b"},{}]', '[ { "title" : "a" , "id" : -0.5e1 } ]'];
    const res = await callMany([...bad, ...good].map((x) => post("/pickonly?keys=id,title", x)));
    // get() walks the same frame: the same verdicts.
    const viaGet = await callMany([...bad, ...good].map((x) => post("/getonly?keys=id,title", x)));
    [...bad, ...good].forEach((x, i) => assert.equal(viaGet[i].status, res[i].status, `get ${x} → ${viaGet[i].body.toString()}`));
    bad.forEach((x, i) => {
      assert.equal(res[i].status, 400, `${x} → ${res[i].body.toString()}`);
      const e = JSON.parse(res[i].body.toString()) as { error: string; pos: number };
      assert.ok(e.pos >= 0 && e.pos <= x.length && e.error.length > 0, `${x}: ${res[i].body.toString()}`);
    });
    good.forEach((x, i) => {
      const r = res[bad.length + i];
      assert.equal(r.status, 200, `${x} → ${r.body.toString()}`);
      const want = (JSON.parse(x) as Record<string, unknown>[]).map((o) => ["id", "title"].map((k) => (Object.hasOwn(o, k) ? o[k] : "<missing>")));
      assert.deepStrictEqual(JSON.parse(r.body.toString()), want, x);
    });
  });

  it("picks the fields of the second shape's nested objects", async () => {
    await pickCheck([shape2(rng(3), 40)], [["id", "customer", "labels", "total", "missing", "note"]]);
  });
});
