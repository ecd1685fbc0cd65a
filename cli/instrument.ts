// The CPU budget's half in the app: every `arena build` instruments the compiled module so
// that no code can run unbounded without the host noticing. Each loop iteration counts up
// a local of its function (a register: nearly free), and every CPU_CHECK_STEP iterations
// the code asks the host (`arena.cpu_check`) whether the request is over its CPU budget,
// and traps if it is: that request alone gets 500 ARENA_E_CPU (host/effects/imports.ts). Entering
// a function that has loops also counts down a global, so a runaway made of many short
// loops in nested calls is caught too. Code without loops that runs away must recurse, and
// unbounded recursion ends in a stack-overflow trap by itself.
//
// Measured on the benchmark's W2b (parse 53 KB of JSON, render HTML, all loops): a global
// countdown at every loop iteration and call cost 35 % of its throughput, at loops only
// 15 %; this layout costs about 9 % (W2, with a fetch, about 5 %). See docs/performance.md.
//
// The SDK functions listed in cli/uncounted.ts keep their entry countdown, and each turn of
// their loops counts down the same global, but their loops have no check of their own (no
// call in the loop, so the loop's code stays tight). The budget stays honest: every turn
// is counted, and the next entry of any function with loops checks, so between two checks
// there are at most CPU_CHECK_STEP counted events plus the rest of one listed call, whose
// loops run O(the bytes of an input it is given) turns (cli/uncounted.ts says why for each).
// App code cannot be listed, and an instance that could run app code (through a type
// argument or a call) gets the full counter (cli/uncounted.ts).

import binaryen from "assemblyscript/binaryen";
import { MAY_WAIT_SECTION, WAITING_IMPORTS } from "../host/abi/constants.ts";

/** Loop iterations between two time checks: ~10 µs of the tightest loop, so the check (a
 *  thread-CPU-time read in the host) costs under 1 % and a runaway is stopped within a
 *  fraction of a millisecond of its budget. */
export const CPU_CHECK_STEP = 8192;

const CHECK = "__arena_cpu_check";
const COUNTER = "__arena_cpu_calls";

type Info = Record<string, unknown> & { id: number };

/** The child expressions of each kind of expression that has any (by field name). Kinds
 *  not listed have no children; a listed field may be 0 (absent). */
