/**
 * The one interface behind which SQLite, PostgreSQL and MySQL differ (kysely's shape: a driver
 * plus SQL fragments and capability flags). Generic store code writes portable SQL with `?`
 * placeholders and asks the dialect for what is not portable; it never asks "which database".
 */
import type { DialectName } from "./uri.js";

/** A value bound to a placeholder. BIGINT columns come back as numbers (epoch ms fit). */
export type SqlValue = string | number | Buffer | null;

export type Row = Record<string, unknown>;

/** Runs statements on one connection (inside a transaction, or auto-committed). */
export interface SqlExecutor {
  /** All rows of a query. */
  all<T extends Row = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** The first row, or undefined. */
  get<T extends Row = Row>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  /** A statement that changes rows; returns how many it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
  /** Several statements of DDL, run one by one. */
  exec(statements: readonly string[]): Promise<void>;
}

/** A table of our own: portable column and constraint clauses, plus secondary indexes. */
export interface TableDefinition {
  name: string;
  /** Column definitions and table constraints (PRIMARY KEY, UNIQUE, FOREIGN KEY), portable SQL. */
  clauses: readonly string[];
  indexes?: readonly { name: string; columns: readonly string[] }[];
}

/** SQL that differs between dialects. */
export interface DialectSql {
  /** MLflow's `secrets` table, its index and the immutability trigger, as MLflow creates them. */
  createSecretsTable: readonly string[];
  /** `CREATE TABLE IF NOT EXISTS` prefix followed by the table name is portable; column types are not. */
  types: {
    /** Binary column type (BLOB / BYTEA). */
    blob: string;
    /** 64-bit integer. */
    bigint: string;
    /** Unbounded text. */
    text: string;
    /** A table suffix (MySQL: engine and charset). */
    tableOptions: string;
  };
  /**
   * Idempotent statements creating a table and its indexes (MySQL has no `CREATE INDEX IF NOT
   * EXISTS`, so it declares them inside `CREATE TABLE IF NOT EXISTS`).
   */
  createTable(table: TableDefinition): string[];
  /** Expression ordering/comparing secret names by code point, identically on every dialect. */
  nameKey(column: string): string;
  /** Expression comparing a parameter with `nameKey`. */
  nameParam: string;
  /** What KEK rotation does differently per dialect. */
  rotation: RotationSql;
  /**
   * The most `?` parameters one statement may bind, and the most bytes of values one statement
   * should carry (MySQL's `max_allowed_packet` is 16 MiB by default on MariaDB, 4 MiB on old
   * MySQL): batched multi-row writes ({@link insertRowsStatements}) stay below both.
   */
  limits: { parameters: number; statementBytes: number };
  /**
   * A column that walks any table in its physical order, for keyset pagination over a whole
   * table (SQLite's `rowid`: a sequential read, where walking by another key jumps around the
   * file). Absent where the primary key is the best order anyway.
   */
  physicalOrder?: string;
  /**
   * Rows are stored in primary-key order (InnoDB's clustered index): bulk inserts in that order
   * append, in any other order each lands on a random page (on a 1M-row copy into MariaDB, 1.8×
   * slower), so a bulk copy into this dialect reads its source in primary-key order.
   */
  storesRowsByPrimaryKey: boolean;
}

/** One statement and its parameters. */
export interface SqlStatement {
  sql: string;
  params: SqlValue[];
}

/**
 * A batch of re-wrapped DEKs to store, compare-and-set: row `keys[i]` gets the 60 bytes at
 * `i * 60` of `newWrappedDeks` and `newVersion` only if it still holds `oldVersion` and the 60
 * bytes at `i * 60` of `oldWrappedDeks` (a row a server re-encrypted meanwhile is left alone).
 */
export interface WrappedDekUpdate {
  /** Values of {@link RotationSql.orderKey}, one per row. */
  keys: readonly (string | number)[];
  oldWrappedDeks: Buffer;
  newWrappedDeks: Buffer;
  oldVersion: number;
  newVersion: number;
}

/** The one row of {@link RotationSql.readPacked}. */
export interface PackedBatchRow extends Row {
  /** Rows in the batch. */
  n: number | string;
  /** The rows' `orderKey` values, in order, as a JSON array (NULL or `[]` when empty). */
  keys: string | null;
  /** The rows' wrapped DEKs concatenated in order, as bytes or as hex text. */
  deks: Buffer | string | null;
  /** How many of them are not 60 bytes long (then the batch is read again row by row). */
  malformed: number | string | null;
}

