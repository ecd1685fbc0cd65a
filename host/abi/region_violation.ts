// Messages for the reports about scoped arenas, moves and uninitialised memory
// (runtime/scope.ts, runtime/keep.ts, sdk/lib/arena/uninit.ts): violation.ts hands these
// kinds here. Each names the region involved the way the app made it: its label and the
// site `arena build` wrote into the call ("Scratch 'parse' (made at app.ts:14)").

import type { AppMemory } from "../memory/app_memory.ts";
import {
  RECORD_END, RECORD_LABEL, RECORD_SITE, SCOPE_LABEL, SCOPE_SITE, VIOLATION_DEAD_OBJECT, VIOLATION_DISPOSED,
  VIOLATION_MOVED, VIOLATION_SCOPE_LINK, VIOLATION_SCOPE_ORDER, VIOLATION_UNINIT,
} from "./constants.ts";

/** What the formatter lends: strings and class names read from the app's memory. */
export interface NameReader {
  memory: AppMemory;
  readString(ptr: number): string;
  /** "a Note", "an Array<string>", "an object". */
  describe(ptr: number): string;
}

/** Whether `kind` is one of the reports formatted here. */
export function isRegionViolation(kind: number): boolean {
  return kind >= VIOLATION_SCOPE_ORDER && kind <= VIOLATION_DEAD_OBJECT;
}

/** "Scratch 'parse' (made at app.ts:14)" from label and site string pointers. */
function scratchName(r: Pick<NameReader, "readString">, label: number, site: number): string {
  const l = label !== 0 ? r.readString(label) : "";
  const s = site !== 0 ? r.readString(site) : "";
  return `Scratch${l !== "" ? ` '${l}'` : ""}${s !== "" ? ` (made at ${s})` : ""}`;
}

/** The name of the scoped arena whose header is at `header` (also the overflow
 *  message's, runtime_imports.ts). */
export function scopeAt(r: Pick<NameReader, "memory" | "readString">, header: number): string {
  const dv = r.memory.dv;
  return scratchName(r, dv.getUint32(header + SCOPE_LABEL, true), dv.getUint32(header + SCOPE_SITE, true));
}

/** The message for a report of `kind` (isRegionViolation) with arguments `a`, `b`, `c`. */
export function formatRegionViolation(r: NameReader, kind: number, a: number, b: number, c: number): string {
  const dv = r.memory.dv;
  switch (kind) {
    case VIOLATION_SCOPE_ORDER:
      return `${scopeAt(r, a)} was disposed while ${scopeAt(r, b)}, made inside it, is still entered — ` +
        "dispose scratch arenas in the reverse order of enter";
    case VIOLATION_DISPOSED: {
      const site = b !== 0 ? r.readString(b) : "";
      const name = a === 0 ? `an UninitBytes${site !== "" ? ` made at ${site}` : ""}` : scratchName(r, a, b);
      return `${name} was used after its region was disposed (disposed twice, or kept past its dispose or its request) — ` +
        "copy what must outlive a scratch arena out with copyOut() before dispose()";
    }
    case VIOLATION_SCOPE_LINK:
      return `${r.describe(b)} made in ${scopeAt(r, c)} was stored into ${r.describe(a)} that outlives it — ` +
        "copy it out with scratch.copyOut() (or Regions.copy) and store the copy";
    case VIOLATION_MOVED: {
      const record = b;
      const to = record !== 0 ? (["", "the heap", "a request's arena", "a scratch arena"][dv.getUint32(record + RECORD_END, true)] ?? "another region") : "another region";
      const label = record !== 0 ? dv.getUint32(record + RECORD_LABEL, true) : 0;
      const site = record !== 0 ? dv.getUint32(record + RECORD_SITE, true) : 0;
      const from = label !== 0 ? scratchName(r, label, 0) : "the request's arena";
      const where = site !== 0 ? ` by Regions.move at ${r.readString(site)}` : "";
      return `${r.describe(a)} was used after it was moved out of ${from} into ${to}${where} — use the value move returned`;
    }
    case VIOLATION_UNINIT:
      const site = c !== 0 ? r.readString(c) : "";
      return `UninitBytes of ${b} bytes${site !== "" ? ` (made at ${site})` : ""} was declared initialised, but byte ${a} was never written — ` +
        "write every byte before assumeInit(), or allocate zeroed memory (new Uint8Array(n))";
    default: {
      if (a >= r.memory.u8.length || a < 20) {
        return "a reference read out of poisoned memory was used: the object it came from was moved away, or made in a " +
          "scratch arena since disposed (the check build fills both with 0xDD) — use the value move or copyOut returned";
      }
      const record = b;
      const name = record !== 0 ? scratchName(r, dv.getUint32(record + RECORD_LABEL, true), dv.getUint32(record + RECORD_SITE, true)) : "a scratch arena";
      return `an object made in ${name} was used after that scratch arena was disposed — ` +
        "copy what must outlive a scratch arena out with copyOut() before dispose()";
    }
  }
}
