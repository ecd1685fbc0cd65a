// Request smuggling and desync over real sockets: every case of tests/smuggling_corpus.ts
// against the test app, with its exact status, whether the connection closes, and the
// proof that no hidden request was ever run (no response for SMUGGLED), and that a
// follow-up request is answered exactly at the boundary the server's framing implies.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { exchange, startTestServer, waitFor, type Exchange, type Running } from "./helpers.ts";
import {
  FOLLOW, FOLLOW_BODY, SMUGGLED, SMUGGLED_MARK, SMUGGLING_BODY_MAX, SMUGGLING_CORPUS, SPLIT_BODIES, SPLIT_REQUEST,
  type SmugglingCase,
} from "./smuggling_corpus.ts";

let t: Running;

before(async () => {
  t = await startTestServer({ headersTimeoutMs: 2000, bodyTimeoutMs: 2000, keepAliveTimeoutMs: 2000, bodyBytesMax: SMUGGLING_BODY_MAX });
});
after(async () => {
  await t.server.close();
});

const bytes = (s: string): Buffer => Buffer.from(s, "latin1");

/** Sends the case and FOLLOW; collects until the server closes (FOLLOW asks it to). */
function run(c: SmugglingCase): Promise<Exchange> {
  const parts = Array.isArray(c.send) ? c.send.map(bytes) : [bytes(c.send)];
  parts[parts.length - 1] = Buffer.concat([parts[parts.length - 1], bytes(FOLLOW)]);
  return exchange(t.port, parts, { delayMs: parts.length > 1 ? 5 : 0, timeoutMs: 4000, headRequests: c.headRequests });
}

function check(c: SmugglingCase, r: Exchange): void {
  const text = r.bytes.toString("latin1");
  const finals = r.responses.filter((res) => res.status >= 200);
  const expected = c.close ? c.status : [...c.status, 200];
  assert.deepEqual(finals.map((res) => res.status), expected, `responses: ${JSON.stringify(text.slice(0, 400))}`);
  assert.equal(r.closed, true, "the server closes (after an error, or after FOLLOW's Connection: close)");
  assert.ok(!text.includes(SMUGGLED_MARK), "a hidden request was answered");
  for (const [i, body] of (c.bodies ?? []).entries()) {
    if (body !== undefined) assert.equal(finals[i].body.toString("latin1"), body, `body of response ${i}`);
  }
  for (const res of finals.slice(0, c.status.length)) {
    if (res.status < 400) continue;
    assert.equal(res.headers.get("connection"), "close");
    const err = JSON.parse(res.body.toString());
    assert.equal(err.statusCode, res.status);
    assert.match(err.code, /^ARENA_E_HTTP_/);
  }
  if (c.close) {
    assert.ok(!text.includes("x=follow"), "nothing is read after a closing response");
  } else {
    assert.equal(finals.at(-1)!.body.toString("latin1"), FOLLOW_BODY, "FOLLOW starts exactly where the framing ends");
  }
}

describe("smuggling corpus", () => {
  for (const c of SMUGGLING_CORPUS) {
    it(`${c.name} → ${c.status.join(", ")}${c.close ? ", close" : ""}`, { todo: c.todo }, async () => {
      check(c, await run(c));
    });
  }

  it("the corpus has no duplicate names", () => {
    const names = new Set(SMUGGLING_CORPUS.map((c) => c.name));
    assert.equal(names.size, SMUGGLING_CORPUS.length);
  });
});

describe("split at every byte boundary", () => {
  it("a pipelined chunked + CL + GET stream answers the same wherever it is split", async () => {
    const all = bytes(SPLIT_REQUEST + FOLLOW);
    const splits: number[] = [];
    for (let k = 1; k < all.length; k++) splits.push(k);
    const expected = [...SPLIT_BODIES, FOLLOW_BODY];
    // Several connections at once; each writes its two halves 3 ms apart.
    for (let b = 0; b < splits.length; b += 24) {
      await Promise.all(splits.slice(b, b + 24).map(async (k) => {
        const r = await exchange(t.port, [all.subarray(0, k), all.subarray(k)], { delayMs: 3, timeoutMs: 4000 });
        assert.deepEqual(r.responses.map((res) => res.body.toString("latin1")), expected, `split at ${k}`);
        assert.equal(r.closed, true);
      }));
    }
  });

  it("a CL.TE payload split at every byte is refused the same way", async () => {
    const payload = bytes(`POST /ident HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`);
    for (let b = 1; b < payload.length; b += 24) {
      await Promise.all(Array.from({ length: Math.min(24, payload.length - b) }, (_, j) => b + j).map(async (k) => {
        const r = await exchange(t.port, [payload.subarray(0, k), payload.subarray(k)], { delayMs: 3, timeoutMs: 4000 });
        assert.deepEqual(r.responses.map((res) => res.status), [400], `split at ${k}`);
        assert.ok(!r.bytes.toString("latin1").includes(SMUGGLED_MARK));
      }));
    }
  });

  // RFC 9112 §2.2: an empty line before a request is ignored. Once (fixed in c4dda86) the
  // outcome depended on TCP segmentation: "\r" | "\nGET ..." in two segments was a 400.
  it("an empty line before a request is ignored however it is split", async () => {
    const r = await exchange(t.port, [bytes("\r"), bytes(`\nGET /ident HTTP/1.1\r\nHost: t\r\n\r\n${FOLLOW}`)], { delayMs: 20, timeoutMs: 4000 });
    assert.deepEqual(r.responses.map((res) => res.status), [200, 200]);
  });

  it("every slot is free and every connection closed afterwards", async () => {
    await waitFor(() => t.server.stats().connections === 0 && t.server.stats().slotsFree === t.server.stats().slots, 5000);
  });
});