/**
 * Every statement KEK rotation runs against `secrets` (the engine writes no SQL of its own).
 * Most are portable (built by {@link portableRotationSql} from the dialect's `orderKey`); the
 * packed read and the compare-and-set are each dialect's fastest form.
 */
export interface RotationSql {
  /**
   * The column that walks `secrets` in physical order, for keyset pagination: `rowid` in SQLite
   * (its tables are stored in rowid order; walking by `secret_id` is twice as slow), the primary
   * key elsewhere.
   */
  orderKey: string;
  /**
   * A batch row by row (columns `rotation_key`, `wrapped_dek`): `first` takes (kekVersion, limit),
   * `next` (kekVersion, afterKey, limit).
   */
  readRows: { first: string; next: string };
  /** Rows at a version (column `n`); takes (kekVersion). */
  countAtVersion: string;
  /** A few wrapped DEKs at a version (column `wrapped_dek`), to check a KEK; takes (kekVersion). */
  sampleAtVersion: string;
  /** The id and name of the row at an `orderKey` value, to report it; takes (key). */
  rowByKey: string;
  /**
   * A batch read as one row, where the dialect can aggregate (no per-row objects in JavaScript):
   * `first` takes (kekVersion, limit), `next` (kekVersion, afterKey, limit); both return the
   * columns of {@link PackedBatchRow}, for the rows at that version in `orderKey` order.
   * Without it, batches are read row by row.
   */
  readPacked?: { first: string; next: string };
  /**
   * The statements that store a batch (run in one transaction); their changed-row counts add up
   * to the rows updated. Each dialect uses its fastest batched form.
   */
  compareAndSetWrappedDeks(update: WrappedDekUpdate): SqlStatement[];
}

export interface TransactionOptions {
  /** Takes the write lock up front (SQLite `BEGIN IMMEDIATE`); use for every transaction that writes. */
  write?: boolean;
}

export interface Dialect extends SqlExecutor {
  readonly name: DialectName;
  readonly sql: DialectSql;
  /** Runs `fn` in a transaction on one connection; commits on success, rolls back on error. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /**
   * Runs `fn` while holding the database-wide migration lock (SQLite write transaction,
   * PostgreSQL advisory lock, MySQL `GET_LOCK`), so two processes starting at once migrate once.
   */
  withMigrationLock<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** True when `err` is a unique or primary-key violation. */
  isUniqueViolation(err: unknown): boolean;
  /**
   * Gives back the space a large write left behind (SQLite truncates its write-ahead log, which
   * a million-row transaction grows to the size of the table); a no-op elsewhere.
   */
  compactAfterBulkWrite(): Promise<void>;
  /**
   * Inserts `rows` (a value per column each) into `table` on `tx`, in the dialect's fastest
   * batched form (multi-row `VALUES`, or PostgreSQL's arrays through `unnest`); values are bound,
   * never spliced into SQL. Returns the number of rows inserted.
   */
  insertRows(
    tx: SqlExecutor,
    table: string,
    columns: readonly string[],
    rows: readonly (readonly SqlValue[])[],
  ): Promise<number>;
  /**
   * Brings the planner's statistics of a table up to date after a bulk load (PostgreSQL's
   * `ANALYZE`: without it, a table filled moments ago looks empty, and lookups by a unique key
   * pick the wrong index); a no-op where the engine keeps them current itself.
   */
  refreshStatistics(table: string): Promise<void>;
  tableExists(table: string): Promise<boolean>;
  columnNames(table: string): Promise<string[]>;
  close(): Promise<void>;
}

/**
 * `CREATE TABLE IF NOT EXISTS` followed by `CREATE INDEX IF NOT EXISTS` for each index: the
 * idempotent form for dialects that have it (SQLite, PostgreSQL).
 */
