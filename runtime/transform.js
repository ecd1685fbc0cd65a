// asc transform used by every Arena build.
//
// Why, in order of the compiler's stages:
// - After parsing, the shadow stack is turned off. asc treats any custom runtime as a GC
//   runtime and instruments a shadow stack; a request that traps or throws then leaks its
//   frame, and after ~2,000 such requests even good requests fail (measured while
//   designing Arena). The arena runtime never scans the stack, so it is pure cost.
// - After parsing, in the check build only (`--use ARENA_CHECK=1`), stores into the app's
//   module-level globals are routed through a check (runtime/check_globals.js): a global is
//   not an object, so __link never sees them.
// - After parsing, in every build, the SDK calls that make or move region memory
//   (Scratch.enter, Regions.move, …) get their call site as an argument
//   (runtime/call_sites.js), so messages can say where a region was made.
// - After compiling, the class table goes into a custom section (runtime/class_table.js),
//   so the host's messages can name classes and fields instead of addresses.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Transform } from "assemblyscript/transform";
import { addCallSites } from "./call_sites.js";
import { checkGlobalStores } from "./check_globals.js";
import { CLASS_TABLE_SECTION, classTableBytes } from "./class_table.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
/** The platform's own sources: their globals are not the app's to check. */
const PLATFORM_DIRS = [path.join(ROOT, "runtime"), path.join(ROOT, "sdk")];

export default class ArenaTransform extends Transform {
  afterParse(parser) {
    this.program.options.stackSize = 0;
    this.program.module.useShadowStack = false;
    addCallSites(this.program.sources, this.baseDir, PLATFORM_DIRS);
    // `--use ARENA_CHECK=1` is a global alias, set on the options before any source is
    // parsed: the same switch the runtime reads with isDefined(ARENA_CHECK).
    if (this.program.options.globalAliases?.has("ARENA_CHECK")) {
      checkGlobalStores(this.program.sources, this.baseDir, PLATFORM_DIRS);
    }
  }

  afterCompile(module) {
    module.addCustomSection(CLASS_TABLE_SECTION, classTableBytes(this.program));
  }
}
