// Patches to AssemblyScript's standard library that the Arena runtime needs, applied to the
// compiler's in-memory copy of the library before every build.
//
// Why: a Map or Set made at start-up (`const notes = new Map<u32, Note>()`) and filled
// during requests replaces its tables with `new ArrayBuffer(...)` when it grows, shrinks or
// is cleared. With a garbage collector the old tables are collected; in Arena the new ones
// would land in the request's arena (reset when the request ends) and the old ones would
// never be freed. The patch makes those allocations go to the region that owns the map
// (runtime/arena.ts: `__arena_owner_enter`, the heap for a long-lived map while a request
// runs) and gives the replaced tables back (`__arena_release`, a no-op outside the heap).
// Arrays need no patch: they grow with __renew, which the runtime routes the same way.
//
// The patch is text replacement on exact lines of the pinned compiler version; if a line
// is not found (another compiler version), the build stops with a clear error instead of
// silently producing maps that leak.

import { ArenaError } from "../host/index.ts";

interface Edit {
  file: string;
  /** Exact text in the library file; must occur `count` times. */
  find: string;
  replace: string;
  count: number;
}

const SAVE = "let arenaSaved = __arena_owner_enter(changetype<usize>(this));";
const RELEASE = "__arena_release(changetype<usize>(this.buckets)); __arena_release(changetype<usize>(this.entries));";

function tableEdits(file: string, entry: string): Edit[] {
  return [
    {
      // rehash: allocate the new tables in the owner's region.
      file,
      find: "  private rehash(newBucketsMask: u32): void {\n",
      replace: `  private rehash(newBucketsMask: u32): void {\n    ${SAVE}\n`,
      count: 1,
    },
    {
      // rehash: free the old tables once their entries are copied, then leave the owner's region.
      file,
      find: "    this.buckets = newBuckets;\n    this.bucketsMask = newBucketsMask;\n    this.entries = newEntries;\n" +
        "    this.entriesCapacity = newEntriesCapacity;\n    this.entriesOffset = this.entriesCount;\n  }\n",
      replace: `    ${RELEASE}\n    this.buckets = newBuckets;\n    this.bucketsMask = newBucketsMask;\n    this.entries = newEntries;\n` +
        "    this.entriesCapacity = newEntriesCapacity;\n    this.entriesOffset = this.entriesCount;\n    __arena_switch(arenaSaved);\n  }\n",
      count: 1,
    },
    {
      // clear: the same for the fresh tables of an emptied map.
      file,
      find: "  clear(): void {\n    this.buckets = new ArrayBuffer(INITIAL_CAPACITY * <i32>BUCKET_SIZE);\n    this.bucketsMask = INITIAL_CAPACITY - 1;\n" +
        `    this.entries = new ArrayBuffer(INITIAL_CAPACITY * <i32>ENTRY_SIZE<${entry}>());\n` +
        "    this.entriesCapacity = INITIAL_CAPACITY;\n    this.entriesOffset = 0;\n    this.entriesCount = 0;\n  }\n",
      replace: `  clear(): void {\n    ${SAVE}\n    ${RELEASE}\n    this.buckets = new ArrayBuffer(INITIAL_CAPACITY * <i32>BUCKET_SIZE);\n    this.bucketsMask = INITIAL_CAPACITY - 1;\n` +
        `    this.entries = new ArrayBuffer(INITIAL_CAPACITY * <i32>ENTRY_SIZE<${entry}>());\n` +
        "    this.entriesCapacity = INITIAL_CAPACITY;\n    this.entriesOffset = 0;\n    this.entriesCount = 0;\n    __arena_switch(arenaSaved);\n  }\n",
      count: 1,
    },
  ];
}

const EDITS: Edit[] = [...tableEdits("map", "K,V"), ...tableEdits("set", "T")];

/** Marker that a library file was patched, so a second build in the same process does not
 *  patch it twice. */
const MARK = "// patched by arena build (cli/stdlib_patch.ts)\n";

/** Applies the patches to asc's `libraryFiles` (name → source text), in place, once. */
export function patchStdlib(libraryFiles: Record<string, string>): void {
  const files = new Set(EDITS.map((e) => e.file));
  for (const file of files) {
    const original = libraryFiles[file];
    if (original === undefined) {
      throw new ArenaError("ARENA_E_BUILD", `the AssemblyScript library has no '${file}' file to patch`, "reinstall with npm ci (assemblyscript is pinned in package.json)");
    }
    if (original.startsWith(MARK)) continue;
    let text = original;
    for (const edit of EDITS.filter((e) => e.file === file)) {
      const found = text.split(edit.find).length - 1;
      if (found !== edit.count) {
        throw new ArenaError("ARENA_E_BUILD", `cannot patch the AssemblyScript library's ${file}.ts (expected text found ${found} times, not ${edit.count})`,
          "use the AssemblyScript version pinned in package.json (npm ci)");
      }
      text = text.split(edit.find).join(edit.replace);
    }
    libraryFiles[file] = MARK + text;
  }
}
