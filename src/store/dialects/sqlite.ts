/**
 * SQLite through better-sqlite3 (synchronous). WAL mode with a busy timeout lets a server and the
 * CLI share one file. Every write is durable before it is reported done: SQLite commits without
 * syncing (`synchronous=NORMAL`) and the dialect fsyncs the WAL itself — inline for a lone write,
 * on the thread pool for a group — which gives `synchronous=FULL`'s guarantee without the event
 * loop waiting for the disk while other requests are in flight.
 *
 * better-sqlite3 has one connection and no awaits of its own, so a transaction that awaits could
 * interleave with other callers' statements on that connection: every statement and transaction
 * therefore runs under a per-connection mutex.
 */
import * as fs from "node:fs";
import Database from "better-sqlite3";
import { MlflowSecretsError } from "../../errors.js";
import { IMMUTABLE_AAD_MESSAGE, secretsTable } from "../schema.js";
import type {
  Dialect,
  DialectSql,
  Row,
  SqlExecutor,
  SqlValue,
  TransactionOptions,
} from "../dialect.js";
import { WRAPPED_DEK_LENGTH } from "../../crypto/constants.js";
import {
  createTableWithIndexStatements,
  packedCompareAndSet,
  portableRotationSql,
} from "../dialect.js";
import type { SqliteTarget } from "../uri.js";

const BUSY_TIMEOUT_MS = 10_000;

/** fdatasync on libuv's thread pool (looked up per call, so tests can observe it). */
function datasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) =>
    fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())),
  );
}

/**
 * One connection per database file per process, shared by every store opened on it. Two
 * connections in one thread would deadlock: a transaction that awaits holds the write lock
 * while the other connection's busy handler blocks the very thread that would release it.
 */
const shared = new Map<string, { dialect: SqliteDialect; refs: number }>();

const SECRETS_DDL = [
  ...createTableWithIndexStatements(secretsTable("BLOB")),
  `CREATE TRIGGER IF NOT EXISTS prevent_secrets_aad_mutation
BEFORE UPDATE ON secrets
FOR EACH ROW
WHEN OLD.secret_id != NEW.secret_id OR OLD.secret_name != NEW.secret_name
BEGIN
    SELECT RAISE(ABORT, '${IMMUTABLE_AAD_MESSAGE}');
END`,
];

// One statement per batch: the keys travel as one JSON array and the DEKs as two packed blobs,
// so binding costs nothing per row; json_each's index picks each row's 60 bytes.
const COMPARE_AND_SET_WRAPPED_DEKS = `UPDATE secrets SET wrapped_dek = substr(?, v.key * ${WRAPPED_DEK_LENGTH} + 1, ${WRAPPED_DEK_LENGTH}), kek_version = ?
FROM json_each(?) AS v
WHERE secrets.rowid = v.value AND secrets.kek_version = ? AND secrets.wrapped_dek = substr(?, v.key * ${WRAPPED_DEK_LENGTH} + 1, ${WRAPPED_DEK_LENGTH})`;

// A batch as one row: the rowids as JSON and the DEKs concatenated into one blob, in rowid order
// (SQLite ≥ 3.44). group_concat copies blob bytes as they are; the CAST keeps them a blob.
const packedRead = (after: string) =>
  `SELECT count(*) AS n, json_group_array(k ORDER BY k) AS keys, CAST(group_concat(d, '' ORDER BY k) AS BLOB) AS deks, ` +
  `sum(length(d) <> ${WRAPPED_DEK_LENGTH}) AS malformed ` +
  `FROM (SELECT rowid AS k, wrapped_dek AS d FROM secrets WHERE kek_version = ?${after} ORDER BY rowid LIMIT ?)`;

const SQL: DialectSql = {
  createSecretsTable: SECRETS_DDL,
  types: { blob: "BLOB", bigint: "BIGINT", text: "TEXT", tableOptions: "" },
  // SQLite compares TEXT with memcmp over UTF-8: code-point order already.
  createTable: createTableWithIndexStatements,
  nameKey: (column) => column,
  nameParam: "?",
  rotation: {
    ...portableRotationSql("rowid"),
    readPacked: { first: packedRead(""), next: packedRead(" AND rowid > ?") },
    compareAndSetWrappedDeks: (u) => packedCompareAndSet(COMPARE_AND_SET_WRAPPED_DEKS, u),
  },
};

