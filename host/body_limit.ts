// The request body limit an arena allows: a body the server accepts must decode in the
// arena it lands in (docs/reliability.md), so the limit is derived from the arena and a
// --body-bytes past it is refused at start with the flag that would make it fit.

import { ArenaError } from "./errors.ts";
import { BODY_DECODE_FACTOR, BODY_DECODE_RESERVE_BYTES, RESPONSE_HEAD_BYTES_MAX } from "./limits.ts";
import { formatBytes, type MemoryPlan } from "./memory/plan.ts";

/** Largest body an arena of `arenaBytes` can take such that the handler can still decode
 *  it: the body, its UTF-16 text (req.text(), 2 bytes per body byte at most) and
 *  BODY_DECODE_RESERVE_BYTES for the head and the handler. 335,872 bytes (328 KiB) for
 *  the default 1 MiB slot, 73,728 (72 KiB) for 256 KiB. It is below the request bridge's
 *  own bound (half of what the head leaves, bodyRoom), so that bound never binds. */
export function bodyBytesDecodable(arenaBytes: number): number {
  return Math.max(0, Math.floor((arenaBytes - BODY_DECODE_RESERVE_BYTES) / BODY_DECODE_FACTOR));
}

/** Refuses a body limit (--body-bytes) a handler could not decode in the arena, with what to use. */
export function checkBodyLimit(bodyBytes: number, plan: MemoryPlan): void {
  if (!Number.isSafeInteger(bodyBytes) || bodyBytes < 0) {
    throw new ArenaError("ARENA_E_CONFIG", `body limit must be a whole number of bytes, got ${bodyBytes}`, "set --body-bytes");
  }
  const max = bodyBytesDecodable(plan.arenaBytes);
  if (bodyBytes <= max) return;
  // The slot that would fit it, in whole KiB (a multiple of 16, as slots must be).
  const slotKiB = Math.ceil((bodyBytes * BODY_DECODE_FACTOR + BODY_DECODE_RESERVE_BYTES + RESPONSE_HEAD_BYTES_MAX) / 1024);
  throw new ArenaError("ARENA_E_CONFIG",
    `body limit of ${bodyBytes} bytes is more than a ${formatBytes(plan.slotBytes)} arena can take and decode: at most ${max} bytes ` +
    `(req.text() needs the body and its UTF-16 text, ${BODY_DECODE_FACTOR} bytes per body byte, beside the head)`,
    `lower --body-bytes to ${max} or raise --arena-bytes to ${slotKiB}KiB`);
}
