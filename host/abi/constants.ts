// Host side of the host/app ABI (docs/abi.md). The same numbers appear in sdk/lib/arena/abi.ts and
// runtime/arena.ts for the app side; tests/abi_constants.test.ts keeps them equal.
//
// Slot layout as the host writes it before calling `arena_handle`:
//
//   slot base
//   ├─ region header ─┬─ request descriptor ─┬─ header table ─┬─ head bytes ─┬─ address ─┬─ pad ─┬─ body ─┬─ app heap … ─┬─ response head reserve ─┤
//   │ 32 B (runtime)  │ 96 B (host + app)    │ 16 B × fields  │ request line │ client's  │ ≥32 B │ 16-B   │ bump alloc   │ RESPONSE_HEAD_BYTES_MAX │
//   │                 │                      │                │ + fields     │ ≤ 64 B    │       │ aligned│              │ host writes the head    │
//
// Every pointer in the descriptor is absolute (a byte address in the wasm memory) and
// every length is in bytes; strings are UTF-8 (request bytes are passed as received).

/** Region header, written by the runtime (runtime/region.ts); the host reads PTR and END
 *  (to write effect results at the top) and PEAK (the memory report). */
export const REGION_PTR = 0;
export const REGION_END = 4;
export const REGION_START = 8;
export const REGION_ID = 12;
export const REGION_KIND = 16;
export const REGION_PARENT = 20;
export const REGION_GEN = 24;
export const REGION_PEAK = 28;
export const REGION_HEADER_BYTES = 32;
/** A scoped arena's header adds these to the region header (runtime/scope.ts): the
 *  parent's END before the carve, and the label and site strings it names itself with. */
export const SCOPE_CAP_END = 32;
export const SCOPE_LABEL = 36;
export const SCOPE_SITE = 40;
export const SCOPE_FLAGS = 44;
export const SCOPE_HEADER_BYTES = 48;
/** A scope takes its header and 16 bytes for its first block's header and alignment on top
 *  of the bytes it was asked for (rounded up to 16). */
export const SCOPE_OVERHEAD_BYTES = 64;
export const REGION_ID_STARTUP = 0xffffffff;

/** Request descriptor, at slot base + REGION_HEADER_BYTES. The host writes REQ_* fields;
 *  the app writes RES_* fields before `arena_handle` returns ARENA_OK. */
export const REQ_METHOD_PTR = 0;
export const REQ_METHOD_LEN = 4;
export const REQ_PATH_PTR = 8;
export const REQ_PATH_LEN = 12;
export const REQ_QUERY_PTR = 16;
export const REQ_QUERY_LEN = 20;
export const REQ_HEADERS_PTR = 24;
export const REQ_HEADER_COUNT = 28;
export const REQ_BODY_PTR = 32;
export const REQ_BODY_LEN = 36;
export const REQ_VERSION_MINOR = 40;
export const REQ_SLOT = 44;
export const REQ_ID = 48;
/** Bit 0 (REQ_FLAG_MAY_WAIT): the host called through JSPI, so effects may suspend. */
export const REQ_FLAGS = 52;
export const REQ_FLAG_MAY_WAIT = 1;
/** The client's address as text (`127.0.0.1`, `::1`; an IPv4-mapped IPv6 address as its
 *  IPv4 form), ASCII, written after the head bytes; length 0 when the socket has none. */
export const REQ_REMOTE_ADDR_PTR = 56;
export const REQ_REMOTE_ADDR_LEN = 60;
export const RES_STATUS = 64;
export const RES_HEADERS_PTR = 68;
export const RES_HEADERS_LEN = 72;
export const RES_BODY_PTR = 76;
export const RES_BODY_LEN = 80;
/** A device handle (Device.alloc, Device.open; an f64, 8-byte aligned) whose whole buffer
 *  is the body, sent from the host's memory without a copy into the slot; 0 (what the host
 *  wrote) for a body in the arena. With a handle, RES_BODY_LEN must be 0. */
export const RES_BODY_DEVICE = 88;
export const REQ_DESC_BYTES = 96;

/** One header table entry: name ptr, name len, value ptr, value len (u32 each). */
export const HEADER_ENTRY_BYTES = 16;

/** Bytes before the body that belong to the app: AssemblyScript writes an object header
 *  there so the body can be used as an ArrayBuffer without a copy. */
export const BODY_HEADROOM_BYTES = 32;

/** Statuses `arena_handle` returns. */
export const ARENA_OK = 0;
export const ARENA_NO_HANDLER = 1;
/** The matched route is known to wait on effects: call again through JSPI. */
export const ARENA_NEEDS_ASYNC = 2;

/**
 * Effect statuses: what every effect import returns. 0 is success; the others are errors
 * the app can match on (the SDK names them FetchError.*). They are values, never traps.
 */
