// The ABI numbers are written three times (host, SDK, runtime) because the two sides are
// different languages, and quoted once more in docs/abi.md for other toolchains. This test
// keeps them equal in both directions: a constant added, renamed or changed on one side
// and not on the other fails here, and so does a table in the docs that drifts.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as host from "../host/abi/constants.ts";

// Not from helpers.ts: that imports the whole host, and this test needs none of it.
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Every `@inline [export] const NAME: type = value;` of an AS file. A declaration whose
 *  value is not a plain literal fails the test instead of being skipped unseen. */
function asConstants(file: string): Map<string, number> {
  const text = fs.readFileSync(path.join(ROOT, file), "utf8");
  const out = new Map<string, number>();
  for (const m of text.matchAll(/@inline (?:export )?const (\w+)\b([^;\n]*);/g)) {
    const value = /^: \w+ = (0x[0-9A-Fa-f]+|\d+)$/.exec(m[2]);
    assert.ok(value, `${file}: cannot read the value of ${m[1]} (${m[2].trim()}); write it as a literal`);
    out.set(m[1], Number(value[1]));
  }
  return out;
}

/** The runtime's ABI constants: the region header (region.ts), scoped arenas' records
 *  (scope.ts), poison bytes (scope.ts, zero.ts) and its reports to the host (report.ts); a
 *  name defined twice must agree. heap.ts and keep.ts hold the allocator's
 *  internals, which the host never sees. */
function runtimeConstants(): Map<string, number> {
  const out = new Map<string, number>();
  for (const f of ["region.ts", "arena.ts", "report.ts", "scope.ts", "zero.ts"]) {
    for (const [name, value] of asConstants(`runtime/${f}`)) {
      if (out.has(name)) assert.equal(value, out.get(name), `runtime/${f}: ${name} differs from another runtime file`);
      out.set(name, value);
    }
  }
  return out;
}

const HOST = new Map<string, number>();
for (const [name, value] of Object.entries(host)) if (typeof value === "number") HOST.set(name, value);
const SDK = asConstants("sdk/lib/arena/abi.ts");
const RUNTIME = runtimeConstants();

/** Runtime constants the host has no use for, and why; docs/abi.md still quotes them. */
const RUNTIME_ONLY = new Map([
  ["REGION_KIND_BUMP", "the host never reads a region's kind (the Region header table says 1 = bump)"],
  ["REGION_KIND_HEAP", "the host never reads a region's kind (the Region header table says 2 = heap)"],
  ["REGION_KIND_SCOPE", "the host never reads a region's kind (the Region header table says 3 = scope)"],
  ["GCINFO2_MOVED", "the mark of a moved object is the runtime's own; the host is told of a move by the violation"],
  ["ZERO_INLINE_BYTES_MAX", "how the runtime zeroes small objects is its own"],
  ["SCOPE_FLAG_RUN", "only the runtime reads a scope's flags"],
  ["RECORDS", "how many records the check build keeps is the runtime's own"],
  ["RECORD_BYTES", "the host reads records field by field (RECORD_*)"],
]);

