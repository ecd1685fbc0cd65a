// The JSON reader and writer (sdk/lib/arena/json/: parser.ts, value.ts, writer.ts), checked against
// JavaScript's JSON.parse over real requests to tests/fixtures/jsonapp.ts: a corpus of
// valid and invalid texts, a seeded random generator, hard number cases bit for bit, and
// the writer's escaping and misuse checks.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { exchange, get, pipelined, postRequest as post, startTestServer, type ParsedResponse, type Running } from "./helpers.ts";
import { CHARS, norm, randomJson, randomNumberText, rng } from "./fixtures/json_read/gen.ts";

let t: Running;

before(async () => {
  t = await startTestServer({ slots: 4 }, true, "tests/fixtures/jsonapp.ts");
});
after(async () => {
  await t.server.close();
});

/** Sends the requests pipelined on one connection (in batches) and returns the responses in order. */
function callMany(reqs: Buffer[]): Promise<ParsedResponse[]> {
  return pipelined(t.port, reqs, 20_000);
}

async function call(path: string, body: string | Buffer): Promise<ParsedResponse> {
  return (await callMany([post(path, body)]))[0];
}


const MODES = ["str", "bytes", "raw"] as const;

/** Round-trips every text in every mode and compares with JSON.parse. */
async function checkRoundtrips(texts: string[]): Promise<void> {
  const reqs: Buffer[] = [];
  for (const text of texts) for (const mode of MODES) reqs.push(post(`/roundtrip?mode=${mode}`, text));
  const res = await callMany(reqs);
  let k = 0;
  for (const text of texts) {
    const expected = JSON.parse(text);
    for (const mode of MODES) {
      const r = res[k++];
      assert.equal(r.status, 200, `${mode} ${JSON.stringify(text).slice(0, 200)} → ${r.body.toString()}`);
      const got = JSON.parse(r.body.toString());
      // raw mode copies scalars as written, so JSON.parse sees the same text.
      assert.deepStrictEqual(got, mode === "raw" ? expected : norm(expected), `${mode} ${JSON.stringify(text).slice(0, 200)}`);
    }
  }
}

const VALID = [
  "0", "-0", "1", "-1", "0.1", "1e308", "1E308", "5e-324", "-5e-324", "1e-400", "1e400", "-1e400",
  "123456789012345678901234567890", "9007199254740993", "-9223372036854775808", "18446744073709551616",
  "0.30000000000000004", "2.2250738585072011e-308", "1.7976931348623157e308", "1.7976931348623159e308",
  "0e0", "0E+1", "0.0e-0", "1.5e+3", "10", "100e-2",
  '""', '"a"', '"\\"\\\\\\/\\b\\f\\n\\r\\t"', '"\\u0041\\u00e9\\u4e2d\\uD83D\\uDE00"', '"\\ud83d\\ude00"',
  '"\\uD800"', '"\\uDC00"', '"\\uD800\\u0041"', '"\\uDBFF\\uDFFF"', '"x\\uD800\\uD800y"', '"\\u0000"',
  '"é中😀\u2028\u2029\u007f"', '"' + "long ".repeat(400) + '"',
  "[]", "{}", "[[]]", "[{}]", '{"":""}', '{"a":{}}', "[1,2,3]", '{"a":1,"b":[true,false,null]}',
  '{"a":1,"a":2}', '{"__proto__":1}', '{"\\u0061":"dup","a":"last"}',
  " \t\n\r[ \t\n\r1 \t\n\r, \t\n\r{ \"k\" \t\n\r: \t\n\r\"v\" } \t\n\r] \t\n\r",
  "true", "false", "null", " 1 ", "[-0.0]",
  "[" + "1,".repeat(999) + "1]",
  "[".repeat(128) + "]".repeat(128),
  '{"a":'.repeat(127) + "[]" + "}".repeat(127),
];

describe("JSON reader: valid input", () => {
  it("round-trips a corpus of valid texts like JSON.parse (all three modes)", async () => {
    await checkRoundtrips(VALID);
  });
});

