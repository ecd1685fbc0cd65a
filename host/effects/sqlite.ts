// The SQLite effects: the `arena.sqlite_*` imports, over node:sqlite (built into the pinned
// Node: nothing native to build). An app opens its databases, runs its migrations and
// prepares its statements in start-up code; a request runs a prepared statement by its
// handle, with arguments it binds per call, and gets the rows written into its own arena
// (host/effects/sqlite_result.ts has the layout). Every failure is a value with SQLite's
// sentence; nothing here traps but the CPU budget.
//
// node:sqlite is synchronous, so a statement runs on this worker's event loop, and other
// requests wait for it (docs/abi.md, "SQLite", has the measured cost). It cannot be
// interrupted (node:sqlite has no progress handler), so its time is charged to the request
// after it ran, like any stretch of the app's own code: over the budget, the request traps
// with ARENA_E_CPU. A query that streams rows is also stopped between rows once over it.
//
// Each worker's build opens its own connection; a file database is in WAL mode, so the
// workers' readers do not block their writer, and ":memory:" is private to the connection.

import {
  REGION_ID_STARTUP, SQL_BAD_ARGUMENT, SQL_BUSY, SQL_CANCELLED, SQL_CELL_BYTES, SQL_RESULT_HEADER_BYTES, SQL_RES_COLUMNS,
  SQL_TOO_LARGE, SQL_TX_BEGIN, SQL_TX_COMMIT, SQL_TX_ROLLBACK, SQL_UNAVAILABLE,
} from "../abi/constants.ts";
import type { Caller } from "../abi/caller.ts";
import type { SlotContext } from "../abi/slot_context.ts";
import type { AppMemory } from "../memory/app_memory.ts";
import {
  SQLITE_CLOCK_ROWS, SQLITE_DATABASES_MAX, SQLITE_PARAMS_MAX, SQLITE_ROWS_MAX, SQLITE_SQL_BYTES_MAX, SQLITE_STATEMENTS_MAX,
  STARTUP_CPU_MS_MAX,
} from "../limits.ts";
import type { Logger } from "../log.ts";
import { Database } from "./sqlite_database.ts";
import { messageOf, readArguments, ResultWriter, statusOf, type SqlValue } from "./sqlite_result.ts";
import type { StatementSync } from "node:sqlite";

const utf8 = new TextDecoder("utf-8");
const encoder = new TextEncoder();

/** A statement prepared at start-up: its database, its columns' names (UTF-8), and whether
 *  it writes (an INSERT, UPDATE, DELETE or REPLACE), whose changes a RETURNING result reports. */
interface Prepared {
  stmt: StatementSync;
  database: Database;
  names: Uint8Array[];
  writes: boolean;
}

const WRITES = /^\s*(insert|update|delete|replace)\b/i;

export class SqliteEffects {
  private readonly memory: AppMemory;
  private readonly caller: Caller;
  private readonly log: Logger;
  private readonly cpuBudgetMs: number;
  private readonly databases: Database[] = [];
  private readonly statements: Prepared[] = [];
  private readonly w: ResultWriter;
  /** The arguments of the query being run, reused by every call. */
  private readonly args: SqlValue[] = [];
  private readonly validRange = (ptr: number, len: number): boolean => this.valid(ptr, len);

  constructor(memory: AppMemory, caller: Caller, log: Logger, cpuBudgetMs: number) {
    this.memory = memory;
    this.caller = caller;
    this.log = log;
    this.cpuBudgetMs = cpuBudgetMs;
    this.w = new ResultWriter(memory.u8, memory.dv);
  }

  private valid(ptr: number, len: number): boolean {
    return this.memory.validRange(this.caller.current().slot, ptr >>> 0, len >>> 0);
  }

  /** The result buffer [outPtr, outPtr + outCap) begins, or false when it may not. */
  private out(outPtr: number, outCap: number, columns = 0): boolean {
    if ((outCap >>> 0) < SQL_RESULT_HEADER_BYTES || !this.valid(outPtr, outCap)) return false;
    this.w.begin(outPtr >>> 0, outCap >>> 0, columns);
    return true;
  }

