// App side of the host/app ABI (docs/abi.md). Mirrors host/abi/constants.ts; a test keeps them equal.

// @ts-ignore: decorator
@inline export const REGION_HEADER_BYTES: u32 = 32;
/** __arena_current_id() while the module initialises (the startup region's id). */
// @ts-ignore: decorator
@inline export const REGION_ID_STARTUP: u32 = 0xFFFFFFFF;
// @ts-ignore: decorator
@inline export const REQ_METHOD_PTR: usize = 0;
// @ts-ignore: decorator
@inline export const REQ_METHOD_LEN: usize = 4;
// @ts-ignore: decorator
@inline export const REQ_PATH_PTR: usize = 8;
// @ts-ignore: decorator
@inline export const REQ_PATH_LEN: usize = 12;
// @ts-ignore: decorator
@inline export const REQ_QUERY_PTR: usize = 16;
// @ts-ignore: decorator
@inline export const REQ_QUERY_LEN: usize = 20;
// @ts-ignore: decorator
@inline export const REQ_HEADERS_PTR: usize = 24;
// @ts-ignore: decorator
@inline export const REQ_HEADER_COUNT: usize = 28;
// @ts-ignore: decorator
@inline export const REQ_BODY_PTR: usize = 32;
// @ts-ignore: decorator
@inline export const REQ_BODY_LEN: usize = 36;
// @ts-ignore: decorator
@inline export const REQ_VERSION_MINOR: usize = 40;
// @ts-ignore: decorator
@inline export const REQ_SLOT: usize = 44;
// @ts-ignore: decorator
@inline export const REQ_ID: usize = 48;
// @ts-ignore: decorator
@inline export const REQ_FLAGS: usize = 52;
// @ts-ignore: decorator
@inline export const REQ_FLAG_MAY_WAIT: u32 = 1;
// @ts-ignore: decorator
@inline export const REQ_REMOTE_ADDR_PTR: usize = 56;
// @ts-ignore: decorator
@inline export const REQ_REMOTE_ADDR_LEN: usize = 60;
// @ts-ignore: decorator
@inline export const RES_STATUS: usize = 64;
// @ts-ignore: decorator
@inline export const RES_HEADERS_PTR: usize = 68;
// @ts-ignore: decorator
@inline export const RES_HEADERS_LEN: usize = 72;
// @ts-ignore: decorator
@inline export const RES_BODY_PTR: usize = 76;
// @ts-ignore: decorator
@inline export const RES_BODY_LEN: usize = 80;
/** A device handle (an f64) whose buffer is the body (0: the body is in the arena). */
// @ts-ignore: decorator
@inline export const RES_BODY_DEVICE: usize = 88;
// @ts-ignore: decorator
@inline export const REQ_DESC_BYTES: usize = 96;
// @ts-ignore: decorator
@inline export const HEADER_ENTRY_BYTES: usize = 16;
// @ts-ignore: decorator
@inline export const BODY_HEADROOM_BYTES: usize = 32;
// @ts-ignore: decorator
@inline export const ARENA_OK: i32 = 0;
// @ts-ignore: decorator
@inline export const ARENA_NO_HANDLER: i32 = 1;
// @ts-ignore: decorator
@inline export const ARENA_NEEDS_ASYNC: i32 = 2;

/** Tells the host which route pattern is handling the request, for its error log lines.
 *  `ptr`/`len` are UTF-8 bytes in the startup region. */
// @ts-ignore: decorator
@external("arena", "route")
export declare function hostRoute(ptr: usize, len: usize): void;

/** Whether the function at `tableIndex` in the module's function table may wait on an
 *  effect (1) or never does (0), as the build's analysis found (docs/abi.md, "Plain calls
 *  first"). Asked once per route, at start. */
// @ts-ignore: decorator
@external("arena", "may_wait")
export declare function hostMayWait(tableIndex: u32): i32;

