// Parallel fetches: `fetchAll` starts every request of a group at once and suspends the
// handler once, until all have answered or the group's timeout has passed. Each result is
// a FetchResponse of its own in this request's arena: one failing (a 404 is a response; a
// refused connection or a timeout is an error) leaves the others as they are.

import { EFFECT_BAD_ARGUMENT, EFFECT_OK, EFFECT_UNAVAILABLE, FETCH_RES_EFFECT, FETCH_RES_ERROR_LEN, FETCH_RES_ERROR_PTR, PARALLEL_FETCHES_MAX } from "./abi";
import { mayWait } from "./wait";
import { fetchDescriptor, FetchError, FetchOptions, FetchResponse } from "./fetch";

// @ts-ignore: decorator
@external("arena", "fetch_all")
declare function hostFetchAll(list: usize, count: i32, timeoutMs: i32): i32;

/**
 * One request of a `fetchAll` group: a URL and, optionally, its options.
 *
 * ```ts
 * const product = new FetchRequest(base + "/products/" + id);
 * const reviews = new FetchRequest(base + "/products/" + id + "/reviews", new FetchOptions().timeout(500));
 * ```
 */
export class FetchRequest {
  /** The URL, http:// or https://. `new FetchRequest("https://api.example.com/items").url` */
  url: string;
  /** What to send, or null for a plain GET. `req.options = new FetchOptions().timeout(500)` */
  options: FetchOptions | null;

  /** A request of `url` with `options`. `new FetchRequest("http://127.0.0.1:4000/items")` */
  constructor(url: string, options: FetchOptions | null = null) {
    this.url = url;
    this.options = options;
  }
}

/**
 * Fetches every request at once and returns when all have answered or `timeoutMs` has
 * passed (0: the server's fetch timeout, 10 s by default), one FetchResponse per request in
 * the same order. A request that fails has its own `error` and message and the others keep
 * their responses; the ones still running at the timeout are `FetchError.Timeout`. At most
 * PARALLEL_FETCHES_MAX (8) requests: past it every result is `FetchError.BadArgument`. Each
 * response takes a share of the free arena while they arrive (one that sets `limit` takes
 * no more than it needs), so the largest body one of n may have is about 1/n of it.
 *
 * ```ts
 * const res = fetchAll([new FetchRequest(base + "/products/7"), new FetchRequest(base + "/products/7/reviews")], 2000);
 * if (!res[0].ok) return Response.text("product: " + res[0].errorMessage, 502);
 * const reviews = res[1].ok ? Json.parse(res[1].body) : null; // the page shows without them
 * ```
 */
export function fetchAll(requests: FetchRequest[], timeoutMs: i32 = 0): FetchResponse[] {
  let n = requests.length;
  let out = new Array<FetchResponse>(n);
  if (n == 0) return out;
  let list = __alloc(<usize>n << 2);
  for (let i = 0; i < n; i++) {
    let r = unchecked(requests[i]);
    store<u32>(list + (<usize>i << 2), <u32>fetchDescriptor(r.url, r.options));
  }
  let group = EFFECT_OK;
  if (n > PARALLEL_FETCHES_MAX) {
    group = EFFECT_BAD_ARGUMENT;
    note(list, n, "fetchAll takes at most PARALLEL_FETCHES_MAX (8) requests; split the group");
  } else if (!mayWait()) {
    group = EFFECT_UNAVAILABLE;
  } else {
    // Re-enter this request's arena before anything is allocated (see fetch).
    let region = __arena_current();
    group = hostFetchAll(list, n, max(timeoutMs, 0));
    __arena_switch(region);
  }
  for (let i = 0; i < n; i++) {
    let desc = <usize>load<u32>(list + (<usize>i << 2));
    let status = group == EFFECT_OK ? <i32>load<u32>(desc + FETCH_RES_EFFECT) : group;
    unchecked(out[i] = new FetchResponse(desc, <FetchError>status));
  }
  return out;
}

/** Writes `message` as every descriptor's error (a group refused before it started). */
function note(list: usize, n: i32, message: string): void {
  let bytes = String.UTF8.encode(message);
  for (let i = 0; i < n; i++) {
    let desc = <usize>load<u32>(list + (<usize>i << 2));
    store<u32>(desc + FETCH_RES_ERROR_PTR, <u32>changetype<usize>(bytes));
    store<u32>(desc + FETCH_RES_ERROR_LEN, <u32>bytes.byteLength);
  }
}
