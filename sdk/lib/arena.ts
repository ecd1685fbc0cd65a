// The public SDK: what `import { … } from "arena"` gives an app. `arena build` passes
// sdk/lib to asc with --lib, which is how the bare name "arena" resolves to this file.
export { Request } from "./arena/request";
export { Response } from "./arena/response";
export { Router, Handler, BeforeHook, AfterHook } from "./arena/router";
export { ByteWriter, percentDecode, urlEncode } from "./arena/bytes";
export { utf8 } from "./arena/text/utf8";
export { serve } from "./arena/serve";
export { fetch, FetchOptions, FetchResponse, FetchError, fetchErrorName } from "./arena/fetch";
export { sleep, monotonicMs, wallMs } from "./arena/time";
export { env, envOr } from "./arena/env";
export { randomBytes, randomFill } from "./arena/random";
export { Json } from "./arena/json/parser";
export { JsonDoc, JsonValue } from "./arena/json/value";
export { JsonKeys, JsonFields } from "./arena/json/fields";
export { JsonKind } from "./arena/json/kind";
export { JsonWriter } from "./arena/json/writer";
export { Html } from "./arena/html";
export { JSON_DEPTH_MAX, JSON_INPUT_BYTES_MAX } from "./arena/limits";
export { log, LogFields } from "./arena/log";
export { Heap } from "./arena/heap";
export { Store, StoreOptions, StoreResult } from "./arena/store";
export { Shared, SharedCounter, SharedSet } from "./arena/shared";
export { CookieOptions, httpDate } from "./arena/cookies";
export { CorsOptions, cors } from "./arena/cors";
export { sha256, hmacSha256, utf8Bytes, hexEncode, base64UrlEncode, base64UrlDecode, constantTimeEqual } from "./arena/crypto";
export { Stream, StreamStatus } from "./arena/stream";
export { Events, EventsWait } from "./arena/events";
export { EventStream, SSE_KEEPALIVE_MS } from "./arena/sse";