// Effects (host/abi/constants.ts explains each group).
// @ts-ignore: decorator
@inline export const EFFECT_OK: i32 = 0;
// @ts-ignore: decorator
@inline export const EFFECT_BAD_URL: i32 = 1;
// @ts-ignore: decorator
@inline export const EFFECT_DNS: i32 = 2;
// @ts-ignore: decorator
@inline export const EFFECT_REFUSED: i32 = 3;
// @ts-ignore: decorator
@inline export const EFFECT_TIMEOUT: i32 = 4;
// @ts-ignore: decorator
@inline export const EFFECT_RESET: i32 = 5;
// @ts-ignore: decorator
@inline export const EFFECT_TOO_LARGE: i32 = 6;
// @ts-ignore: decorator
@inline export const EFFECT_PROTOCOL: i32 = 7;
// @ts-ignore: decorator
@inline export const EFFECT_CANCELLED: i32 = 8;
// @ts-ignore: decorator
@inline export const EFFECT_UNAVAILABLE: i32 = 9;
// @ts-ignore: decorator
@inline export const EFFECT_NETWORK: i32 = 10;
// @ts-ignore: decorator
@inline export const EFFECT_BAD_ARGUMENT: i32 = 11;
// @ts-ignore: decorator
@inline export const EFFECT_TLS: i32 = 12;
/** Device-region statuses (arena.device_*); an import that returns a handle or a size
 *  answers a failure negated. */
// @ts-ignore: decorator
@inline export const DEVICE_OK: i32 = 0;
// @ts-ignore: decorator
@inline export const DEVICE_STALE: i32 = 1;
// @ts-ignore: decorator
@inline export const DEVICE_RANGE: i32 = 2;
// @ts-ignore: decorator
@inline export const DEVICE_FULL: i32 = 3;
// @ts-ignore: decorator
@inline export const DEVICE_ABSENT: i32 = 4;
// @ts-ignore: decorator
@inline export const DEVICE_READ_ONLY: i32 = 5;
// @ts-ignore: decorator
@inline export const DEVICE_BAD_ARGUMENT: i32 = 6;
// @ts-ignore: decorator
@inline export const DEVICE_NO_ROOM: i32 = 7;
// @ts-ignore: decorator
@inline export const SHARED_OK: i32 = 0;
// @ts-ignore: decorator
@inline export const SHARED_FULL: i32 = 1;
// @ts-ignore: decorator
@inline export const SHARED_TOO_LARGE: i32 = 2;
// @ts-ignore: decorator
@inline export const SHARED_ABSENT: i32 = 3;
// @ts-ignore: decorator
@inline export const SHARED_BAD_ARGUMENT: i32 = 4;
// SQLite (host/abi/constants.ts explains each group; docs/abi.md has the layouts).
// @ts-ignore: decorator
@inline export const SQL_OK: i32 = 0;
// @ts-ignore: decorator
@inline export const SQL_ERROR: i32 = 1;
// @ts-ignore: decorator
@inline export const SQL_CONSTRAINT: i32 = 2;
// @ts-ignore: decorator
@inline export const SQL_BUSY: i32 = 3;
// @ts-ignore: decorator
@inline export const SQL_TOO_LARGE: i32 = 4;
// @ts-ignore: decorator
@inline export const SQL_BAD_ARGUMENT: i32 = 5;
// @ts-ignore: decorator
@inline export const SQL_UNAVAILABLE: i32 = 6;
// @ts-ignore: decorator
@inline export const SQL_CANCELLED: i32 = 7;
// @ts-ignore: decorator
@inline export const SQL_TYPE_NULL: u32 = 0;
// @ts-ignore: decorator
@inline export const SQL_TYPE_INTEGER: u32 = 1;
// @ts-ignore: decorator
@inline export const SQL_TYPE_FLOAT: u32 = 2;
// @ts-ignore: decorator
@inline export const SQL_TYPE_TEXT: u32 = 3;
// @ts-ignore: decorator
@inline export const SQL_TYPE_BLOB: u32 = 4;
// @ts-ignore: decorator
@inline export const SQL_CELL_TYPE: usize = 0;
// @ts-ignore: decorator
@inline export const SQL_CELL_LEN: usize = 4;
// @ts-ignore: decorator
@inline export const SQL_CELL_VALUE: usize = 8;
// @ts-ignore: decorator
@inline export const SQL_CELL_BYTES: usize = 16;
// @ts-ignore: decorator
@inline export const SQL_RES_BYTES: usize = 0;
// @ts-ignore: decorator
@inline export const SQL_RES_ROWS: usize = 4;
// @ts-ignore: decorator
@inline export const SQL_RES_COLUMNS: usize = 8;
// @ts-ignore: decorator
@inline export const SQL_RES_ERROR_LEN: usize = 12;
// @ts-ignore: decorator
@inline export const SQL_RES_CHANGES: usize = 16;
// @ts-ignore: decorator
@inline export const SQL_RES_LAST_ROWID: usize = 24;
// @ts-ignore: decorator
@inline export const SQL_RESULT_HEADER_BYTES: usize = 32;
// @ts-ignore: decorator
@inline export const SQL_ROW_BYTES: usize = 0;
// @ts-ignore: decorator
@inline export const SQL_ROW_HEADER_BYTES: usize = 8;
// @ts-ignore: decorator
@inline export const SQL_TX_BEGIN: i32 = 0;
// @ts-ignore: decorator
@inline export const SQL_TX_COMMIT: i32 = 1;
// @ts-ignore: decorator
@inline export const SQL_TX_ROLLBACK: i32 = 2;

