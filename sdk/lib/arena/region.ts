// Regions from the app's side: scoped arenas (Scratch), and copy and move between regions.
// runtime/scope.ts carves and disposes scopes, runtime/keep.ts copies object graphs;
// docs/regions.md says when to use which region.

// @ts-ignore: decorator
@external("arena", "scope_call")
declare function hostScopeCall(fn: usize, scratch: usize, ctx: usize): i32;

/** What kind of memory a `Region` is. `if (Region.current().kind == RegionKind.Scratch) …` */
export enum RegionKind {
  /** The request's arena: everything a handler allocates, reset when the response is written. */
  Request = 0,
  /** A scoped arena carved from another region (`Scratch`), disposed by the app. */
  Scratch = 1,
  /** The heap region: individual frees, outlives requests (`Heap.keep`). */
  Heap = 2,
  /** The startup region: what the app's top-level code builds, never given back. */
  Startup = 3,
}

/**
 * A region as a target for `Regions.copy` and `Regions.move`, and the base of `Scratch`. A
 * handle records the region's generation: using one after its region was disposed (or its
 * request ended) stops the request with a message that names the region, in every build.
 *
 * ```ts
 * let kept = Regions.copy(summary, Region.heap());       // like Heap.keep
 * let back = Regions.copy(kept!, Region.request());      // a copy in the request's arena
 * ```
 */
export class Region {
  /** Made by `Region.request()`, `Region.heap()`, `Region.current()` and `Scratch.enter`. */
  // @ts-ignore: decorator
  @unsafe constructor(
    /** The region's header address (the platform's). */ public readonly header: usize,
    /** The region's generation (the platform's). */ public readonly gen: u32,
    /** What kind of region this is. */
    public readonly kind: RegionKind,
    /** The label a Scratch was made with ("" for none and for the other kinds). */
    public readonly label: string = "",
    /** Where a Scratch was made ("app.ts:14", filled in by `arena build`). */
    public readonly site: string = "",
  ) {}

  /** The running request's arena (the startup region in start-up code), whatever scratch
   *  arenas are entered. `let out = Regions.copy(result, Region.request());` */
  static request(): Region {
    let header = __arena_request_region();
    let kind = __arena_current_id() == 0xFFFFFFFF ? RegionKind.Startup : RegionKind.Request;
    return new Region(header, __arena_region_gen(header), kind);
  }

  /** The heap region: copies there outlive the request (`Regions.copy(v, Region.heap())`
   *  is `Heap.keep(v)`). `let kept = Regions.copy(note, Region.heap());` */
  static heap(): Region {
    return new Region(0, 0, RegionKind.Heap);
  }

  /** The region new objects go to right now: a Scratch while one is entered, else the
   *  request's arena. `log.info("where", new LogFields().num("kind", <f64>Region.current().kind));` */
  static current(): Region {
    let header = __arena_current();
    let kind = __arena_current_id() == 0xFFFFFFFF ? RegionKind.Startup : RegionKind.Request;
    if (header != __arena_request_region()) kind = RegionKind.Scratch;
    return new Region(header, __arena_region_gen(header), kind);
  }

  /** Whether the region is still there: not disposed, and its request not over. The heap
   *  always is. `if (!scratch.live) return;` */
  get live(): bool {
    return this.kind == RegionKind.Heap || __arena_region_live(this.header, this.gen);
  }

  /** Bytes allocated in the region so far (a request's arena counts the request the host
   *  wrote into it). `let before = Region.current().used;` */
  get used(): usize {
    if (this.kind == RegionKind.Heap) return __arena_heap_used();
    this.checkLive();
    return __arena_region_used(this.header);
  }

  /** Stops the request with a message naming the region when it is no longer live. */
  // @ts-ignore: decorator
  @unsafe checkLive(): void {
    if (!this.live) __arena_report_disposed(changetype<usize>(this.label), changetype<usize>(this.site));
  }
}

/** What `Scratch.run` answers. `if (Scratch.run(64 << 10, parse, ctx) != ScratchResult.Ok) return Response.text("too large\n", 413);` */
export enum ScratchResult {
  /** The function ran to its end; the scratch arena is disposed. */
  Ok = 0,
  /** The function asked for more than the scratch arena holds: it was stopped there, and
   *  the scratch arena (with everything made in it) is disposed. */
  Full = 1,
  /** The current region had no room to carve the scratch arena; the function did not run. */
  NoRoom = 2,
}

