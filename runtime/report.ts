// What the runtime reports to the host before it traps, so the trap becomes a precise
// error (host/abi/runtime_imports.ts reads these). The ids and kinds are mirrored in
// host/abi/constants.ts (tests/abi_constants.test.ts keeps them equal).

/** Region id of the startup region (slots are numbered from 0). */
// @ts-ignore: decorator
@inline export const REGION_ID_STARTUP: u32 = 0xFFFFFFFF;
/** Region id of the heap region. */
// @ts-ignore: decorator
@inline export const REGION_ID_HEAP: u32 = 0xFFFFFFFE;

/** A request object was stored into a long-lived object (check build). */
// @ts-ignore: decorator
@inline export const VIOLATION_LINK: u32 = 1;
/** A heap block was freed twice, or a pointer that is not a heap block was freed. */
// @ts-ignore: decorator
@inline export const VIOLATION_FREE: u32 = 3;
/** Heap.keep was asked to copy something it cannot (a Map, a Set, a cycle). */
// @ts-ignore: decorator
@inline export const VIOLATION_KEEP: u32 = 4;
/** Why Heap.keep refused: a Map or Set (it has no fixed layout to copy). */
// @ts-ignore: decorator
@inline export const KEEP_REASON_MAP: usize = 1;
/** Why Heap.keep refused: the graph is deeper than KEEP_DEPTH_MAX (a cycle, most likely). */
// @ts-ignore: decorator
@inline export const KEEP_REASON_DEPTH: usize = 2;
/** A request object was stored into a module-level global (check build). */
// @ts-ignore: decorator
@inline export const VIOLATION_GLOBAL: u32 = 5;

/** A scoped arena was disposed out of order: one made inside it is still entered. */
// @ts-ignore: decorator
@inline export const VIOLATION_SCOPE_ORDER: u32 = 6;
/** A handle of a region (a Scratch, an UninitBytes, a Region) was used after its region was
 *  disposed or its request ended. */
// @ts-ignore: decorator
@inline export const VIOLATION_DISPOSED: u32 = 7;
/** An object of a scoped arena was stored into an object that outlives the scope (check build). */
// @ts-ignore: decorator
@inline export const VIOLATION_SCOPE_LINK: u32 = 8;
/** An object was used after `move` took it to another region (check build). */
// @ts-ignore: decorator
@inline export const VIOLATION_MOVED: u32 = 9;
/** UninitBytes.assumeInit was called with bytes never written (check build). */
// @ts-ignore: decorator
@inline export const VIOLATION_UNINIT: u32 = 10;
/** An object in memory a disposed scope left behind was used (check build). */
// @ts-ignore: decorator
@inline export const VIOLATION_DEAD_OBJECT: u32 = 11;

/** Asks the host to record that region `id` asked for `size` bytes over its `limit`;
 *  `scope` is the header of the scoped arena that overflowed, or 0. */
// @ts-ignore: decorator
@external("arena", "overflow")
export declare function hostOverflow(id: u32, size: usize, limit: usize, scope: usize): void;

/** Asks the host to record a violation before the runtime traps: `kind` says which, `a`
 *  and `b` are the objects (or, for VIOLATION_KEEP, the object and a reason code), `c` a
 *  scope header or 0; docs/abi.md lists what each kind passes. */
// @ts-ignore: decorator
@external("arena", "violation")
export declare function hostViolation(kind: u32, a: usize, b: usize, c: usize): void;
