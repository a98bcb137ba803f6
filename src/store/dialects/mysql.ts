/**
 * MySQL and MariaDB through `mysql2` (a pool). Tables we create are utf8mb4 with a binary
 * collation: secret names are AAD, so they compare exactly, byte for byte.
 */
import { readFileSync } from "node:fs";
import mysql from "mysql2/promise";
import { WRAPPED_DEK_LENGTH } from "../../crypto/constants.js";
import { MlflowSecretsError } from "../../errors.js";
import { IMMUTABLE_AAD_MESSAGE, secretsTable } from "../schema.js";
import type {
  Dialect,
  DialectSql,
  Row,
  SqlExecutor,
  SqlValue,
  TableDefinition,
  TransactionOptions,
} from "../dialect.js";
import { insertRowsWithValues, portableRotationSql } from "../dialect.js";
import { reentrantCall, runAsTransaction } from "../transaction-scope.js";
import type { MysqlTarget } from "../uri.js";

const MIGRATION_LOCK = "mlflow_secrets_migrations";
const MIGRATION_LOCK_TIMEOUT_S = 60;
const TABLE_OPTIONS = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";

const SECRETS_DDL = [
  ...createTable(secretsTable("BLOB")),
  `DROP TRIGGER IF EXISTS prevent_secrets_aad_mutation`,
  `CREATE TRIGGER prevent_secrets_aad_mutation
BEFORE UPDATE ON secrets
FOR EACH ROW
BEGIN
    IF OLD.secret_id != NEW.secret_id OR OLD.secret_name != NEW.secret_name THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = '${IMMUTABLE_AAD_MESSAGE}';
    END IF;
END`,
];

function createTable(table: TableDefinition): string[] {
  const indexes = (table.indexes ?? []).map(
    (index) => `INDEX ${index.name} (${index.columns.join(", ")})`,
  );
  return [
    `CREATE TABLE IF NOT EXISTS ${table.name} (\n  ${[...table.clauses, ...indexes].join(",\n  ")}\n) ${TABLE_OPTIONS}`,
  ];
}

/** Rows per statement: CASE is a linear search, so statements stay small. */
const COMPARE_AND_SET_CHUNK = 100;

/**
 * Compare-and-set for up to {@link COMPARE_AND_SET_CHUNK} rows in one statement. CASE compares
 * with the column's own collation (a parameter is coercible), whatever collation an MLflow-made
 * table has; `secret_id IN (…)` finds the rows by primary key.
 */
function compareAndSetChunk(
  keys: readonly (string | number)[],
  oldDeks: Buffer,
  newDeks: Buffer,
  offset: number,
  oldVersion: number,
  newVersion: number,
): { sql: string; params: SqlValue[] } {
  const whens = keys.map(() => "WHEN ? THEN ?").join(" ");
  const slot = (deks: Buffer, i: number) =>
    deks.subarray((offset + i) * WRAPPED_DEK_LENGTH, (offset + i + 1) * WRAPPED_DEK_LENGTH);
  const params: SqlValue[] = [];
  keys.forEach((key, i) => params.push(key, slot(newDeks, i)));
  params.push(newVersion, oldVersion, ...keys);
  keys.forEach((key, i) => params.push(key, slot(oldDeks, i)));
  return {
    sql:
      `UPDATE secrets SET wrapped_dek = CASE secret_id ${whens} END, kek_version = ? ` +
      `WHERE kek_version = ? AND secret_id IN (${keys.map(() => "?").join(", ")}) ` +
      `AND wrapped_dek = CASE secret_id ${whens} END`,
    params,
  };
}

const SQL: DialectSql = {
  createSecretsTable: SECRETS_DDL,
  types: { blob: "LONGBLOB", bigint: "BIGINT", text: "TEXT", tableOptions: TABLE_OPTIONS },
  // Byte order of utf8mb4 = code-point order, whatever collation an MLflow-made table has.
  createTable,
  nameKey: (column) => `CAST(${column} AS BINARY)`,
  nameParam: "CAST(? AS BINARY)",
  rotation: {
    ...portableRotationSql("secret_id"),
    compareAndSetWrappedDeks: (u) => {
      const statements: { sql: string; params: SqlValue[] }[] = [];
      for (let at = 0; at < u.keys.length; at += COMPARE_AND_SET_CHUNK) {
        statements.push(
          compareAndSetChunk(
            u.keys.slice(at, at + COMPARE_AND_SET_CHUNK),
            u.oldWrappedDeks,
            u.newWrappedDeks,
            at,
            u.oldVersion,
            u.newVersion,
          ),
        );
      }
      return statements;
    },
  },
  limits: { parameters: 65_535, statementBytes: 4 << 20 },
  storesRowsByPrimaryKey: true,
};

interface Queryable {
  query(sql: string, values?: unknown): Promise<[unknown, unknown]>;
}

