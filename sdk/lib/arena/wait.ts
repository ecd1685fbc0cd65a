// The gate every waiting effect (fetch, sleep) passes before its JSPI import. Requests are
// first run as plain calls, which cost no promise and no JSPI stack; a JSPI import cannot
// even be called from such a call (V8 traps), so the SDK checks the request's flags first:
//
//   start-up code            → the effect answers Unavailable (nothing can wait at start)
//   plain call (flag clear)  → the route is marked as waiting, the host is told, and the
//                              call traps before the effect starts; the host runs the
//                              request again through JSPI, and later requests of the route
//                              start there directly (so this happens once per route)
//   JSPI call (flag set)     → go ahead and wait

import { REGION_HEADER_BYTES, REQ_FLAGS, REQ_FLAG_MAY_WAIT } from "./abi";
import { markRunningRouteWaits } from "./router";

// @ts-ignore: decorator
@external("arena", "restart")
declare function hostRestart(): void;

/** True when the caller may wait; false in start-up code. Does not return in a plain call. */
export function mayWait(): bool {
  if (__arena_current_id() == 0xFFFFFFFF) return false;
  // The current region is a slot's; the request descriptor follows its region header.
  let flags = load<u32>(__arena_current() + <usize>REGION_HEADER_BYTES + REQ_FLAGS);
  if ((flags & REQ_FLAG_MAY_WAIT) == 0) {
    markRunningRouteWaits();
    hostRestart();
    unreachable();
  }
  return true;
}