describe("host, SDK and runtime", () => {
  it("each side has the constants it should (the readers found them)", () => {
    assert.ok(HOST.size >= 70, `host/abi/constants.ts: ${HOST.size} numbers`);
    assert.ok(SDK.size >= 50, `sdk/lib/arena/abi.ts: ${SDK.size} constants`);
    assert.ok(RUNTIME.size >= 10, `runtime/: ${RUNTIME.size} constants`);
  });

  it("every SDK constant is on the host, with the same value", () => {
    for (const [name, value] of SDK) assert.equal(HOST.get(name), value, `${name}: sdk ${value}, host ${HOST.get(name)}`);
  });

  it("every runtime constant is on the host, with the same value", () => {
    for (const [name, value] of RUNTIME) {
      if (RUNTIME_ONLY.has(name)) {
        assert.equal(HOST.has(name), false, `${name} is on the host now: drop it from RUNTIME_ONLY`);
        continue;
      }
      assert.equal(HOST.get(name), value, `${name}: runtime ${value}, host ${HOST.get(name)}`);
    }
  });

  it("every host constant is on the app side (SDK or runtime), with the same value", () => {
    for (const [name, value] of HOST) {
      assert.ok(SDK.has(name) || RUNTIME.has(name), `${name} is on the host only`);
      if (SDK.has(name)) assert.equal(SDK.get(name), value, `${name}: host ${value}, sdk ${SDK.get(name)}`);
      if (RUNTIME.has(name)) assert.equal(RUNTIME.get(name), value, `${name}: host ${value}, runtime ${RUNTIME.get(name)}`);
    }
  });

  it("FetchError (the SDK's names for the effect statuses) and EFFECT_* are the same list", () => {
    // The SDK's public enum is how apps read EFFECT_* statuses: None is EFFECT_OK, BadUrl is
    // EFFECT_BAD_URL, and so on.
    const file = findSdkFile(/export enum FetchError \{/);
    const text = fs.readFileSync(path.join(ROOT, file), "utf8");
    const body = /export enum FetchError \{([\s\S]*?)\n\}/.exec(text)![1].replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
    const members = new Map([...body.matchAll(/(\w+) = (\d+)/g)].map((m) => [m[1], Number(m[2])]));
    const asEffect = new Map([...members].map(([k, v]) => [k === "None" ? "EFFECT_OK" : "EFFECT_" + k.replace(/(?<=[a-z])(?=[A-Z])/g, "_").toUpperCase(), v]));
    const effects = new Map([...HOST].filter(([k]) => k.startsWith("EFFECT_")));
    assert.deepEqual(sorted(asEffect), sorted(effects), `${file}: FetchError`);
  });
});

describe("docs/abi.md", () => {
  const doc = fs.readFileSync(path.join(ROOT, "docs/abi.md"), "utf8");
  const ALL = new Map([...RUNTIME, ...SDK, ...HOST]);

  /** The text of the section whose heading starts with `title`, up to the next heading. */
  function section(title: string): string {
    const at = doc.search(new RegExp(`^#+ ${title.replace(/[()]/g, "\\$&")}`, "m"));
    assert.ok(at >= 0, `docs/abi.md has no section "${title}"`);
    const body = doc.indexOf("\n", at);
    const next = doc.slice(body).search(/^#+ /m);
    return next < 0 ? doc.slice(at) : doc.slice(at, body + next);
  }

  /** Offset rows (`| 0 / 4 | \`a_ptr\` / \`len\` | …`) as constant name → offset; `prefix`
   *  names the constant of a row from its cells. */
  function offsetRows(text: string, prefix: (cells: string[]) => string): Map<string, number> {
    const out = new Map<string, number>();
    for (const m of text.matchAll(/^\| (\d+(?: \/ \d+)?) \| ([^|]+) \|(.*)$/gm)) {
      const offsets = m[1].split(" / ").map(Number);
      const fields = m[2].split(" / ").map((f) => /^`(\w+)`$/.exec(f.trim())![1]);
      assert.equal(fields.length, offsets.length, m[0]);
      // "`method_ptr` / `len`": the second field is named after the first.
      if (fields.length === 2 && !fields[1].includes("_")) fields[1] = fields[0].replace(/_ptr$/, "") + "_" + fields[1];
      const cells = m[3].split("|").map((c) => c.trim());
      fields.forEach((f, i) => {
        const name = prefix(cells) + f.toUpperCase();
        out.set(ALIASES.get(name) ?? name, offsets[i]);
      });
    }
    assert.ok(out.size > 0, "no offset rows found");
    return out;
  }
  /** Where the docs' field name and the constant's name differ. */
  const ALIASES = new Map([["REQ_REQUEST_ID", "REQ_ID"], ["FETCH_RES_HEADERS_COUNT", "FETCH_RES_HEADER_COUNT"]]);

  /** The constants of one group on the host (or runtime), as name → value. */
  function group(match: (name: string) => boolean): Map<string, number> {
    return new Map([...ALL].filter(([k]) => match(k)));
  }

  it("the Region header table lists every REGION_* offset, with its value", () => {
    const text = section("Region header");
    assert.match(text, new RegExp(`^## Region header \\(${host.REGION_HEADER_BYTES} bytes`, "m"));
    const rows = offsetRows(text, () => "REGION_");
    assert.deepEqual(sorted(rows), sorted(group((k) => k.startsWith("REGION_") && !["REGION_HEADER_BYTES", "REGION_ID_STARTUP", "REGION_ID_HEAP", "REGION_KIND_BUMP", "REGION_KIND_HEAP", "REGION_KIND_SCOPE"].includes(k))));
    assert.match(text, new RegExp(`^\\| ${host.REGION_ID} \\| \`id\` \\| slot index, \`0x${host.REGION_ID_STARTUP.toString(16).toUpperCase()}\` for the startup region`, "m"));
    assert.match(text, new RegExp(`^\\| ${host.REGION_KIND} \\| \`kind\` \\| ${RUNTIME.get("REGION_KIND_BUMP")} = bump region`, "m"));
  });

  it("the Request descriptor tables list every REQ_* and RES_* field, with its offset", () => {
    const text = section("Request descriptor");
    assert.match(text, new RegExp(`^## Request descriptor \\(at slot base \\+ ${host.REGION_HEADER_BYTES}, ${host.REQ_DESC_BYTES} bytes\\)`, "m"));
    const split = text.indexOf("Written by the app");
    assert.ok(split > 0);
    const rows = new Map([...offsetRows(text.slice(0, split), () => "REQ_"), ...offsetRows(text.slice(split), () => "RES_")]);
    assert.deepEqual(sorted(rows), sorted(group((k) => /^RE[QS]_/.test(k) && k !== "REQ_DESC_BYTES" && k !== "REQ_FLAG_MAY_WAIT")));
    assert.match(text, new RegExp(`bit ${Math.log2(host.REQ_FLAG_MAY_WAIT)} \`REQ_FLAG_MAY_WAIT\``));
    assert.match(text, new RegExp(`\`count\` entries of ${host.HEADER_ENTRY_BYTES} bytes`));
    assert.match(text, new RegExp(`the ${host.BODY_HEADROOM_BYTES} bytes before it belong to the app`));
  });

  it("the Fetch descriptor table lists every FETCH_* field, with its offset and who writes it", () => {
    const text = section("Fetch descriptor");
    const rows = offsetRows(text, (cells) => {
      assert.ok(cells[0] === "app" || cells[0] === "host", `written by ${cells[0]}`);
      return cells[0] === "app" ? "FETCH_" : "FETCH_RES_";
    });
    assert.deepEqual(sorted(rows), sorted(group((k) => k.startsWith("FETCH_") && k !== "FETCH_DESC_BYTES")));
  });

  it("the Statuses table lists every ARENA_* status, with its value", () => {
    const rows = new Map([...section("Statuses").matchAll(/^\| (\d+) \| `(ARENA_\w+)` \|/gm)].map((m) => [m[2], Number(m[1])]));
    assert.deepEqual(sorted(rows), sorted(group((k) => k.startsWith("ARENA_"))));
  });

  it("the effect statuses listed under Effects are every EFFECT_*, with its value", () => {
    const list = /Statuses are `EFFECT_\*`\s+\(`host\/abi\/constants\.ts`\):([\s\S]*?)\. Failures are values/.exec(section("Effects"));
    assert.ok(list, "the list of effect statuses");
    const rows = new Map<string, number>();
    for (const item of list[1].replace(/\s+/g, " ").split(",")) {
      const m = /^ (\d+) ([a-zA-Z ]+?)(?: \(.*\))?$/.exec(item);
      assert.ok(m, `cannot read ${JSON.stringify(item)}`);
      const name = "EFFECT_" + m[2].toUpperCase().replace(/ /g, "_");
      rows.set(name === "EFFECT_OTHER_NETWORK_ERROR" ? "EFFECT_NETWORK" : name, Number(m[1]));
    }
    assert.deepEqual(sorted(rows), sorted(group((k) => k.startsWith("EFFECT_"))));
  });

  it("every ABI constant quoted with a value (`NAME` = N, `NAME` (N)) has that value", () => {
    let quoted = 0;
    for (const m of doc.matchAll(/`([A-Z][A-Z0-9_]+)`(?: = | \()(0x[0-9A-Fa-f]+|\d+)\b/g)) {
      if (!ALL.has(m[1])) continue; // limits such as SLEEP_MS_MAX live elsewhere
      assert.equal(Number(m[2]), ALL.get(m[1]), m[0]);
      quoted++;
    }
    assert.ok(quoted >= 4, `only ${quoted} quoted constants found`);
  });
});

function sorted(m: Map<string, number>): [string, number][] {
  return [...m].sort((a, b) => a[0].localeCompare(b[0]));
}

/** The SDK file (under sdk/lib/arena) whose text matches `re`. */
function findSdkFile(re: RegExp): string {
  const files = (fs.readdirSync(path.join(ROOT, "sdk/lib/arena"), { recursive: true }) as string[])
    .filter((f) => f.endsWith(".ts")).map((f) => `sdk/lib/arena/${f}`);
  const hits = files.filter((f) => re.test(fs.readFileSync(path.join(ROOT, f), "utf8")));
  assert.equal(hits.length, 1, `${re}: found in ${hits.join(", ") || "no file"}`);
  return hits[0];
}
