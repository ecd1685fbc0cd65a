// The CPU budget's half in the app: every `arena build` instruments the compiled module so
// that no code can run unbounded without the host noticing. Binaryen's log-execution pass
// puts a call at every function entry and loop header; the called function is then
// replaced by a few wasm instructions that count down a global and, every CPU_CHECK_STEP
// counts, ask the host (`arena.cpu_check`) whether the request is over its CPU budget. If
// it is, the code traps and that request alone gets 500 ARENA_E_CPU (host/effects.ts).
// Inlined by the optimizer, the common path is a global decrement and a branch.

import binaryen from "assemblyscript/binaryen";

/** Loop iterations / calls between two time checks: ~10 µs of the tightest loop, so the
 *  check (a performance.now() in the host) costs under 1 % and a runaway is stopped within
 *  a fraction of a millisecond of its budget. */
export const CPU_CHECK_STEP = 10_000;

const COUNTER = "__arena_cpu_counter";
const PROBE = "log_execution";

/** Instruments the wasm module `bytes`; returns the new bytes. */
export function instrumentCpuBudget(bytes: Uint8Array, debugInfo = false): Uint8Array {
  const m = binaryen.readBinary(bytes);
  try {
    binaryen.setDebugInfo(debugInfo);
    m.setFeatures(binaryen.Features.All);
    m.runPasses(["log-execution"]);
    // The pass imported env.log_execution(i32); make it a local function instead.
    m.removeFunction(PROBE);
    m.addGlobal(COUNTER, binaryen.i32, true, m.i32.const(CPU_CHECK_STEP));
    m.addFunctionImport("__arena_cpu_check", "arena", "cpu_check", binaryen.none, binaryen.i32);
    const counter = () => m.global.get(COUNTER, binaryen.i32);
    m.addFunction(PROBE, binaryen.createType([binaryen.i32]), binaryen.none, [], m.block(null, [
      m.global.set(COUNTER, m.i32.sub(counter(), m.i32.const(1))),
      m.if(m.i32.le_s(counter(), m.i32.const(0)), m.block(null, [
        m.global.set(COUNTER, m.i32.const(CPU_CHECK_STEP)),
        m.if(m.call("__arena_cpu_check", [], binaryen.i32), m.unreachable()),
      ])),
    ]));
    if (!m.validate()) throw new Error("assert: the CPU-budget instrumentation produced an invalid module");
    // Inline the probe into its callers and clean up around it.
    binaryen.setOptimizeLevel(3);
    binaryen.setShrinkLevel(0);
    m.runPasses(["inlining-optimizing", "vacuum"]);
    return m.emitBinary();
  } finally {
    m.dispose();
  }
}
