// Tidy: the shape of the code, checked like its behaviour (TigerBeetle's tidy.zig is the
// model). Functions stay short enough to read at once and files short enough to hold one
// concept; the host's folders depend on each other in one direction only, with no import
// cycle anywhere (not even through `import type`); and every file a comment or a doc names
// exists. An exception is named in an allowlist below with the reason it is one.

import { it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

// Not from helpers.ts: that loads the whole host, and the shape of the code is checked
// even when the host does not load.
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const FUNCTION_LINES_MAX = 70;
const FILE_LINES_MAX = 400;

/** Where the rules apply: every source folder but the tests themselves. */
const SOURCE_ROOTS = ["host", "cli", "sdk", "runtime", "examples", "bench", "testing"];

/** Files allowed past FILE_LINES_MAX, each with why. */
const LONG_FILES: Record<string, string> = {
  "host/http/connection.ts": "the HTTP/1.1 connection state machine: one class whose states share the connection's buffers and deadlines; split by state, every field would have to be public",
  "host/http/request_parser.ts": "RFC 9112's request head in one place: the request line, the fields and the incremental check share one byte-level scan and its error reasons",
  "examples/catalog/data/generate.ts": "data: the word lists the example's dataset is made from",
  "host/effects/fetch/fetch_op.ts": "one slot's fetch as a state machine (WAIT, SEND, HEAD, BODY): its states share the response's place in the arena, the socket and the timer; split by state, every field would have to be public",
  "host/limits.ts": "every limit of the platform in one place, by the house rule, with the relations between them asserted at its end: split by subsystem, a relation across two of them would have no file to live in",
  "bench/run.ts": "the benchmark harness: servers, workloads, wrk runs and the report, kept as one script a reader can follow top to bottom",
};

/** Functions allowed past FUNCTION_LINES_MAX (file:name), each with why. */
const LONG_FUNCTIONS: Record<string, string> = {
  "host/http/chunked.ts:feed": "a byte-at-a-time state machine over the chunked framing: one switch, each state a few lines",
  "host/effects/fetch/response_parser.ts:parseResponseHead": "one pass over an upstream's status line and fields, like the request parser",
  "host/effects/fetch/upstream_url.ts:parseUpstreamUrl": "one pass over a URL's scheme, host and port with a message per way it can be wrong",
  "host/effects/imports.ts:imports": "the table of effect imports: one short entry per import, read as a list",
  "examples/catalog/upstream.ts:startUpstream": "the example's whole upstream server (routes and failure modes) in one function a reader can follow",
};

/**
 * The host's layers, lowest first: a file may import files of its own layer or lower ones,
 * never higher. The root's cross-cutting leaves are the lowest; the composition (server,
 * config, the entry module) sits on top.
 */
const HOST_LAYERS: [string, (rel: string) => boolean][] = [
  ["root leaves", (rel) => ["limits.ts", "errors.ts", "log.ts", "assert.ts"].includes(rel)],
  ["memory/", (rel) => rel.startsWith("memory/")],
  ["abi/", (rel) => rel.startsWith("abi/")],
  ["http/", (rel) => rel.startsWith("http/")],
  ["effects/", (rel) => rel.startsWith("effects/")],
  ["composition", (rel) => !rel.includes("/") && rel !== "index.ts"],
  ["ops/", (rel) => rel.startsWith("ops/")],
  ["workers/", (rel) => rel.startsWith("workers/")],
  ["entry", (rel) => rel === "index.ts"],
];

function sourceFiles(roots: string[], ext = /\.(ts|js)$/): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const rel = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== "node_modules" && e.name !== "results" && !e.name.startsWith(".")) walk(rel);
      } else if (ext.test(e.name)) {
        out.push(rel);
      }
    }
  };
  for (const r of roots) walk(r);
  return out.sort();
}

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, fs.readFileSync(path.join(ROOT, file), "utf8"), ts.ScriptTarget.Latest, true);
}

