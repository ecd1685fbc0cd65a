// The heap region from the app's side: state that outlives a request. docs/regions.md
// explains the lifetimes; runtime/keep.ts does the copying and runtime/heap.ts the
// allocation (TLSF: O(1) alloc and free, in a zone of fixed size, --heap-bytes).

/**
 * The heap region: memory that outlives requests, with individual frees. Everything a
 * handler allocates lives in the request's arena and is gone when the request ends; what
 * the app wants to keep, it copies into the heap with `Heap.keep` and gives back with
 * `Heap.free`. A full heap is a value (`null`), never a trap.
 *
 * Containers made at start-up grow in the heap by themselves: `push` on a top-level array
 * and `set` on a top-level Map or Set allocate their new storage in the heap. What they
 * hold must be heap (or start-up) objects too, which is what `keep` makes.
 *
 * ```ts
 * const notes = new Map<u32, Note>();          // made at start-up
 *
 * function create(req: Request): Response {
 *   let note = Heap.keep(new Note(nextId++, title, body));   // copy out of the arena
 *   if (note === null) return Response.json('{"code":"HEAP_FULL"}', 507);
 *   notes.set(note.id, note);
 *   return Response.text("created", 201);
 * }
 *
 * function remove(id: u32): void {
 *   if (!notes.has(id)) return;
 *   let note = notes.get(id);
 *   notes.delete(id);
 *   Heap.free(note);                           // the note and its strings
 * }
 * ```
 */
export namespace Heap {
  /**
   * Copies `value` and everything it references into the heap and returns the copy, or
   * `null` when the heap cannot hold it (nothing is left allocated then). Strings,
   * ArrayBuffers, typed arrays, Arrays, StaticArrays and instances of your own classes
   * are copied deeply; objects made at start-up (and string literals) are shared, not
   * copied. A Map or Set cannot be kept (build it at start-up instead), nor a graph
   * deeper than 64 levels; both stop the request with a clear error.
   *
   * `let title = Heap.keep(req.query("title"));  // string | null`
   */
  export function keep<T>(value: T): T | null {
    if (!isReference<T>()) ERROR("Heap.keep copies objects; a number or bool can be stored as it is");
    let ptr = changetype<usize>(value);
    if (ptr == 0) return changetype<T | null>(0);
    let kept = __arena_keep(ptr);
    return kept == 0 ? null : changetype<T>(kept);
  }

  /**
   * Frees a value `keep` returned, with everything it references in the heap. Values
   * outside the heap (start-up objects, literals) are left alone. Freeing the same value
   * twice stops the request with a clear error; using a value after freeing it reads
   * memory another value may own, so drop every reference to it first (e.g. delete it from
   * the map that held it).
   *
   * `notes.delete(id); Heap.free(note);`
   */
  export function free<T>(value: T): void {
    if (!isReference<T>()) ERROR("Heap.free frees objects that Heap.keep returned");
    __arena_free(changetype<usize>(value));
  }

  /** Bytes in use in the heap, block headers included. `log.info("heap", new LogFields().num("used", <f64>Heap.used()))` */
  export function used(): usize {
    return __arena_heap_used();
  }

  /** Bytes the heap holds when empty: about --heap-bytes. `let free = Heap.capacity() - Heap.used();` */
  export function capacity(): usize {
    return __arena_heap_capacity();
  }
}