// @ts-ignore: decorator
@inline export const FETCH_METHOD_PTR: usize = 0;
// @ts-ignore: decorator
@inline export const FETCH_METHOD_LEN: usize = 4;
// @ts-ignore: decorator
@inline export const FETCH_URL_PTR: usize = 8;
// @ts-ignore: decorator
@inline export const FETCH_URL_LEN: usize = 12;
// @ts-ignore: decorator
@inline export const FETCH_HEADERS_PTR: usize = 16;
// @ts-ignore: decorator
@inline export const FETCH_HEADERS_LEN: usize = 20;
// @ts-ignore: decorator
@inline export const FETCH_BODY_PTR: usize = 24;
// @ts-ignore: decorator
@inline export const FETCH_BODY_LEN: usize = 28;
// @ts-ignore: decorator
@inline export const FETCH_TIMEOUT_MS: usize = 32;
// @ts-ignore: decorator
@inline export const FETCH_MAX_BYTES: usize = 36;
// @ts-ignore: decorator
@inline export const FETCH_RES_STATUS: usize = 40;
// @ts-ignore: decorator
@inline export const FETCH_RES_HEADERS_PTR: usize = 44;
// @ts-ignore: decorator
@inline export const FETCH_RES_HEADER_COUNT: usize = 48;
// @ts-ignore: decorator
@inline export const FETCH_RES_BODY_PTR: usize = 52;
// @ts-ignore: decorator
@inline export const FETCH_RES_BODY_LEN: usize = 56;
// @ts-ignore: decorator
@inline export const FETCH_RES_ERROR_PTR: usize = 60;
// @ts-ignore: decorator
@inline export const FETCH_RES_ERROR_LEN: usize = 64;
// @ts-ignore: decorator
@inline export const FETCH_RES_EFFECT: usize = 68;
// @ts-ignore: decorator
@inline export const FETCH_DESC_BYTES: usize = 80;
// @ts-ignore: decorator
@inline export const PARALLEL_FETCHES_MAX: i32 = 8;
// @ts-ignore: decorator
@inline export const LOG_DEBUG: i32 = 0;
// @ts-ignore: decorator
@inline export const LOG_INFO: i32 = 1;
// @ts-ignore: decorator
@inline export const LOG_WARN: i32 = 2;
// @ts-ignore: decorator
@inline export const LOG_ERROR: i32 = 3;
