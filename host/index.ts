// The host's entry module: what the CLI, the benchmark and the tests' servers use. The
// folders behind it are the host's subsystems, each depending only on those listed before
// it (tests/tidy.test.ts checks the order):
//
//   limits, errors, log, assert   cross-cutting leaves: named limits, the error registry
//   memory/                       the fixed wasm memory plan, the slot pool, connection buffers
//   abi/                          the app boundary: loading the module, calling it, the
//                                 request/response descriptors, per-slot contexts
//   http/                         the HTTP/1.1 server: parser, connections, scheduling slots
//   effects/                      the `arena.*` imports, with fetch's HTTP client in fetch/
//   server.ts, instance.ts, …     the composition: one server from a module and options,
//                                 holding one build, or two while a reload drains the old
//   ops/                          metrics, the admin listener, the access log
//   workers/                      the primary and its workers (--workers), reload, drain
//
// docs/architecture.md draws the memory and walks a request through them.

export { ArenaServer, type ServerOptions, type ServerStats } from "./server.ts";
export type { RequestDone, RequestDoneHook } from "./abi/request_done.ts";
export { ArenaPeaks, ARENA_PEAK_MARGIN, sizeFlag, suggestArenaBytes, SUGGESTION_RULE, type RequestMemory, type RoutePeak } from "./memory/arena_peaks.ts";
export { ENV_NAMES, parseSize, parseWhole, resolveServeConfig, serverOptions, type ServeConfig } from "./config.ts";
export { ArenaError, ERRORS, type ErrorCode } from "./errors.ts";
export { consoleLogger, MemoryLogger, type Logger } from "./log.ts";
export { budgetLine, CONNECTION_BYTES_MAX, deviceBudgetText, formatBytes, planMemory, workersBudgetLine, type MemoryPlan } from "./memory/plan.ts";
export { Primary, type PrimaryOptions } from "./workers/primary.ts";
export { NODE_PROCESS_BYTES, NODE_WORKER_BYTES, SHARED_BYTES_DEFAULT, SHUTDOWN_TIMEOUT_MS } from "./limits.ts";
export { ioPath } from "./http/socket_io.ts";
export { BROTLI_QUALITY, GZIP_LEVEL, ResponseCompression } from "./http/compress.ts";
export { ZlibEngine, type Coding } from "./http/zlib_engine.ts";