type Statement = Database.Statement<unknown[], unknown>;

/**
 * A prepared statement; a reader runs in raw mode (rows as arrays, turned into objects here),
 * which takes half the time of better-sqlite3's own row objects on wide result sets.
 */
interface Prepared {
  statement: Statement;
  columns: readonly string[] | undefined;
}

function toRow(values: readonly unknown[], columns: readonly string[]): Row {
  const row: Row = {};
  for (let i = 0; i < columns.length; i++) row[columns[i]!] = values[i];
  return row;
}

/** How many write transactions share one commit at most. */
const MAX_GROUP_SIZE = 256;

interface PendingWrite {
  fn: (tx: SqlExecutor) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
}

export class SqliteDialect implements Dialect {
  readonly name = "sqlite" as const;
  readonly sql = SQL;
  readonly #db: Database.Database;
  readonly #statements = new Map<string, Prepared>();
  #queue: Promise<void> = Promise.resolve();
  #holders = 0;
  readonly #pendingWrites: PendingWrite[] = [];
  #groupScheduled = false;
  readonly #executor: SqlExecutor;
  #path = ":memory:";
  /** The write-ahead log's descriptor, opened after the first commit. */
  #walFd: number | undefined;
  /** Set when syncing the WAL failed: SQLite syncs every commit itself from then on. */
  #sqliteSyncs = false;
  #syncRequested = 0;
  #syncDone = 0;
  #syncLoop: Promise<void> | undefined;
  readonly #syncWaiters: { upTo: number; resolve: () => void; reject: (err: unknown) => void }[] =
    [];

