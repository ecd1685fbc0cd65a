// The hooks asc's code calls for a garbage collector. Arena's regions need none of them:
// nothing is collected, so nothing is pinned, and a request's objects go away with its
// arena. __link, called on every reference stored into an object, is where the check
// build looks for request objects stored into long-lived ones (runtime/check.ts).

import { checkLink } from "./check";

// @ts-ignore: decorator
@global @unsafe
function __link(parentPtr: usize, childPtr: usize, expectMultiple: bool): void {
  if (isDefined(ARENA_CHECK)) checkLink(parentPtr, childPtr, __arena_slots_base(), false);
}

// @ts-ignore: decorator
@global @unsafe
function __pin(ptr: usize): usize {
  return ptr;
}

// @ts-ignore: decorator
@global @unsafe
function __unpin(ptr: usize): void {
}

// @ts-ignore: decorator
@global @unsafe
function __collect(): void {
}
