// The result of a SQLite statement (sdk/lib/arena/sqlite.ts runs them): its status, SQLite's
// sentence when it failed, and its rows, read in place with a cursor. The host wrote them
// into the request's arena (docs/abi.md, "SQLite", has the layout); a getter reads a cell
// where it lies, so no object is made per row or per cell but the values asked for.

import {
  SQL_CELL_BYTES, SQL_CELL_LEN, SQL_CELL_TYPE, SQL_CELL_VALUE, SQL_RES_BYTES, SQL_RES_CHANGES, SQL_RES_COLUMNS,
  SQL_RES_ERROR_LEN, SQL_RES_LAST_ROWID, SQL_RES_ROWS, SQL_RESULT_HEADER_BYTES, SQL_ROW_BYTES, SQL_ROW_HEADER_BYTES,
  SQL_TYPE_BLOB, SQL_TYPE_FLOAT, SQL_TYPE_INTEGER, SQL_TYPE_NULL, SQL_TYPE_TEXT, SQL_OK,
} from "./abi";
import { utf8 } from "./text/utf8";

/** Room for an answer without rows (open, prepare, a transaction step): the header and a message. */
// @ts-ignore: decorator
@inline export const SMALL_RESULT_BYTES: usize = 640;

/** Bytes of the arena left out of a query's buffer: the allocator's block header and alignment. */
// @ts-ignore: decorator
@inline export const ROOM_SLACK_BYTES: usize = 64;

/** What a statement, a transaction step, an open or a migration did. `if (rows.status == SqlStatus.Constraint) return Response.text("taken\n", 409);` */
export enum SqlStatus {
  /** It ran. */
  Ok = 0,
  /** SQLite refused it: a syntax error, no such table or column, a type it cannot take. */
  Error = 1,
  /** A UNIQUE, NOT NULL, CHECK or FOREIGN KEY constraint failed: nothing was changed. */
  Constraint = 2,
  /** Another connection (another worker) or another request's transaction held the lock. */
  Busy = 3,
  /** More rows than SQLITE_ROWS_MAX (10,000), or more bytes than the arena has free. */
  TooLarge = 4,
  /** A handle or an argument the host refused (a statement that did not prepare, say). */
  BadArgument = 5,
  /** Not allowed here: open, migrate and prepare belong in start-up code. */
  Unavailable = 6,
  /** The request was cancelled (its client left, or its deadline passed): nothing ran. */
  Cancelled = 7,
}

/** A cell's storage class, as SQLite keeps it. `if (rows.type(2) == SqlType.Null) …` */
export enum SqlType {
  /** NULL. */
  Null = 0,
  /** A 64-bit integer. */
  Integer = 1,
  /** A 64-bit float. */
  Float = 2,
  /** UTF-8 text. */
  Text = 3,
  /** Bytes. */
  Blob = 4,
}

/** Allocates `bytes` in the current region for the host to fill; given back in part by `trim`. */
export function buffer(bytes: usize): usize {
  return __alloc(bytes);
}

/** Gives back the part of `buf` past what the host used (the last block shrinks in place). */
export function trim(buf: usize): void {
  __realloc(buf, <usize>load<u32>(buf + SQL_RES_BYTES));
}

/** The message a failed answer carries in `buf`. */
export function messageIn(buf: usize): string {
  return utf8(buf + SQL_RESULT_HEADER_BYTES, <usize>load<u32>(buf + SQL_RES_ERROR_LEN));
}

/**
 * The result of a statement: a status, SQLite's sentence when it failed, and the rows, read
 * with a cursor. The rows lie in the request's arena where the host wrote them; `next()`
 * moves to the following one and the getters read its cells by column index (0-based).
 *
 * ```ts
 * let rows = byTag.bind().text(tag).query();
 * if (!rows.ok) return Response.text(rows.error + "\n", 500);
 * while (rows.next()) {
 *   w.str(rows.text(1)).str(" #").str(rows.int(0).toString()).str("\n");
 * }
 * ```
 */
@final
export class Rows {
  /** What happened. `if (r.status == SqlStatus.Busy) return Response.text("try again\n", 503);` */
  readonly status: SqlStatus;
  /** SQLite's sentence when it failed, else "". `log.warn(rows.error);` */
  readonly error: string;
  /** Rows in the result. `let n = rows.count;` */
  readonly count: i32;
  /** Columns of each row. `for (let c = 0; c < rows.columns; c++) w.str(rows.text(c));` */
  readonly columns: i32;
  /** Rows an INSERT, UPDATE or DELETE changed. `if (del.bind().int(id).query().changes == 0) return notFound();` */
  readonly changes: i64;
  /** The rowid the last INSERT made. `let id = insert.bind().text(t).query().lastInsertRowid;` */
  readonly lastInsertRowid: i64;
  private buf: usize;
  private row: usize = 0;
  private index: i32 = -1;
  private names: string[] | null;

