// The check build's checks (`arena build --check`, which compiles with ARENA_CHECK): what
// would leave a long-lived object or a module-level global pointing into a request's
// arena, which is reset when the request ends. The release build compiles none of this:
// __link calls checkLink only under ARENA_CHECK, and runtime/transform.js routes global
// stores through __arena_check_global only in the check build.
//
// The host turns each report into a message that names the classes, the field or the
// global (host/abi/violation.ts, from the "arena.classes" section the transform emits).

import { OBJECT, TOTAL_OVERHEAD } from "~lib/rt/common";
import { hostViolation, VIOLATION_GLOBAL, VIOLATION_LINK, VIOLATION_SCOPE_LINK } from "./report";
import { REGION_KIND, REGION_KIND_SCOPE, SCOPE_CAP_END } from "./region";
import { checkObject, regionOf } from "./scope";

/** The gcInfo asc writes into the header of a template literal's scratch array (its
 *  "transparent" colour): no object the runtime makes has it, __new writes 0. */
// @ts-ignore: decorator
@inline const GCINFO_TEMPLATE_SCRATCH: u32 = 3;

/**
 * Whether `parent` is the scratch array asc compiles a template literal with several
 * parts into: one StaticArray<string> in static data per literal, whose slots for the
 * `${}` values are overwritten with that evaluation's strings right before `join("")`
 * reads them. Storing a request string there is not a leak: nothing else can reach the
 * array (only that literal's code knows its address), and every later evaluation
 * overwrites each slot before it reads it. Date#toISOString is such a literal.
 */
// @ts-ignore: decorator
@inline function isTemplateScratch(parent: usize): bool {
  if (parent >= __heap_base) return false;
  let header = changetype<OBJECT>(parent - TOTAL_OVERHEAD);
  return header.gcInfo == GCINFO_TEMPLATE_SCRATCH && header.rtId == idof<StaticArray<string>>();
}

/**
 * Called for every reference stored into a managed object (asc's __link). A child in a
 * request slot (at or above `slotsBase`) stored into a parent that outlives requests
 * (static data, the startup region or the heap, all below `slotsBase`) is reported, but
 * for the compiler's template scratch arrays (see isTemplateScratch).
 */
export function checkLink(parent: usize, child: usize, slotsBase: usize, inStartup: bool): void {
  if (child == 0) return;
  if (parent < slotsBase) {
    if (isTemplateScratch(parent)) return;
    if (child >= slotsBase) {
      hostViolation(VIOLATION_LINK, parent, child, 0);
      unreachable();
    }
    // Start-up code can enter scratch arenas too (in the startup region).
    if (load<u32>(__arena_caller_region() + REGION_KIND) == REGION_KIND_SCOPE) checkScopeLink(parent, child);
    return;
  }
  checkScopeLink(parent, child);
}

/**
 * The same rule one level down, for two request objects: a child made in a scoped arena
 * stored into a parent outside that scope (which outlives it) dangles once the scope is
 * disposed. Moved objects and objects a disposed scope left behind are reported too,
 * whichever side they are on. Objects of other regions than the caller's are not judged.
 */
function checkScopeLink(parent: usize, child: usize): void {
  checkObject(parent);
  checkObject(child);
  let scope = regionOf(child);
  if (scope == 0 || load<u32>(scope + REGION_KIND) != REGION_KIND_SCOPE) return;
  if (parent < scope || parent >= <usize>load<u32>(scope + SCOPE_CAP_END)) {
    hostViolation(VIOLATION_SCOPE_LINK, parent, child, scope);
    unreachable();
  }
}

/**
 * The check build's gate on every store into a module-level global of the app's own files
 * (runtime/check_globals.js rewrites `g = value` to `g = __arena_check_global(() => g,
 * value, "file:g")`). A request object stored there would dangle once the request ends, so
 * it is reported with the global's name and the request stops before the store happens.
 *
 * `witness` is never called: its return type makes T the global's declared type (reading
 * the global itself would trap for `let g!: T` before its first store). The value is typed
 * `Same<T>`, which generic inference does not look at, so a literal or `null` is typed by
 * the global exactly as in the plain assignment.
 */
// @ts-ignore: decorator
@global
function __arena_check_global<T>(witness: () => T, value: Same<T>, name: string): T {
  if (isReference<T>()) {
    let ptr = changetype<usize>(value);
    let slotsBase = __arena_slots_base();
    if (slotsBase != 0 && ptr >= slotsBase) {
      hostViolation(VIOLATION_GLOBAL, ptr, changetype<usize>(name), 0);
      unreachable();
    }
  }
  return value;
}

/** The type itself: a parameter of type Same<T> is typed by T, but T is not inferred
 *  from it (see __arena_check_global). */
type Same<T> = T;
