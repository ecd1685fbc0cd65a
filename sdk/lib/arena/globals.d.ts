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
// Regions (runtime/scope.ts, runtime/keep.ts): scoped arenas, copy and move, the check build.
declare function __arena_request_region(): usize;
declare function __arena_region_gen(header: usize): u32;
declare function __arena_region_live(header: usize, gen: u32): bool;
declare function __arena_region_used(header: usize): usize;
declare function __arena_region_room(header: usize): usize;
declare function __arena_scope_enter(bytes: usize, label: usize, site: usize): usize;
declare function __arena_scope_dispose(header: usize, gen: u32, label: usize, site: usize): void;
declare function __arena_scope_unwind(header: usize, gen: u32): void;
declare function __arena_scope_owner(ptr: usize): usize;
declare function __arena_owner_enter(ptr: usize): usize;
declare function __arena_copy(ptr: usize, to: usize): usize;
declare function __arena_move(ptr: usize, to: usize, site: usize): usize;
declare function __arena_report_disposed(label: usize, site: usize): void;
declare function __arena_overflow(size: usize): void;
declare function __arena_check_live(ptr: usize): void;
declare function __arena_new_uninit(size: usize, id: u32): usize;
declare function __arena_scope_mark_run(header: usize): void;
declare function __arena_in_run_scope(): bool;
declare function __arena_report_uninit(index: usize, length: usize, site: usize): void;

// Defined only in the check build (`arena build --check` passes `--use ARENA_CHECK=1`); code
// tests it with isDefined(ARENA_CHECK), which asc folds at compile time.
declare const ARENA_CHECK: i32;

// AssemblyScript's standard library module that formats numbers; asc resolves it in its
// own library, tsc would otherwise type-check the library's sources (which tsc rejects).
declare module "util/number" {
  export function dtoa_buffered<T extends number>(buffer: usize, value: T): u32;
}
