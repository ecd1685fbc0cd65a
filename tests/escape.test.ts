// The SDK's escaping core (sdk/lib/arena/text/escape.ts and scan.ts) checked differentially
// against JavaScript: every escaper — HTML, JSON and none, from strings (UTF-16), from UTF-8
// bytes and from JSON string bodies, plus the public methods built on them — over seeded
// random inputs and over a special character at every position of strings of 0 to 100
// characters, so each position in a 16-byte block, each block boundary and each tail
// length is hit. tests/fixtures/escapeapp.ts answers a batch of inputs per request.
//
// The kernels have two builds: 16 bytes at a time with wasm SIMD (what `arena build`
// makes), a byte at a time without (an asc build without the simd feature). The fixture is
// built both ways, so both loops are tested.
//
// The references: a lone surrogate becomes U+FFFD (String.prototype.toWellFormed, as
// Buffer.from does); in UTF-8 input each byte that starts no well-formed sequence becomes
// U+FFFD (what the writers have always done: TextDecoder would replace a maximal subpart
// at once, so the reference decodes sequence by sequence with a fatal TextDecoder); JSON
// strings are escaped as JSON.stringify escapes them.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import asc, { libraryFiles } from "assemblyscript/asc";
import binaryen from "assemblyscript/binaryen";
import { ascArgs } from "../cli/build.ts";
import { patchStdlib } from "../cli/stdlib_patch.ts";
import { ArenaServer, MemoryLogger } from "../host/index.ts";
import { buildApp, exchange, ROOT } from "./helpers.ts";
import { rng } from "./rng.ts";

const FIXTURE = "tests/fixtures/escapeapp.ts";
const SEED = 0x5eed_e5c4;
/** Request bodies are cut at about this size (the fixture's arena holds a batch and its output). */
const BATCH_BYTES = 96 * 1024;

const strict = new TextDecoder("utf-8", { ignoreBOM: true, fatal: true });

/** The code point of the k-byte sequence `seq`, or null when it is not a well-formed one. */
function sequence(seq: Buffer, k: number): string | null {
  if (seq.length < k) return null;
  try {
    return strict.decode(seq);
  } catch {
    return null;
  }
}

/** `b` decoded with one U+FFFD for each byte that starts no well-formed sequence. */
function decodeBytewise(b: Buffer): string {
  let s = "";
  for (let i = 0; i < b.length;) {
    const k = b[i] < 0x80 ? 1 : b[i] >= 0xf0 ? 4 : b[i] >= 0xe0 ? 3 : 2;
    const cp = sequence(b.subarray(i, i + k), k);
    s += cp ?? "\uFFFD";
    i += cp === null ? 1 : k;
  }
  return s;
}

/** The fixture compiled without wasm SIMD, the byte-at-a-time kernels (not instrumented:
 *  the CPU budget is not what these tests are about). */
async function buildWithoutSimd(): Promise<Uint8Array> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "arena-escape-"));
  const out = path.join(dir, "escapeapp.nosimd.wasm");
  patchStdlib(libraryFiles as Record<string, string>);
  const args = ascArgs(path.join(ROOT, FIXTURE), out, false);
  const at = args.indexOf("simd");
  assert.ok(at > 0 && args[at - 1] === "--enable", "arena build enables simd (cli/build.ts ascArgs)");
  args.splice(at - 1, 2);
  const { error } = await asc.main(args, { stdout: process.stdout, stderr: process.stderr });
  if (error) throw error;
  const wasm = fs.readFileSync(out);
  fs.rmSync(dir, { recursive: true, force: true });
  return wasm;
}

interface Variant { name: string; server: ArenaServer; port: number }
const variants: Variant[] = [];
let simdWasm: Uint8Array = new Uint8Array(0);
let byteWasm: Uint8Array = new Uint8Array(0);

before(async () => {
  simdWasm = await buildApp(FIXTURE);
  byteWasm = await buildWithoutSimd();
  for (const [name, wasm] of [["arena build (simd)", simdWasm], ["without simd", byteWasm]] as const) {
    const server = await ArenaServer.create(wasm, FIXTURE, { slots: 2, slotBytes: 8 * 1024 * 1024, log: new MemoryLogger() });
    variants.push({ name, server, port: await server.listen(0, "127.0.0.1") });
  }
});
after(async () => {
  for (const v of variants) await v.server.close();
});

// ---- inputs -------------------------------------------------------------------------

/** Characters that matter to some escaper: the HTML and JSON specials, controls, the
 *  backslash, DEL, non-ASCII of every UTF-8 length, an astral pair, lone surrogates. */
const INTERESTING = ["&", "<", ">", "\"", "'", "\\", "/", "\n", "\t", "\u0000", "\u001f", "\u007f", "é", "中",
  "\u2028", "\uffff", "😀", "\ud800", "\udfff"];

