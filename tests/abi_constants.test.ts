// The ABI numbers are written three times (host, SDK, runtime) because the two sides are
// different languages; this test keeps them equal.

import { it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import * as host from "../host/abi/constants.ts";
import { ROOT } from "./helpers.ts";

/** `@inline export const NAME: type = value;` (or without export) from an AS file. */
function asConstants(file: string): Map<string, number> {
  const text = fs.readFileSync(path.join(ROOT, file), "utf8");
  const out = new Map<string, number>();
  for (const m of text.matchAll(/@inline (?:export )?const (\w+): \w+ = (0x[0-9A-Fa-f]+|\d+);/g)) out.set(m[1], Number(m[2]));
  return out;
}

it("sdk/lib/arena/abi.ts matches host/abi/constants.ts", () => {
  const sdk = asConstants("sdk/lib/arena/abi.ts");
  assert.ok(sdk.size >= 20);
  for (const [name, value] of sdk) {
    assert.equal(value, (host as Record<string, unknown>)[name], `${name} differs`);
  }
});

it("runtime/arena.ts region header matches host/abi/constants.ts", () => {
  const rt = asConstants("runtime/arena.ts");
  for (const name of ["REGION_PTR", "REGION_END", "REGION_START", "REGION_ID", "REGION_KIND", "REGION_PARENT",
    "REGION_HEADER_BYTES", "REGION_ID_STARTUP", "VIOLATION_LINK", "VIOLATION_RENEW"]) {
    assert.equal(rt.get(name), (host as Record<string, unknown>)[name], `${name} differs`);
  }
});
