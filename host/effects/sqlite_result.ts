// How a query's arguments come in and its rows go out (docs/abi.md, "SQLite"). Both are
// cells of SQL_CELL_BYTES in the app's memory: arguments are cells the app wrote (a text or
// blob cell points at its bytes), rows are cells the host writes into the buffer the app
// passed, each row followed by its text and blob bytes. Nothing is kept between calls but
// the one reused argument array: a result is written straight into the request's arena
// and the host holds no rows.

import {
  SQL_BUSY, SQL_CELL_BYTES, SQL_CELL_LEN, SQL_CELL_TYPE, SQL_CELL_VALUE, SQL_CONSTRAINT, SQL_ERROR, SQL_OK,
  SQL_RES_BYTES, SQL_RES_CHANGES, SQL_RES_COLUMNS, SQL_RES_ERROR_LEN, SQL_RES_LAST_ROWID, SQL_RES_ROWS, SQL_RESULT_HEADER_BYTES,
  SQL_ROW_BYTES, SQL_ROW_HEADER_BYTES, SQL_TYPE_BLOB, SQL_TYPE_FLOAT, SQL_TYPE_INTEGER, SQL_TYPE_NULL, SQL_TYPE_TEXT,
} from "../abi/constants.ts";
import { SQLITE_ERROR_BYTES_MAX } from "../limits.ts";

const utf8 = new TextDecoder("utf-8");
const encoder = new TextEncoder();

/** A value node:sqlite binds or returns (readBigInts: integers are bigints). */
export type SqlValue = null | bigint | number | string | Uint8Array;

/** SQLite's primary result codes the statuses distinguish (the low byte of an extended code). */
const SQLITE_BUSY_CODE = 5;
const SQLITE_LOCKED_CODE = 6;
const SQLITE_CONSTRAINT_CODE = 19;

/** The status for an error node:sqlite threw: its SQLite code when it has one. */
export function statusOf(err: unknown): number {
  const code = (err as { errcode?: unknown }).errcode;
  if (typeof code !== "number") return SQL_ERROR;
  const primary = code & 0xff;
  if (primary === SQLITE_CONSTRAINT_CODE) return SQL_CONSTRAINT;
  if (primary === SQLITE_BUSY_CODE || primary === SQLITE_LOCKED_CODE) return SQL_BUSY;
  return SQL_ERROR;
}

/** The one sentence an error says: node:sqlite's message is SQLite's own. */
export function messageOf(err: unknown): string {
  const m = (err as Error)?.message;
  return typeof m === "string" && m.length > 0 ? m : String(err);
}

/**
 * Writes one result into [ptr, ptr + cap) of the app's memory: a header, then rows. The
 * caller checked the range. One per host, reused: a call writes one result from start to
 * end without anything else running in between.
 */
export class ResultWriter {
  private readonly u8: Uint8Array;
  private readonly dv: DataView;
  private ptr = 0;
  private end = 0;
  /** Where the next row goes. */
  private at = 0;
  private rows = 0;
  private columns = 0;

  constructor(u8: Uint8Array, dv: DataView) {
    this.u8 = u8;
    this.dv = dv;
  }

  /** Starts a result at `ptr` of `cap` bytes (at least SQL_RESULT_HEADER_BYTES) with `columns`. */
  begin(ptr: number, cap: number, columns: number): void {
    this.ptr = ptr;
    this.end = ptr + cap;
    this.at = ptr + SQL_RESULT_HEADER_BYTES;
    this.rows = 0;
    this.columns = columns;
    this.u8.fill(0, ptr, ptr + SQL_RESULT_HEADER_BYTES);
  }

  /** The result has `columns` per row (set before the first row). */
  columnsAre(columns: number): void {
    this.columns = columns;
  }

  /** Bytes of the buffer. */
  get capacity(): number {
    return this.end - this.ptr;
  }

  /** Rows written so far. */
  get count(): number {
    return this.rows;
  }

  /** Ends the result as a success: SQL_OK. */
  ok(changes: bigint | number, lastRowid: bigint | number): number {
    const dv = this.dv;
    dv.setUint32(this.ptr + SQL_RES_BYTES, this.at - this.ptr, true);
    dv.setUint32(this.ptr + SQL_RES_ROWS, this.rows, true);
    dv.setUint32(this.ptr + SQL_RES_COLUMNS, this.columns, true);
    dv.setBigInt64(this.ptr + SQL_RES_CHANGES, BigInt(changes), true);
    dv.setBigInt64(this.ptr + SQL_RES_LAST_ROWID, BigInt(lastRowid), true);
    return SQL_OK;
  }