  /** A result the host wrote at `buf` with `status`, or a failure the SDK found itself
   *  (`failure`, with `buf` 0). `new Rows(buf, status, null, null)` */
  // @ts-ignore: decorator
  @unsafe constructor(buf: usize, status: i32, names: string[] | null, failure: string | null) {
    this.buf = buf;
    this.status = <SqlStatus>status;
    this.names = names;
    let ok = status == SQL_OK && failure === null;
    this.error = failure !== null ? failure : ok ? "" : messageIn(buf);
    this.count = ok ? <i32>load<u32>(buf + SQL_RES_ROWS) : 0;
    this.columns = ok ? <i32>load<u32>(buf + SQL_RES_COLUMNS) : 0;
    this.changes = ok ? load<i64>(buf + SQL_RES_CHANGES) : 0;
    this.lastInsertRowid = ok ? load<i64>(buf + SQL_RES_LAST_ROWID) : 0;
  }

  /** Whether it ran. `if (!rows.ok) return Response.text(rows.error, 500);` */
  get ok(): bool {
    return this.status == SqlStatus.Ok;
  }

  /** Moves to the next row (the first, at the first call): false past the last one.
   *  `while (rows.next()) count++;` */
  next(): bool {
    if (this.index + 1 >= this.count) {
      this.index = this.count;
      return false;
    }
    this.row = this.index < 0 ? this.buf + SQL_RESULT_HEADER_BYTES : this.row + <usize>load<u32>(this.row + SQL_ROW_BYTES);
    this.index++;
    return true;
  }

  /** The cell of column `i` of the current row; aborts on a misuse (no row, no such column). */
  private cell(i: i32): usize {
    if (this.index < 0 || this.index >= this.count) abort("Rows: no current row (call next() first, and stop when it returns false)");
    if (i < 0 || i >= this.columns) abort("Rows: no column " + i.toString() + " (the result has " + this.columns.toString() + ")");
    return this.row + SQL_ROW_HEADER_BYTES + <usize>i * SQL_CELL_BYTES;
  }

  /** Column `i`'s storage class in the current row. `if (rows.type(0) == SqlType.Text) …` */
  type(i: i32): SqlType {
    return <SqlType>load<u32>(this.cell(i) + SQL_CELL_TYPE);
  }

  /** Whether column `i` is NULL. `let done = !rows.isNull(3);` */
  isNull(i: i32): bool {
    return load<u32>(this.cell(i) + SQL_CELL_TYPE) == SQL_TYPE_NULL;
  }

  /** Column `i` as an integer: a float is truncated, NULL, text and blobs are 0. `let id = rows.int(0);` */
  int(i: i32): i64 {
    let c = this.cell(i);
    let t = load<u32>(c + SQL_CELL_TYPE);
    if (t == SQL_TYPE_INTEGER) return load<i64>(c + SQL_CELL_VALUE);
    if (t == SQL_TYPE_FLOAT) return <i64>load<f64>(c + SQL_CELL_VALUE);
    return 0;
  }

  /** Column `i` as a float: an integer is converted, NULL, text and blobs are 0. `let price = rows.float(2);` */
  float(i: i32): f64 {
    let c = this.cell(i);
    let t = load<u32>(c + SQL_CELL_TYPE);
    if (t == SQL_TYPE_FLOAT) return load<f64>(c + SQL_CELL_VALUE);
    if (t == SQL_TYPE_INTEGER) return <f64>load<i64>(c + SQL_CELL_VALUE);
    return 0;
  }

  /** Column `i` as text: text and blobs decoded as UTF-8 (ill-formed bytes become U+FFFD),
   *  numbers in decimal, NULL as "". `let title = rows.text(1);` */
  text(i: i32): string {
    let c = this.cell(i);
    let t = load<u32>(c + SQL_CELL_TYPE);
    if (t == SQL_TYPE_TEXT || t == SQL_TYPE_BLOB) return utf8(<usize>load<u32>(c + SQL_CELL_VALUE), <usize>load<u32>(c + SQL_CELL_LEN));
    if (t == SQL_TYPE_INTEGER) return load<i64>(c + SQL_CELL_VALUE).toString();
    if (t == SQL_TYPE_FLOAT) return load<f64>(c + SQL_CELL_VALUE).toString();
    return "";
  }

  /** Column `i`'s bytes (a blob, or text's UTF-8), copied; empty for numbers and NULL. `let png = rows.bytes(2);` */
  bytes(i: i32): Uint8Array {
    let c = this.cell(i);
    let t = load<u32>(c + SQL_CELL_TYPE);
    if (t != SQL_TYPE_TEXT && t != SQL_TYPE_BLOB) return new Uint8Array(0);
    let len = <i32>load<u32>(c + SQL_CELL_LEN);
    let out = new Uint8Array(len);
    memory.copy(out.dataStart, <usize>load<u32>(c + SQL_CELL_VALUE), <usize>len);
    return out;
  }

  /** Column `i`'s name, as the statement gives it. `w.str(rows.columnName(0));` */
  columnName(i: i32): string {
    let names = this.names;
    return names !== null && i >= 0 && i < names.length ? unchecked(names[i]) : "";
  }
}