interface Bad {
  text: string | Buffer;
  pos: number;
  /** The reader's message, exactly. */
  error: string;
  /** Valid JSON that only our depth limit refuses. */
  deep?: boolean;
}

const INVALID: Bad[] = [
  { text: "", pos: 0, error: "unexpected end of input" },
  { text: "   ", pos: 3, error: "unexpected end of input" },
  { text: "[1,]", pos: 3, error: "expected a value" },
  { text: '{"a":1,}', pos: 7, error: "expected a string key" },
  { text: "01", pos: 1, error: "leading zeros are not allowed" },
  { text: "-01", pos: 2, error: "leading zeros are not allowed" },
  { text: "1.", pos: 2, error: "expected a digit after '.'" },
  { text: ".5", pos: 0, error: "expected a value" },
  { text: "+1", pos: 0, error: "expected a value" },
  { text: "-", pos: 1, error: "expected a digit after '-'" },
  { text: "1e", pos: 2, error: "expected a digit in the exponent" },
  { text: "1e+", pos: 3, error: "expected a digit in the exponent" },
  { text: "NaN", pos: 0, error: "expected a value" },
  { text: "Infinity", pos: 0, error: "expected a value" },
  { text: "-Infinity", pos: 1, error: "expected a digit after '-'" },
  { text: "[1 2]", pos: 3, error: "expected ',' or ']' after an array element" },
  { text: '{"a" 1}', pos: 5, error: "expected ':' after an object key" },
  { text: '{"a":1 "b":2}', pos: 7, error: "expected ',' or '}' after an object member" },
  { text: "{1:2}", pos: 1, error: "expected a string key" },
  { text: '"abc', pos: 0, error: "unterminated string" },
  { text: '"a\u0001"', pos: 2, error: "control character in string (must be escaped)" },
  { text: '"a\tb"', pos: 2, error: "control character in string (must be escaped)" },
  { text: '"\\x"', pos: 1, error: "invalid escape" },
  { text: '"\\u12G4"', pos: 1, error: "invalid \\u escape: expected 4 hex digits" },
  { text: '"\\u12"', pos: 1, error: "invalid \\u escape: expected 4 hex digits" },
  { text: "tru", pos: 0, error: "expected a value" },
  { text: "nul", pos: 0, error: "expected a value" },
  { text: "True", pos: 0, error: "expected a value" },
  { text: "[1] x", pos: 4, error: "unexpected data after the JSON value" },
  { text: "1 2", pos: 2, error: "unexpected data after the JSON value" },
  { text: "[", pos: 1, error: "unexpected end of input" },
  { text: "[1", pos: 2, error: "unexpected end of input" },
  { text: '{"a":', pos: 5, error: "unexpected end of input" },
  { text: "]", pos: 0, error: "expected a value" },
  { text: "[1,2,]", pos: 5, error: "expected a value" },
  { text: "'a'", pos: 0, error: "expected a value" },
  { text: "\u00a0 1", pos: 0, error: "expected a value" },
  { text: "[" + "[".repeat(128) + "]".repeat(129), pos: 128, error: "nesting deeper than JSON_DEPTH_MAX (128)", deep: true },
  { text: '{"a":'.repeat(129) + "1" + "}".repeat(129), pos: 128 * 5, error: "nesting deeper than JSON_DEPTH_MAX (128)", deep: true },
  // Invalid UTF-8 inside strings, reported at the lead byte.
  { text: Buffer.from([0x22, 0x61, 0xc3, 0x28, 0x22]), pos: 2, error: "invalid UTF-8" },
  { text: Buffer.from([0x22, 0xc0, 0xaf, 0x22]), pos: 1, error: "invalid UTF-8" }, // overlong "/"
  { text: Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]), pos: 1, error: "invalid UTF-8" }, // encoded surrogate
  { text: Buffer.from([0x22, 0xf4, 0x90, 0x80, 0x80, 0x22]), pos: 1, error: "invalid UTF-8" }, // > U+10FFFF
  { text: Buffer.from([0x22, 0xe2, 0x82, 0x22]), pos: 1, error: "invalid UTF-8" }, // truncated
  { text: Buffer.from([0x22, 0x80, 0x22]), pos: 1, error: "invalid UTF-8" }, // lone continuation
  { text: Buffer.from([0x22, 0xff, 0x22]), pos: 1, error: "invalid UTF-8" },
  { text: Buffer.from("\"0123456789abcdef\u00ff\"").subarray(0, 18), pos: 17, error: "invalid UTF-8" }, // cut at the end
  { text: Buffer.from([0xef, 0xbb, 0xbf, 0x31]), pos: 0, error: "expected a value" }, // a BOM is not JSON (RFC 8259 §8.1)
];

