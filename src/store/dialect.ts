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
}

export interface DialectCapabilities {
  /** DDL is transactional (PostgreSQL, SQLite); MySQL commits implicitly around DDL. */
  transactionalDdl: boolean;
}

export interface TransactionOptions {
  /** Takes the write lock up front (SQLite `BEGIN IMMEDIATE`); use for every transaction that writes. */
  write?: boolean;
}

export interface Dialect extends SqlExecutor {
  readonly name: DialectName;
  readonly capabilities: DialectCapabilities;
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
