/**
 * SQLite through better-sqlite3 (synchronous). WAL mode with a busy timeout lets a server and the
 * CLI share one file. Writes are grouped into shared commits and the WAL is fsynced by this
 * package (group-commit.ts: what is durable when, and what a reader may see).
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
  insertRowsWithValues,
  packedCompareAndSet,
  portableRotationSql,
} from "../dialect.js";
import { GroupCommit, WalDurability, type WalSync } from "../group-commit.js";
import { reentrantCall, runAsTransaction } from "../transaction-scope.js";
import type { SqliteTarget } from "../uri.js";

const BUSY_TIMEOUT_MS = 10_000;

/** The real fsync of a database's write-ahead log (opened on first use, after the first commit). */
function walSyncOf(path: string): WalSync & { close(): void } {
  let fd: number | undefined;
  const wal = () => (fd ??= fs.openSync(`${path}-wal`, "r"));
  return {
    sync: () =>
      new Promise((resolve, reject) =>
        fs.fdatasync(wal(), (err) => (err ? reject(err) : resolve())),
      ),
    syncNow: () => fs.fdatasyncSync(wal()),
    close() {
      if (fd !== undefined) fs.closeSync(fd);
      fd = undefined;
    },
  };
}

/** An in-memory database has nothing to sync. */
const NO_SYNC: WalSync & { close(): void } = {
  sync: () => Promise.resolve(),
  syncNow: () => undefined,
  close: () => undefined,
};

/** Package-internal options (tests inject the WAL's fsync). */
interface SqliteOpenOptions {
  walSync?: WalSync;
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
  limits: { parameters: 32_766, statementBytes: 16 << 20 },
  storesRowsByPrimaryKey: false,
  physicalOrder: "rowid",
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

export class SqliteDialect implements Dialect {
  readonly name = "sqlite" as const;
  readonly sql = SQL;
  readonly #db: Database.Database;
  readonly #statements = new Map<string, Prepared>();
  #queue: Promise<void> = Promise.resolve();
  #holders = 0;
  readonly #executor: SqlExecutor;
  readonly #path: string;
  readonly #walFile: WalSync & { close(): void };
  readonly #durability: WalDurability;
  readonly #groups: GroupCommit;

  private constructor(db: Database.Database, path: string, walSync: WalSync | undefined) {
    this.#db = db;
    this.#path = path;
    this.#walFile = path === ":memory:" ? NO_SYNC : walSyncOf(path);
    this.#durability = new WalDurability(walSync ?? this.#walFile, (err) => this.#syncFailed(err));
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
    const run = (sql: string) => this.#prepare(sql).statement.run();
    this.#groups = new GroupCommit(
      {
        executor: this.#executor,
        get inTransaction() {
          return db.inTransaction;
        },
        beginImmediate: () => db.exec("BEGIN IMMEDIATE"),
        savepoint: () => run("SAVEPOINT group_member"),
        release: () => run("RELEASE group_member"),
        rollbackToSavepoint: () => run("ROLLBACK TO group_member"),
        commit: () => db.exec("COMMIT"),
        rollback: () => db.exec("ROLLBACK"),
      },
      (fn) => this.#exclusive(fn),
      this.#durability,
    );
  }

  static open(target: SqliteTarget, options: SqliteOpenOptions = {}): SqliteDialect {
    const entry = target.path === ":memory:" ? undefined : shared.get(target.path);
    if (entry !== undefined) {
      entry.refs++;
      return entry.dialect;
    }
    const dialect = SqliteDialect.#connect(target, options.walSync);
    if (target.path !== ":memory:") shared.set(target.path, { dialect, refs: 1 });
    return dialect;
  }