function executorFor(connection: Queryable): SqlExecutor {
  return {
    async all<T extends Row>(sql: string, params: readonly SqlValue[] = []) {
      const [rows] = await connection.query(sql, [...params]);
      return rows as T[];
    },
    async get<T extends Row>(
      sql: string,
      params: readonly SqlValue[] = [],
    ): Promise<T | undefined> {
      const [rows] = await connection.query(sql, [...params]);
      const list = rows as T[];
      return list[0];
    },
    async run(sql: string, params: readonly SqlValue[] = []) {
      const [result] = await connection.query(sql, [...params]);
      return (result as { affectedRows?: number }).affectedRows ?? 0;
    },
    async exec(statements: readonly string[]) {
      for (const statement of statements) await connection.query(statement);
    },
  };
}

export class MysqlDialect implements Dialect {
  readonly name = "mysql" as const;
  readonly sql = SQL;
  readonly #pool: mysql.Pool;
  readonly #executor: SqlExecutor;

  constructor(target: MysqlTarget, options: { maxConnections?: number } = {}) {
    const ssl = target.ssl && {
      ...(target.ssl.ca ? { ca: readFileSync(target.ssl.ca) } : {}),
      ...(target.ssl.cert ? { cert: readFileSync(target.ssl.cert) } : {}),
      ...(target.ssl.key ? { key: readFileSync(target.ssl.key) } : {}),
      rejectUnauthorized: target.ssl.rejectUnauthorized ?? true,
    };
    this.#pool = mysql.createPool({
      host: target.host ?? "localhost",
      port: target.port ?? 3306,
      ...(target.socketPath ? { socketPath: target.socketPath } : {}),
      user: target.user ?? "root",
      password: target.password ?? "",
      ...(target.database ? { database: target.database } : {}),
      charset: "utf8mb4_bin",
      connectionLimit: options.maxConnections ?? 10,
      supportBigNumbers: false,
      ...(ssl ? { ssl } : {}),
    });
    this.#executor = executorFor(this.#pool);
  }

  all<T extends Row = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    const reentrant = reentrantCall(this);
    return reentrant ? Promise.reject(reentrant) : this.#executor.all<T>(sql, params);
  }

  get<T extends Row = Row>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    const reentrant = reentrantCall(this);
    return reentrant ? Promise.reject(reentrant) : this.#executor.get<T>(sql, params);
  }

  run(sql: string, params?: readonly SqlValue[]): Promise<number> {
    const reentrant = reentrantCall(this);
    return reentrant ? Promise.reject(reentrant) : this.#executor.run(sql, params);
  }

  exec(statements: readonly string[]): Promise<void> {
    const reentrant = reentrantCall(this);
    return reentrant ? Promise.reject(reentrant) : this.#executor.exec(statements);
  }

  async transaction<T>(
    fn: (tx: SqlExecutor) => Promise<T>,
    _options?: TransactionOptions,
  ): Promise<T> {
    const reentrant = reentrantCall(this);
    if (reentrant) throw reentrant;
    const connection = await this.#pool.getConnection();
    try {
      await connection.beginTransaction();
      try {
        const result = await runAsTransaction(this, () => fn(executorFor(connection)));
        await connection.commit();
        return result;
      } catch (err) {
        await connection.rollback().catch(() => connection.destroy());
        throw err;
      }
    } finally {
      connection.release();
    }
  }

  async withMigrationLock<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const reentrant = reentrantCall(this);
    if (reentrant) throw reentrant;
    const connection = await this.#pool.getConnection();
    try {
      const [rows] = await connection.query("SELECT GET_LOCK(?, ?) AS locked", [
        MIGRATION_LOCK,
        MIGRATION_LOCK_TIMEOUT_S,
      ]);
      if ((rows as { locked: number | null }[])[0]?.locked !== 1) {
        throw new MlflowSecretsError(
          `Timed out after ${MIGRATION_LOCK_TIMEOUT_S}s waiting for another process to finish migrating the database`,
          "INVALID_STATE",
        );
      }
      try {
        // MySQL commits DDL implicitly: the lock, not a transaction, keeps two migrators apart.
        return await runAsTransaction(this, () => fn(executorFor(connection)));
      } finally {
        await connection.query("SELECT RELEASE_LOCK(?)", [MIGRATION_LOCK]);
      }
    } finally {
      connection.release();
    }
  }

  isUniqueViolation(err: unknown): boolean {
    const e = err as { code?: unknown; errno?: unknown };
    return e.code === "ER_DUP_ENTRY" || e.errno === 1062;
  }

  async compactAfterBulkWrite(): Promise<void> {
    // InnoDB purges old row versions itself; nothing to do here.
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
    // InnoDB recomputes a table's statistics itself once a tenth of it has changed.
  }

  async tableExists(table: string): Promise<boolean> {
    const row = await this.get(
      "SELECT 1 AS found FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?",
      [table],
    );
    return row !== undefined;
  }

  async columnNames(table: string): Promise<string[]> {
    const rows = await this.all<{ name: string }>(
      "SELECT column_name AS name FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position",
      [table],
    );
    return rows.map((r) => r.name);
  }

  async close(): Promise<void> {
    const reentrant = reentrantCall(this);
    if (reentrant) throw reentrant;
    await this.#pool.end();
  }
}
