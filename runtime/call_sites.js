// The asc transform's note of where region handles are made (runtime/transform.js runs it
// after parsing, in every build).
//
// Why: AssemblyScript has no stack traces, and "a Scratch was used after dispose" sends a
// developer hunting. The SDK's calls that make or move region memory take a trailing
// `site` parameter; here each such call in the app's own files gets the string
// "<file>:<line>" as that argument (a literal in static data: no cost at run time), so the
// check build's messages can say where the region was made. A call that already passes
// every argument is left alone, and so is a call through another name (an alias, a
// wrapper): its site is then "".

import path from "node:path";
import { Node, NodeKind } from "assemblyscript";
import { isAppSource } from "./check_globals.js";

/** `Receiver.method` → [arguments before `label`, whether it has a `label` parameter]:
 *  `site` comes last, after an optional label that defaults to "". */
const CALLS = new Map([
  ["Scratch.enter", [1, true]],
  ["Scratch.tryEnter", [1, true]],
  ["Scratch.run", [3, true]],
  ["Regions.move", [2, false]],
  ["UninitBytes.alloc", [1, false]],
]);

/** Properties of nodes that hold no expression to walk into. */
const SKIP_KEYS = new Set(["range", "parent", "typeArguments", "typeParameters", "decorators", "type", "returnType"]);

/** "Scratch.enter" for a call of `Scratch.enter(…)`, else null. */
function calleeName(call) {
  const e = call.expression;
  if (e.kind !== NodeKind.PropertyAccess || e.expression.kind !== NodeKind.Identifier) return null;
  return `${e.expression.text}.${e.property.text}`;
}

/** Appends the missing label ("") and the site to `call` when it is one of CALLS. */
function addSite(call, label) {
  const spec = CALLS.get(calleeName(call));
  if (spec === undefined) return 0;
  const [before, hasLabel] = spec;
  const args = call.args;
  const full = before + (hasLabel ? 2 : 1);
  if (args.length < before || args.length >= full) return 0;
  if (hasLabel && args.length === before) args.push(Node.createStringLiteralExpression("", call.range));
  args.push(Node.createStringLiteralExpression(label, call.range));
  return 1;
}

/** Walks every node under `node`, adding sites to the calls it finds. */
function walk(node, file, seen) {
  if (node === null || typeof node !== "object" || seen.has(node)) return 0;
  seen.add(node);
  let added = 0;
  if (Array.isArray(node)) {
    for (const item of node) added += walk(item, file, seen);
    return added;
  }
  if (typeof node.kind !== "number") return 0;
  if (node.kind === NodeKind.Call) {
    const line = node.range.source.lineAt(node.range.start);
    added += addSite(node, `${file}:${line}`);
  }
  for (const key of Object.keys(node)) {
    if (SKIP_KEYS.has(key)) continue;
    const value = node[key];
    if (value !== null && typeof value === "object") added += walk(value, file, seen);
  }
  return added;
}

/** Adds call sites to the app's sources (not the SDK's or the runtime's, `exclude`).
 *  Returns how many calls got one. */
export function addCallSites(sources, baseDir, exclude) {
  let added = 0;
  for (const source of sources) {
    if (!isAppSource(source, baseDir, exclude)) continue;
    added += walk(source.statements, path.basename(source.normalizedPath), new Set());
  }
  return added;
}