  /** SQL text the caller passed, or null when it is outside its memory or too long. */
  private text(ptr: number, len: number): string | null {
    if ((len >>> 0) > SQLITE_SQL_BYTES_MAX || !this.valid(ptr, len)) return null;
    return utf8.decode(this.memory.u8.subarray(ptr >>> 0, (ptr >>> 0) + (len >>> 0)));
  }

  private database(h: number): Database | null {
    return Number.isInteger(h) && h >= 0 && h < this.databases.length ? this.databases[h] : null;
  }

  /** The request, or null for start-up code, which is the only code that may open, migrate
   *  and prepare (they are made once, and kept for the build's life). */
  private startupOnly(what: string): string | null {
    return this.caller.request() === null ? null : `${what} is allowed only in start-up code (the app's top level)`;
  }

  /** Starts measuring the caller's CPU now if nothing measures it yet (a plain call is
   *  measured from its first CPU check; a statement is one). */
  private startClock(ctx: SlotContext): void {
    if (ctx.cpuBase < 0) ctx.cpuMs();
  }

  private budget(ctx: SlotContext): number {
    return ctx.slot === REGION_ID_STARTUP ? STARTUP_CPU_MS_MAX : this.cpuBudgetMs;
  }

  /** Charges what the statement used: over the budget, the caller traps (ARENA_E_CPU). */
  private charge(ctx: SlotContext): void {
    const used = ctx.cpuMs();
    if (used <= this.budget(ctx)) return;
    ctx.trap.cpuMs = used;
    throw new WebAssembly.RuntimeError("CPU budget exceeded");
  }

  imports(): Record<string, unknown> {
    return {
      // sqlite_open(pathPtr, pathLen, outPtr, outCap) -> database handle >= 0, or -status
      // with the message in the result buffer. Start-up code only.
      sqlite_open: (pathPtr: number, pathLen: number, outPtr: number, outCap: number): number => {
        if (!this.out(outPtr, outCap)) return -SQL_BAD_ARGUMENT;
        return this.open(pathPtr, pathLen);
      },
      // sqlite_migrate(db, version, sqlPtr, sqlLen, outPtr, outCap) -> status. Start-up only.
      sqlite_migrate: (h: number, version: number, sqlPtr: number, sqlLen: number, outPtr: number, outCap: number): number => {
        if (!this.out(outPtr, outCap)) return SQL_BAD_ARGUMENT;
        const refused = this.startupOnly("Sqlite.migrate");
        if (refused !== null) return this.w.fail(SQL_UNAVAILABLE, refused);
        const d = this.database(h);
        const sql = this.text(sqlPtr, sqlLen);
        if (d === null || sql === null || !(version >= 1)) return this.w.fail(SQL_BAD_ARGUMENT, "a migration needs an open database, a version from 1 and its SQL in the caller's memory");
        const ctx = this.caller.current();
        this.startClock(ctx);
        const status = d.migrate(version, sql, this.w);
        this.charge(ctx);
        return status;
      },
      // sqlite_prepare(db, sqlPtr, sqlLen, outPtr, outCap) -> statement handle >= 0 (its
      // column count in the result header), or -status. Start-up code only.
      sqlite_prepare: (h: number, sqlPtr: number, sqlLen: number, outPtr: number, outCap: number): number => {
        if (!this.out(outPtr, outCap)) return -SQL_BAD_ARGUMENT;
        return this.prepare(h, sqlPtr, sqlLen, outPtr);
      },
      // sqlite_column_name(stmt, index, outPtr, outCap) -> the name's UTF-8 length, written
      // when it fits outCap (else ask again with room), or -SQL_BAD_ARGUMENT.
      sqlite_column_name: (s: number, index: number, outPtr: number, outCap: number): number => {
        const p = this.statement(s);
        if (p === null || !(index >= 0 && index < p.names.length) || !this.valid(outPtr, outCap)) return -SQL_BAD_ARGUMENT;
        const name = p.names[index];
        if (name.length <= outCap >>> 0) this.memory.u8.set(name, outPtr >>> 0);
        return name.length;
      },
      // sqlite_query(stmt, argsPtr, argCount, outPtr, outCap) -> status; the rows (or the
      // message) in the result buffer.
      sqlite_query: (s: number, argsPtr: number, argCount: number, outPtr: number, outCap: number): number => {
        if (!this.out(outPtr, outCap)) return SQL_BAD_ARGUMENT;
        return this.query(s, argsPtr, argCount);
      },
      // sqlite_tx(db, op, outPtr, outCap) -> status: SQL_TX_BEGIN, SQL_TX_COMMIT, SQL_TX_ROLLBACK.
      sqlite_tx: (h: number, op: number, outPtr: number, outCap: number): number => {
        if (!this.out(outPtr, outCap)) return SQL_BAD_ARGUMENT;
        return this.transaction(h, op);
      },
    };
  }