export const EFFECT_OK = 0;
export const EFFECT_BAD_URL = 1;
export const EFFECT_DNS = 2;
export const EFFECT_REFUSED = 3;
export const EFFECT_TIMEOUT = 4;
export const EFFECT_RESET = 5;
export const EFFECT_TOO_LARGE = 6;
export const EFFECT_PROTOCOL = 7;
export const EFFECT_CANCELLED = 8;
export const EFFECT_UNAVAILABLE = 9;
export const EFFECT_NETWORK = 10;
export const EFFECT_BAD_ARGUMENT = 11;
/** The TLS handshake failed: an unknown authority, a certificate not valid for the host,
 *  expired, or no protocol both sides speak (the message says which). */
export const EFFECT_TLS = 12;

/**
 * Shared-region statuses (`arena.shared_*`, host/effects/shared.ts): what a set, a get, a
 * delete or a counter's naming answers. An import that returns a length or an index answers
 * a failure as the negated status. The SDK names the first three SharedSet.*.
 */
export const SHARED_OK = 0;
export const SHARED_FULL = 1;
export const SHARED_TOO_LARGE = 2;
export const SHARED_ABSENT = 3;
export const SHARED_BAD_ARGUMENT = 4;

/**
 * Device-region statuses (`arena.device_*`, host/effects/device.ts): what an open, an
 * allocation, a read, a write or a free answers. An import that returns a handle or a size
 * answers a failure as the negated status. The SDK names them DeviceStatus.*.
 */
export const DEVICE_OK = 0;
/** The handle was freed, belongs to a build a reload replaced, or was never given. */
export const DEVICE_STALE = 1;
/** An offset and length outside the buffer, or a size over DEVICE_BUFFER_BYTES_MAX. */
export const DEVICE_RANGE = 2;
/** The region's bound (--device-bytes) or the build's DEVICE_HANDLES_MAX handles are used up. */
export const DEVICE_FULL = 3;
/** No static file at that path (--static). */
export const DEVICE_ABSENT = 4;
/** A write to or a free of a static file's handle. */
export const DEVICE_READ_ONLY = 5;
/** A pointer or length the caller may not pass. */
export const DEVICE_BAD_ARGUMENT = 6;
/** The bytes to read do not fit what is left of the caller's arena: the SDK answers it
 *  before it allocates (the host never does; a read into memory the caller owns is
 *  DEVICE_BAD_ARGUMENT when it is not the caller's). */
export const DEVICE_NO_ROOM = 7;

/**
 * SQLite statuses (`arena.sqlite_*`, host/effects/sqlite.ts): what a query, a transaction
 * step, an open, a prepare or a migration answers. Failures are values with SQLite's
 * message in the result; none of them traps. The SDK names them SqlStatus.*.
 */
export const SQL_OK = 0;
/** Any other SQLite error: syntax, no such table, a type the statement cannot take. */
export const SQL_ERROR = 1;
/** A UNIQUE, NOT NULL, CHECK or FOREIGN KEY constraint failed: nothing was changed. */
export const SQL_CONSTRAINT = 2;
/** The database stayed locked by another connection past the busy timeout. */
export const SQL_BUSY = 3;
/** More rows than SQLITE_ROWS_MAX, or a result larger than the buffer the caller passed. */
export const SQL_TOO_LARGE = 4;
/** A handle the host never gave, a pointer the caller may not pass, a bad argument cell. */
export const SQL_BAD_ARGUMENT = 5;
/** Not allowed here: open, prepare and migrate outside start-up code, no database. */
export const SQL_UNAVAILABLE = 6;
/** The request was cancelled (its client left or its deadline passed): nothing ran. */
export const SQL_CANCELLED = 7;

/** Storage classes of an argument or result cell (SQL_CELL_TYPE). */
export const SQL_TYPE_NULL = 0;
export const SQL_TYPE_INTEGER = 1;
export const SQL_TYPE_FLOAT = 2;
export const SQL_TYPE_TEXT = 3;
export const SQL_TYPE_BLOB = 4;

/** One argument or result cell: its type (u32), the byte length of a text or blob (u32),
 *  and the value: an i64, an f64, or the absolute address (u32) of the text or blob bytes. */
export const SQL_CELL_TYPE = 0;
export const SQL_CELL_LEN = 4;
export const SQL_CELL_VALUE = 8;
export const SQL_CELL_BYTES = 16;

/** The header the host writes at the start of every result buffer. SQL_RES_BYTES is how
 *  much of the buffer it used (the caller gives back the rest); on failure the message,
 *  SQL_RES_ERROR_LEN bytes of UTF-8, follows the header. */
export const SQL_RES_BYTES = 0;
export const SQL_RES_ROWS = 4;
export const SQL_RES_COLUMNS = 8;
export const SQL_RES_ERROR_LEN = 12;
export const SQL_RES_CHANGES = 16;
export const SQL_RES_LAST_ROWID = 24;
export const SQL_RESULT_HEADER_BYTES = 32;

/** Each row: its byte length (u32; the next row starts that far on), 4 bytes unused, then
 *  one cell per column, then the row's text and blob bytes; rows are 8-byte aligned. */
export const SQL_ROW_BYTES = 0;
export const SQL_ROW_HEADER_BYTES = 8;

/** What `arena.sqlite_tx` does. */
export const SQL_TX_BEGIN = 0;
export const SQL_TX_COMMIT = 1;
export const SQL_TX_ROLLBACK = 2;


