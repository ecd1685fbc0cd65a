// The public SDK: what `import { … } from "arena"` gives an app. `arena build` passes
// sdk/lib to asc with --lib, which is how the bare name "arena" resolves to this file.
export { Request } from "./arena/request";
export { Response } from "./arena/response";
export { Router, Handler } from "./arena/router";
export { ByteWriter, utf8, percentDecode, urlEncode } from "./arena/bytes";
export { serve } from "./arena/serve";
export { fetch, FetchOptions, FetchResponse, FetchError, fetchErrorName } from "./arena/fetch";
export { sleep, monotonicMs, wallMs } from "./arena/time";
export { env, envOr } from "./arena/env";
export { randomBytes, randomFill } from "./arena/random";
export { Json, JsonDoc, JsonValue, JsonKind } from "./arena/json";
export { JsonWriter } from "./arena/json_writer";
export { Html } from "./arena/html";
export { JSON_DEPTH_MAX, JSON_INPUT_BYTES_MAX } from "./arena/limits";
export { log, LogFields } from "./arena/log";
