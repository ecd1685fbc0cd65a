// Messages for the runtime's violation reports (`arena.violation`, runtime/report.ts),
// which name the classes, the field or the global involved and say what to do instead.
//
// Why: the runtime can only report addresses, and "object at 0x400230 stored into startup
// object at 0x4b0" left a developer bisecting by hand. Every object's header holds its
// class id (rtId, the u32 at ptr - 8), and every build carries the class table the asc
// transform writes (runtime/class_table.js, the "arena.classes" custom section): id →
// name and the byte offsets of its reference fields. With both, a report becomes "a
// String made during the request was stored into Note.title of a long-lived Note (heap)".
//
// The table is parsed once, when the module is loaded; formatting reads the memory only
// when a violation has happened, so a request that breaks no rule pays nothing.

import type { AppMemory } from "../memory/app_memory.ts";
import { formatRegionViolation, isRegionViolation } from "./region_violation.ts";
import { KEEP_REASON_DEPTH, KEEP_REASON_MAP, VIOLATION_FREE, VIOLATION_GLOBAL, VIOLATION_KEEP, VIOLATION_LINK } from "./constants.ts";

/** The custom section runtime/class_table.js writes (CLASS_TABLE_SECTION there). */
export const CLASS_TABLE_SECTION = "arena.classes";
/** The section's format version this host reads. */
const CLASS_TABLE_VERSION = 1;
/** Offset of the class id (rtId) before an object's payload, in asc's object header. */
const OBJECT_RT_ID = 8;
/** Bytes of asc's object header before the payload (BLOCK + OBJECT). */
const OBJECT_OVERHEAD = 20;
/** Deepest graph Heap.keep copies (KEEP_DEPTH_MAX in runtime/keep.ts). */
const KEEP_DEPTH_MAX = 64;

const ADVICE = "copy it into the heap first with Heap.keep(), or keep it in the request";

interface ClassInfo {
  name: string;
  /** Reference fields as [name, byte offset], ordered by offset. */
  fields: [string, number][];
}

/** The build's class table: class id → name and reference fields. */
export class ClassTable {
  private readonly classes = new Map<number, ClassInfo>();

  /** The table of `module`'s "arena.classes" section; an empty table when it has none
   *  (built by another toolchain) or one this host cannot read: messages then say
   *  "an object" instead of a class name, and nothing else changes. */
  static fromModule(module: WebAssembly.Module): ClassTable {
    const table = new ClassTable();
    for (const section of WebAssembly.Module.customSections(module, CLASS_TABLE_SECTION)) {
      table.add(new TextDecoder().decode(section));
    }
    return table;
  }

  private add(json: string): void {
    let parsed: { version?: unknown; classes?: unknown };
    try {
      parsed = JSON.parse(json) as typeof parsed;
    } catch {
      return;
    }
    if (parsed.version !== CLASS_TABLE_VERSION || !Array.isArray(parsed.classes)) return;
    for (const c of parsed.classes as { id: number; name: string; fields: [string, number][] }[]) {
      if (Number.isInteger(c.id) && typeof c.name === "string" && Array.isArray(c.fields)) this.classes.set(c.id, { name: c.name, fields: c.fields });
    }
  }

  /** The class with runtime id `id`, or undefined. */
  get(id: number): ClassInfo | undefined {
    return this.classes.get(id);
  }

  get size(): number {
    return this.classes.size;
  }
}

/** "a String", "an Array<Note>". */
function article(name: string): string {
  return /^[aeiou]/i.test(name) ? `an ${name}` : `a ${name}`;
}

/** Classes that hold their references in a backing store, not in named fields. */
function isContainer(name: string): boolean {
  return /^(Array|StaticArray|Map|Set)</.test(name);
}

/** Formats the runtime's violation reports for one app's memory and class table. */
export class ViolationFormatter {
  private readonly memory: AppMemory;
  private readonly classes: ClassTable;
  /** Reads an AssemblyScript string at a pointer (runtime_imports.ts's readAsString). */
  private readonly readString: (ptr: number) => string;

