// Which SDK functions' loops the CPU budget counts without a check of their own
// (cli/instrument.ts), and the build's checks that keep that list honest. Every other loop
// in a build has the full counter: a register per turn and a host check every
// CPU_CHECK_STEP turns.
//
// What a listed loop gets instead: each turn counts down the global countdown that every
// function with loops also counts down at its entry, where the check is. No turn goes
// uncounted; what is saved is the check's code in the loop (a call that keeps the loop's
// values out of registers). Between two checks there are then at most CPU_CHECK_STEP counted
// events plus the rest of one listed call, so a listed function's loops must end within
// O(the bytes of an input it is given): its arena slot (ARENA_BYTES_DEFAULT unless
// configured, host/limits.ts), the startup region (STARTUP_BYTES_DEFAULT) or the heap
// (HEAP_BYTES_DEFAULT) bound that (docs/performance.md, "What the CPU budget costs"). An app
// loop calling a listed function forever is stopped like any other runaway, within about
// its budget, whatever the input's size (tests/instrument.test.ts).
//
// The rules the build enforces (UncountedLoops below):
// - only functions of the SDK (`~lib/arena/…`, files under sdk/lib/arena/) can be listed,
//   and the list lives here, in the platform: app code cannot exempt itself;
// - a listed function that is not declared in the SDK fails the build with one line, so a
//   rename cannot silently change what is counted;
// - a generic function is listed by its name without type arguments; an instance is
//   uncounted only when every type argument is a primitive or a platform type, because an
//   app type could bring the app's methods (and loops) into the function's code;
// - an instance whose calls can reach app code (a direct call of an app function, at any
//   depth, or any indirect call) is counted: binaryen could inline that code into it.
//
// To add a function: its asc internal name (file under ~lib/, then the function, or
// `Class#method` for a method, `Class.method` for a static one) and one sentence on why
// each of its loops, and everything it calls, runs O(its input bytes) turns.

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import binaryen from "assemblyscript/binaryen";
import { libraryFiles } from "assemblyscript/asc";
import { childFields, collectCalls } from "./instrument.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export interface UncountedEntry {
  /** asc's internal name, without type arguments. */
  fn: string;
  /** Why each loop of it runs O(input bytes) turns. */
  why: string;
}

/** The SDK functions whose loops count their turns without a check of their own: byte
 *  loops whose check would be a visible share of their work (the JSON reader's, the escaping
 *  writers'; see docs/performance.md, "What the CPU budget costs"). Left with the full
 *  counter on purpose: the multi-field pick (its work grows with the app's key count, not
 *  only the input), number parsing (its exact-decimal fallback) and the strict validator. */