describe("JSON reader: invalid input", () => {
  it("rejects what JSON.parse rejects, with a message and the byte offset", async () => {
    const res = await callMany(INVALID.map((c) => post("/roundtrip", c.text)));
    INVALID.forEach((c, i) => {
      const label = JSON.stringify(c.text.toString()).slice(0, 80);
      if (typeof c.text === "string" && !c.deep) assert.throws(() => JSON.parse(c.text as string), SyntaxError, `JSON.parse rejects ${label}`);
      assert.equal(res[i].status, 400, `${label} → ${res[i].body.toString()}`);
      const body = JSON.parse(res[i].body.toString()) as { error: string; pos: number };
      assert.equal(body.pos, c.pos, `${label}: ${body.error}`);
      assert.equal(body.error, c.error, label);
    });
  });

  it("accepts nesting at JSON_DEPTH_MAX and refuses one level more", async () => {
    const [ok, deep] = await callMany([
      post("/roundtrip", "[".repeat(128) + "]".repeat(128)),
      post("/roundtrip", "[".repeat(129) + "]".repeat(129)),
    ]);
    assert.equal(ok.status, 200);
    assert.equal(ok.body.toString(), "[".repeat(128) + "]".repeat(128));
    assert.equal(deep.status, 400);
    assert.deepEqual(JSON.parse(deep.body.toString()), { error: "nesting deeper than JSON_DEPTH_MAX (128)", pos: 128 });
  });

  it("does not recurse on deep input: a megabyte of brackets is a clean 400", async () => {
    const r = await call("/roundtrip", "[".repeat(60_000));
    assert.equal(r.status, 400);
    assert.equal(JSON.parse(r.body.toString()).pos, 128);
  });
});

describe("JSON reader: random documents", () => {
  it("round-trips 400 seeded random documents exactly as JSON.parse reads them", async () => {
    const r = rng(20240611);
    const texts: string[] = [];
    for (let i = 0; i < 400; i++) texts.push(randomJson(r, 0));
    await checkRoundtrips(texts);
  });

  it("reads 1,000 random number texts to the same f64 bits as JavaScript, and writes them back", async () => {
    const r = rng(7);
    const nums: string[] = [];
    for (let i = 0; i < 1000; i++) nums.push(randomNumberText(r));
    await checkBits(nums);
    // And each written back by JsonWriter.num reads as the same f64 again.
    await checkRoundtrips(["[" + nums.join(",") + "]"]);
  });
});

function bitsOf(x: number): string {
  const b = new DataView(new ArrayBuffer(8));
  b.setFloat64(0, x);
  return b.getBigUint64(0).toString(16);
}

async function checkBits(nums: string[]): Promise<void> {
  const res = await callMany(nums.map((n) => post("/numbits", "[" + n + "]")));
  nums.forEach((n, i) => {
    assert.equal(res[i].status, 200, `${n} → ${res[i].body.toString()}`);
    assert.equal(res[i].body.toString(), bitsOf(Number(n)) + "\n", `num() of ${n.length > 80 ? n.slice(0, 80) + "…" : n}`);
  });
}

