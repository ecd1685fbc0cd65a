// What TypeScript (tsc, an editor) must be told about names the SDK uses but does not define,
// so that an app and the SDK type-check with 0 errors. asc never reads this file: it skips
// .d.ts files in --lib folders, and it compiles the real definitions below from the runtime.

// The runtime's @global functions (runtime/arena.ts, runtime/keep.ts): arena switching,
// the heap region and Heap.keep. asc makes them global because the runtime is compiled with
// every app; tsc does not see the runtime, so they are declared here with the same types.
declare function __arena_current(): usize;
declare function __arena_switch(header: usize): void;
declare function __arena_current_id(): u32;
declare function __arena_room(): usize;
declare function __arena_keep(ptr: usize): usize;
declare function __arena_free(ptr: usize): void;
declare function __arena_in_heap(ptr: usize): bool;
declare function __arena_heap_used(): usize;
declare function __arena_heap_capacity(): usize;
declare function __arena_heap_alloc(size: usize): usize;
declare function __arena_heap_realloc(ptr: usize, size: usize): usize;
declare function __arena_heap_free(ptr: usize): void;

// AssemblyScript's standard library module that formats numbers; asc resolves it in its
// own library, tsc would otherwise type-check the library's sources (which tsc rejects).
declare module "util/number" {
  export function dtoa_buffered<T extends number>(buffer: usize, value: T): u32;
}