export const UNCOUNTED: readonly UncountedEntry[] = [
  { fn: "~lib/arena/text/utf8/utf8", why: "decodes the `len` bytes it is given; every turn of its one loop consumes at least one byte" },
  { fn: "~lib/arena/crypto/hexEncode", why: "one turn per byte of its input" },
  { fn: "~lib/arena/crypto/base64UrlEncode", why: "one turn per three bytes of its input" },
  { fn: "~lib/arena/crypto/base64UrlDecode", why: "one turn per character of its input, after trimming at most all of them" },
  { fn: "~lib/arena/crypto/constantTimeEqual", why: "one turn per byte of its (equal-length) inputs" },
  { fn: "~lib/arena/json/stage1/buildIndex", why: "one turn per 64-byte block of the input, and one per structural character found in it" },
  { fn: "~lib/arena/json/index/JsonIndex#closeOf", why: "one turn per index entry of the container (at most one per input byte), remembered so a container is scanned once" },
  { fn: "~lib/arena/json/index/JsonIndex#scanBackslash", why: "one turn per 64-byte block, then per byte, of the string it is given" },
  { fn: "~lib/arena/json/index/JsonIndex#skipWs", why: "one turn per whitespace byte it passes" },
  { fn: "~lib/arena/json/scan/scanNumber", why: "one turn per byte of the number token" },
  { fn: "~lib/arena/json/scan/firstBadEscape", why: "one turn per byte of the string it checks" },
  { fn: "~lib/arena/json/nav/memberKeyOk", why: "passes the whitespace and checks the escapes of one key: a turn per byte" },
  { fn: "~lib/arena/json/nav/JsonCursor#land", why: "checks the one value it lands on (its bytes, the whitespace after it)" },
  { fn: "~lib/arena/json/nav/JsonCursor#toNext", why: "passes the whitespace after a value, then lands on the next one" },
  { fn: "~lib/arena/json/nav/JsonCursor#toMemberValue", why: "passes the whitespace after a colon, then lands on the value" },
  { fn: "~lib/arena/json/strings/stringEquals", why: "one turn per byte of the string compared" },
  { fn: "~lib/arena/json/members/findKey", why: "one turn per member of the object, each comparing at most the name's bytes" },
  { fn: "~lib/arena/json/strings/writeJsonStringEscaped", why: "each turn consumes at least one byte of the JSON string (a clean run, or one escape)" },
  { fn: "~lib/arena/text/escape/writeEscaped", why: "each turn consumes at least one code unit of the string" },
  { fn: "~lib/arena/text/escape/writeEscapedBytes", why: "each turn consumes at least one byte, or stops at a byte its caller consumes" },
  { fn: "~lib/arena/text/escape/writeEscapedUtf8", why: "each turn consumes at least one byte of the input" },
  { fn: "~lib/arena/bytes/ByteWriter#str", why: "each turn consumes at least one code unit of the string" },
  { fn: "~lib/arena/bytes/ByteWriter#bytes", why: "one turn per 16 bytes of the bytes it copies" },
  { fn: "~lib/arena/html/Html#rawBytes", why: "copies the bytes it is given: one turn per 16 of them" },
  { fn: "~lib/arena/html/Html#int", why: "at most 20 turns, the digits of an i64" },
];

/** The asc internal names of the primitive types (type arguments that bring no code). */
const PRIMITIVES = new Set(["i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64", "isize", "usize",
  "f32", "f64", "bool", "v128", "void"]);

/** `name` without its type-argument groups, and the names inside them.
 *  `~lib/a/F<i32>#m<~lib/b/C<u8>>` → `~lib/a/F#m`, [i32, ~lib/b/C, u8] */
export function splitTypeArgs(name: string): { base: string; args: string[] } {
  let base = "";
  let depth = 0;
  let inner = "";
  for (const ch of name) {
    if (ch === "<") depth++;
    if (depth === 0) base += ch;
    else inner += ch;
    if (ch === ">") depth--;
  }
  const args = inner.split(/[<>,]/).map((s) => s.trim()).filter((s) => s !== "");
  return { base, args };
}

/** A programmer error in the list: asc prints it as one line and the build fails. */
function listError(message: string): Error {
  const err = new Error(`cli/uncounted.ts: ${message}`);
  err.stack = err.message;
  return err;
}

/** The SDK file an entry names (`~lib/arena/text/utf8/utf8` → sdk/lib/arena/text/utf8.ts)
 *  and the element in it (`utf8`, `Class#method`, `Class.method`). */
function locate(fn: string): { libPath: string; file: string; element: string } {
  if (!fn.startsWith("~lib/arena/")) throw listError(`${fn} is not an SDK function (~lib/arena/…): only the SDK's loops can go uncounted`);
  if (fn.includes("<")) throw listError(`${fn}: list a generic function by its name without type arguments`);
  const slash = fn.lastIndexOf("/");
  const libPath = fn.slice(0, slash);
  return { libPath, file: path.join(ROOT, "sdk/lib", libPath.slice("~lib/".length) + ".ts"), element: fn.slice(slash + 1) };
}

// asc's program and module, as much of them as this file uses.
interface Source { normalizedPath: string; internalPath: string }
interface Element { members: Map<string, Element> | null; instanceMembers?: Map<string, Element> | null }
interface Program { sources: Source[]; elementsByName: Map<string, Element> }
interface Parser { seenlog: Set<string>; parseFile(text: string | null, path: string, isEntry: boolean): void }
interface Module { getNumFunctions(): number; getFunctionByIndex(i: number): number; getFunction(name: string): number }