describe("JSON reader: numbers", () => {
  it("rounds hard cases correctly, bit for bit", async () => {
    await checkBits([
      "0", "-0", "0.1", "0.2", "0.3", "0.30000000000000004", "1e23", "8.98846567431158e307",
      "1e308", "1.7976931348623157e308", "1.7976931348623158e308", "1.7976931348623159e308", "1e309",
      "5e-324", "4.9406564584124654e-324", "2.4703282292062327e-324", "2.4703282292062328e-324",
      "2.2250738585072011e-308", "2.2250738585072012e-308", "2.2250738585072014e-308",
      "9007199254740993", "9007199254740993.0000000001", "9007199254740995", "-9007199254740993",
      "1125899906842624.125000001", "1125899906842624.125", "1125899906842624.375",
      "123456789012345678901234567890", "0.000001", "1e-7", "123e-20", "4e22", "9e22", "1e37", "3e37",
      "7.2057594037927933e16", "1e-400", "1e400", "0e999999999", "1e-999999999", "1e999999999",
      "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497791.9999999999",
      // Past 800 significant digits only "something nonzero was dropped" counts.
      "9007199254740993" + "0".repeat(790) + "1e-791",
      "9007199254740993" + "0".repeat(790) + "0e-791",
      "0." + "0".repeat(400) + "1e400",
      "1" + "0".repeat(900) + "e-900",
    ]);
  });

  it("gives int() exactly for integers in i64 and clamps the rest", async () => {
    const cases: [string, string, boolean][] = [
      ["0", "0", true], ["-0", "0", true], ["42", "42", true], ["-7", "-7", true],
      ["9223372036854775807", "9223372036854775807", true], ["-9223372036854775808", "-9223372036854775808", true],
      ["9223372036854775808", "9223372036854775807", false], ["-9223372036854775809", "-9223372036854775808", false],
      ["1e30", "9223372036854775807", false], ["1.9", "1", false], ["-1.9", "-1", false], ["1e3", "1000", false],
    ];
    const res = await callMany(cases.map(([n]) => post("/get", n)));
    cases.forEach(([n, int, isInteger], i) => {
      const body = res[i].body.toString();
      assert.match(body, new RegExp(`"int":${int},`), n);
      assert.match(body, new RegExp(`"isInteger":${isInteger}`), n);
    });
  });
});

describe("JSON reader: access", () => {
  const doc = JSON.stringify({
    user: { name: "Ada \"L\" 😀", age: 36, admin: true, tags: ["a", "b\u00e9"], none: null },
    list: [10, 20.5, "x"],
    "k\u00e9y": "v",
  });

  async function get(path: string, extra = ""): Promise<Record<string, unknown>> {
    const r = await call(`/get?path=${encodeURIComponent(path)}${extra}`, doc);
    assert.equal(r.status, 200);
    return JSON.parse(r.body.toString());
  }

  it("walks objects and arrays and reports kind, length and value", async () => {
    const root = await get("");
    assert.equal(root.kind, "object");
    assert.equal(root.length, 3);
    assert.deepEqual(root.value, JSON.parse(doc));
    const name = await get("user.name", "&eq=" + encodeURIComponent("Ada \"L\" 😀"));
    assert.equal(name.kind, "string");
    assert.equal(name.str, "Ada \"L\" 😀");
    assert.equal(name.strEquals, true);
    assert.equal(name.memberKey, "name");
    assert.equal((await get("user.name", "&eq=Ada")).strEquals, false);
    assert.equal((await get("user.tags", "&eq=x")).strEquals, false);
    const tags = await get("user.tags");
    assert.equal(tags.kind, "array");
    assert.equal(tags.length, 2);
    assert.equal((await get("user.tags.1")).str, "bé");
    assert.equal((await get("list.1")).num, 20.5);
    assert.equal((await get("user.age")).int, 36);
    assert.equal((await get("user.admin")).bool, true);
    assert.equal((await get("user.none")).kind, "null");
    assert.equal((await get("kéy")).str, "v");
    assert.equal((await get("user", "&key=age")).has, true);
    assert.equal((await get("user", "&key=agE")).has, false);
    assert.equal((await get("user.age", "&eq=age")).keyIs, true);
  });

  it("chains through missing members without trapping", async () => {
    for (const path of ["nope", "nope.deeper.still", "user.name.first", "list.9", "list.x", "user.tags.5.a"]) {
      const v = await get(path);
      assert.deepEqual(
        { kind: v.kind, exists: v.exists, length: v.length, value: v.value, str: v.str, strOr: v.strOr, num: v.num, int: v.int, intOr: v.intOr, bool: v.bool, boolOr: v.boolOr },
        { kind: "missing", exists: false, length: 0, value: null, str: "", strOr: "fallback", num: null, int: 0, intOr: -1, bool: false, boolOr: true },
        path,
      );
    }
    const wrongType = await get("user.name");
    assert.equal(wrongType.num, null); // NaN, written as null
    assert.equal(wrongType.intOr, -1);
  });

  it("makes the last of duplicate keys win, like JSON.parse", async () => {
    const r = await call("/get?path=a", '{"a":1,"b":2,"\\u0061":3}');
    assert.equal(JSON.parse(r.body.toString()).int, 3);
  });
});