  static #connect(target: SqliteTarget, walSync: WalSync | undefined): SqliteDialect {
    if (target.path !== ":memory:" && !fs.existsSync(target.path)) {
      // A new database file is private to its owner; SQLite gives -wal and -shm the same mode.
      fs.closeSync(fs.openSync(target.path, "wx", 0o600));
    }
    const db = new Database(target.path, { timeout: BUSY_TIMEOUT_MS });
    try {
      db.pragma("journal_mode = WAL");
      // Commits do not fsync in SQLite; WalDurability fsyncs the WAL (on the thread pool when
      // other writes are in flight) before any write is reported done.
      db.pragma(target.path === ":memory:" ? "synchronous = FULL" : "synchronous = NORMAL");
      // MLflow's model_definitions.secret_id has ON DELETE SET NULL; SQLite enforces it only with this.
      db.pragma("foreign_keys = ON");
      db.defaultSafeIntegers(false);
    } catch (err) {
      db.close();
      throw err;
    }
    return new SqliteDialect(db, target.path, walSync);
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
    const reentrant = reentrantCall(this);
    if (reentrant) return Promise.reject(reentrant);
    return this.#read(() => this.#executor.all<T>(sql, params));
  }

  get<T extends Row = Row>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    const reentrant = reentrantCall(this);
    if (reentrant) return Promise.reject(reentrant);
    return this.#read(() => this.#executor.get<T>(sql, params));
  }

  /**
   * A read on its own: run alone on the connection (at once when nobody holds it), answered only
   * once every commit it could have seen is on disk.
   */
  async #read<T>(query: () => Promise<T>): Promise<T> {
    const result = await (this.#holders === 0 ? query() : this.#exclusive(query));
    if (!this.#durability.settled) await this.#durability.flushed();
    return result;
  }

  /**
   * An auto-committed statement; like a write transaction, it settles once it is on disk. The
   * commit is recorded for durability in the same synchronous step as the statement.
   */
  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    const reentrant = reentrantCall(this);
    if (reentrant) throw reentrant;
    const run = async () => {
      const changes = this.#prepare(sql).statement.run(...params).changes;
      return {
        changes,
        durable: changes > 0 ? this.#durability.commit(!this.#groups.busy) : undefined,
      };
    };
    const { changes, durable } = await (this.#holders === 0 ? run() : this.#exclusive(run));
    await durable;
    return changes;
  }

  exec(statements: readonly string[]): Promise<void> {
    const reentrant = reentrantCall(this);
    if (reentrant) return Promise.reject(reentrant);
    return this.#exclusive(() => this.#executor.exec(statements));
  }

  /**
   * Read transactions run alone on the connection and answer once what they read is on disk.
   * Write transactions are grouped (GroupCommit): each settles only after the shared COMMIT and
   * the fsync of the WAL that follows it, so a caller never sees success for a change that is
   * not on disk.
   */
  transaction<T>(
    fn: (tx: SqlExecutor) => Promise<T>,
    options: TransactionOptions = {},
  ): Promise<T> {
    const reentrant = reentrantCall(this);
    if (reentrant) return Promise.reject(reentrant);
    if (!options.write) {
      return this.#exclusive(async () => {
        this.#db.exec("BEGIN");
        try {
          const result = await runAsTransaction(this, () => fn(this.#executor));
          this.#db.exec("COMMIT");
          return result;
        } catch (err) {
          if (this.#db.inTransaction) this.#db.exec("ROLLBACK");
          throw err;
        }
      }).then(async (result) => {
        if (!this.#durability.settled) await this.#durability.flushed();
        return result;
      });
    }
    return this.#groups.write((tx) => runAsTransaction(this, () => fn(tx)));
  }

  /** After a failed fsync SQLite syncs every commit itself; the writes waiting fail. */
  #syncFailed(err: unknown): MlflowSecretsError {
    this.#db.pragma("synchronous = FULL");
    return new MlflowSecretsError(
      `Could not flush the SQLite write-ahead log of ${this.#path} to disk; SQLite syncs every commit from now on`,
      "INTERNAL_ERROR",
      { cause: err, reason: "NOT_DURABLE" },
    );
  }

  withMigrationLock<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.transaction(fn, { write: true });
  }

  isUniqueViolation(err: unknown): boolean {
    const code = (err as { code?: unknown }).code;
    return code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY";
  }

  async compactAfterBulkWrite(): Promise<void> {
    const reentrant = reentrantCall(this);
    if (reentrant) throw reentrant;
    await this.#exclusive(async () => {
      this.#db.pragma("wal_checkpoint(TRUNCATE)");
    });
  }

  insertRows(
    tx: SqlExecutor,
    table: string,
    columns: readonly string[],
    rows: readonly (readonly SqlValue[])[],
  ): Promise<number> {
    return insertRowsWithValues(SQL, tx, table, columns, rows);
  }

  async refreshStatistics(_table: string): Promise<void> {
    // SQLite plans lookups by the index with the most equality terms; no statistics needed.
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
    const reentrant = reentrantCall(this);
    if (reentrant) throw reentrant;
    const entry = shared.get(this.#path);
    if (entry !== undefined && entry.dialect === this) {
      if (--entry.refs > 0) return;
      shared.delete(this.#path);
    }
    // Writes already asked for are finished (committed and synced) before the connection goes.
    while (this.#groups.busy) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    await this.#exclusive(async () => {
      await this.#durability.flushed().catch(() => undefined);
      this.#walFile.close();
      this.#statements.clear();
      if (this.#db.open) this.#db.close();
    });
  }
}