  private statement(s: number): Prepared | null {
    return Number.isInteger(s) && s >= 0 && s < this.statements.length ? this.statements[s] : null;
  }

  private open(pathPtr: number, pathLen: number): number {
    const w = this.w;
    const refused = this.startupOnly("Sqlite.open");
    if (refused !== null) return -w.fail(SQL_UNAVAILABLE, refused);
    const path = this.text(pathPtr, pathLen);
    if (path === null || path.length === 0) return -w.fail(SQL_BAD_ARGUMENT, "the database path must be a file name or :memory:");
    if (this.databases.length >= SQLITE_DATABASES_MAX) {
      return -w.fail(SQL_TOO_LARGE, `an app may open at most ${SQLITE_DATABASES_MAX} databases (SQLITE_DATABASES_MAX)`);
    }
    try {
      this.databases.push(new Database(path, this.log));
    } catch (err) {
      return -w.fail(statusOf(err), `cannot open ${path}: ${messageOf(err)}`);
    }
    w.ok(0, 0);
    return this.databases.length - 1;
  }

  private prepare(h: number, sqlPtr: number, sqlLen: number, outPtr: number): number {
    const w = this.w;
    const refused = this.startupOnly("Sqlite.prepare");
    if (refused !== null) return -w.fail(SQL_UNAVAILABLE, refused);
    const d = this.database(h);
    const sql = this.text(sqlPtr, sqlLen);
    if (d === null || sql === null) return -w.fail(SQL_BAD_ARGUMENT, "a statement needs an open database and its SQL in the caller's memory");
    if (this.statements.length >= SQLITE_STATEMENTS_MAX) {
      return -w.fail(SQL_TOO_LARGE, `an app may prepare at most ${SQLITE_STATEMENTS_MAX} statements (SQLITE_STATEMENTS_MAX)`);
    }
    let stmt: StatementSync;
    try {
      stmt = d.db.prepare(sql);
    } catch (err) {
      return -w.fail(statusOf(err), messageOf(err));
    }
    const names = stmt.columns().map((c) => encoder.encode(c.name));
    this.statements.push({ stmt, database: d, names, writes: WRITES.test(sql) });
    w.ok(0, 0);
    this.memory.dv.setUint32((outPtr >>> 0) + SQL_RES_COLUMNS, names.length, true);
    return this.statements.length - 1;
  }

  private query(s: number, argsPtr: number, argCount: number): number {
    const w = this.w;
    const p = this.statement(s);
    if (p === null) return w.fail(SQL_BAD_ARGUMENT, `there is no statement ${s}: use a handle Sqlite.prepare returned`);
    const ctx = this.caller.current();
    if (ctx.cancelled) return w.fail(SQL_CANCELLED, "the request was cancelled (its client left or its deadline passed)");
    argCount = argCount >>> 0;
    if (argCount > SQLITE_PARAMS_MAX || !this.valid(argsPtr, argCount * SQL_CELL_BYTES)) {
      return w.fail(SQL_BAD_ARGUMENT, `the arguments must be at most ${SQLITE_PARAMS_MAX} cells in the caller's memory`);
    }
    const u8 = this.memory.u8;
    const refused = readArguments(u8, this.memory.dv, argsPtr >>> 0, argCount, this.args, this.validRange);
    if (refused !== null) return w.fail(SQL_BAD_ARGUMENT, refused);
    const d = p.database;
    if (!d.gate(ctx)) return w.fail(SQL_BUSY, `another request's transaction is open on ${d.path} (a request must not wait between begin and commit)`);
    w.columnsAre(p.names.length);
    this.startClock(ctx);
    const status = p.names.length === 0 ? this.run(p) : this.rows(p, ctx);
    this.args.length = 0;
    d.settle(ctx);
    this.charge(ctx);
    return status;
  }

