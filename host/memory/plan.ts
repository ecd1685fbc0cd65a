// The memory plan: where the startup region and every slot sit in the one wasm memory,
// computed and checked before the memory exists. The memory is created with
// initial == maximum, so its size is this plan's total for the life of the process. The
// layout is drawn once, in docs/architecture.md: static data and the startup region, the
// heap region, then N slots of S bytes, each the request's arena followed by RESPONSE_HEAD_BYTES_MAX the host
// keeps for the response head (host/abi/constants.ts has the inside of a slot).

import { ArenaError } from "../errors.ts";
import {
  ARENA_BYTES_MIN, CONNECTION_IDLE_BYTES, HEAP_BYTES_DEFAULT, HEADER_BYTES_MAX, RESPONSE_HEAD_BYTES_MAX, WASM_MEMORY_BYTES_MAX, WASM_PAGE_BYTES,
} from "../limits.ts";
import { assert } from "../assert.ts";

export interface MemoryPlan {
  slots: number;
  /** Bytes per slot (S): arena + response head reserve. */
  slotBytes: number;
  /** Bytes of each slot the app's arena may use. */
  arenaBytes: number;
  /** Startup region including static data; the heap region starts here. */
  startupBytes: number;
  /** Heap region: long-lived state with individual frees (runtime/heap.ts). */
  heapBytes: number;
  /** Address of slot 0: startupBytes + heapBytes. */
  slotsBase: number;
  totalBytes: number;
  pages: number;
}

/** Formats a byte count the way people write it: 1 MiB, 260 MiB, 1.5 GiB, 512 KiB, 100 B. */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB"];
  let u = 0;
  let v = n;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  const text = Number.isInteger(v) ? String(v) : v.toFixed(2).replace(/\.?0+$/, "");
  return `${text} ${units[u]}`;
}

/** Computes and checks the layout; throws one clear ArenaError when it is impossible. */
export function planMemory(slots: number, slotBytes: number, startupBytes: number, heapBytes = HEAP_BYTES_DEFAULT): MemoryPlan {
  const fix = "lower --slots, --arena-bytes or --heap-bytes";
  if (!Number.isInteger(slots) || slots < 1) {
    throw new ArenaError("ARENA_E_CONFIG", `slots must be a whole number of at least 1, got ${slots}`, "set --slots or ARENA_SLOTS to 1 or more");
  }
  if (!Number.isInteger(slotBytes) || slotBytes < ARENA_BYTES_MIN) {
    throw new ArenaError("ARENA_E_CONFIG", `arena size must be at least ${formatBytes(ARENA_BYTES_MIN)}, got ${slotBytes} bytes`, "raise --arena-bytes");
  }
  if (slotBytes % 16 !== 0) {
    throw new ArenaError("ARENA_E_CONFIG", `arena size must be a multiple of 16 bytes, got ${slotBytes}`, "use a size like 1MiB or 256KiB");
  }
  if (!Number.isInteger(startupBytes) || startupBytes < WASM_PAGE_BYTES || startupBytes % WASM_PAGE_BYTES !== 0) {
    throw new ArenaError("ARENA_E_CONFIG", `startup region must be a whole number of 64 KiB pages, got ${startupBytes} bytes`, "use a size like 4MiB");
  }
  if (!Number.isInteger(heapBytes) || heapBytes < 0 || heapBytes % WASM_PAGE_BYTES !== 0) {
    throw new ArenaError("ARENA_E_CONFIG", `heap region must be a whole number of 64 KiB pages, got ${heapBytes} bytes`, "use a size like 16MiB, or 0 for no heap");
  }
  const totalBytes = startupBytes + heapBytes + slots * slotBytes;
  const budget = budgetText(slots, slotBytes, startupBytes, heapBytes, totalBytes);
  if (totalBytes > WASM_MEMORY_BYTES_MAX) {
    throw new ArenaError("ARENA_E_CONFIG", `memory: ${budget} is over the wasm32 limit of 4 GiB`, fix);
  }
  const plan: MemoryPlan = {
    slots,
    slotBytes,
    arenaBytes: slotBytes - RESPONSE_HEAD_BYTES_MAX,
    startupBytes,
    heapBytes,
    slotsBase: startupBytes + heapBytes,
    totalBytes,
    pages: Math.ceil(totalBytes / WASM_PAGE_BYTES),
  };
  // Derived values, asserted: the arena keeps most of the slot, the memory covers the plan.
  assert(plan.arenaBytes >= slotBytes / 2, "the response head reserve is at most half a slot");
  assert(plan.pages * WASM_PAGE_BYTES >= totalBytes, "the memory's pages cover the plan");
  return plan;
}