export function childFields(): Map<number, string[]> {
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
    [b.CallRefId, ["operands", "target"]],
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

/** Instruments the wasm module `bytes`; returns the new bytes. The loops of the functions
 *  named in `uncounted` (cli/uncounted.ts decides which) get no counter; their entry
 *  countdown stays. `debugInfo` keeps the function names in the output. */
export function instrumentCpuBudget(bytes: Uint8Array, debugInfo = false, uncounted: ReadonlySet<string> = new Set()): Uint8Array {
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
    const turn = () => m.global.set(COUNTER, m.i32.sub(m.global.get(COUNTER, binaryen.i32), m.i32.const(1)));
    const probe = (local: number) => m.if(
      m.i32.eqz(m.i32.and(m.local.tee(local, m.i32.add(m.local.get(local, binaryen.i32), m.i32.const(1)), binaryen.i32), m.i32.const(CPU_CHECK_STEP - 1))),
      m.if(m.call(CHECK, [], binaryen.i32), m.unreachable()),
    );
    const fields = childFields();
    const loopApi = (binaryen as unknown as { Loop: LoopApi }).Loop;
    let instrumented = 0;
    let skipped = 0;
    for (let i = 0; i < m.getNumFunctions(); i++) {
      const fn = binaryen.getFunctionInfo(m.getFunctionByIndex(i));
      if (fn.body === 0) continue; // an import: no body
      const loops: number[] = [];
      collectLoops(fn.body, fields, loops);
      if (loops.length === 0) continue;
      const func = m.getFunctionByIndex(i);
      const raw = binaryen as unknown as { _BinaryenFunctionAddVar(f: number, t: number): number; _BinaryenFunctionSetBody(f: number, b: number): void };
      if (uncounted.has(fn.name)) {
        // A listed loop counts its turns down the shared countdown, without a check in the
        // loop; the next entry of any function with loops checks (see the file comment).
        for (const loop of loops) {
          const body = loopApi.getBody(loop);
          loopApi.setBody(loop, m.block(null, [turn(), body], binaryen.getExpressionType(body)));
          skipped++;
        }
      } else {
        const local = raw._BinaryenFunctionAddVar(func, binaryen.i32);
        for (const loop of loops) {
          const body = loopApi.getBody(loop);
          loopApi.setBody(loop, m.block(null, [probe(local), body], binaryen.getExpressionType(body)));
          instrumented++;
        }
      }
      // Every function with loops counts its calls, a listed one too: an app loop that calls
      // it over and over reaches the host through this countdown and its own counter.
      raw._BinaryenFunctionSetBody(func, m.block(null, [entry(), fn.body], binaryen.getExpressionType(fn.body)));
    }
    // The walker must have found every loop; a loop it missed would be a runaway it cannot stop.
    const loopsInText = (m.emitText().match(/\(loop\b/g) ?? []).length;
    if (loopsInText !== instrumented + skipped) throw new Error(`assert: CPU-budget instrumentation found ${instrumented + skipped} of ${loopsInText} loops`);
    if (!m.validate()) throw new Error("assert: the CPU-budget instrumentation produced an invalid module");
    return m.emitBinary();
  } finally {
    m.dispose();
  }
}

/** The module `bytes` as binaryen writes it, without function names: what a build that is
 *  not instrumented (for measuring only, cli/build.ts) writes instead. */
export function withoutNames(bytes: Uint8Array): Uint8Array {
  const m = binaryen.readBinary(bytes);
  try {
    binaryen.setDebugInfo(false);
    return m.emitBinary();
  } finally {
    m.dispose();
  }
}

// ---------------------------------------------------------------------------------------
// Which handlers may wait

/** Calls in one function body: the direct callees' names and the signatures
 *  ("params:results" of binaryen type ids) of its indirect calls. */
export interface Calls {
  direct: Set<string>;
  indirect: Set<string>;
  /** The body has a call the analysis cannot follow (call_ref): it may call anything. */
  unknown: boolean;
}

/** Records the calls under `expr` into `out`; returns how many call instructions it saw. */
export function collectCalls(expr: number, fields: Map<number, string[]>, out: Calls): number {
  if (expr === 0) return 0;
  const b = binaryen as unknown as Record<string, number>;
  const id = binaryen.getExpressionId(expr);
  const names = fields.get(id);
  if (names === undefined) return 0;
  let seen = 0;
  const info = binaryen.getExpressionInfo(expr) as unknown as Info;
  if (id === b.CallId) {
    out.direct.add(info.target as string);
    seen++;
  } else if (id === b.CallIndirectId) {
    const api = (binaryen as unknown as { CallIndirect: { getParams(e: number): number; getResults(e: number): number } }).CallIndirect;
    out.indirect.add(`${api.getParams(expr)}:${api.getResults(expr)}`);
    seen++;
  } else if (id === b.CallRefId) {
    out.unknown = true;
    seen++;
  }
  for (const f of names) {
    const v = info[f];
    if (Array.isArray(v)) for (const child of v) seen += collectCalls(child as number, fields, out);
    else if (typeof v === "number") seen += collectCalls(v, fields, out);
  }
  return seen;
}

/**
 * The table indices (in the module's one function table) of the functions that may reach
 * a waiting import. A function may wait if it calls a waiting import, or a function that
 * may wait, or makes an indirect call whose signature is that of a table function that may
 * wait (any table function of that signature could be the target). Iterated to a fixed
 * point, so the order of the functions does not matter and recursion ends.
 */
export function mayWaitTableIndices(bytes: Uint8Array): number[] {
  const m = binaryen.readBinary(bytes);
  try {
    m.setFeatures(binaryen.Features.All);
    const fields = childFields();
    const waits = new Set<string>();
    const bodies = new Map<string, Calls>();
    const signature = new Map<string, string>();
    let callsSeen = 0;
    for (let i = 0; i < m.getNumFunctions(); i++) {
      const fn = binaryen.getFunctionInfo(m.getFunctionByIndex(i));
      signature.set(fn.name, `${fn.params}:${fn.results}`);
      if (fn.module !== null && fn.module !== "") {
        if (fn.module === "arena" && (WAITING_IMPORTS as readonly string[]).includes(fn.base ?? "")) waits.add(fn.name);
        continue;
      }
      const calls: Calls = { direct: new Set(), indirect: new Set(), unknown: false };
      callsSeen += collectCalls(fn.body, fields, calls);
      bodies.set(fn.name, calls);
    }
    // The walker must have seen every call, as the CPU pass must see every loop: a call it
    // missed could be the way to a wait. binaryen prints one instruction per line.
    const callsInText = m.emitText().split("\n").filter((l) => /^\s*\((return_)?call(_indirect|_ref)?\s/.test(l)).length;
    if (callsInText !== callsSeen) throw new Error(`assert: the may-wait analysis found ${callsSeen} of ${callsInText} calls`);

    // Table index of every function in an active element segment (asc writes one, at 1).
    if (m.getNumTables() > 1) throw new Error(`assert: the may-wait analysis expects one function table, the module has ${m.getNumTables()}`);
    const table: [number, string][] = [];
    for (let i = 0; i < m.getNumElementSegments(); i++) {
      const seg = binaryen.getElementSegmentInfo(m.getElementSegmentByIndex(i));
      // A passive segment could be copied anywhere at run time; asc does not write them.
      if (seg.offset === 0) throw new Error(`assert: the may-wait analysis cannot place passive element segment ${seg.name}`);
      if (binaryen.getExpressionId(seg.offset) !== binaryen.ConstId) throw new Error(`assert: element segment ${seg.name} has a non-constant offset`);
      const base = (binaryen.getExpressionInfo(seg.offset) as unknown as { value: number }).value;
      seg.data.forEach((name, k) => table.push([base + k, name]));
    }

    for (let changed = true; changed;) {
      changed = false;
      const waitingSignatures = new Set(table.filter(([, name]) => waits.has(name)).map(([, name]) => signature.get(name)!));
      for (const [name, calls] of bodies) {
        if (waits.has(name)) continue;
        if (calls.unknown || [...calls.direct].some((c) => waits.has(c)) || [...calls.indirect].some((s) => waitingSignatures.has(s))) {
          waits.add(name);
          changed = true;
        }
      }
    }
    return table.filter(([, name]) => waits.has(name)).map(([index]) => index).sort((x, y) => x - y);
  } finally {
    m.dispose();
  }
}

/** `bytes` with a custom section `name` holding `payload` appended (custom sections may
 *  follow every other section, and the code bytes stay exactly as they were). */
export function appendCustomSection(bytes: Uint8Array, name: string, payload: Uint8Array): Uint8Array {
  const leb = (n: number): number[] => {
    const out: number[] = [];
    do {
      let byte = n & 0x7f;
      n >>>= 7;
      if (n !== 0) byte |= 0x80;
      out.push(byte);
    } while (n !== 0);
    return out;
  };
  const nameBytes = new TextEncoder().encode(name);
  const body = [...leb(nameBytes.length), ...nameBytes, ...payload];
  const head = [0, ...leb(body.length)];
  const out = new Uint8Array(bytes.length + head.length + body.length);
  out.set(bytes, 0);
  out.set(head, bytes.length);
  out.set(body, bytes.length + head.length);
  return out;
}

/** Adds the `arena.may_wait` section (MAY_WAIT_SECTION) to the module `bytes`: the host
 *  runs requests of the handlers it lists through JSPI from the start, and every other
 *  request as a plain call. */
export function markMayWait(bytes: Uint8Array): Uint8Array {
  const indices = mayWaitTableIndices(bytes);
  const payload = new Uint8Array(indices.length * 4);
  const dv = new DataView(payload.buffer);
  indices.forEach((index, k) => dv.setUint32(k * 4, index, true));
  return appendCustomSection(bytes, MAY_WAIT_SECTION, payload);
}
