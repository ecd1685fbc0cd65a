// docs/errors.md documents every code in host/errors.ts, with the same status, and nothing else.

import { it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { ERRORS } from "../host/errors.ts";
import { ROOT } from "./helpers.ts";

it("docs/errors.md and host/errors.ts list the same codes and statuses", () => {
  const doc = fs.readFileSync(path.join(ROOT, "docs/errors.md"), "utf8");
  const rows = new Map<string, string>();
  for (const m of doc.matchAll(/^\| `(ARENA_E_\w+)` \| (\d{3}|—) \|/gm)) rows.set(m[1], m[2]);
  const codes = Object.keys(ERRORS);
  assert.deepEqual([...rows.keys()].sort(), [...codes].sort(), "codes differ between docs/errors.md and host/errors.ts");
  for (const [code, def] of Object.entries(ERRORS)) {
    assert.equal(rows.get(code), def.status === 0 ? "—" : String(def.status), `${code}: status differs`);
  }
});