/** `256 slots × 1 MiB + 4 MiB startup + 16 MiB heap = 276 MiB` */
function budgetText(slots: number, slotBytes: number, startupBytes: number, heapBytes: number, totalBytes: number): string {
  return `${slots} slots × ${formatBytes(slotBytes)} + ${formatBytes(startupBytes)} startup + ${formatBytes(heapBytes)} heap = ${formatBytes(totalBytes)}`;
}

/** Most process memory one open connection can hold: its idle cost plus two connection
 *  buffers (a head being read, bytes pipelined behind a request in progress). */
export const CONNECTION_BYTES_MAX = CONNECTION_IDLE_BYTES + 2 * HEADER_BYTES_MAX;

/** The start-up line: the wasm memory, fixed, then what connections can add at most:
 *  `memory: 256 slots × 1 MiB + 4 MiB startup + 16 MiB heap = 276 MiB, fixed; connections: up to
 *  10,000 × 42 KiB = 410.16 MiB (10 KiB each while idle)`. */
export function budgetLine(plan: MemoryPlan, connectionsMax: number, note = ""): string {
  const wasm = `memory: ${budgetText(plan.slots, plan.slotBytes, plan.startupBytes, plan.heapBytes, plan.totalBytes)}, fixed${note}`;
  const conns = `connections: up to ${connectionsMax.toLocaleString("en-US")} × ${formatBytes(CONNECTION_BYTES_MAX)} = ${formatBytes(connectionsMax * CONNECTION_BYTES_MAX)} (${formatBytes(CONNECTION_IDLE_BYTES)} each while idle)`;
  return `${wasm}; ${conns}`;
}

/** The start-up line of a server of `workers` workers, each with the memory of `plan`, and
 *  the shared region: `memory: 2 workers × (256 slots × 1 MiB + 4 MiB startup + 16 MiB heap
 *  = 276 MiB) + 1 MiB shared = 553 MiB, fixed; connections: …` (one worker: budgetLine
 *  with the shared region). Connections are limited per worker. */
export function workersBudgetLine(plan: MemoryPlan, workers: number, sharedBytes: number, connectionsMax: number, note = "", device = ""): string {
  const each = budgetText(plan.slots, plan.slotBytes, plan.startupBytes, plan.heapBytes, plan.totalBytes);
  const total = formatBytes(workers * plan.totalBytes + sharedBytes);
  const memory = workers === 1 ? `memory: ${each} + ${formatBytes(sharedBytes)} shared = ${total}` : `memory: ${workers} workers × (${each}) + ${formatBytes(sharedBytes)} shared = ${total}`;
  const n = workers * connectionsMax;
  const per = workers === 1 ? "" : ` (${connectionsMax.toLocaleString("en-US")} per worker)`;
  const conns = `connections: up to ${n.toLocaleString("en-US")}${per} × ${formatBytes(CONNECTION_BYTES_MAX)} = ${formatBytes(n * CONNECTION_BYTES_MAX)} (${formatBytes(CONNECTION_IDLE_BYTES)} each while idle)`;
  return `${memory}, fixed${note}; ${device === "" ? "" : `${device}; `}${conns}`;
}

/** What the device region may hold, for the start-up line: `device: up to 256 MiB outside
 *  the wasm memory (static: 3 files, 41 KiB)`. It is allocated as it is used, so it is a
 *  bound, not a fixed size. */
export function deviceBudgetText(device: { bound: number; statics: { count: number; bytes: number } | null }): string {
  const s = device.statics;
  const statics = s === null ? "" : ` (static: ${s.count} file${s.count === 1 ? "" : "s"}, ${formatBytes(s.bytes)} with their variants)`;
  return `device: up to ${formatBytes(device.bound)} outside the wasm memory${statics}`;
}

/** Address of slot `i`'s first byte. */
export function slotBase(plan: MemoryPlan, i: number): number {
  return plan.slotsBase + i * plan.slotBytes;
}

/** Creates the one memory of the process: initial == maximum, so it can never grow. */
export function createMemory(plan: MemoryPlan): WebAssembly.Memory {
  try {
    return new WebAssembly.Memory({ initial: plan.pages, maximum: plan.pages });
  } catch (err) {
    throw new ArenaError("ARENA_E_CONFIG", `could not reserve ${formatBytes(plan.totalBytes)} of wasm memory: ${(err as Error).message}`, "lower --slots or --arena-bytes");
  }
}
