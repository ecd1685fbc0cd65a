// SQLite databases, through the host's node:sqlite (the `arena.sqlite_*` imports,
// docs/abi.md "SQLite"). Start-up code opens a database, runs its migrations and prepares
// its statements once; a handler runs a statement with the arguments it binds and reads
// the rows through a cursor. The host writes the rows straight into the free part of the
// request's arena, which is handed over as one buffer and given back past what was used, so
// no object is made per row: a getter reads a cell where the host wrote it. Every failure is
// a value (SqlStatus and SQLite's sentence); nothing suspends, so a handler that queries
// stays a plain call.

import {
  SQL_BAD_ARGUMENT, SQL_CELL_BYTES, SQL_CELL_LEN, SQL_CELL_TYPE, SQL_CELL_VALUE, SQL_OK, SQL_RES_BYTES, SQL_RES_COLUMNS,
  SQL_TOO_LARGE, SQL_TX_BEGIN, SQL_TX_COMMIT, SQL_TX_ROLLBACK, SQL_TYPE_BLOB, SQL_TYPE_FLOAT, SQL_TYPE_INTEGER, SQL_TYPE_NULL,
  SQL_TYPE_TEXT,
} from "./abi";
import { utf8 } from "./text/utf8";
import { buffer, messageIn, Rows, ROOM_SLACK_BYTES, SMALL_RESULT_BYTES, SqlStatus, trim } from "./sqlite_rows";

// @ts-ignore: decorator
@external("arena", "sqlite_open")
declare function hostOpen(pathPtr: usize, pathLen: usize, outPtr: usize, outCap: usize): i32;
// @ts-ignore: decorator
@external("arena", "sqlite_migrate")
declare function hostMigrate(db: i32, version: i32, sqlPtr: usize, sqlLen: usize, outPtr: usize, outCap: usize): i32;
// @ts-ignore: decorator
@external("arena", "sqlite_prepare")
declare function hostPrepare(db: i32, sqlPtr: usize, sqlLen: usize, outPtr: usize, outCap: usize): i32;
// @ts-ignore: decorator
@external("arena", "sqlite_column_name")
declare function hostColumnName(stmt: i32, index: i32, outPtr: usize, outCap: usize): i32;
// @ts-ignore: decorator
@external("arena", "sqlite_query")
declare function hostQuery(stmt: i32, argsPtr: usize, argCount: usize, outPtr: usize, outCap: usize): i32;
// @ts-ignore: decorator
@external("arena", "sqlite_tx")
declare function hostTx(db: i32, op: i32, outPtr: usize, outCap: usize): i32;

/**
 * The arguments of one run of a statement, bound in order to its `?` placeholders: start
 * with `statement.bind()`, add one value per placeholder, then `query()`. They live in the
 * request's arena and are gone with it.
 *
 * ```ts
 * let rows = insert.bind().text(title).int(wallMs() as i64).null().query();
 * ```
 */
@final
export class SqlArgs {
  private cells: usize;
  private capacity: i32 = 8;
  private count: i32 = 0;
  private statement: Statement;

  /** Arguments for `statement`; `statement.bind()` makes them. `new SqlArgs(stmt)` */
  // @ts-ignore: decorator
  @unsafe constructor(statement: Statement) {
    this.statement = statement;
    this.cells = __alloc(<usize>this.capacity * SQL_CELL_BYTES);
  }

  private add(type: u32): usize {
    if (this.count == this.capacity) {
      this.capacity <<= 1;
      this.cells = __realloc(this.cells, <usize>this.capacity * SQL_CELL_BYTES);
    }
    let c = this.cells + <usize>this.count * SQL_CELL_BYTES;
    this.count++;
    store<u32>(c + SQL_CELL_TYPE, type);
    store<u32>(c + SQL_CELL_LEN, 0);
    store<i64>(c + SQL_CELL_VALUE, 0);
    return c;
  }

  /** Binds a 64-bit integer. `stmt.bind().int(id).query()` */
  int(v: i64): SqlArgs {
    store<i64>(this.add(SQL_TYPE_INTEGER) + SQL_CELL_VALUE, v);
    return this;
  }

  /** Binds a float. `stmt.bind().float(4.5).query()` */
  float(v: f64): SqlArgs {
    store<f64>(this.add(SQL_TYPE_FLOAT) + SQL_CELL_VALUE, v);
    return this;
  }

  /** Binds text (its UTF-8 bytes). `stmt.bind().text(title).query()` */
  text(s: string): SqlArgs {
    let b = String.UTF8.encode(s);
    let c = this.add(SQL_TYPE_TEXT);
    store<u32>(c + SQL_CELL_LEN, <u32>b.byteLength);
    store<u32>(c + SQL_CELL_VALUE, <u32>changetype<usize>(b));
    return this;
  }

