// `arena build`: compiles an AssemblyScript app into an Arena wasm library with the
// platform's runtime (runtime/arena.ts), the ABI entry files and the SDK on the import
// path. asc's own diagnostics are passed through unchanged.

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import asc, { libraryFiles } from "assemblyscript/asc";
import { ArenaError } from "../host/index.ts";
import { CHECK_BUILD_SECTION } from "../host/abi/constants.ts";
import { appendCustomSection, instrumentCpuBudget, markMayWait } from "./instrument.ts";
import { patchStdlib } from "./stdlib_patch.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export interface BuildOptions {
  /** Output path; defaults to the source path with .wasm. */
  out?: string;
  /** Check build: traps when request objects leak into startup objects. */
  check?: boolean;
  /** Where asc's diagnostics go. */
  stderr?: NodeJS.WritableStream;
}

/** The asc command line `arena build` runs, for docs and for reproducing a build by hand. */
export function ascArgs(source: string, out: string, check: boolean): string[] {
  const args = [
    source,
    path.join(ROOT, "runtime/exports.ts"),
    path.join(ROOT, "sdk/exports.ts"),
    "--lib", path.join(ROOT, "sdk/lib"),
    // asc appends ".ts" to the runtime path itself.
    "--runtime", path.join(ROOT, "runtime/arena"),
    "--transform", path.join(ROOT, "runtime/transform.js"),
    "--importMemory",
    "--exportStart", "_initialize",
    "--optimizeLevel", "3",
    "--shrinkLevel", "0",
    "--outFile", out,
  ];
  if (check) args.push("--use", "ARENA_CHECK=1", "--debug");
  return args;
}

/** Compiles `source` and returns the output path; throws ArenaError when it does not compile. */
export async function build(source: string, options: BuildOptions = {}): Promise<string> {
  if (!fs.existsSync(source)) {
    throw new ArenaError("ARENA_E_USAGE", `${source} does not exist`, "pass the path of your app's .ts file");
  }
  if (!source.endsWith(".ts")) {
    throw new ArenaError("ARENA_E_USAGE", `${source} is not a .ts file`, "pass the AssemblyScript source, e.g. app.ts");
  }
  const out = options.out ?? source.replace(/\.ts$/, options.check ? ".check.wasm" : ".wasm");
  const stderr = options.stderr ?? process.stderr;
  // Maps and Sets that outlive a request must grow in the heap (cli/stdlib_patch.ts).
  patchStdlib(libraryFiles as Record<string, string>);
  const { error } = await asc.main(ascArgs(source, out, options.check ?? false), {
    stdout: process.stdout,
    stderr,
  });
  if (error) {
    throw new ArenaError("ARENA_E_BUILD", `${source} did not compile: ${error.message}`, "see the compiler's messages above");
  }
  // Every build carries the CPU-budget counter and the list of handlers that may wait, so
  // the host runs the others as plain calls (cli/instrument.ts). The list comes last: it
  // is appended as a custom section, after binaryen has written the module.
  let wasm = markMayWait(instrumentCpuBudget(fs.readFileSync(out), options.check ?? false));
  // A check build says so, for the host's per-route memory report (CHECK_BUILD_SECTION).
  if (options.check) wasm = appendCustomSection(wasm, CHECK_BUILD_SECTION, new Uint8Array(0));
  fs.writeFileSync(out, wasm);
  return out;
}
