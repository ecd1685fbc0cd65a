// The "arena.classes" custom section every build carries (runtime/transform.js emits it
// after compiling): for each managed class its runtime id, a readable name and the byte
// offsets of its reference fields.
//
// Why: the runtime reports a violation with addresses only (an object's header holds its
// class id, nothing more), and a message like "object at 0x400230 stored into startup
// object at 0x4b0" sent a developer bisecting by hand. With this table the host
// (host/abi/violation.ts) can say "a String made during the request was stored into
// Note.title of a long-lived Note". The host reads it only when a violation happens.
//
// Format (UTF-8 JSON, version 1):
//   {"version":1,"classes":[{"id":12,"name":"Note","fields":[["title",4],["tags",8]]}, …]}

import { ElementKind } from "assemblyscript";

export const CLASS_TABLE_SECTION = "arena.classes";
const CLASS_TABLE_VERSION = 1;

/** A name as a developer writes it: `Array<Note>`, not `~lib/array/Array<app/Note>`. */
export function readableName(internal) {
  return decodeURIComponent(internal).replace(/(?:~lib\/|[\w.@~-]+\/)+/g, "").replace(/,(?=\S)/g, ", ");
}

/** The reference fields of `cls` and its bases, as [name, byte offset] pairs. */
function referenceFields(cls) {
  const fields = new Map();
  for (let c = cls; c !== null && c !== undefined; c = c.base) {
    if (c.members === null) continue;
    for (const [name, member] of c.members) {
      if (member.kind !== ElementKind.PropertyPrototype || !member.isField || fields.has(name)) continue;
      const property = member.instance;
      if (property === null || property.memoryOffset < 0 || !property.type.isReference) continue;
      fields.set(name, property.memoryOffset);
    }
  }
  return [...fields].sort((a, b) => a[1] - b[1]);
}

/** The section's bytes for a compiled program. */
export function classTableBytes(program) {
  const classes = [];
  for (const [id, cls] of program.managedClasses) {
    classes.push({ id, name: readableName(cls.name), fields: referenceFields(cls) });
  }
  classes.sort((a, b) => a.id - b.id);
  return new TextEncoder().encode(JSON.stringify({ version: CLASS_TABLE_VERSION, classes }));
}
