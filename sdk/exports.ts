// SDK half of the host/app ABI (docs/abi.md). `arena build` compiles this file as an extra
// entry of every app, so `arena_handle` is a module export.

import { Request } from "arena/request";
import { registeredRouter } from "arena/serve";
import { ARENA_OK, ARENA_NO_HANDLER, ARENA_NEEDS_ASYNC, REQ_FLAGS, REQ_FLAG_MAY_WAIT } from "arena/abi";

/** Handles the request whose descriptor is at `desc` (inside the current slot's arena) and
 *  writes the response fields into the same descriptor. Returns ARENA_OK; ARENA_NEEDS_ASYNC
 *  from a plain call when the route's handler may wait (it did not run); ARENA_NO_HANDLER
 *  when the app never called `serve` (the host refuses such an app at start, so only a
 *  host that skips that check sees it).
 *
 *  `status = arena_handle(desc)` — the host's call, once per request (twice when the first,
 *  plain, call answers ARENA_NEEDS_ASYNC). */
export function arena_handle(desc: u32): i32 {
  let router = registeredRouter();
  if (router === null) return ARENA_NO_HANDLER;
  let req = new Request(<usize>desc);
  let mayWait = (load<u32>(<usize>desc + REQ_FLAGS) & REQ_FLAG_MAY_WAIT) != 0;
  let res = router.handle(req, mayWait);
  if (res === null) return ARENA_NEEDS_ASYNC;
  res.writeTo(<usize>desc);
  return ARENA_OK;
}

/** 1 once the app's start-up code has called `serve`, else 0. The host asks right after
 *  `_initialize` and refuses to start an app that has no handler, instead of answering
 *  500 to every request.
 *
 *  `if (arena_served() != 1) refuse("app.wasm never called serve()")` — the host's check. */
export function arena_served(): i32 {
  return registeredRouter() !== null ? 1 : 0;
}
