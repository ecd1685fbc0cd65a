// docs/sdk.md is generated from the SDK's doc comments (cli/sdkdoc.ts): it must match what
// the generator writes now, and every export and public member must have a doc comment
// with an example. Pure parsing: no wasm build, no server.

import { it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { generateSdkDoc, SDK_DOC } from "../cli/sdkdoc.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

it("docs/sdk.md is what `npm run docs:sdk` writes from the SDK's doc comments", () => {
  const { markdown } = generateSdkDoc();
  const current = fs.existsSync(path.join(ROOT, SDK_DOC)) ? fs.readFileSync(path.join(ROOT, SDK_DOC), "utf8") : "";
  if (current !== markdown) {
    const a = current.split("\n");
    const b = markdown.split("\n");
    let line = 0;
    while (line < a.length && line < b.length && a[line] === b[line]) line++;
    assert.fail(`${SDK_DOC} is out of date (first difference at line ${line + 1}: ` +
      `${JSON.stringify(a[line] ?? "")} vs ${JSON.stringify(b[line] ?? "")}): run \`npm run docs:sdk\` ` +
      "(node cli/sdkdoc.ts) and commit docs/sdk.md");
  }
});

it("every export of sdk/lib/arena.ts and every public member has a doc comment with an example", () => {
  const { missing } = generateSdkDoc();
  assert.deepEqual(missing, [], "add a doc comment with an example (a ```ts block, or inline code that uses the name, " +
    "e.g. `w.str(\"hi\")`); mark an internal member @unsafe to leave it out of the reference");
});

it("the reference names every export of sdk/lib/arena.ts with its signature", () => {
  const { markdown } = generateSdkDoc();
  for (const name of ["Request", "Response", "Router", "Handler", "Json", "JsonWriter", "Html", "Heap", "Store", "log", "JSON_DEPTH_MAX"]) {
    assert.ok(new RegExp(`^## ${name}\\n`, "m").test(markdown), `no section for ${name}`);
  }
  for (const signature of [
    "static text(s: string, status: i32 = 200): Response",
    "function fetch(url: string, options: FetchOptions | null = null): FetchResponse",
    "Heap.keep<T>(value: T): T | null",
    "readonly ok: bool",
  ]) {
    assert.ok(markdown.includes("\n" + signature + "\n"), `no signature line ${signature}`);
  }
  for (const hidden of ["setBody", "bodyRef", "### new JsonDoc", "headerLines"]) {
    assert.ok(!markdown.includes(hidden), `${hidden} is private or @unsafe: it is left out`);
  }
});

it("the generator follows `export *` and renames, and names what lacks a doc comment or an example", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sdkdoc-"));
  try {
    const write = (rel: string, text: string) => {
      fs.mkdirSync(path.dirname(path.join(tmp, rel)), { recursive: true });
      fs.writeFileSync(path.join(tmp, rel), text);
    };
    write("sdk/lib/arena.ts", 'export * from "./arena/a";\nexport { Inner as Outer } from "./arena/b";\n');
    write("sdk/lib/arena/a.ts", [
      "/** Doubles. `twice(2)` is 4. */",
      "// @ts-ignore: decorator",
      "@inline export function twice(x: i32): i32 { return x * 2; }",
      "export const PLAIN: i32 = 1;",
    ].join("\n"));
    write("sdk/lib/arena/b.ts", [
      'export { Inner } from "./c";',
    ].join("\n"));
    write("sdk/lib/arena/c.ts", [
      "/** A box. `new Inner(1).get()` */",
      "export class Inner {",
      "  private v: i32;",
      "  /** Boxes `v`. `new Inner(1)` */",
      "  constructor(v: i32) { this.v = v; }",
      "  /** The value, with no example. */",
      "  get(): i32 { return this.v; }",
      "  // @ts-ignore: decorator",
      "  @unsafe raw(): usize { return 0; }",
      "}",
    ].join("\n"));
    const { markdown, missing } = generateSdkDoc(tmp);
    assert.match(markdown, /^## twice\n\nfunction · sdk\/lib\/arena\/a\.ts\n\n```ts\nfunction twice\(x: i32\): i32\n```/m);
    assert.match(markdown, /^## Outer\n\nclass · sdk\/lib\/arena\/c\.ts\n\n```ts\nclass Outer\n```/m);
    assert.match(markdown, /^### new Outer\n\n```ts\nnew Outer\(v: i32\)\n```/m);
    assert.ok(!markdown.includes("raw()") && !markdown.includes("private"), "private and @unsafe members are left out");
    assert.deepEqual(missing, [
      "sdk/lib/arena/a.ts:4 PLAIN: no doc comment",
      "sdk/lib/arena/c.ts:7 Outer.get: no example",
    ]);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
