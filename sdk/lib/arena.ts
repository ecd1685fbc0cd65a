// The public SDK: what `import { … } from "arena"` gives an app. `arena build` passes
// sdk/lib to asc with --lib, which is how the bare name "arena" resolves to this file.
export { Request } from "./arena/request";
export { Response } from "./arena/response";
export { Router, Handler } from "./arena/router";
export { ByteWriter, utf8, percentDecode } from "./arena/bytes";
export { serve } from "./arena/serve";
