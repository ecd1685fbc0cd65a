// Log lines: one line per event, `time level [code] message`, on stderr so stdout stays
// free for the app's own output when piped. Tests pass their own Logger to capture lines.

import type { ErrorCode } from "./errors.ts";

export interface Logger {
  /** Lifecycle messages: listening, memory budget, shutdown. */
  info(message: string): void;
  /** A request or start-up error; the line carries its code. */
  error(code: ErrorCode, message: string): void;
  /** A line the app logged (console.log, trace). */
  app(level: "info" | "warn" | "error", tag: string, message: string): void;
  /** A structured line the app logged through the SDK's `log`: `req` is the request id
   *  (0 for start-up code), `fields` the app's key/values. */
  record(level: "debug" | "info" | "warn" | "error", req: number, message: string, fields: Record<string, unknown> | null): void;
}

/** App log levels by number (LOG_DEBUG … LOG_ERROR in host/abi.ts). */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

/** The JSON line for a structured app log record (pino-like: one object per line). */
export function recordLine(time: string, level: string, req: number, message: string, fields: Record<string, unknown> | null): string {
  const line: Record<string, unknown> = { time, level, ...(req !== 0 ? { req } : {}), msg: message };
  if (fields !== null) {
    for (const key of Object.keys(fields)) {
      // The platform's keys win: an app field cannot forge the time, level or request id.
      if (!(key in line)) line[key] = fields[key];
    }
  }
  return JSON.stringify(line);
}

function stamp(): string {
  return new Date().toISOString();
}

/** Writes to the process's stderr. */
export const consoleLogger: Logger = {
  info(message) {
    process.stderr.write(`${stamp()} INFO ${message}\n`);
  },
  error(code, message) {
    process.stderr.write(`${stamp()} ERROR ${code} ${message}\n`);
  },
  app(level, tag, message) {
    process.stderr.write(`${stamp()} ${level.toUpperCase()} [${tag}] ${message}\n`);
  },
  record(level, req, message, fields) {
    process.stderr.write(`${recordLine(stamp(), level, req, message, fields)}\n`);
  },
};

/** Keeps every line in memory; for tests. */
export class MemoryLogger implements Logger {
  readonly lines: string[] = [];
  info(message: string): void {
    this.lines.push(`INFO ${message}`);
  }
  error(code: ErrorCode, message: string): void {
    this.lines.push(`ERROR ${code} ${message}`);
  }
  app(level: string, tag: string, message: string): void {
    this.lines.push(`${level.toUpperCase()} [${tag}] ${message}`);
  }
  record(level: string, req: number, message: string, fields: Record<string, unknown> | null): void {
    this.lines.push(recordLine("-", level, req, message, fields));
  }
}
