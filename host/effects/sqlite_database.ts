// One database an app opened: its connection (node:sqlite's DatabaseSync, one per build per
// worker), the request whose transaction is open on it, and its migrations. A connection
// is shared by every request of the build, and requests interleave (one waits on a fetch
// while another runs), so a transaction belongs to the request that began it: another
// request's statement meanwhile is a Busy value rather than a statement run inside a
// stranger's transaction, and a transaction its request left open (it returned or
// trapped) is rolled back when the request ends.

import { DatabaseSync, type StatementSync } from "node:sqlite";
import { REGION_ID_STARTUP, SQL_BAD_ARGUMENT } from "../abi/constants.ts";
import type { SlotContext } from "../abi/slot_context.ts";
import { SQLITE_BUSY_TIMEOUT_MS } from "../limits.ts";
import type { Logger } from "../log.ts";
import { messageOf, statusOf, type ResultWriter } from "./sqlite_result.ts";

/** What a failed step answers: its status and SQLite's sentence. */
export interface SqlFailure {
  status: number;
  message: string;
}

export class Database {
  readonly db: DatabaseSync;
  readonly path: string;
  /** The request whose transaction is open, and its id (a slot's context is reused). */
  private txOwner: SlotContext | null = null;
  private txId = 0;
  /** `SELECT changes(), last_insert_rowid()`: what a statement that returns rows changed. */
  readonly changes: StatementSync;
  private readonly userVersion: StatementSync;
  private readonly log: Logger;

  /** Opens `path` (a file, made when missing, or ":memory:"); throws node:sqlite's error. */
  constructor(path: string, log: Logger) {
    this.path = path;
    this.log = log;
    // readBigInts: an INTEGER comes back as a bigint and a REAL as a number, so a cell's
    // type is known without asking SQLite per column. returnArrays: a row is one array,
    // not an object with a property per column.
    this.db = new DatabaseSync(path, {
      timeout: SQLITE_BUSY_TIMEOUT_MS, readBigInts: true, returnArrays: true,
      enableForeignKeyConstraints: true, allowExtension: false, defensive: true,
    });
    try {
      // WAL: readers do not block the writer (every worker has its own connection to the
      // file); NORMAL: a commit survives a crash of the process, not a power cut.
      if (path !== ":memory:" && path !== "") this.db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL");
      this.changes = this.db.prepare("SELECT changes(), last_insert_rowid()");
      this.userVersion = this.db.prepare("PRAGMA user_version");
    } catch (err) {
      this.db.close();
      throw err;
    }
  }

  /**
   * Whether `ctx` may run a statement now: no transaction is open, or it is `ctx`'s own. A
   * transaction whose request has ended is rolled back first (start-up code's, once
   * requests run). False: another live request's transaction is open.
   */
  gate(ctx: SlotContext): boolean {
    const owner = this.txOwner;
    if (owner === null || (owner === ctx && ctx.id === this.txId)) return true;
    const ended = owner.id !== this.txId || (owner.slot === REGION_ID_STARTUP && ctx.slot !== REGION_ID_STARTUP);
    if (!ended) return false;
    this.abandon();
    return true;
  }

  /** After a statement of `ctx`: a transaction it opened (a prepared BEGIN) is its own; one
   *  it closed (a prepared COMMIT) is no one's. */
  settle(ctx: SlotContext): void {
    if (!this.db.isTransaction) this.txOwner = null;
    else if (this.txOwner === null) {
      this.txOwner = ctx;
      this.txId = ctx.id;
    }
  }

  /** The request in `slot` is done: a transaction it left open is rolled back. */
  ended(slot: number): void {
    if (this.txOwner !== null && this.txOwner.slot === slot) this.abandon();
  }

  private abandon(): void {
    const id = this.txOwner?.id ?? 0;
    this.txOwner = null;
    if (!this.db.isTransaction) return;
    try {
      this.db.exec("ROLLBACK");
    } catch {
      // Nothing to roll back any more: SQLite ended it itself.
    }
    this.log.record("warn", id, `sqlite: a request ended with a transaction open on ${this.path}; it was rolled back`, null);
  }

  /** BEGIN IMMEDIATE (the write lock is taken now, so two writers cannot deadlock later),
   *  COMMIT or ROLLBACK for `ctx`, which passed the gate. Null, or why not. */
  transaction(ctx: SlotContext, op: "begin" | "commit" | "rollback"): SqlFailure | null {
    const open = this.db.isTransaction;
    if (op === "begin" && open) return { status: SQL_BAD_ARGUMENT, message: "a transaction is already open: commit or roll it back first" };
    if (op !== "begin" && !open) return { status: SQL_BAD_ARGUMENT, message: `no transaction is open to ${op}` };
    try {
      this.db.exec(op === "begin" ? "BEGIN IMMEDIATE" : op === "commit" ? "COMMIT" : "ROLLBACK");
    } catch (err) {
      this.settle(ctx);
      return { status: statusOf(err), message: messageOf(err) };
    }
    this.settle(ctx);
    return null;
  }

  /** The schema version PRAGMA user_version records. */
  version(): number {
    return Number((this.userVersion.get() as unknown as [bigint])[0]);
  }

  /**
   * Applies migration `version` (1-based) unless the database has it: the script and the
   * new user_version in one BEGIN IMMEDIATE transaction, so a script that fails leaves
   * nothing of it, and two workers starting together apply it once (the second finds the
   * version already there once it has the lock). Writes the outcome into `w`.
   */
  migrate(version: number, sql: string, w: ResultWriter): number {
    const at = this.version();
    if (at >= version) return w.ok(0, 0);
    if (at < version - 1) return w.fail(SQL_BAD_ARGUMENT, `migration ${version} comes after ${version - 1}, but the database is at version ${at}`);
    try {
      this.db.exec("BEGIN IMMEDIATE");
      if (this.version() < version) {
        this.db.exec(sql);
        this.db.exec(`PRAGMA user_version = ${version}`);
      }
      this.db.exec("COMMIT");
    } catch (err) {
      if (this.db.isTransaction) this.db.exec("ROLLBACK");
      return w.fail(statusOf(err), `migration ${version} failed: ${messageOf(err)}`);
    }
    return w.ok(0, 0);
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}
