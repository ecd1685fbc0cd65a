// The SDK's UTF-8 decoding (sdk/lib/arena/text/utf8.ts, used by every bytes → string
// path) checked differentially against Node's TextDecoder, which implements the WHATWG
// UTF-8 decoder: U+FFFD per maximal subpart, no overlongs, no surrogates, nothing past
// U+10FFFF. Each byte sequence goes through every route of tests/fixtures/utf8app.ts (path
// parameter, query value, header value, body text, JSON string, fetched body and header).
//
// TextDecoder runs with ignoreBOM: a leading EF BB BF is U+FEFF to Arena, as it is to the
// WHATWG "UTF-8 decode without BOM" that URLs use; stripping it is a layer Arena leaves out.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { exchange, get, startTestServer, type ParsedResponse, type Running } from "./helpers.ts";
import { rng } from "./rng.ts";

const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
const strict = new TextDecoder("utf-8", { ignoreBOM: true, fatal: true });
/** Pipelined requests per connection. */
const BATCH = 64;
/** Random sequences (seeded, so a failure repeats). */
const RANDOM_CASES = 400;
const SEED = 0x5eed_0009;

let t: Running;
let upstream: http.Server;
let upstreamPort = 0;

before(async () => {
  t = await startTestServer({ slots: 4 }, true, "tests/fixtures/utf8app.ts");
  // Serves the bytes named by the path (hex) as the body and as the x-v header.
  upstream = http.createServer((req, res) => {
    const bytes = Buffer.from((req.url ?? "/").slice(1), "hex");
    res.setHeader("x-v", bytes.toString("latin1"));
    res.end(bytes);
  });
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
  upstreamPort = (upstream.address() as { port: number }).port;
});
after(async () => {
  await t.server.close();
  await new Promise((r) => upstream.close(r));
});

/** What the fixture answers for a decoded string: its UTF-16 units in hex. */
function units(s: string): string {
  return Array.from({ length: s.length }, (_, i) => s.charCodeAt(i).toString(16).padStart(4, "0")).join(" ");
}

function pct(bytes: Buffer): string {
  return Array.from(bytes, (b) => `%${b.toString(16).padStart(2, "0").toUpperCase()}`).join("");
}

function post(path: string, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`POST ${path} HTTP/1.1\r\nHost: t\r\nContent-Length: ${body.length}\r\n\r\n`), body]);
}

/** A field value may not hold controls and loses surrounding whitespace: those bytes
 *  become 'A', which keeps every UTF-8 question the sequence asks. */
function fieldSafe(bytes: Buffer): Buffer {
  const out = Buffer.from(bytes);
  for (let i = 0; i < out.length; i++) {
    if (out[i] < 0x20 || out[i] === 0x7f || ((i === 0 || i === out.length - 1) && out[i] === 0x20)) out[i] = 0x41;
  }
  return out;
}

/** Inside JSON quotes, '"', '\' and controls would change the text's meaning, not its
 *  UTF-8: they become 'A' too. */
function jsonSafe(bytes: Buffer): Buffer {
  const out = Buffer.from(bytes);
  for (let i = 0; i < out.length; i++) if (out[i] < 0x20 || out[i] === 0x22 || out[i] === 0x5c) out[i] = 0x41;
  return out;
}

interface Probe { route: string; request: Buffer; expected: string; bytes: Buffer }

function probes(bytes: Buffer, withFetch: boolean): Probe[] {
  const field = fieldSafe(bytes);
  const json = jsonSafe(bytes);
  let jsonExpected: string;
  try {
    jsonExpected = units(strict.decode(json));
  } catch {
    jsonExpected = "error invalid UTF-8";
  }
  const list: Probe[] = [
    { route: "param", request: Buffer.from(get(`/p/${pct(bytes)}`)), expected: units(decoder.decode(bytes)), bytes },
    { route: "query", request: Buffer.from(get(`/q?v=${pct(bytes)}`)), expected: units(decoder.decode(bytes)), bytes },
    { route: "header", request: Buffer.concat([Buffer.from("GET /h HTTP/1.1\r\nHost: t\r\nX-V: "), field, Buffer.from("\r\n\r\n")]), expected: units(decoder.decode(field)), bytes: field },
    { route: "body", request: post("/b", bytes), expected: units(decoder.decode(bytes)), bytes },
    { route: "json", request: post("/j", Buffer.concat([Buffer.from('{"v":"'), json, Buffer.from('"}')])), expected: jsonExpected, bytes: json },
  ];
  if (withFetch) {
    list.push({ route: "fetch", request: Buffer.from(get(`/f?port=${upstreamPort}&hex=${field.toString("hex")}`)), expected: units(decoder.decode(field)), bytes: field });
  }
  return list;
}

/** Sends every probe (pipelined, in batches) and compares each answer with TextDecoder's. */
async function check(cases: Buffer[], withFetch = false): Promise<void> {
  const all = cases.flatMap((c) => probes(c, withFetch));
  const answers: ParsedResponse[] = [];
  for (let i = 0; i < all.length; i += BATCH) {
    const batch = all.slice(i, i + BATCH);
    const r = await exchange(t.port, Buffer.concat(batch.map((p) => p.request)), { expect: batch.length, timeoutMs: 20_000 });
    assert.equal(r.responses.length, batch.length, "every pipelined request is answered");
    answers.push(...r.responses);
  }
  const failures: string[] = [];
  all.forEach((p, i) => {
    const a = answers[i];
    const got = a.body.toString("latin1");
    if (a.status !== 200 || got !== p.expected) {
      failures.push(`${p.route} ${p.bytes.toString("hex")}: got ${a.status} "${got}", TextDecoder "${p.expected}"`);
    }
  });
  assert.deepEqual(failures.slice(0, 20), [], `${failures.length} of ${all.length} probes differ`);
}

