// `arena build`: compiles an AssemblyScript app into an Arena wasm library with the
// platform's runtime (runtime/arena.ts), the ABI entry files and the SDK on the import
// path. asc's own diagnostics are passed through unchanged.

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import asc, { libraryFiles } from "assemblyscript/asc";
import { ArenaError } from "../host/index.ts";
import { CHECK_BUILD_SECTION } from "../host/abi/constants.ts";
import { appendCustomSection, instrumentCpuBudget, markMayWait, withoutNames } from "./instrument.ts";
import { patchStdlib } from "./stdlib_patch.ts";
import { UncountedLoops } from "./uncounted.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export interface BuildOptions {
  /** Output path; defaults to the source path with .wasm. */
  out?: string;
  /** Check build: traps when request objects leak into startup objects. */
  check?: boolean;
  /** Keep the function names (a name section) in a release build too, e.g. for profiles. */
  names?: boolean;
  /** Where asc's diagnostics go. */
  stderr?: NodeJS.WritableStream;
}

/** Internal, for measuring what the CPU budget costs (docs/performance.md, "What the CPU
 *  budget costs"): ARENA_INTERNAL_LOOP_COUNTING=all counts the loops of the SDK functions
 *  in cli/uncounted.ts too (every loop, as before the list), =none leaves the module
 *  uninstrumented: the host cannot stop such an app's runaway loops, never serve one. */
const LOOP_COUNTING = ["listed", "all", "none"] as const;

function loopCounting(stderr: NodeJS.WritableStream): (typeof LOOP_COUNTING)[number] {
  const v = process.env.ARENA_INTERNAL_LOOP_COUNTING ?? "listed";
  if (!(LOOP_COUNTING as readonly string[]).includes(v)) {
    throw new ArenaError("ARENA_E_USAGE", `ARENA_INTERNAL_LOOP_COUNTING=${v} is not one of ${LOOP_COUNTING.join(", ")}`, "unset it: it is for measuring the CPU budget's cost");
  }
  if (v !== "listed") stderr.write(`arena build: ARENA_INTERNAL_LOOP_COUNTING=${v}, a build for measuring only\n`);
  return v as (typeof LOOP_COUNTING)[number];
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
    // Function names, so cli/uncounted.ts and the instrumentation can tell the SDK's
    // functions from the app's; the instrumentation drops them again unless asked to keep
    // them (the optimized code is byte-identical with and without them).
    "--debug",
    // Wasm SIMD (every engine Arena runs on has it): the JSON reader's structural index and
    // the escaping core read 16 bytes per instruction (sdk/lib/arena/json/stage1.ts,
    // sdk/lib/arena/text/scan.ts).
    "--enable", "simd",
  ];
  if (check) args.push("--use", "ARENA_CHECK=1");
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
  const counting = loopCounting(stderr);
  const uncounted = new UncountedLoops();
  const { error } = await asc.main(ascArgs(source, out, options.check ?? false), {
    stdout: process.stdout,
    stderr,
    // asc takes a plain object with hooks as a transform; its type wants a Transform class.
    transforms: [uncounted],
  } as unknown as Parameters<typeof asc.main>[1]);
  if (error) {
    throw new ArenaError("ARENA_E_BUILD", `${source} did not compile: ${error.message}`, "see the compiler's messages above");
  }
  // Every build carries the CPU-budget counter (but for the SDK loops cli/uncounted.ts
  // lists) and the list of handlers that may wait, so the host runs the others as plain
  // calls (cli/instrument.ts). The list comes last: it is appended as a custom section,
  // after binaryen has written the module.
  const names = (options.check ?? false) || (options.names ?? false);
  let wasm: Uint8Array = fs.readFileSync(out);
  if (counting !== "none") wasm = instrumentCpuBudget(wasm, names, counting === "all" ? new Set() : uncounted.names);
  else if (!names) wasm = withoutNames(wasm);
  wasm = markMayWait(wasm);
  // A check build says so, for the host's per-route memory report (CHECK_BUILD_SECTION).
  if (options.check) wasm = appendCustomSection(wasm, CHECK_BUILD_SECTION, new Uint8Array(0));
  fs.writeFileSync(out, wasm);
  return out;
}