describe("JSON writer", () => {
  it("escapes strings, writes numbers that round-trip and copies values raw", async () => {
    const r = await exchange(t.port, get("/writer"), { expect: 1 });
    const text = r.responses[0].body.toString();
    assert.equal(text,
      '{"s":"a\\"b\\\\c\\n\\t\\u0001\\u001f\u007f é 😀 \u2028","lone":"x\uFFFDy","n":0.1,"big":1e+21,"tiny":5e-324,' +
      '"neg0":-0,"nan":null,"inf":null,"i":-9223372036854775808,"t":true,"f":false,"z":null,' +
      '"copied":[1, 2.50, "x\\u0041"],"missing":null,"raw":[true],"empty":[],"eo":{}}');
    const v = JSON.parse(text);
    assert.equal(Object.is(v.neg0, -0), true);
    assert.equal(v.tiny, 5e-324);
  });

  it("escapes any string so that JSON.parse gives it back (UTF-16 and UTF-8 input)", async () => {
    const r = rng(99);
    const samples = ["", "plain", "\u0000\u0001\u001f\"\\/", "😀é中\u2028", "<script>&'"];
    for (let i = 0; i < 50; i++) {
      let s = "";
      for (let k = 0; k < 40; k++) s += CHARS[Math.floor(r() * CHARS.length)];
      samples.push(s);
    }
    samples.push("x".repeat(3000) + "\n" + "é".repeat(2000)); // spans several staging flushes
    const res = await callMany(samples.flatMap((s) => [post("/escape?mode=json", s), post("/escape?mode=jsonbytes", s)]));
    samples.forEach((s, i) => {
      const sent = Buffer.from(s).toString(); // what the server received (UTF-8 of well-formed s)
      assert.deepEqual(JSON.parse(res[2 * i].body.toString()), [sent], JSON.stringify(s));
      assert.deepEqual(JSON.parse(res[2 * i + 1].body.toString()), [sent], JSON.stringify(s));
    });
  });

  it("replaces malformed UTF-8 with U+FFFD in strBytes", async () => {
    const r = await call("/escape?mode=jsonbytes", Buffer.from([0x61, 0xff, 0x62, 0xc3, 0x28, 0xe2, 0x82]));
    assert.deepEqual(JSON.parse(r.body.toString()), ["a\uFFFDb\uFFFD(\uFFFD\uFFFD"]);
  });

  it("aborts on structural misuse instead of writing invalid JSON", async () => {
    // Each misuse must stop the handler with its own message: a 500 for another reason
    // (a memory error, an unrelated trap) would leave the writer's check unproven.
    const cases: [string, string][] = [
      ["1", "JsonWriter: a value in an object needs key() first"],
      ["2", "JsonWriter: key() outside an object"],
      ["3", "JsonWriter: endObject() without beginObject()"],
      ["4", "JsonWriter: a second top-level value"],
    ];
    const res = await callMany(cases.map(([n]) => Buffer.from(get(`/misuse/${n}`))));
    cases.forEach(([n, message], i) => {
      assert.equal(res[i].status, 500, res[i].body.toString());
      assert.deepEqual(JSON.parse(res[i].body.toString()), {
        statusCode: 500, code: "ARENA_E_TRAP", error: "Internal Server Error",
        message: `GET /misuse/${n} (route /misuse/:n): ${message}`,
      });
    });
  });
});