/** A special character at every position of every length up to 64, and at the edges of
 *  the blocks and a few random places past that up to 100; long strings last. */
function positionCases(r: () => number): string[] {
  const out: string[] = [];
  let k = 0;
  for (let len = 0; len <= 100; len++) {
    const positions = len <= 64 ? [...Array(len).keys()]
      : [0, 1, 15, 16, 17, 31, 32, 33, 47, 48, 63, 64, len - 17, len - 16, len - 15, len - 2, len - 1, Math.floor(r() * len)];
    if (len === 0) out.push("");
    for (const i of positions) {
      const filler = Array.from({ length: len }, (_, j) => String.fromCharCode(0x61 + ((j + len) % 26)));
      filler[i] = INTERESTING[k++ % INTERESTING.length];
      out.push(filler.join(""));
    }
  }
  // Long text: clean, sparse and dense specials, across the writers' 4 KiB output chunks.
  for (const n of [1000, 4095, 4096, 4097, 9000]) {
    out.push("x".repeat(n), randomString(r, n, 0.02), "\"".repeat(n), randomString(r, n, 0.5));
  }
  return out;
}

/** A string of `n` UTF-16 code units, a fraction `special` of them interesting. */
function randomString(r: () => number, n: number, special: number): string {
  let s = "";
  while (s.length < n) {
    s += r() < special ? INTERESTING[Math.floor(r() * INTERESTING.length)] : String.fromCharCode(0x20 + Math.floor(r() * 95));
  }
  return s;
}

function randomCases(r: () => number): string[] {
  const out: string[] = [];
  for (let i = 0; i < 600; i++) {
    const n = r() < 0.8 ? Math.floor(r() * 40) : Math.floor(r() * 101);
    out.push(randomString(r, n, [0, 0.05, 0.3, 1][i % 4]));
  }
  return out;
}

const ILL_FORMED = [[0xff], [0x80], [0xc3], [0xc0, 0xae], [0xe0, 0x80], [0xe1, 0x80], [0xed, 0xa0, 0x80],
  [0xf0, 0x90, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xf5], [0xef, 0xbb, 0xbf]];

/** UTF-8 of `s` with ill-formed sequences put in at random places (one string in two). */
function withIllFormed(r: () => number, s: string): Buffer {
  const b = Buffer.from(s);
  if (r() < 0.5) return b;
  const parts: Buffer[] = [];
  let at = 0;
  for (let k = Math.floor(r() * 3) + 1; k > 0; k--) {
    const cut = Math.max(at, Math.floor(r() * b.length));
    parts.push(b.subarray(at, cut), Buffer.from(ILL_FORMED[Math.floor(r() * ILL_FORMED.length)]));
    at = cut;
  }
  parts.push(b.subarray(at));
  return Buffer.concat(parts);
}

const hex4 = (u: number, upper: boolean) => (upper ? u.toString(16).toUpperCase() : u.toString(16)).padStart(4, "0");

/** A JSON string's content for `s`, escaped in varied ways: required escapes short or as
 *  \u, others now and then as \u (either case) or `\/`, astral characters raw or as two
 *  escapes; a lone surrogate, which UTF-8 cannot hold, always as \u. */
function jsonBody(r: () => number, s: string): Buffer {
  let out = "";
  const short: Record<string, string> = { "\"": "\\\"", "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\b": "\\b", "\f": "\\f" };
  for (const ch of s) {
    const u = ch.charCodeAt(0);
    const lone = ch.length === 1 && (u & 0xf800) === 0xd800;
    if (lone || (ch.length === 2 && r() < 0.5)) {
      for (let i = 0; i < ch.length; i++) out += "\\u" + hex4(ch.charCodeAt(i), r() < 0.5);
    } else if (short[ch] !== undefined && r() < 0.7) {
      out += short[ch];
    } else if (u < 0x20 || ch === "\"" || ch === "\\" || (ch.length === 1 && r() < 0.1)) {
      out += "\\u" + hex4(u, r() < 0.5);
    } else if (ch === "/" && r() < 0.5) {
      out += "\\/";
    } else {
      out += ch;
    }
  }
  return Buffer.from(out);
}

// ---- references ---------------------------------------------------------------------

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" })[c]!);
const escapeJson = (s: string) => JSON.stringify(s).slice(1, -1);

/** What each escaper writes for the (well-formed) text `s`. */
const EXPECTED: Record<string, (s: string) => string> = {
  html: escapeHtml, text: escapeHtml, textbytes: escapeHtml, attr: (s) => `<p t="${escapeHtml(s)}"> `,
  json: escapeJson, jsonstr: (s) => `"${escapeJson(s)}"`, strbytes: (s) => `"${escapeJson(s)}"`,
  none: (s) => s, str: (s) => s, raw: (s) => s, literal: (s) => s,
};