  /** Binds bytes as a blob (a heap array is copied into the arena first: the host reads
   *  only arena and start-up memory). `stmt.bind().bytes(digest).query()` */
  bytes(b: Uint8Array): SqlArgs {
    let ptr = b.dataStart;
    let len = <usize>b.length;
    if (__arena_in_heap(ptr)) {
      let copy = new Uint8Array(<i32>len);
      memory.copy(copy.dataStart, ptr, len);
      ptr = copy.dataStart;
    }
    let c = this.add(SQL_TYPE_BLOB);
    store<u32>(c + SQL_CELL_LEN, <u32>len);
    store<u32>(c + SQL_CELL_VALUE, <u32>ptr);
    return this;
  }

  /** Binds NULL. `stmt.bind().null().query()` */
  null(): SqlArgs {
    this.add(SQL_TYPE_NULL);
    return this;
  }

  /** Runs the statement with these arguments. `let rows = stmt.bind().int(7).query();` */
  query(): Rows {
    return this.statement.run(this.cells, this.count);
  }
}

/**
 * A statement prepared at start-up (`db.prepare(sql)`), run by any request with its own
 * arguments. A statement that did not prepare (a syntax error) keeps SQLite's sentence in
 * `error`, and every run of it answers that as a value.
 *
 * ```ts
 * const byId = db.prepare("SELECT id, title FROM notes WHERE id = ?");
 * // in a handler
 * let rows = byId.bind().int(id).query();
 * if (!rows.next()) return Response.text("no such note\n", 404);
 * ```
 */
@final
export class Statement {
  /** The host's handle, or -1 when it did not prepare. `if (stmt.handle < 0) …` */
  readonly handle: i32;
  /** How it failed to prepare, else SqlStatus.Ok. `if (stmt.status != SqlStatus.Ok) abort(stmt.error);` */
  readonly status: SqlStatus;
  /** SQLite's sentence when it did not prepare, else "". `log.error(stmt.error);` */
  readonly error: string;
  /** Columns of its rows (0 for a statement that returns none). `let n = stmt.columns;` */
  readonly columns: i32;
  private names: string[] = [];

  /** Prepares `sql` on `db`; use `db.prepare(sql)`. `new Statement(db, sql)` */
  // @ts-ignore: decorator
  @unsafe constructor(db: i32, sql: string) {
    let text = String.UTF8.encode(sql);
    let buf = buffer(SMALL_RESULT_BYTES);
    let h = hostPrepare(db, changetype<usize>(text), <usize>text.byteLength, buf, SMALL_RESULT_BYTES);
    if (h == -SQL_BAD_ARGUMENT && load<u32>(buf + SQL_RES_BYTES) == 0) abort("assert: the host refused Sqlite.prepare's buffer (a platform bug)");
    this.handle = h >= 0 ? h : -1;
    this.status = h >= 0 ? SqlStatus.Ok : <SqlStatus>(-h);
    this.error = h >= 0 ? "" : messageIn(buf);
    let columns = h >= 0 ? <i32>load<u32>(buf + SQL_RES_COLUMNS) : 0;
    this.columns = columns;
    for (let i = 0; i < columns; i++) this.names.push(Statement.nameOf(h, i));
  }

  private static nameOf(h: i32, i: i32): string {
    let cap: i32 = 64;
    let out = new ArrayBuffer(cap);
    let len = hostColumnName(h, i, changetype<usize>(out), <usize>cap);
    if (len > cap) {
      out = new ArrayBuffer(len);
      len = hostColumnName(h, i, changetype<usize>(out), <usize>len);
    }
    return len > 0 ? utf8(changetype<usize>(out), <usize>len) : "";
  }

  /** Whether it prepared. `if (!stmt.ok) abort(stmt.error);` */
  get ok(): bool {
    return this.handle >= 0;
  }

  /** The name of result column `i` ("" past the last). `let first = stmt.columnName(0);` */
  columnName(i: i32): string {
    return i >= 0 && i < this.names.length ? unchecked(this.names[i]) : "";
  }

  /** Starts binding arguments for one run. `let rows = stmt.bind().text(tag).int(20).query();` */
  bind(): SqlArgs {
    return new SqlArgs(this);
  }

  /** Runs it without arguments. `let rows = all.query();` */
  query(): Rows {
    return this.run(0, 0);
  }

  /** Runs it with `count` argument cells at `args`: the free part of the arena is the
   *  result's buffer, and what the host did not use goes back. `stmt.run(0, 0)` */
  // @ts-ignore: decorator
  @unsafe run(args: usize, count: i32): Rows {
    if (this.handle < 0) return new Rows(0, SQL_BAD_ARGUMENT, this.names, "this statement did not prepare: " + this.error);
    let room = __arena_room();
    if (room < SMALL_RESULT_BYTES + ROOM_SLACK_BYTES) return new Rows(0, SQL_TOO_LARGE, this.names, "the request's arena is full: no room for a result");
    let cap = (room - ROOM_SLACK_BYTES) & ~(<usize>15);
    let buf = buffer(cap);
    let status = hostQuery(this.handle, args, <usize>count, buf, cap);
    if (status == SQL_BAD_ARGUMENT && load<u32>(buf + SQL_RES_BYTES) == 0) abort("assert: the host refused a query's buffer (a platform bug)");
    trim(buf);
    return new Rows(buf, status, this.names, null);
  }
}

