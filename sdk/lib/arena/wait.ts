// The gate every waiting effect (fetch, sleep) passes before its JSPI import. Requests are
// first run as plain calls, which cost no promise and no JSPI stack; a JSPI import cannot
// even be called from such a call (V8 traps). The build works out which handlers may wait
// and the router sends their requests through JSPI before any app code runs (router.ts),
// so the SDK checks the request's flags first:
//
//   start-up code            → the effect answers Unavailable (nothing can wait at start)
//   plain call (flag clear)  → the build's analysis missed a way to this effect: a platform
//                              bug. The request fails loudly (500, `assert:` in the log)
//                              rather than being run again, which would run the handler's
//                              code before this point twice.
//   JSPI call (flag set)     → go ahead and wait

import { REGION_HEADER_BYTES, REQ_FLAGS, REQ_FLAG_MAY_WAIT } from "./abi";

/** Why code inside Scratch.run's function cannot wait: the host runs it as a plain call
 *  from inside an import (docs/abi.md, "Scoped arenas"), and JSPI cannot suspend through it. */
export const RUN_CANNOT_WAIT = "a function run by Scratch.run waited on an effect (fetch, sleep, a stream write, …): it cannot wait — use Scratch.enter() and dispose() around code that waits";

/** True when the caller may wait; false in start-up code. Does not return in a plain call. */
export function mayWait(): bool {
  if (__arena_current_id() == 0xFFFFFFFF) return false;
  if (__arena_in_run_scope()) abort(RUN_CANNOT_WAIT);
  // The request descriptor follows the region header of the request's own arena (the
  // current region may be a Scratch carved from it).
  let flags = load<u32>(__arena_request_region() + <usize>REGION_HEADER_BYTES + REQ_FLAGS);
  if ((flags & REQ_FLAG_MAY_WAIT) == 0) {
    abort("assert: a waiting effect was reached in a plain call: the build's may-wait analysis (cli/instrument.ts) missed this handler");
  }
  return true;
}
