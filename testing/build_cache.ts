// Builds for the test harness, cached by content: a test run builds an app once, and again
// only when something that goes into the wasm changed. The key hashes the app's folder (its
// .ts and .js files: an app may import its neighbours), Arena's runtime and SDK, the build
// code and the compiler's version. Builds go to `.arena/build/` beside the app (the `*.wasm`
// there are ignored by a .gitignore that ignores *.wasm or .arena/).

import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "../cli/build.ts";

/** This checkout of Arena. */
const ARENA_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
/** Files of Arena outside runtime/ and sdk/ whose change changes the wasm. */
const BUILD_FILES = ["cli/build.ts", "cli/instrument.ts", "cli/stdlib_patch.ts", "host/abi/constants.ts", "node_modules/assemblyscript/package.json"];

/** Hashes the .ts and .js files under `dir`, in a stable order; skips node_modules and
 *  folders whose name starts with a dot (.arena, .git). */
function hashTree(hash: crypto.Hash, dir: string): void {
  const entries = fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "node_modules" && !entry.name.startsWith(".")) hashTree(hash, p);
    } else if (/\.(ts|js)$/.test(entry.name)) {
      hash.update(p).update("\0").update(fs.readFileSync(p));
    }
  }
}

/** The content key of a build of `source` (absolute). */
function buildKey(source: string, check: boolean): string {
  const hash = crypto.createHash("sha256").update(check ? "check\n" : "plain\n");
  hashTree(hash, path.dirname(source));
  hashTree(hash, path.join(ARENA_ROOT, "runtime"));
  hashTree(hash, path.join(ARENA_ROOT, "sdk"));
  for (const f of BUILD_FILES) {
    const p = path.join(ARENA_ROOT, f);
    if (fs.existsSync(p)) hash.update(f).update(fs.readFileSync(p));
  }
  return hash.digest("hex").slice(0, 16);
}

/**
 * The wasm of `file` (an app's .ts, as the user named it: messages say it so), built once
 * per content into `.arena/build/` beside it. A failed build throws the ArenaError the CLI
 * prints; the compiler's messages go to the process's stderr, as `arena build` shows them.
 */
export async function buildCached(file: string, check: boolean): Promise<Uint8Array> {
  const source = path.resolve(file);
  // A missing or misnamed file: the build says so, in the words of `arena build`.
  if (!fs.existsSync(source) || !source.endsWith(".ts")) await build(file, { check });
  const dir = path.join(path.dirname(source), ".arena", "build");
  const base = path.basename(source, ".ts");
  const out = path.join(dir, `${base}-${buildKey(source, check)}${check ? ".check" : ""}.wasm`);
  if (!fs.existsSync(out)) {
    fs.mkdirSync(dir, { recursive: true });
    // A private name, then a rename: test files run in parallel processes. It ends in
    // .wasm, so one a crash leaves behind is ignored like the rest.
    const tmp = path.join(dir, `${base}.${process.pid}.${Date.now()}.tmp.wasm`);
    try {
      await build(file, { out: tmp, check });
      fs.renameSync(tmp, out);
    } finally {
      fs.rmSync(tmp, { force: true });
    }
    removeStale(dir, base, check, out);
  }
  return fs.readFileSync(out);
}

/** Deletes the earlier builds of the same app and kind: only the newest is kept. */
function removeStale(dir: string, base: string, check: boolean, keep: string): void {
  const pattern = new RegExp(`^${base.replace(/[^\w]/g, "\\$&")}-[0-9a-f]{16}${check ? "\\.check" : ""}\\.wasm$`);
  for (const name of fs.readdirSync(dir)) {
    if (pattern.test(name) && path.join(dir, name) !== keep) fs.rmSync(path.join(dir, name), { force: true });
  }
}
