// Time: sleeping (an effect that suspends the request) and the two clocks.

import { mayWait } from "./wait";

// @ts-ignore: decorator
@external("arena", "sleep")
declare function hostSleep(ms: f64): i32;

// @ts-ignore: decorator
@external("arena", "clock_monotonic")
declare function hostMonotonic(): f64;

// @ts-ignore: decorator
@external("arena", "clock_wall")
declare function hostWall(): f64;

/**
 * Suspends this request for about `ms` milliseconds while other requests run. Returns
 * false when it was cut short because the client went away (the handler should return),
 * or when called outside a request. Sleeps longer than 60 s are clamped (SLEEP_MS_MAX).
 *
 * ```ts
 * sleep(250); // back off before retrying the upstream
 * ```
 */
export function sleep(ms: f64): bool {
  if (!mayWait()) return false;
  let region = __arena_current();
  let status = hostSleep(ms);
  // Other requests ran meanwhile; re-enter this request's arena before allocating.
  __arena_switch(region);
  return status == 0;
}

/**
 * Milliseconds (with a fraction) from an arbitrary origin; never goes backwards, so it is
 * the clock for measuring durations.
 *
 * ```ts
 * const t0 = monotonicMs();
 * const res = fetch(url);
 * log.info("fetched", new LogFields().num("ms", monotonicMs() - t0));
 * ```
 */
export function monotonicMs(): f64 {
  return hostMonotonic();
}

/** Milliseconds since the Unix epoch (wall clock; may jump). `new Date(<i64>wallMs())` */
export function wallMs(): f64 {
  return hostWall();
}