/**
 * A SQLite database, opened by start-up code (`Sqlite.open`): its migrations, its prepared
 * statements and its transactions. Each worker opens its own connection to the file, which
 * is in WAL mode, so every worker sees every commit; `":memory:"` is a database private to
 * one worker and gone when it stops.
 *
 * ```ts
 * const db = Sqlite.open(envOr("APP_DB", "app.db"));
 * if (!db.ok) abort(db.error);
 * db.migrate(["CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT NOT NULL)"]);
 * const insert = db.prepare("INSERT INTO notes (title) VALUES (?)");
 * ```
 */
@final
export class Sqlite {
  /** The host's handle, or -1 when it did not open. `if (db.handle < 0) …` */
  readonly handle: i32;
  /** SQLite's sentence when it did not open, else "". `abort(db.error);` */
  readonly error: string;

  /** A database by its handle; `Sqlite.open(path)` makes it. `Sqlite.open(":memory:")` */
  // @ts-ignore: decorator
  @unsafe constructor(handle: i32, error: string) {
    this.handle = handle;
    this.error = error;
  }

  /**
   * Opens the database at `path` (made when missing; relative to the server's working
   * directory) or `":memory:"`. Start-up code only: in a handler it fails with
   * SqlStatus.Unavailable. A file database is put in WAL mode.
   *
   * ```ts
   * const db = Sqlite.open("notes.db");
   * if (!db.ok) abort("cannot open notes.db: " + db.error);
   * ```
   */
  static open(path: string): Sqlite {
    let p = String.UTF8.encode(path);
    let buf = buffer(SMALL_RESULT_BYTES);
    let h = hostOpen(changetype<usize>(p), <usize>p.byteLength, buf, SMALL_RESULT_BYTES);
    return h >= 0 ? new Sqlite(h, "") : new Sqlite(-1, messageIn(buf));
  }

  /** Whether it opened. `if (!db.ok) abort(db.error);` */
  get ok(): bool {
    return this.handle >= 0;
  }

  /**
   * Brings the schema up to date: script `i` (0-based) is migration `i + 1`, applied in
   * order when `PRAGMA user_version` is below it, each with its new version in one
   * transaction. A failing script stops start-up with its message (nothing of it is
   * applied). Only ever append scripts: a script that ran is never run again.
   *
   * ```ts
   * db.migrate([
   *   "CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT NOT NULL)",
   *   "ALTER TABLE notes ADD COLUMN created INTEGER NOT NULL DEFAULT 0",
   * ]);
   * ```
   */
  migrate(scripts: string[]): void {
    for (let i = 0; i < scripts.length; i++) {
      let sql = String.UTF8.encode(scripts[i]);
      let buf = buffer(SMALL_RESULT_BYTES);
      let status = hostMigrate(this.handle, i + 1, changetype<usize>(sql), <usize>sql.byteLength, buf, SMALL_RESULT_BYTES);
      if (status != SQL_OK) abort("Sqlite.migrate: " + messageIn(buf));
    }
  }

  /** Prepares `sql` once, at start-up (in a handler it answers SqlStatus.Unavailable).
   *  `const list = db.prepare("SELECT id, title FROM notes ORDER BY id DESC LIMIT ?");` */
  prepare(sql: string): Statement {
    return new Statement(this.handle, sql);
  }

  private step(op: i32): Rows {
    let buf = buffer(SMALL_RESULT_BYTES);
    let status = hostTx(this.handle, op, buf, SMALL_RESULT_BYTES);
    trim(buf);
    return new Rows(buf, status, null, null);
  }

  /**
   * Begins a transaction (BEGIN IMMEDIATE: it takes the write lock now). It belongs to this
   * request until `commit` or `rollback`; one left open when the request ends is rolled
   * back. Do not wait (fetch, sleep) inside it: other requests' statements answer Busy.
   *
   * ```ts
   * if (!db.begin().ok) return Response.text("busy\n", 503);
   * let moved = debit.bind().int(from).int(cents).query().ok && credit.bind().int(to).int(cents).query().ok;
   * if (moved) db.commit(); else db.rollback();
   * ```
   */
  begin(): Rows {
    return this.step(SQL_TX_BEGIN);
  }

  /** Commits this request's transaction. `if (!db.commit().ok) return Response.text("retry\n", 503);` */
  commit(): Rows {
    return this.step(SQL_TX_COMMIT);
  }

  /** Rolls back this request's transaction. `db.rollback();` */
  rollback(): Rows {
    return this.step(SQL_TX_ROLLBACK);
  }
}
