// The CPU budget's half in the app: every `arena build` instruments the compiled module so
// that no code can run unbounded without the host noticing. Each loop iteration counts up
// a local of its function (a register: nearly free), and every CPU_CHECK_STEP iterations
// the code asks the host (`arena.cpu_check`) whether the request is over its CPU budget,
// and traps if it is: that request alone gets 500 ARENA_E_CPU (host/effects.ts). Entering
// a function that has loops also counts down a global, so a runaway made of many short
// loops in nested calls is caught too. Code without loops that runs away must recurse, and
// unbounded recursion ends in a stack-overflow trap by itself.
//
// Measured on the benchmark's W2b (parse 53 KB of JSON, render HTML, all loops): a global
// countdown at every loop iteration and call cost 35 % of its throughput, at loops only
// 15 %; this layout costs about 9 % (W2, with a fetch, about 5 %). See docs/performance.md.

import binaryen from "assemblyscript/binaryen";

/** Loop iterations between two time checks: ~10 µs of the tightest loop, so the check (a
 *  thread-CPU-time read in the host) costs under 1 % and a runaway is stopped within a
 *  fraction of a millisecond of its budget. */
export const CPU_CHECK_STEP = 8192;

const CHECK = "__arena_cpu_check";
const COUNTER = "__arena_cpu_calls";

type Info = Record<string, unknown> & { id: number };

/** The child expressions of each kind of expression that has any (by field name). Kinds
 *  not listed have no children; a listed field may be 0 (absent). */
function childFields(): Map<number, string[]> {
  const b = binaryen as unknown as Record<string, number>;
  return new Map<number, string[]>([
    [b.BlockId, ["children"]], [b.IfId, ["condition", "ifTrue", "ifFalse"]], [b.LoopId, ["body"]],
    [b.BreakId, ["condition", "value"]], [b.SwitchId, ["condition", "value"]], [b.CallId, ["operands"]],
    [b.CallIndirectId, ["target", "operands"]], [b.LocalSetId, ["value"]], [b.GlobalSetId, ["value"]],
    [b.LoadId, ["ptr"]], [b.StoreId, ["ptr", "value"]], [b.UnaryId, ["value"]], [b.BinaryId, ["left", "right"]],
    [b.SelectId, ["ifTrue", "ifFalse", "condition"]], [b.DropId, ["value"]], [b.ReturnId, ["value"]],
    [b.MemoryGrowId, ["delta"]], [b.MemoryCopyId, ["dest", "source", "size"]], [b.MemoryFillId, ["dest", "value", "size"]],
    [b.MemoryInitId, ["dest", "offset", "size"]], [b.AtomicRMWId, ["ptr", "value"]],
    [b.AtomicCmpxchgId, ["ptr", "expected", "replacement"]], [b.SIMDExtractId, ["vec"]], [b.SIMDReplaceId, ["vec", "value"]],
    [b.SIMDShuffleId, ["left", "right"]], [b.SIMDTernaryId, ["a", "b", "c"]], [b.SIMDShiftId, ["vec", "shift"]],
    [b.SIMDLoadId, ["ptr"]], [b.SIMDLoadStoreLaneId, ["ptr", "vec"]], [b.TupleMakeId, ["operands"]],
    [b.TupleExtractId, ["tuple"]], [b.TryId, ["body", "catchBodies"]], [b.ThrowId, ["operands"]],
  ]);
}

/** Every loop expression under `expr`. */
function collectLoops(expr: number, fields: Map<number, string[]>, out: number[]): void {
  if (expr === 0) return;
  const id = binaryen.getExpressionId(expr);
  const names = fields.get(id);
  // Leaves are not asked for their info (binaryen.js cannot describe `unreachable`).
  if (names === undefined) return;
  if (id === (binaryen as unknown as Record<string, number>).LoopId) out.push(expr);
  const info = binaryen.getExpressionInfo(expr) as unknown as Info;
  for (const f of names) {
    const v = info[f];
    if (Array.isArray(v)) for (const child of v) collectLoops(child as number, fields, out);
    else if (typeof v === "number") collectLoops(v, fields, out);
  }
}

interface LoopApi {
  getBody(loop: number): number;
  setBody(loop: number, body: number): void;
}

/** Instruments the wasm module `bytes`; returns the new bytes. */
export function instrumentCpuBudget(bytes: Uint8Array, debugInfo = false): Uint8Array {
  const m = binaryen.readBinary(bytes);
  try {
    binaryen.setDebugInfo(debugInfo);
    m.setFeatures(binaryen.Features.All);
    m.addFunctionImport(CHECK, "arena", "cpu_check", binaryen.none, binaryen.i32);
    // Per function invocation, a local counts iterations of its loops (a register, not a
    // global in memory): local += 1; if ((local & (STEP - 1)) == 0 && cpu_check()) unreachable;
    // Entering a function that has loops counts down a global: a runaway made of many short
    // loops in nested calls (none of which reaches the step on its own) is still caught.
    m.addGlobal(COUNTER, binaryen.i32, true, m.i32.const(CPU_CHECK_STEP));
    const entry = () => m.block(null, [
      m.global.set(COUNTER, m.i32.sub(m.global.get(COUNTER, binaryen.i32), m.i32.const(1))),
      m.if(m.i32.le_s(m.global.get(COUNTER, binaryen.i32), m.i32.const(0)), m.block(null, [
        m.global.set(COUNTER, m.i32.const(CPU_CHECK_STEP)),
        m.if(m.call(CHECK, [], binaryen.i32), m.unreachable()),
      ])),
    ]);
    const probe = (local: number) => m.if(
      m.i32.eqz(m.i32.and(m.local.tee(local, m.i32.add(m.local.get(local, binaryen.i32), m.i32.const(1)), binaryen.i32), m.i32.const(CPU_CHECK_STEP - 1))),
      m.if(m.call(CHECK, [], binaryen.i32), m.unreachable()),
    );
    const fields = childFields();
    const loopApi = (binaryen as unknown as { Loop: LoopApi }).Loop;
    let instrumented = 0;
    for (let i = 0; i < m.getNumFunctions(); i++) {
      const fn = binaryen.getFunctionInfo(m.getFunctionByIndex(i));
      if (fn.body === 0) continue; // an import: no body
      const loops: number[] = [];
      collectLoops(fn.body, fields, loops);
      if (loops.length === 0) continue;
      const func = m.getFunctionByIndex(i);
      const raw = binaryen as unknown as { _BinaryenFunctionAddVar(f: number, t: number): number; _BinaryenFunctionSetBody(f: number, b: number): void };
      const local = raw._BinaryenFunctionAddVar(func, binaryen.i32);
      for (const loop of loops) {
        const body = loopApi.getBody(loop);
        loopApi.setBody(loop, m.block(null, [probe(local), body], binaryen.getExpressionType(body)));
        instrumented++;
      }
      raw._BinaryenFunctionSetBody(func, m.block(null, [entry(), fn.body], binaryen.getExpressionType(fn.body)));
    }
    // The walker must have found every loop; a loop it missed would be a runaway it cannot stop.
    const loopsInText = (m.emitText().match(/\(loop\b/g) ?? []).length;
    if (loopsInText !== instrumented) throw new Error(`assert: CPU-budget instrumentation found ${instrumented} of ${loopsInText} loops`);
    if (!m.validate()) throw new Error("assert: the CPU-budget instrumentation produced an invalid module");
    return m.emitBinary();
  } finally {
    m.dispose();
  }
}