/**
 * Fetch descriptor: the app allocates FETCH_DESC_BYTES in its arena, fills the FETCH_*
 * request fields and passes the address to `arena.fetch`. The host fills the FETCH_RES_*
 * fields: on success the status, a header table (HEADER_ENTRY_BYTES entries) and the body,
 * all written into the request's own arena above what the app had allocated (the body
 * 16-byte aligned with BODY_HEADROOM_BYTES free before it, like the request body); on
 * failure a UTF-8 message saying what went wrong.
 */
export const FETCH_METHOD_PTR = 0;
export const FETCH_METHOD_LEN = 4;
export const FETCH_URL_PTR = 8;
export const FETCH_URL_LEN = 12;
/** Extra request header lines, "Name: value\r\n" each (the same form as a response's). */
export const FETCH_HEADERS_PTR = 16;
export const FETCH_HEADERS_LEN = 20;
export const FETCH_BODY_PTR = 24;
export const FETCH_BODY_LEN = 28;
/** Whole-exchange timeout in ms; 0 means the server's default. */
export const FETCH_TIMEOUT_MS = 32;
/** Largest response body accepted, in bytes; 0 means the server's default. */
export const FETCH_MAX_BYTES = 36;
export const FETCH_RES_STATUS = 40;
export const FETCH_RES_HEADERS_PTR = 44;
export const FETCH_RES_HEADER_COUNT = 48;
export const FETCH_RES_BODY_PTR = 52;
export const FETCH_RES_BODY_LEN = 56;
export const FETCH_RES_ERROR_PTR = 60;
export const FETCH_RES_ERROR_LEN = 64;
/** In a group (`arena.fetch_all`): this fetch's own EFFECT_* status. */
export const FETCH_RES_EFFECT = 68;
export const FETCH_DESC_BYTES = 80;
/** Fetches one `arena.fetch_all` call may start (host/limits.ts says why). */
export { PARALLEL_FETCHES_MAX } from "../limits.ts";

/** Log levels for `arena.log`. */
export const LOG_DEBUG = 0;
export const LOG_INFO = 1;
export const LOG_WARN = 2;
export const LOG_ERROR = 3;

/** Region id of the heap region, as the runtime reports it (runtime/report.ts). */
export const REGION_ID_HEAP = 0xFFFFFFFE;

/** Violation kinds reported through `arena.violation` (runtime/report.ts). */
export const VIOLATION_LINK = 1;
export const VIOLATION_SCOPE_ORDER = 6;
export const VIOLATION_DISPOSED = 7;
export const VIOLATION_SCOPE_LINK = 8;
export const VIOLATION_MOVED = 9;
export const VIOLATION_UNINIT = 10;
export const VIOLATION_DEAD_OBJECT = 11;
/** A record the check build keeps of a disposed scope or a move (runtime/scope.ts): a
 *  scope's [start, end), or 0xFFFFFFFF and the move's target kind (1 heap, 2 a request's
 *  arena, 3 a scratch); then the label and site string pointers (0 for none). */
export const RECORD_START = 0;
export const RECORD_END = 4;
export const RECORD_LABEL = 8;
export const RECORD_SITE = 12;
/** What the check build fills memory with: disposed or moved (a pointer made of it lies
 *  past any memory), and uninitialised (UninitBytes). */
export const POISON_DEAD = 0xDD;
export const POISON_UNINIT = 0xAA;
export const VIOLATION_FREE = 3;
export const VIOLATION_KEEP = 4;
export const VIOLATION_GLOBAL = 5;

/** Why Heap.keep refused a graph (the third argument of a VIOLATION_KEEP report). */
export const KEEP_REASON_MAP = 1;
export const KEEP_REASON_DEPTH = 2;

/**
 * The `arena.*` imports that wait (the host makes them `WebAssembly.Suspending`, so they can
 * only be called through JSPI). The build's may-wait analysis (cli/instrument.ts) starts
 * from these names and the host checks at load that they are exactly its suspending
 * imports, so this list is the one place that says which effects wait.
 */
export const WAITING_IMPORTS = ["fetch", "sleep", "stream_start", "stream_write", "events_wait", "fetch_all"] as const;

/** Custom section written by `arena build`: the table indices (u32 little-endian each) of
 *  the functions that may reach a waiting import. Without it every handler may wait. */
export const MAY_WAIT_SECTION = "arena.may_wait";

/** Custom section (empty) written by `arena build --check`: the host turns the per-route
 *  memory report on for check builds by it. A name section alone does not say it: a build
 *  made with --debug for a profile has one too. */
export const CHECK_BUILD_SECTION = "arena.check";

/** Exports an Arena app must have, with their wasm signatures, for the load-time check. */
export const REQUIRED_EXPORTS = [
  "memory",
  "_initialize",
  "arena_init",
  "arena_heap_base",
  "arena_heap_used",
  "arena_begin",
  "arena_enter",
  "arena_used",
  "arena_current_slot",
  "arena_handle",
  "arena_served",
] as const;
