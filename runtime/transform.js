// asc transform used by every Arena build.
//
// Why: asc treats any custom runtime as a GC runtime and instruments a shadow stack. A
// request that traps or throws then leaks its shadow-stack frame, and after ~2,000 such
// requests even good requests fail (measured while designing Arena). The arena runtime
// never scans the stack, so the shadow stack is pure cost: this transform turns it off
// right after parsing, before any code is generated.
import { Transform } from "assemblyscript/transform";

export default class ArenaTransform extends Transform {
  afterParse(parser) {
    this.program.options.stackSize = 0;
    this.program.module.useShadowStack = false;
  }
}