  /** Ends the result as a failure: the rows written are dropped and the message (cut to
   *  SQLITE_ERROR_BYTES_MAX and to the buffer, on a character boundary) takes their place. */
  fail(status: number, message: string): number {
    const start = this.ptr + SQL_RESULT_HEADER_BYTES;
    const room = Math.max(0, Math.min(SQLITE_ERROR_BYTES_MAX, this.end - start));
    const written = encoder.encodeInto(message, this.u8.subarray(start, start + room)).written;
    this.u8.fill(0, this.ptr, start);
    this.dv.setUint32(this.ptr + SQL_RES_BYTES, SQL_RESULT_HEADER_BYTES + written, true);
    this.dv.setUint32(this.ptr + SQL_RES_ERROR_LEN, written, true);
    return status;
  }

  /** Appends one row; false when it does not fit the buffer (nothing of it is kept). */
  row(values: readonly SqlValue[]): boolean {
    const dv = this.dv;
    const rowStart = this.at;
    const cells = rowStart + SQL_ROW_HEADER_BYTES;
    let bytes = cells + this.columns * SQL_CELL_BYTES;
    if (bytes > this.end) return false;
    for (let c = 0; c < this.columns; c++) {
      const cell = cells + c * SQL_CELL_BYTES;
      const v = values[c];
      dv.setUint32(cell + SQL_CELL_LEN, 0, true);
      if (v === null || v === undefined) {
        dv.setUint32(cell + SQL_CELL_TYPE, SQL_TYPE_NULL, true);
        dv.setBigInt64(cell + SQL_CELL_VALUE, 0n, true);
      } else if (typeof v === "bigint") {
        dv.setUint32(cell + SQL_CELL_TYPE, SQL_TYPE_INTEGER, true);
        dv.setBigInt64(cell + SQL_CELL_VALUE, v, true);
      } else if (typeof v === "number") {
        dv.setUint32(cell + SQL_CELL_TYPE, SQL_TYPE_FLOAT, true);
        dv.setFloat64(cell + SQL_CELL_VALUE, v, true);
      } else {
        const len = typeof v === "string" ? this.text(v, bytes) : this.blob(v, bytes);
        if (len < 0) return false;
        dv.setUint32(cell + SQL_CELL_TYPE, typeof v === "string" ? SQL_TYPE_TEXT : SQL_TYPE_BLOB, true);
        dv.setUint32(cell + SQL_CELL_LEN, len, true);
        dv.setBigUint64(cell + SQL_CELL_VALUE, BigInt(bytes), true);
        bytes += len;
      }
    }
    const next = (bytes + 7) & ~7;
    if (next > this.end) return false;
    dv.setUint32(rowStart + SQL_ROW_BYTES, next - rowStart, true);
    dv.setUint32(rowStart + 4, 0, true);
    this.at = next;
    this.rows++;
    return true;
  }

  /** Writes `s` as UTF-8 at `at`: its length, or -1 when it does not fit. ASCII is copied
   *  byte by byte (no view is made for it); other text goes through encodeInto. */
  private text(s: string, at: number): number {
    const u8 = this.u8;
    const n = s.length;
    if (at + n <= this.end) {
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        u8[at + i] = c;
      }
      if (i === n) return n;
    }
    const r = encoder.encodeInto(s, u8.subarray(at, this.end));
    return r.read < n ? -1 : r.written;
  }

  private blob(b: Uint8Array, at: number): number {
    if (at + b.length > this.end) return -1;
    this.u8.set(b, at);
    return b.length;
  }
}

/**
 * Reads `count` argument cells at `ptr` into `out` (reused; its length is set). Returns
 * null, or why a cell is refused: a type the ABI does not have, or text or blob bytes the
 * caller may not pass (`valid` checks a range against the caller's memory).
 */
export function readArguments(u8: Uint8Array, dv: DataView, ptr: number, count: number, out: SqlValue[],
  valid: (ptr: number, len: number) => boolean): string | null {
  out.length = count;
  for (let i = 0; i < count; i++) {
    const cell = ptr + i * SQL_CELL_BYTES;
    const type = dv.getUint32(cell + SQL_CELL_TYPE, true);
    if (type === SQL_TYPE_NULL) out[i] = null;
    else if (type === SQL_TYPE_INTEGER) out[i] = dv.getBigInt64(cell + SQL_CELL_VALUE, true);
    else if (type === SQL_TYPE_FLOAT) out[i] = dv.getFloat64(cell + SQL_CELL_VALUE, true);
    else if (type === SQL_TYPE_TEXT || type === SQL_TYPE_BLOB) {
      const at = dv.getUint32(cell + SQL_CELL_VALUE, true);
      const len = dv.getUint32(cell + SQL_CELL_LEN, true);
      if (!valid(at, len)) return `argument ${i + 1}'s bytes lie outside the caller's memory`;
      // A blob is bound by copy (node:sqlite hands SQLite a transient buffer), so a view is enough.
      out[i] = type === SQL_TYPE_TEXT ? utf8.decode(u8.subarray(at, at + len)) : u8.subarray(at, at + len);
    } else {
      return `argument ${i + 1} has type ${type}, not one of SQL_TYPE_NULL to SQL_TYPE_BLOB`;
    }
  }
  return null;
}

