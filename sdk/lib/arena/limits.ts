// SDK-side limits, each a named constant with the reason for its value. (The host's limits,
// which protect the process, are in host/limits.ts; these protect an app's own code.)

/**
 * Deepest nesting of arrays and objects `Json.parse` accepts (and `JsonWriter` writes).
 * The parser itself is iterative, but the code that walks a document usually recurses, so
 * 128 (serde_json's default) bounds that recursion on the wasm stack while staying far
 * beyond real documents, which rarely nest past 20.
 *
 * ```ts
 * if (depth > JSON_DEPTH_MAX) return Response.text("too deep\n", 400);
 * ```
 */
export const JSON_DEPTH_MAX: i32 = 128;

/**
 * Member positions a `JsonFields` remembers from one pick to the next (16 bytes each): the
 * objects of an array usually share a shape, so the names at the first 32 positions are
 * matched by one comparison; members past it are matched against every key, as always.
 *
 * ```ts
 * // objects with up to PICK_MEMO_MEMBERS members pick at their fastest
 * ```
 */
export const PICK_MEMO_MEMBERS: i32 = 32;

/**
 * Largest input `Json.parse` and `Json.read` accept, in bytes: the structural index holds
 * u32 offsets, and 128 MiB is far past any request body an arena can hold.
 *
 * ```ts
 * if (req.body.length > JSON_INPUT_BYTES_MAX) return Response.text("too large\n", 413);
 * ```
 */
export const JSON_INPUT_BYTES_MAX: i32 = (1 << 27) - 1;

/**
 * Arena bytes a parse leaves free. The structural index (4 bytes per bracket, comma, colon
 * and quote, and as much again for the skip table beside it) grows in the request's arena;
 * a dense document near the body limit may not fit, and then `Json.parse` / `Json.read`
 * return `doc.ok == false` ("document too large for the request's arena") with this much
 * left for the app's error response, instead of stopping the request.
 *
 * ```ts
 * let doc = Json.parse(req.body);
 * if (!doc.ok) return Response.json('{"code":"BAD_JSON"}', 400);
 * ```
 */
export const JSON_ARENA_RESERVE_BYTES: usize = 16 * 1024;