const hex = (s: string) => Buffer.from(s.replace(/ /g, ""), "hex");

/** Well-formed sequences of every length at the edges of their ranges. */
const VALID_SEQUENCES = [
  "c2 80", "c3 a9", "df bf", "e0 a0 80", "e2 82 ac", "ed 9f bf", "ee 80 80", "ef bf bd", "ef bf bf",
  "f0 90 80 80", "f0 9f 98 80", "f3 bf bf bf", "f4 80 80 80", "f4 8f bf bf",
].map(hex);

describe("UTF-8 decoding matches the WHATWG decoder (TextDecoder)", () => {
  it("the attack report's sequences are U+FFFD, never ASCII, NUL, CR/LF or lone surrogates", async () => {
    const attacks = [
      "c0 ae c0 ae c0 af 65 74 63", // ../etc
      "c0 8d c0 8a", // \r\n
      "c0 80", // NUL
      "c0 8a", // LF
      "ff fe", "fe ff", "ff", "fe",
      "f4 90 80 80", // past U+10FFFF
      "e0 80 af", "f0 80 80 af", "f8 88 80 80 af", "fc 84 80 80 80 af", // overlong '/'
      "c1 bf", "e0 9f bf", "f0 8f bf bf", // the largest overlongs
      "ed a0 80", "ed bf bf", "ed a0 bd ed b8 80", // surrogates, a CESU-8 pair
      "f5 80 80 80", "f7 bf bf bf", "f4 bf bf bf",
    ].map(hex);
    await check(attacks, true);
    // And what the report saw, spelled out: the path parameter is not "../etc".
    const r = await exchange(t.port, get("/p/%C0%AE%C0%AE%C0%AFetc"), { expect: 1 });
    assert.equal(r.responses[0].body.toString(), "fffd fffd fffd fffd fffd fffd 0065 0074 0063");
  });

  it("every truncation of every well-formed sequence, alone, before ASCII and before another sequence", async () => {
    const cases: Buffer[] = [];
    for (const seq of VALID_SEQUENCES) {
      for (let n = 1; n < seq.length; n++) {
        const cut = seq.subarray(0, n);
        cases.push(cut, Buffer.concat([cut, Buffer.from("x")]), Buffer.concat([cut, hex("c3 a9")]), Buffer.concat([Buffer.from("ab"), cut]));
      }
    }
    await check(cases, true);
  });

  it("every lead byte with second bytes at every range boundary", async () => {
    const cases: Buffer[] = [];
    for (let lead = 0x80; lead <= 0xff; lead++) {
      for (const second of [0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0]) cases.push(Buffer.from([lead, second, 0x80, 0x80, 0x78]));
      cases.push(Buffer.from([lead]), Buffer.from([0x78, lead, 0x78]));
    }
    await check(cases);
  });

  it("surrogates and code points past U+10FFFF in every form", async () => {
    const cases: Buffer[] = [];
    for (const lo of [0x80, 0x9f, 0xa0, 0xaf, 0xb0, 0xbf]) cases.push(Buffer.from([0xed, lo, 0x80]), Buffer.from([0xed, lo, 0xbf, 0x41]));
    for (const lead of [0xf4, 0xf5, 0xf6, 0xf7]) cases.push(Buffer.from([lead, 0x90, 0x80, 0x80]), Buffer.from([lead, 0xbf, 0xbf, 0xbf]));
    await check(cases);
  });

  it("well-formed text at every alignment of the eight-byte ASCII path", async () => {
    const cases: Buffer[] = [];
    for (const text of ["héllo wörld", "日本語のテキスト", "emoji 😀🎉 and ✓", "Grüße\u{10ffff}\u{fffd}\u{feff}"]) cases.push(Buffer.from(text));
    for (let k = 0; k < 18; k++) {
      const pad = "a".repeat(k);
      cases.push(Buffer.from(`${pad}é${pad}😀`), Buffer.concat([Buffer.from(pad), hex("c0 af"), Buffer.from(pad)]));
    }
    await check(cases);
  });

  it(`${RANDOM_CASES} seeded random sequences of valid, truncated, continuation and arbitrary bytes`, async () => {
    const rand = rng(SEED);
    const pick = (n: number) => Math.floor(rand() * n);
    const cases: Buffer[] = [];
    for (let c = 0; c < RANDOM_CASES; c++) {
      const parts: number[] = [];
      const pieces = 1 + pick(8);
      for (let i = 0; i < pieces; i++) {
        switch (pick(5)) {
          case 0: parts.push(pick(256)); break; // any byte
          case 1: parts.push(0x80 + pick(64)); break; // a stray continuation byte
          case 2: parts.push(0x20 + pick(0x5f)); break; // printable ASCII
          case 3: { // a whole sequence, sometimes cut short
            const seq = VALID_SEQUENCES[pick(VALID_SEQUENCES.length)];
            parts.push(...seq.subarray(0, pick(2) === 0 ? seq.length : 1 + pick(seq.length - 1)));
            break;
          }
          default: { // a random scalar value, encoded
            let cp = pick(0x110000);
            if (cp >= 0xd800 && cp <= 0xdfff) cp -= 0x800;
            parts.push(...Buffer.from(String.fromCodePoint(cp)));
          }
        }
      }
      cases.push(Buffer.from(parts));
    }
    await check(cases);
  });
});
