// App side of the host/app ABI (docs/abi.md). Mirrors host/abi.ts; a test keeps them equal.

// @ts-ignore: decorator
@inline export const REGION_HEADER_BYTES: u32 = 32;
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
@inline export const RES_STATUS: usize = 64;
// @ts-ignore: decorator
@inline export const RES_HEADERS_PTR: usize = 68;
// @ts-ignore: decorator
@inline export const RES_HEADERS_LEN: usize = 72;
// @ts-ignore: decorator
@inline export const RES_BODY_PTR: usize = 76;
// @ts-ignore: decorator
@inline export const RES_BODY_LEN: usize = 80;
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

/** Tells the host which route pattern is handling the request, for its error log lines.
 *  `ptr`/`len` are UTF-8 bytes in the startup region. */
// @ts-ignore: decorator
@external("arena", "route")
export declare function hostRoute(ptr: usize, len: usize): void;