/**
 * An asc transform (passed to asc.main by cli/build.ts) that checks the list against the
 * SDK and, after compiling (names intact, nothing inlined yet), finds the functions whose
 * loops go uncounted: `names`, for instrumentCpuBudget.
 */
export class UncountedLoops {
  readonly names = new Set<string>();
  private platform: [prefix: string, platform: boolean][] = [];

  private readonly list: readonly UncountedEntry[];

  constructor(list: readonly UncountedEntry[] = UNCOUNTED) {
    for (const entry of list) locate(entry.fn);
    this.list = list;
  }

  /** Parses the listed files the app does not import, so the check below sees every entry. */
  afterParse(parser: Parser): void {
    for (const { fn } of this.list) {
      const { libPath, file } = locate(fn);
      if (parser.seenlog.has(libPath + ".ts")) continue;
      if (!fs.existsSync(file)) throw listError(`${fn} is listed, but ${path.relative(ROOT, file)} does not exist: fix the name or take it off the list`);
      parser.parseFile(fs.readFileSync(file, "utf8"), libPath + ".ts", false);
    }
  }

  afterInitialize(program: Program): void {
    for (const { fn } of this.list) {
      const { libPath, element } = locate(fn);
      const [owner, member] = element.split(/[#.]/);
      let found = program.elementsByName.get(`${libPath}/${owner}`);
      if (found !== undefined && member !== undefined) {
        found = (element.includes("#") ? found.instanceMembers : found.members)?.get(member);
      }
      if (found === undefined) throw listError(`${fn} is listed, but the SDK declares no such function: fix the name or take it off the list`);
    }
    // Which sources are the platform's: asc's standard library, the SDK, the runtime and
    // the SDK's entry file. The app's files, and its packages from node_modules, are not.
    for (const source of program.sources) {
      const p = source.internalPath;
      let platform: boolean;
      if (p.startsWith("~lib/arena/")) platform = fs.existsSync(path.join(ROOT, "sdk/lib", p.slice(5) + ".ts"));
      else if (p.startsWith("~lib/")) platform = Object.hasOwn(libraryFiles, p.slice(5)) || p === "~lib/arena";
      else {
        const abs = path.resolve(p);
        platform = abs.startsWith(path.join(ROOT, "runtime") + path.sep) || abs === path.join(ROOT, "sdk/exports");
      }
      this.platform.push([p + "/", platform]);
    }
    this.platform.sort((a, b) => b[0].length - a[0].length);
  }

  /** Whether the function or type `name` is declared in a platform source. */
  private isPlatform(name: string): boolean {
    if (PRIMITIVES.has(name)) return true;
    const hit = this.platform.find(([prefix]) => name.startsWith(prefix));
    return hit !== undefined && hit[1];
  }

  afterCompile(module: Module): void {
    const listed = new Set(this.list.map((e) => e.fn));
    const fields = childFields();
    const callsOf = new Map<string, { direct: Set<string>; indirect: boolean }>();
    const calls = (name: string) => {
      let c = callsOf.get(name);
      if (c === undefined) {
        const fn = binaryen.getFunctionInfo(module.getFunction(name));
        const out = { direct: new Set<string>(), indirect: new Set<string>(), unknown: false };
        if (fn.body !== 0) collectCalls(fn.body, fields, out);
        c = { direct: out.direct, indirect: out.indirect.size > 0 || out.unknown };
        callsOf.set(name, c);
      }
      return c;
    };
    // Every call at any depth must stay in the platform, and be direct.
    const staysInPlatform = (root: string): boolean => {
      const seen = new Set([root]);
      for (const name of seen) {
        if (!this.isPlatform(name) && name !== root) return false;
        const c = calls(name);
        if (c.indirect) return false;
        for (const callee of c.direct) seen.add(callee);
      }
      return true;
    };
    for (let i = 0; i < module.getNumFunctions(); i++) {
      const name = binaryen.getFunctionInfo(module.getFunctionByIndex(i)).name;
      const { base, args } = splitTypeArgs(name);
      if (!listed.has(base)) continue;
      if (args.every((a) => this.isPlatform(a)) && staysInPlatform(name)) this.names.add(name);
    }
  }
}
