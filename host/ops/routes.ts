// A worker's routes, as the metrics and the access log name them. The app reports a
// request's route as a pattern string in its startup region (a pointer and a length in the
// slot's context); decoding it per request would allocate a string each time, so each
// build's (pointer, length) pairs are kept in a small open-addressing table of Int32s and
// decoded only the first time. A pattern maps to a local route (its JSON-quoted name for
// the access log) and to a row of the worker's metrics block: the block's route table
// holds the names (the primary reads them from there), at most METRICS_ROUTES_MAX of them,
// past which a route is counted under "other".

import type { App } from "../abi/app.ts";
import { METRICS_ROUTE_KEYS_MAX, METRICS_ROUTE_NAME_BYTES_MAX, METRICS_ROUTES_MAX } from "../limits.ts";
import { B_NAMES, I_NAME_LENS, I_ROUTE_COUNT, ROW_FIRST, ROW_OTHER, ROWS } from "./layout.ts";

const utf8 = new TextDecoder("utf-8");
const encoder = new TextEncoder();

/** Slots of a build's key table: twice the local routes, so a probe stays short. */
const KEY_SLOTS = METRICS_ROUTE_KEYS_MAX * 2;
/** Longest route name in an access log line: a stored name with every byte escaped. */
export const ROUTE_JSON_BYTES_MAX = 6 * METRICS_ROUTE_NAME_BYTES_MAX + 2;

/** The names of the rows in use of the block at `base` (bytes) in `buffer`, by row. */
export function rowNames(buffer: SharedArrayBuffer, base: number): string[] {
  const i32 = new Int32Array(buffer, base, ROWS + 16);
  const u8 = new Uint8Array(buffer, base + B_NAMES, ROWS * METRICS_ROUTE_NAME_BYTES_MAX);
  const count = Math.min(Atomics.load(i32, I_ROUTE_COUNT), METRICS_ROUTES_MAX);
  const names = ["none", "other"];
  for (let row = ROW_FIRST; row < ROW_FIRST + count; row++) {
    const len = Atomics.load(i32, I_NAME_LENS + row);
    const at = row * METRICS_ROUTE_NAME_BYTES_MAX;
    // Copied out of the shared buffer: TextDecoder does not read shared memory.
    names.push(utf8.decode(u8.slice(at, at + len)));
  }
  return names;
}

/** One build's pattern keys: KEY_SLOTS slots of [ptr, len, local route] (len 0: empty). */
interface BuildKeys {
  app: App;
  keys: Int32Array;
  /** Slots in use: at most half of them, so a probe stays short. */
  used: number;
}

export class WorkerRoutes {
  /** Per local route: its metrics row. */
  readonly rowOf = new Int32Array(METRICS_ROUTE_KEYS_MAX);
  /** Per local route: its name as a JSON string, quotes included, in UTF-8. */
  readonly json: Uint8Array[] = [];
  private readonly i32: Int32Array;
  private readonly names: Uint8Array;
  private readonly byName = new Map<string, number>();
  /** Key tables of the builds seen: [ptr, len, local route] per slot. Held weakly: a build
   *  a reload dropped must be freed with its memory, not kept alive by its table. */
  private readonly builds = new WeakMap<App, BuildKeys>();

  /** The routes of the block at `base` (bytes) in `buffer`; a block a previous worker wrote
   *  keeps its rows, so a replacement counts on in them. */
  constructor(buffer: SharedArrayBuffer, base: number) {
    this.i32 = new Int32Array(buffer, base, ROWS + 16);
    this.names = new Uint8Array(buffer, base + B_NAMES, ROWS * METRICS_ROUTE_NAME_BYTES_MAX);
    const names = rowNames(buffer, base);
    for (let row = ROW_FIRST; row < names.length; row++) this.addLocal(names[row], row);
  }

  /** The local route of the pattern at [ptr, ptr + len) of `app`'s memory, or -1 when
   *  METRICS_ROUTE_KEYS_MAX patterns are known already (then it counts as "other"). */
  route(app: App, ptr: number, len: number): number {
    const build = this.keysOf(app);
    const keys = build.keys;
    let i = ((Math.imul(ptr, 0x9e3779b1) ^ len) >>> 0) % KEY_SLOTS;
    for (;; i = (i + 1) % KEY_SLOTS) {
      const at = i * 3;
      if (keys[at + 1] === 0) return this.learn(build, at, ptr, len);
      if (keys[at] === ptr && keys[at + 1] === len) return keys[at + 2];
    }
  }

  /** The metrics row of a local route (-1: "other"). */
  row(local: number): number {
    return local < 0 ? ROW_OTHER : this.rowOf[local];
  }

  private keysOf(app: App): BuildKeys {
    let build = this.builds.get(app);
    if (build === undefined) {
      build = { app, keys: new Int32Array(KEY_SLOTS * 3), used: 0 };
      this.builds.set(app, build);
    }
    return build;
  }

  /** A pattern seen for the first time in this build: decode it, find or make its local
   *  route, and remember the pair in the empty key slot at `at`. */
  private learn(build: BuildKeys, at: number, ptr: number, len: number): number {
    const name = utf8.decode(build.app.memory.u8.subarray(ptr, ptr + len));
    let local = this.byName.get(name);
    if (local === undefined) {
      if (this.json.length >= METRICS_ROUTE_KEYS_MAX) return -1;
      local = this.addLocal(name, this.newRow(name));
    }
    // A full table would make every probe run to the end: keep half of it free (a pattern
    // past that is decoded each time: an app with over a thousand routes).
    if (build.used < METRICS_ROUTE_KEYS_MAX) {
      const keys = build.keys;
      build.used++;
      keys[at] = ptr;
      keys[at + 1] = len;
      keys[at + 2] = local;
    }
    return local;
  }

  private addLocal(name: string, row: number): number {
    const local = this.json.length;
    const json = encoder.encode(JSON.stringify(name));
    // The access log's lines are bounded: a longer name (never one of the block's) is "other".
    this.json.push(json.length <= ROUTE_JSON_BYTES_MAX ? json : encoder.encode('"other"'));
    this.rowOf[local] = row;
    this.byName.set(name, local);
    return local;
  }

  /** Names `name` in the block's next row and publishes it (its bytes first, then its
   *  length, then the count, so the primary never reads a half-written name); ROW_OTHER
   *  when the table is full or the name too long to store whole. */
  private newRow(name: string): number {
    const count = Atomics.load(this.i32, I_ROUTE_COUNT);
    if (count >= METRICS_ROUTES_MAX) return ROW_OTHER;
    const bytes = encoder.encode(name);
    if (bytes.length > METRICS_ROUTE_NAME_BYTES_MAX) return ROW_OTHER;
    const row = ROW_FIRST + count;
    this.names.set(bytes, row * METRICS_ROUTE_NAME_BYTES_MAX);
    Atomics.store(this.i32, I_NAME_LENS + row, bytes.length);
    Atomics.store(this.i32, I_ROUTE_COUNT, count + 1);
    return row;
  }
}