  /** A statement without result columns: run once, its changes reported. */
  private run(p: Prepared): number {
    try {
      const r = p.stmt.run(...this.args);
      return this.w.ok(r.changes, r.lastInsertRowid);
    } catch (err) {
      return this.w.fail(statusOf(err), messageOf(err));
    }
  }

  /** A statement with result columns: its rows, one array each from node:sqlite's iterator,
   *  written into the buffer until they end, pass SQLITE_ROWS_MAX or do not fit. */
  private rows(p: Prepared, ctx: SlotContext): number {
    const w = this.w;
    const budget = this.budget(ctx);
    // Wall time since the stretch began bounds what it will be charged: no clock read here.
    let wallLimit = performance.now() + budget - ctx.cpuUsedMs - (performance.now() - ctx.wallBase);
    const it = p.stmt.iterate(...this.args);
    try {
      for (let r = it.next(); !r.done; r = it.next()) {
        if (w.count >= SQLITE_ROWS_MAX) {
          it.return?.();
          return w.fail(SQL_TOO_LARGE, `the query returned more than ${SQLITE_ROWS_MAX} rows (SQLITE_ROWS_MAX): add a LIMIT`);
        }
        if (!w.row(r.value as unknown as SqlValue[])) {
          it.return?.();
          return w.fail(SQL_TOO_LARGE, `the result does not fit the ${w.capacity} bytes the caller passed (the free part of its arena)`);
        }
        if (w.count % SQLITE_CLOCK_ROWS === 0 && performance.now() > wallLimit) {
          const used = ctx.cpuMs();
          if (used > budget) {
            it.return?.();
            break; // charge() traps right after
          }
          wallLimit = performance.now() + budget - used;
        }
      }
    } catch (err) {
      return w.fail(statusOf(err), messageOf(err));
    }
    if (!p.writes) return w.ok(0, 0);
    const c = p.database.changes.get() as unknown as [bigint, bigint];
    return w.ok(c[0], c[1]);
  }

  private transaction(h: number, op: number): number {
    const w = this.w;
    const d = this.database(h);
    const name = op === SQL_TX_BEGIN ? "begin" : op === SQL_TX_COMMIT ? "commit" : op === SQL_TX_ROLLBACK ? "rollback" : null;
    if (d === null || name === null) return w.fail(SQL_BAD_ARGUMENT, "a transaction step needs an open database and SQL_TX_BEGIN, SQL_TX_COMMIT or SQL_TX_ROLLBACK");
    const ctx = this.caller.current();
    if (ctx.cancelled && name === "begin") return w.fail(SQL_CANCELLED, "the request was cancelled (its client left or its deadline passed)");
    if (!d.gate(ctx)) return w.fail(SQL_BUSY, `another request's transaction is open on ${d.path} (a request must not wait between begin and commit)`);
    this.startClock(ctx);
    const failed = d.transaction(ctx, name);
    this.charge(ctx);
    return failed === null ? w.ok(0, 0) : w.fail(failed.status, failed.message);
  }

  /** The app is done with the request in `slot`: a transaction it left open is rolled back. */
  readonly requestEnded = (slot: number): void => {
    for (let i = 0; i < this.databases.length; i++) this.databases[i].ended(slot);
  };

  /** Closes every database (their statements with them): when the build is dropped. */
  close(): void {
    for (const d of this.databases) d.close();
    this.databases.length = 0;
    this.statements.length = 0;
  }
}