/**
 * A scoped arena: memory carved from the top of the current region, entered so that every
 * allocation lands in it, and disposed in O(1) with everything in it. Parse a large
 * document in one, copy the small result out, dispose: the request's peak drops by what
 * the parse used (the memory report shows it). Scratch arenas nest, and are disposed last
 * in, first out.
 *
 * Exceeding one is chosen when it is made: `Scratch.enter` stops the request with 500
 * ARENA_E_MEMORY naming the scratch; `Scratch.run` runs a function in one and answers
 * `ScratchResult.Full` instead.
 *
 * ```ts
 * function total(req: Request): Response {
 *   let scratch = Scratch.enter(256 << 10, "parse");   // allocations land here now
 *   let doc = Json.parse(req.body);                     // the big parse
 *   let sum = doc.root.get("items").length;             // a number: nothing to copy
 *   let name = scratch.copyOut(doc.root.get("name").str())!; // a string: copy it out
 *   scratch.dispose();                                  // O(1): the parse is gone
 *   return Response.text(name + ": " + sum.toString() + "\n");
 * }
 * ```
 */
export class Scratch extends Region {
  /** Made by `Scratch.enter`, `Scratch.tryEnter` and `Scratch.run`. */
  // @ts-ignore: decorator
  @unsafe constructor(
    header: usize, gen: u32, label: string, site: string,
    private readonly parent: usize,
    private readonly parentGen: u32,
  ) {
    super(header, gen, RegionKind.Scratch, label, site);
  }

  /**
   * Carves a scratch arena of `bytes` from the current region and enters it. When the
   * current region has no room for it, or code in it asks for more than `bytes`, the
   * request stops with 500 ARENA_E_MEMORY naming the scratch. `label` names it in errors;
   * `site` is filled in by `arena build`.
   *
   * `let scratch = Scratch.enter(128 << 10, "render");`
   */
  static enter(bytes: usize, label: string = "", site: string = ""): Scratch {
    let scratch = Scratch.tryEnter(bytes, label, site);
    if (scratch === null) __arena_overflow(bytes);
    return scratch!;
  }

  /** `Scratch.enter`, but `null` when the current region has no room for `bytes` more.
   *  `let scratch = Scratch.tryEnter(1 << 20); if (scratch === null) return Response.text("busy\n", 503);` */
  static tryEnter(bytes: usize, label: string = "", site: string = ""): Scratch | null {
    let parent = __arena_current();
    let parentGen = __arena_region_gen(parent);
    // The handle lives in the parent, so it outlives the scratch: using it after dispose is
    // then caught, never a read of freed memory.
    let scratch = new Scratch(0, 0, label, site, parent, parentGen);
    let header = __arena_scope_enter(bytes, changetype<usize>(label), changetype<usize>(site));
    if (header == 0) return null;
    store<usize>(changetype<usize>(scratch), header, offsetof<Region>("header"));
    store<u32>(changetype<usize>(scratch), __arena_region_gen(header), offsetof<Region>("gen"));
    return scratch;
  }

  /**
   * Runs `fn(scratch, ctx)` in a new scratch arena of `bytes` and disposes it afterwards.
   * When `fn` asks for more than `bytes`, it is stopped there and `run` answers
   * `ScratchResult.Full`: the request goes on. `fn` hands its result back through `ctx`,
   * copied out with `scratch.copyOut`. `fn` cannot wait (fetch, sleep): waiting inside it
   * stops the request with a message saying so; use `Scratch.enter` around code that waits.
   *
   * ```ts
   * class Parsed { constructor(public body: Uint8Array, public name: string = "") {} }
   * function parse(s: Scratch, out: Parsed): void {
   *   let doc = Json.parse(out.body);
   *   out.name = s.copyOut(doc.root.get("name").str())!;
   * }
   * let out = new Parsed(req.body);
   * if (Scratch.run(64 << 10, parse, out) == ScratchResult.Full) return Response.text("too big\n", 413);
   * ```
   */
  static run<C>(bytes: usize, fn: (scratch: Scratch, ctx: C) => void, ctx: C, label: string = "", site: string = ""): ScratchResult {
    if (!isReference<C>()) ERROR("Scratch.run passes its context as an object: give it an instance of a class of yours");
    let scratch = Scratch.tryEnter(bytes, label, site);
    if (scratch === null) return ScratchResult.NoRoom;
    __arena_scope_mark_run(scratch.header);
    let status = hostScopeCall(changetype<usize>(fn), changetype<usize>(scratch), changetype<usize>(ctx));
    if (status != 0) {
      __arena_scope_unwind(scratch.header, scratch.gen);
      return ScratchResult.Full;
    }
    scratch.dispose();
    return ScratchResult.Ok;
  }