export function createTableWithIndexStatements(table: TableDefinition): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${table.name} (\n  ${table.clauses.join(",\n  ")}\n)`,
    ...(table.indexes ?? []).map(
      (index) =>
        `CREATE INDEX IF NOT EXISTS ${index.name} ON ${table.name} (${index.columns.join(", ")})`,
    ),
  ];
}

/** The rotation statements that are the same on every dialect but for the order key. */
export function portableRotationSql(
  orderKey: string,
): Pick<RotationSql, "orderKey" | "readRows" | "countAtVersion" | "sampleAtVersion" | "rowByKey"> {
  const select = `SELECT ${orderKey} AS rotation_key, wrapped_dek FROM secrets WHERE kek_version = ?`;
  return {
    orderKey,
    readRows: {
      first: `${select} ORDER BY ${orderKey} LIMIT ?`,
      next: `${select} AND ${orderKey} > ? ORDER BY ${orderKey} LIMIT ?`,
    },
    countAtVersion: "SELECT COUNT(*) AS n FROM secrets WHERE kek_version = ?",
    sampleAtVersion: "SELECT wrapped_dek FROM secrets WHERE kek_version = ? LIMIT 3",
    rowByKey: `SELECT secret_id, secret_name FROM secrets WHERE ${orderKey} = ?`,
  };
}

/**
 * The one compare-and-set statement of dialects that take a batch's keys as a JSON array and its
 * old and new wrapped DEKs as two packed blobs (SQLite, PostgreSQL).
 */
export function packedCompareAndSet(sql: string, u: WrappedDekUpdate): SqlStatement[] {
  return [
    {
      sql,
      params: [
        u.newWrappedDeks,
        u.newVersion,
        JSON.stringify(u.keys),
        u.oldVersion,
        u.oldWrappedDeks,
      ],
    },
  ];
}

/**
 * `rows` cut into chunks that each bind at most `limits.parameters` values (at `perRow` per row)
 * and carry about `limits.statementBytes` bytes at most (a row larger than that goes alone).
 */
export function chunkRows<R extends readonly SqlValue[]>(
  limits: DialectSql["limits"],
  perRow: number,
  rows: readonly R[],
): R[][] {
  const maxRows = Math.max(1, Math.floor(limits.parameters / Math.max(1, perRow)));
  const chunks: R[][] = [];
  let chunk: R[] = [];
  let bytes = 0;
  for (const row of rows) {
    const size = rowBytes(row);
    if (chunk.length === maxRows || (chunk.length > 0 && bytes + size > limits.statementBytes)) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(row);
    bytes += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/**
 * `INSERT INTO table (columns) VALUES (…), (…), …` for `rows` (each a value per column), in as
 * few statements as the dialect's limits allow ({@link chunkRows}). Portable SQL; the values are
 * bound, never spliced in.
 */
export function insertRowsStatements(
  sql: Pick<DialectSql, "limits">,
  table: string,
  columns: readonly string[],
  rows: readonly (readonly SqlValue[])[],
): SqlStatement[] {
  const head = `INSERT INTO ${table} (${columns.join(", ")}) VALUES `;
  const tuple = `(${columns.map(() => "?").join(", ")})`;
  return chunkRows(sql.limits, columns.length, rows).map((chunk) => ({
    sql: head + Array<string>(chunk.length).fill(tuple).join(", "),
    params: chunk.flat(),
  }));
}

/** About how many bytes a row's values take on the wire (binary values travel as hex at worst). */
function rowBytes(row: readonly SqlValue[]): number {
  let bytes = 0;
  for (const value of row) {
    if (value === null) bytes += 4;
    else if (typeof value === "number") bytes += 20;
    else if (typeof value === "string") bytes += Buffer.byteLength(value, "utf8") * 2 + 2;
    else bytes += value.length * 2 + 3;
  }
  return bytes;
}

/**
 * The keyset condition "after this key" over one or more columns, portable to every dialect:
 * `a > ?` or `a > ? OR (a = ? AND b > ?)` …, with {@link keysetParams} giving its parameters.
 * (Row-value comparisons would be shorter, but not every engine uses an index for them.)
 */
export function keysetAfter(columns: readonly string[]): string {
  const terms = columns.map((column, i) => {
    const equal = columns.slice(0, i).map((c) => `${c} = ?`);
    return [...equal, `${column} > ?`].join(" AND ");
  });
  return terms.length === 1 ? terms[0]! : terms.map((t) => `(${t})`).join(" OR ");
}

/** The parameters of {@link keysetAfter} for the last key read. */
export function keysetParams(key: readonly SqlValue[]): SqlValue[] {
  return key.flatMap((_, i) => key.slice(0, i + 1));
}

/** {@link Dialect.insertRows} with multi-row `VALUES` statements (SQLite, MySQL). */
export async function insertRowsWithValues(
  sql: Pick<DialectSql, "limits">,
  tx: SqlExecutor,
  table: string,
  columns: readonly string[],
  rows: readonly (readonly SqlValue[])[],
): Promise<number> {
  let inserted = 0;
  for (const statement of insertRowsStatements(sql, table, columns, rows)) {
    inserted += await tx.run(statement.sql, statement.params);
  }
  return inserted;
}
