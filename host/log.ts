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

// Characters that must not reach a log line raw: C0 controls (CR and LF end a line, and a
// client who can put them in a message can forge the next line; ESC starts terminal
// sequences), DEL, C1 controls (U+0085 is a line break to some readers) and U+2028/2029,
// the Unicode line and paragraph separators. App messages carry client input (abort
// messages name the header, path or value that was refused), so every line is escaped.
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u2028\u2029\\]/;
const UNSAFE_ALL = /[\x00-\x1f\x7f-\x9f\u2028\u2029\\]/g;
// JSON.stringify already escapes C0, '"' and '\\'; these are the rest it leaves raw.
const UNSAFE_IN_JSON = /[\x7f-\x9f\u2028\u2029]/g;
const SHORT: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\" };

function escapeChar(ch: string): string {
  return SHORT[ch] ?? `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/**
 * `s` made safe for one log line: control characters (C0 with CR, LF and TAB, DEL, C1) and
 * U+2028/2029 become JSON-style escapes (`\n`, `\r`, `\t`, `\u001b`, `\u2028`), so one
 * event is always one line. The backslash itself becomes `\\`: without that, a message
 * holding the two characters `\n` would read exactly like an escaped line feed, and the
 * line could not be read back unambiguously. With it, the escaped text is a JSON string
 * body: `JSON.parse('"' + oneLine(s).replaceAll('"', '\\"') + '"') === s`.
 * `oneLine("a\r\nb")` is `a\r\nb` with literal backslashes.
 */
export function oneLine(s: string): string {
  // Most lines have nothing to escape: test once, allocate nothing.
  return UNSAFE.test(s) ? s.replace(UNSAFE_ALL, escapeChar) : s;
}

/** App log levels by number (LOG_DEBUG … LOG_ERROR in host/abi/constants.ts). */
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
  // JSON escapes are valid for these too, so the line still parses to the same values.
  return JSON.stringify(line).replace(UNSAFE_IN_JSON, escapeChar);
}

function stamp(): string {
  return new Date().toISOString();
}

/** Writes to the process's stderr; every line is escaped by oneLine. */
export const consoleLogger: Logger = {
  info(message) {
    process.stderr.write(`${stamp()} INFO ${oneLine(message)}\n`);
  },
  error(code, message) {
    process.stderr.write(`${stamp()} ERROR ${code} ${oneLine(message)}\n`);
  },
  app(level, tag, message) {
    process.stderr.write(`${stamp()} ${level.toUpperCase()} [${oneLine(tag)}] ${oneLine(message)}\n`);
  },
  record(level, req, message, fields) {
    process.stderr.write(`${recordLine(stamp(), level, req, message, fields)}\n`);
  },
};

/** Keeps every line in memory, escaped as consoleLogger prints it; for tests. */
export class MemoryLogger implements Logger {
  readonly lines: string[] = [];
  info(message: string): void {
    this.lines.push(`INFO ${oneLine(message)}`);
  }
  error(code: ErrorCode, message: string): void {
    this.lines.push(`ERROR ${code} ${oneLine(message)}`);
  }
  app(level: string, tag: string, message: string): void {
    this.lines.push(`${level.toUpperCase()} [${oneLine(tag)}] ${oneLine(message)}`);
  }
  record(level: string, req: number, message: string, fields: Record<string, unknown> | null): void {
    this.lines.push(recordLine("-", level, req, message, fields));
  }
}