/** The relative imports of `file` (static, dynamic and type-only), resolved to repo paths. */
function importsOf(file: string): string[] {
  const sf = parse(file);
  const out: string[] = [];
  const add = (spec: string) => {
    if (!spec.startsWith(".")) return;
    let target = path.normalize(path.join(path.dirname(file), spec));
    // AssemblyScript imports name no extension.
    if (!/\.(ts|js)$/.test(target)) target += ".ts";
    out.push(target);
  };
  const visit = (n: ts.Node) => {
    if ((ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) {
      add(n.moduleSpecifier.text);
    } else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword && n.arguments.length === 1 && ts.isStringLiteral(n.arguments[0])) {
      add(n.arguments[0].text);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

it(`files have at most ${FILE_LINES_MAX} lines and functions at most ${FUNCTION_LINES_MAX}, but for the named exceptions`, () => {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const file of sourceFiles(SOURCE_ROOTS)) {
    if (file.endsWith(".d.ts")) continue;
    const sf = parse(file);
    const lines = sf.getLineAndCharacterOfPosition(sf.getEnd()).line + 1;
    if (lines > FILE_LINES_MAX) {
      if (LONG_FILES[file] === undefined) problems.push(`${file}: ${lines} lines (over ${FILE_LINES_MAX}; split it, or name it in LONG_FILES with why)`);
      else seen.add(file);
    }
    const visit = (n: ts.Node) => {
      if (ts.isFunctionLike(n) && (n as ts.FunctionLikeDeclaration).body !== undefined) {
        const first = sf.getLineAndCharacterOfPosition(n.getStart()).line;
        const last = sf.getLineAndCharacterOfPosition(n.getEnd()).line;
        const name = (n as ts.FunctionLikeDeclaration).name?.getText(sf) ?? "<anonymous>";
        const key = `${file}:${name}`;
        if (last - first + 1 > FUNCTION_LINES_MAX) {
          if (LONG_FUNCTIONS[key] === undefined) problems.push(`${file}:${first + 1} ${name}: ${last - first + 1} lines (over ${FUNCTION_LINES_MAX}; split it, or name it in LONG_FUNCTIONS with why)`);
          else seen.add(key);
        }
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  // An exception that no longer applies is taken off the list.
  for (const key of [...Object.keys(LONG_FILES), ...Object.keys(LONG_FUNCTIONS)]) {
    if (!seen.has(key)) problems.push(`${key}: on an allowlist but within the limit now; take it off`);
  }
  assert.deepEqual(problems, []);
});

it("the host's folders import downwards only (memory → abi → http → effects → composition)", () => {
  const layerOf = (rel: string) => HOST_LAYERS.findIndex(([, has]) => has(rel));
  const problems: string[] = [];
  for (const file of sourceFiles(["host"])) {
    const from = path.relative("host", file);
    const mine = layerOf(from);
    assert.ok(mine >= 0, `${file} is in no layer of HOST_LAYERS`);
    for (const target of importsOf(file)) {
      const to = path.relative("host", target);
      if (to.startsWith("..")) continue;
      const theirs = layerOf(to);
      if (theirs > mine) problems.push(`${file} (${HOST_LAYERS[mine][0]}) imports ${target} (${HOST_LAYERS[theirs][0]}), a higher layer`);
    }
  }
  // Outside the host, only the entry module is imported, but for the ABI contract the
  // build writes (cli/instrument.ts) and unit tests of one module.
  for (const file of sourceFiles(["cli", "bench", "examples"])) {
    for (const target of importsOf(file)) {
      if (target.startsWith("host/") && target !== "host/index.ts" && target !== "host/abi/constants.ts") {
        problems.push(`${file} imports ${target}: import the host through host/index.ts`);
      }
    }
  }
  assert.deepEqual(problems, []);
});

it("no import cycles in host/, sdk/ or runtime/, not even through `import type`", () => {
  const cycles: string[] = [];
  for (const root of ["host", "sdk", "runtime"]) {
    const files = sourceFiles([root], /\.ts$/).filter((f) => !f.endsWith(".d.ts"));
    const graph = new Map(files.map((f) => [f, importsOf(f).filter((t) => files.includes(t))]));
    const state = new Map<string, number>(); // 1: on the stack, 2: done
    const stack: string[] = [];
    const visit = (f: string) => {
      state.set(f, 1);
      stack.push(f);
      for (const t of graph.get(f) ?? []) {
        if (state.get(t) === 1) cycles.push([...stack.slice(stack.indexOf(t)), t].join(" → "));
        else if (state.get(t) === undefined) visit(t);
      }
      stack.pop();
      state.set(f, 2);
    };
    for (const f of files) if (state.get(f) === undefined) visit(f);
  }
  assert.deepEqual(cycles, []);
});

it("every file a comment or a doc names exists", () => {
  // A path with a folder (host/abi/app.ts, docs/abi.md) must exist from the repository's
  // root or from one of the naming file's folders (a host file may leave out "host/"); a bare
  // file name (region.ts) must exist in the naming file's folder or be a file of the
  // repository somewhere.
  const all = sourceFiles([...SOURCE_ROOTS, "tests", "docs"], /\.(ts|js|md|json)$/);
  const basenames = new Set(all.map((f) => path.basename(f)));
  const pathLike = /(?<![\w./@-])((?:[\w-]+\/)*[\w-]+\.(?:ts|js|md))\b/g;
  // Names of files a user writes, files the benchmark generates (bench/results/, the W2b
  // app's data module) and names of things that end like files (Node.js, binaryen.js).
  const notFiles = new Set(["app.ts", "my-app/app.ts", "naive.ts", "x.ts", "app.check.ts", "main.ts", "bench.md",
    "bench/apps/generated/products_json.ts", "Node.js", "binaryen.js"]);
  const problems: string[] = [];
  const texts: [string, string][] = [];
  for (const file of sourceFiles(SOURCE_ROOTS).concat(sourceFiles(["tests"]))) {
    const sf = parse(file);
    const full = sf.getFullText();
    const ranges = new Set<string>();
    const visit = (n: ts.Node) => {
      for (const r of [...(ts.getLeadingCommentRanges(full, n.getFullStart()) ?? []), ...(ts.getTrailingCommentRanges(full, n.getEnd()) ?? [])]) {
        const key = `${r.pos}`;
        if (!ranges.has(key)) {
          ranges.add(key);
          texts.push([file, full.slice(r.pos, r.end)]);
        }
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  for (const file of ["README.md", ...sourceFiles(["docs"], /\.md$/)]) texts.push([file, fs.readFileSync(path.join(ROOT, file), "utf8")]);
  for (const [file, text] of texts) {
    for (const m of text.matchAll(pathLike)) {
      const name = m[1];
      if (notFiles.has(name) || name.startsWith("node_modules/") || /^(?:std|rt|~lib)\//.test(name)) continue;
      const folders: string[] = [];
      for (let d = path.dirname(file); d !== "."; d = path.dirname(d)) folders.push(d);
      const exists = name.includes("/")
        ? fs.existsSync(path.join(ROOT, name)) || folders.some((d) => fs.existsSync(path.join(ROOT, d, name)))
        : fs.existsSync(path.join(ROOT, path.dirname(file), name)) || basenames.has(name);
      if (!exists) problems.push(`${file} names ${name}, which does not exist`);
    }
  }
  assert.deepEqual([...new Set(problems)], []);
});