  constructor(memory: AppMemory, classes: ClassTable, readString: (ptr: number) => string) {
    this.memory = memory;
    this.classes = classes;
    this.readString = readString;
  }

  /** The message for a report of `kind` with arguments `a`, `b` and `c` (runtime/report.ts). */
  format(kind: number, a: number, b: number, c = 0): string {
    a >>>= 0;
    b >>>= 0;
    if (isRegionViolation(kind)) {
      const reader = { memory: this.memory, readString: this.readString, describe: (ptr: number) => article(this.className(ptr)) };
      return formatRegionViolation(reader, kind, a, b, c >>> 0);
    }
    switch (kind) {
      case VIOLATION_LINK: return this.link(a, b);
      case VIOLATION_GLOBAL: return this.global(a, b);
      case VIOLATION_FREE:
        return "a heap object was freed twice (or a pointer that is not a heap object was freed) — " +
          "drop every reference to a value once Heap.free has freed it, and free only what Heap.keep returned";
      case VIOLATION_KEEP: return this.keep(a, b);
      default: return `the runtime reported violation ${kind} (0x${a.toString(16)}, 0x${b.toString(16)})`;
    }
  }

  /** A request object `child` was stored into the long-lived object `parent`. */
  private link(parent: number, child: number): string {
    const made = `${article(this.className(child))} made during the request`;
    const owner = this.className(parent);
    const where = parent < this.memory.plan.startupBytes ? "start-up" : "heap";
    const field = this.fieldHolding(parent, child);
    if (field !== null) return `${made} was stored into ${owner}.${field} of a long-lived ${owner} (${where}) — ${ADVICE}`;
    if (isContainer(owner)) return `${made} was stored into ${article(owner)} that outlives the request (${where}) — ${ADVICE}`;
    return `${made} was stored into a long-lived ${owner === "object" ? "object" : owner} (${where}) — ${ADVICE}`;
  }

  /** A request object `value` was about to be stored into the global `label` ("file:name"). */
  private global(value: number, label: number): string {
    const text = this.readString(label);
    const colon = text.lastIndexOf(":");
    const name = colon >= 0 ? text.slice(colon + 1) : text;
    const file = colon >= 0 ? ` (${text.slice(0, colon)})` : "";
    return `${article(this.className(value))} made during the request was stored into the module-level global \`${name}\`${file} — ${ADVICE}`;
  }

  /** Heap.keep refused `ptr` for `reason`. */
  private keep(ptr: number, reason: number): string {
    const name = this.className(ptr);
    if (reason === KEEP_REASON_MAP) {
      return `Heap.keep cannot copy ${article(name)}: a Map or Set has no fixed layout to copy — ` +
        "make the Map or Set at start-up (it grows in the heap by itself) and keep its keys and values with Heap.keep";
    }
    if (reason === KEEP_REASON_DEPTH) {
      return `Heap.keep was given objects nested deeper than ${KEEP_DEPTH_MAX} levels (it reached ${article(name)} past the last): ` +
        "a cycle, or a long linked list? — keep a value whose objects do not refer back to each other, or keep its parts one by one";
    }
    return `Heap.keep refused ${article(name)} (reason ${reason})`;
  }

  /** The class name of the object at `ptr`, or "object" when it cannot be told. */
  private className(ptr: number): string {
    const id = this.classId(ptr);
    if (id === null) return "object";
    return this.classes.get(id)?.name ?? (this.classes.size === 0 ? "object" : `object of class ${id}`);
  }

  private classId(ptr: number): number | null {
    if (ptr < OBJECT_OVERHEAD || ptr > this.memory.u8.length) return null;
    return this.memory.dv.getUint32(ptr - OBJECT_RT_ID, true);
  }

  /** The name of `parent`'s reference field that holds `child`, or null. */
  private fieldHolding(parent: number, child: number): string | null {
    const id = this.classId(parent);
    const info = id === null ? undefined : this.classes.get(id);
    if (info === undefined) return null;
    for (const [name, offset] of info.fields) {
      const at = parent + offset;
      if (at + 4 <= this.memory.u8.length && this.memory.dv.getUint32(at, true) === child) return name;
    }
    return null;
  }
}