  /** Bytes this scratch arena can still allocate. `if (scratch.room < 4096) …` */
  get room(): usize {
    this.checkLive();
    return __arena_region_room(this.header);
  }

  /**
   * Copies `value` (strings, ArrayBuffers, typed arrays, Arrays, your classes, deeply) into
   * the region this scratch was entered from, so that it survives `dispose`. `null` when
   * that region has no room (nothing is left allocated then).
   *
   * `let name = scratch.copyOut(doc.root.get("name").str());`
   */
  copyOut<T>(value: T): T | null {
    this.checkLive();
    let parent = new Region(this.parent, this.parentGen, RegionKind.Request, this.label, this.site);
    return Regions.copy<T>(value, parent);
  }

  /**
   * Gives the scratch arena back to the region it was carved from, in O(1), with every
   * object made in it, and re-enters that region. It must be the current region: disposing
   * it while a scratch made inside it is still entered, or disposing it twice, stops the
   * request with a message naming it (in every build). In the check build its memory is
   * poisoned, so a later read of an object made in it shows or traps.
   *
   * `scratch.dispose();`
   */
  dispose(): void {
    __arena_scope_dispose(this.header, this.gen, changetype<usize>(this.label), changetype<usize>(this.site));
  }
}

/**
 * Copy and move between regions. Both copy deeply: strings, ArrayBuffers, typed arrays,
 * Arrays, StaticArrays and instances of your own classes; objects made at start-up (and
 * string literals) outlive every region and are shared, not copied. A Map or Set cannot be
 * copied (build it at start-up). The shared region and device regions hold bytes, not
 * objects: `Shared.set` and the device transfers copy into them.
 *
 * ```ts
 * let kept = Regions.move(note, Region.heap());    // the request's note is given up
 * if (kept === null) return Response.text("heap full\n", 507);
 * ```
 */
export namespace Regions {
  /**
   * A deep copy of `value` in `to`; the source stays valid. `null` when `to` cannot hold it
   * (nothing is left allocated). Copying into a region that is no longer live stops the
   * request with a message naming it.
   *
   * `let copy = Regions.copy(doc.root.get("name").str(), Region.request());`
   */
  export function copy<T>(value: T, to: Region): T | null {
    if (!isReference<T>()) ERROR("Regions.copy copies objects; a number or bool can be assigned as it is");
    let ptr = changetype<usize>(value);
    if (ptr == 0) return changetype<T | null>(0);
    to.checkLive();
    let copied = __arena_copy(ptr, to.header);
    return copied == 0 ? null : changetype<T>(copied);
  }

  /**
   * `copy`, then the source is given up: a heap source is freed (as `Heap.free` does), and
   * in the check build a source in a request or scratch arena is marked moved and poisoned,
   * so a later use of it stops the request with a message naming where it went. Objects the
   * source references in longer-lived regions stay valid. `site` is filled in by `arena build`.
   *
   * `let kept = Regions.move(draft, Region.heap());`
   */
  export function move<T>(value: T, to: Region, site: string = ""): T | null {
    if (!isReference<T>()) ERROR("Regions.move moves objects; a number or bool can be assigned as it is");
    let ptr = changetype<usize>(value);
    if (ptr == 0) return changetype<T | null>(0);
    to.checkLive();
    let moved = __arena_move(ptr, to.header, changetype<usize>(site));
    return moved == 0 ? null : changetype<T>(moved);
  }
}
