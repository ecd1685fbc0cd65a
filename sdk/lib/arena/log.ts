// Structured logging from the app. Each call is one JSON line on the server's stderr with
// the time, level, the request id (so a request's lines can be found among thousands) and
// the app's key/values; the host adds time, level and id, the app cannot forge them.

import { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } from "./abi";
import { JsonWriter } from "./json/writer";

// @ts-ignore: decorator
@external("arena", "log")
declare function hostLog(level: i32, msgPtr: usize, msgLen: usize, fieldsPtr: usize, fieldsLen: usize): void;

/**
 * Key/values for a log line, chained:
 *
 * ```ts
 * log.info("upstream answered", new LogFields().int("status", res.status).num("ms", ms));
 * // {"time":"…","level":"info","req":42,"msg":"upstream answered","status":200,"ms":3.2}
 * ```
 */
export class LogFields {
  private w: JsonWriter = new JsonWriter(null, 128);

  /** No fields yet. `new LogFields()` */
  constructor() {
    this.w.beginObject();
  }

  /** Adds a string field. `new LogFields().str("user", name)` */
  str(key: string, value: string): LogFields {
    this.w.key(key).str(value);
    return this;
  }

  /** Adds an integer field. `new LogFields().int("status", res.status)` */
  int(key: string, value: i64): LogFields {
    this.w.key(key).int(value);
    return this;
  }

  /** Adds a number field. `new LogFields().num("ms", monotonicMs() - t0)` */
  num(key: string, value: f64): LogFields {
    this.w.key(key).num(value);
    return this;
  }

  /** Adds a boolean field. `new LogFields().bool("cached", hit)` */
  bool(key: string, value: bool): LogFields {
    this.w.key(key).bool(value);
    return this;
  }

  /** The finished JSON object (what the host reads). `new LogFields().int("n", 1).toBytes()` */
  toBytes(): Uint8Array {
    if (!this.w.done) this.w.endObject();
    return this.w.toBytes();
  }
}

function emit(level: i32, message: string, fields: LogFields | null): void {
  let msg = String.UTF8.encode(message);
  if (fields !== null) {
    let f = fields.toBytes();
    hostLog(level, changetype<usize>(msg), <usize>msg.byteLength, f.dataStart, <usize>f.length);
  } else {
    hostLog(level, changetype<usize>(msg), <usize>msg.byteLength, 0, 0);
  }
}

/**
 * Structured log lines, tagged with the request id by the host:
 *
 * ```ts
 * log.info("rendered list", new LogFields().int("items", n));
 * log.warn("upstream slow");
 * ```
 */
export namespace log {
  /** A debug line, printed with `--log-level debug`. `log.debug("cache miss", new LogFields().str("key", key))` */
  export function debug(message: string, fields: LogFields | null = null): void {
    emit(LOG_DEBUG, message, fields);
  }
  /** An info line. `log.info("user created", new LogFields().int("id", id))` */
  export function info(message: string, fields: LogFields | null = null): void {
    emit(LOG_INFO, message, fields);
  }
  /** A warning line. `log.warn("upstream slow")` */
  export function warn(message: string, fields: LogFields | null = null): void {
    emit(LOG_WARN, message, fields);
  }
  /** An error line. `log.error("upstream failed", new LogFields().str("why", res.errorMessage))` */
  export function error(message: string, fields: LogFields | null = null): void {
    emit(LOG_ERROR, message, fields);
  }
}