// ---- running a batch ----------------------------------------------------------------

function record(b: Buffer): Buffer {
  const n = Buffer.alloc(4);
  n.writeUInt32LE(b.length);
  return Buffer.concat([n, b]);
}

/** Runs `inputs` through escaper `via` of source kind `src` on `v`; the outputs, in order. */
async function run(v: Variant, src: string, via: string, inputs: Buffer[]): Promise<Buffer[]> {
  const outputs: Buffer[] = [];
  for (let i = 0; i < inputs.length;) {
    const parts: Buffer[] = [];
    let size = 0;
    while (i < inputs.length && (parts.length === 0 || size + inputs[i].length < BATCH_BYTES)) {
      parts.push(record(inputs[i]));
      size += inputs[i++].length + 4;
    }
    const body = Buffer.concat(parts);
    const head = `POST /batch?src=${src}&via=${via} HTTP/1.1\r\nHost: t\r\nContent-Length: ${body.length}\r\n\r\n`;
    const res = (await exchange(v.port, Buffer.concat([Buffer.from(head), body]), { expect: 1 })).responses[0];
    assert.equal(res.status, 200, `${v.name} ${src}/${via}: ${res.body.toString().slice(0, 300)}`);
    for (let at = 0; at < res.body.length;) {
      const n = res.body.readUInt32LE(at);
      outputs.push(res.body.subarray(at + 4, at + 4 + n));
      at += 4 + n;
    }
  }
  assert.equal(outputs.length, inputs.length, `${v.name} ${src}/${via}: one output per input`);
  return outputs;
}

/** Checks escaper `via` of `src` on every variant: `texts[i]` is what `inputs[i]` decodes to. */
async function check(src: string, via: string, inputs: Buffer[], texts: string[], expect?: (i: number) => Buffer): Promise<void> {
  for (const v of variants) {
    const got = await run(v, src, via, inputs);
    for (let i = 0; i < inputs.length; i++) {
      const want = expect ? expect(i) : Buffer.from(EXPECTED[via](texts[i]));
      if (!got[i].equals(want)) {
        assert.fail(`${v.name} ${src}/${via}, input ${i} (${inputs[i].length} bytes: ${inputs[i].toString("hex").slice(0, 200)}):\n` +
          `got  ${JSON.stringify(got[i].toString()).slice(0, 300)}\nwant ${JSON.stringify(want.toString()).slice(0, 300)}`);
      }
    }
  }
}

const utf16 = (s: string) => Buffer.from(s, "utf16le");

describe("escaping core: differential against JavaScript", () => {
  const r = rng(SEED);
  const strings = [...positionCases(r), ...randomCases(r)];
  const wellFormed = strings.map((s) => s.toWellFormed());

  it("has the 16-bytes-at-a-time kernel in the arena build, and the byte kernel in the other", () => {
    // HtmlEscape.specials's nibble table lookup: only the SIMD kernel has it.
    for (const [wasm, simd] of [[simdWasm, true], [byteWasm, false]] as const) {
      const m = binaryen.readBinary(wasm);
      m.setFeatures(binaryen.Features.All);
      const text = m.emitText();
      m.dispose();
      assert.equal(/i8x16\.swizzle/.test(text), simd);
      assert.equal(/i8x16\.narrow_i16x8_u/.test(text), simd);
    }
  });

  for (const via of ["html", "json", "none", "str", "text", "attr", "raw", "literal", "jsonstr"]) {
    it(`escapes strings (UTF-16, lone surrogates as U+FFFD): ${via}`, async () => {
      await check("s", via, strings.map(utf16), wellFormed);
    });
  }

  const bytes = strings.map((s) => withIllFormed(r, s));
  const decoded = bytes.map(decodeBytewise);
  for (const via of ["html", "json", "none", "textbytes", "strbytes"]) {
    it(`escapes UTF-8 bytes (U+FFFD for each byte that starts no well-formed sequence): ${via}`, async () => {
      await check("u8", via, bytes, decoded);
    });
  }

  it("copies bytes as they are (ByteWriter.bytes, whole blocks where the buffer allows)", async () => {
    await check("u8", "bytes", bytes, decoded, (i) => bytes[i]);
  });

  const bodies = strings.map((s) => jsonBody(r, s));
  for (const via of ["html", "json", "none"]) {
    it(`decodes and escapes JSON string bodies (writeJsonStringEscaped): ${via}`, async () => {
      // The JSON body is the reference's own test: JSON.parse reads it back to the text.
      bodies.forEach((b, i) => assert.equal(JSON.parse(`"${b.toString()}"`), strings[i]));
      await check("j", via, bodies, wellFormed);
    });
  }
});