  private constructor(db: Database.Database) {
    this.#db = db;
    this.#executor = {
      all: async <T extends Row>(sql: string, params: readonly SqlValue[] = []) => {
        const { statement, columns } = this.#prepare(sql);
        const rows = statement.all(...params);
        return (columns ? (rows as unknown[][]).map((r) => toRow(r, columns)) : rows) as T[];
      },
      get: async <T extends Row>(sql: string, params: readonly SqlValue[] = []) => {
        const { statement, columns } = this.#prepare(sql);
        const row = statement.get(...params);
        return (columns && row !== undefined ? toRow(row as unknown[], columns) : row) as
          T | undefined;
      },
      run: async (sql: string, params: readonly SqlValue[] = []) =>
        this.#prepare(sql).statement.run(...params).changes,
      exec: async (statements: readonly string[]) => {
        for (const statement of statements) this.#db.exec(statement);
      },
    };
  }

  static open(target: SqliteTarget): SqliteDialect {
    const entry = target.path === ":memory:" ? undefined : shared.get(target.path);
    if (entry !== undefined) {
      entry.refs++;
      return entry.dialect;
    }
    const dialect = SqliteDialect.#connect(target);
    if (target.path !== ":memory:") shared.set(target.path, { dialect, refs: 1 });
    dialect.#path = target.path;
    return dialect;
  }

  static #connect(target: SqliteTarget): SqliteDialect {
    if (target.path !== ":memory:" && !fs.existsSync(target.path)) {
      // A new database file is private to its owner; SQLite gives -wal and -shm the same mode.
      fs.closeSync(fs.openSync(target.path, "wx", 0o600));
    }
    const db = new Database(target.path, { timeout: BUSY_TIMEOUT_MS });
    try {
      db.pragma("journal_mode = WAL");
      // Commits do not fsync in SQLite; `#durable()` fsyncs the WAL (on the thread pool when
      // other writes are in flight) before any write is reported done: FULL's guarantee.
      db.pragma(target.path === ":memory:" ? "synchronous = FULL" : "synchronous = NORMAL");
      // MLflow's model_definitions.secret_id has ON DELETE SET NULL; SQLite enforces it only with this.
      db.pragma("foreign_keys = ON");
      db.defaultSafeIntegers(false);
    } catch (err) {
      db.close();
      throw err;
    }
    return new SqliteDialect(db);
  }

  #prepare(sql: string): Prepared {
    let prepared = this.#statements.get(sql);
    if (prepared === undefined) {
      const statement = this.#db.prepare(sql);
      const columns = statement.reader
        ? statement
            .raw(true)
            .columns()
            .map((c) => c.name)
        : undefined;
      prepared = { statement, columns };
      this.#statements.set(sql, prepared);
    }
    return prepared;
  }

  /**
   * Runs `fn` alone on the connection, after whoever holds it. Single statements skip the queue
   * when nobody holds it: they run synchronously, so nothing can interleave with them.
   */
  async #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.#queue;
    let release!: () => void;
    this.#queue = new Promise<void>((resolve) => (release = resolve));
    this.#holders++;
    try {
      await previous;
      return await fn();
    } finally {
      this.#holders--;
      release();
    }
  }

  all<T extends Row = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    const run = () => this.#executor.all<T>(sql, params);
    return this.#holders === 0 ? run() : this.#exclusive(run);
  }

  get<T extends Row = Row>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    const run = () => this.#executor.get<T>(sql, params);
    return this.#holders === 0 ? run() : this.#exclusive(run);
  }

  /** An auto-committed statement; like a write transaction, it settles once it is on disk. */
  async run(sql: string, params?: readonly SqlValue[]): Promise<number> {
    const run = () => this.#executor.run(sql, params);
    const changes = await (this.#holders === 0 ? run() : this.#exclusive(run));
    if (changes > 0) await this.#durable(true);
    return changes;
  }

  exec(statements: readonly string[]): Promise<void> {
    return this.#exclusive(() => this.#executor.exec(statements));
  }

  /**
   * Read transactions run alone on the connection. Write transactions are grouped: those that
   * arrive within one turn of the event loop run one after another inside a single
   * `BEGIN IMMEDIATE … COMMIT`, each in its own savepoint, so that one commit serves them all.
   * A member that fails rolls back to its savepoint alone; every member's promise settles only
   * after the shared COMMIT and the fsync of the WAL that follows it (`#durable`), so a caller
   * never sees success for a change that is not on disk.
   */
  transaction<T>(
    fn: (tx: SqlExecutor) => Promise<T>,
    options: TransactionOptions = {},
  ): Promise<T> {
    if (!options.write) {
      return this.#exclusive(async () => {
        this.#db.exec("BEGIN");
        try {
          const result = await fn(this.#executor);
          this.#db.exec("COMMIT");
          return result;
        } catch (err) {
          if (this.#db.inTransaction) this.#db.exec("ROLLBACK");
          throw err;
        }
      });
    }
    return new Promise<T>((resolve, reject) => {
      this.#pendingWrites.push({
        fn,
        resolve: resolve as (value: unknown) => void,
        reject,
      });
      this.#scheduleGroup();
    });
  }

  #scheduleGroup(): void {
    if (this.#groupScheduled) return;
    this.#groupScheduled = true;
    setImmediate(() => {
      this.#groupScheduled = false;
      void this.#exclusive(async () => {
        const group = this.#pendingWrites.splice(0, MAX_GROUP_SIZE);
        if (this.#pendingWrites.length > 0) this.#scheduleGroup();
        return group.length > 0 ? this.#commitGroup(group) : [];
      }).then(async (committed) => {
        if (committed.length === 0) return;
        // The connection is free again; the next group runs while this one's fsync proceeds.
        try {
          await this.#durable(committed.length === 1);
        } catch (err) {
          for (const { write } of committed) write.reject(err);
          return;
        }
        for (const { write, result } of committed) write.resolve(result);
      });
    });
  }

  /**
   * Resolves once everything committed so far is on disk. A lone commit with nothing else in
   * flight is synced at once (nobody waits behind it); otherwise one fdatasync of the WAL on the
   * thread pool serves every commit made before it started (group fsync), and the event loop
   * never waits for the disk. If the WAL cannot be synced, the connection falls back to
   * `synchronous=FULL` (SQLite syncs each commit) and the writes waiting fail: their commit may
   * not be durable.
   */
  #durable(lone = false): Promise<void> {
    if (this.#path === ":memory:" || this.#sqliteSyncs) return Promise.resolve();
    const upTo = ++this.#syncRequested;
    if (lone && this.#syncLoop === undefined && this.#pendingWrites.length === 0) {
      try {
        fs.fdatasyncSync(this.#wal());
        this.#syncDone = upTo;
        return Promise.resolve();
      } catch (err) {
        return Promise.reject(this.#syncFailed(err));
      }
    }
    const done = new Promise<void>((resolve, reject) =>
      this.#syncWaiters.push({ upTo, resolve, reject }),
    );
    this.#syncLoop ??= this.#runSyncs().finally(() => (this.#syncLoop = undefined));
    return done;
  }

  #wal(): number {
    this.#walFd ??= fs.openSync(`${this.#path}-wal`, "r");
    return this.#walFd;
  }

  #syncFailed(err: unknown): MlflowSecretsError {
    this.#sqliteSyncs = true;
    this.#db.pragma("synchronous = FULL");
    return new MlflowSecretsError(
      `Could not flush the SQLite write-ahead log of ${this.#path} to disk; SQLite syncs every commit from now on`,
      "INTERNAL_ERROR",
      { cause: err },
    );
  }

  async #runSyncs(): Promise<void> {
    while (this.#syncDone < this.#syncRequested) {
      const upTo = this.#syncRequested;
      try {
        await datasync(this.#wal());
      } catch (err) {
        const error = this.#syncFailed(err);
        for (const waiter of this.#syncWaiters.splice(0)) waiter.reject(error);
        this.#syncDone = upTo;
        return;
      }
      this.#syncDone = upTo;
      for (let i = this.#syncWaiters.length - 1; i >= 0; i--) {
        const waiter = this.#syncWaiters[i]!;
        if (waiter.upTo <= upTo) {
          this.#syncWaiters.splice(i, 1);
          waiter.resolve();
        }
      }
    }
  }

  /** Runs a group in one transaction; returns the members that committed (not yet resolved). */
  async #commitGroup(group: PendingWrite[]): Promise<{ write: PendingWrite; result: unknown }[]> {
    const db = this.#db;
    let done: { write: PendingWrite; result: unknown }[] = [];
    const failAll = (writes: readonly PendingWrite[], err: unknown) => {
      for (const write of writes) write.reject(err);
    };
    try {
      db.exec("BEGIN IMMEDIATE");
    } catch (err) {
      failAll(group, err);
      return [];
    }
    for (let i = 0; i < group.length; i++) {
      const write = group[i]!;
      this.#prepare("SAVEPOINT group_member").statement.run();
      try {
        const result = await write.fn(this.#executor);
        this.#prepare("RELEASE group_member").statement.run();
        done.push({ write, result });
      } catch (err) {
        write.reject(err);
        if (db.inTransaction) {
          this.#prepare("ROLLBACK TO group_member").statement.run();
          this.#prepare("RELEASE group_member").statement.run();
          continue;
        }
        // SQLite rolled the whole transaction back (I/O error, disk full): the members before
        // this one are lost as well; the rest start over in a new transaction.
        failAll(
          done.map((d) => d.write),
          err,
        );
        done = [];
        try {
          db.exec("BEGIN IMMEDIATE");
        } catch (beginError) {
          failAll(group.slice(i + 1), beginError);
          return [];
        }
      }
    }
    try {
      db.exec("COMMIT");
    } catch (err) {
      if (db.inTransaction) db.exec("ROLLBACK");
      failAll(
        done.map((d) => d.write),
        err,
      );
      return [];
    }
    return done;
  }

  withMigrationLock<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.transaction(fn, { write: true });
  }

  isUniqueViolation(err: unknown): boolean {
    const code = (err as { code?: unknown }).code;
    return code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY";
  }

  async compactAfterBulkWrite(): Promise<void> {
    await this.#exclusive(async () => {
      this.#db.pragma("wal_checkpoint(TRUNCATE)");
    });
  }

  async tableExists(table: string): Promise<boolean> {
    const row = await this.get(
      "SELECT 1 AS found FROM sqlite_master WHERE type = 'table' AND name = ?",
      [table],
    );
    return row !== undefined;
  }

  async columnNames(table: string): Promise<string[]> {
    const rows = await this.all<{ name: string }>("SELECT name FROM pragma_table_info(?)", [table]);
    return rows.map((r) => r.name);
  }

  async close(): Promise<void> {
    const entry = shared.get(this.#path);
    if (entry !== undefined && entry.dialect === this) {
      if (--entry.refs > 0) return;
      shared.delete(this.#path);
    }
    // Writes already asked for are finished (committed and synced) before the connection goes.
    while (this.#pendingWrites.length > 0 || this.#groupScheduled) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    await this.#exclusive(async () => {
      await this.#syncLoop;
      if (this.#walFd !== undefined) fs.closeSync(this.#walFd);
      this.#walFd = undefined;
      this.#statements.clear();
      if (this.#db.open) this.#db.close();
    });
  }
}
