/**
 * PostgreSQL through `pg` (a pool). `?` placeholders become `$n`; BIGINT comes back as a number.
 */
import pg from "pg";
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
  chunkRows,
  createTableWithIndexStatements,
  packedCompareAndSet,
  portableRotationSql,
} from "../dialect.js";
import { reentrantCall, runAsTransaction } from "../transaction-scope.js";
import type { PostgresTarget } from "../uri.js";

// An arbitrary constant: the advisory-lock key that serialises our migrations database-wide.
const MIGRATION_LOCK_KEY = "7316045716203452161";
const INT8_OID = 20;

const SECRETS_DDL = [
  ...createTableWithIndexStatements(secretsTable("BYTEA")),
  `CREATE OR REPLACE FUNCTION prevent_secrets_aad_mutation() RETURNS TRIGGER AS $$
BEGIN
    IF OLD.secret_id != NEW.secret_id OR OLD.secret_name != NEW.secret_name THEN
        RAISE EXCEPTION '${IMMUTABLE_AAD_MESSAGE}';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql`,
  `DROP TRIGGER IF EXISTS prevent_secrets_aad_mutation ON secrets`,
  `CREATE TRIGGER prevent_secrets_aad_mutation
BEFORE UPDATE ON secrets
FOR EACH ROW
EXECUTE FUNCTION prevent_secrets_aad_mutation()`,
];

// One statement per batch: the ids as one JSON array, the DEKs as two packed byteas; the
// array's ordinality picks each row's 60 bytes, and the primary key finds each row.
const slice = (param: string) =>
  `substring(${param}::bytea from (v.i::int - 1) * ${WRAPPED_DEK_LENGTH} + 1 for ${WRAPPED_DEK_LENGTH})`;
const COMPARE_AND_SET_WRAPPED_DEKS = `UPDATE secrets AS s SET wrapped_dek = ${slice("?")}, kek_version = ?
FROM jsonb_array_elements_text(?::jsonb) WITH ORDINALITY AS v(id, i)
WHERE s.secret_id = v.id AND s.kek_version = ? AND s.wrapped_dek = ${slice("?")}`;

// A batch as one row: the ids as a JSON array and the DEKs as one bytea, in primary-key order.
const packedRead = (after: string) =>
  `SELECT count(*) AS n, json_agg(k ORDER BY k)::text AS keys, string_agg(d, ''::bytea ORDER BY k) AS deks, ` +
  `count(*) FILTER (WHERE length(d) <> ${WRAPPED_DEK_LENGTH}) AS malformed ` +
  `FROM (SELECT secret_id AS k, wrapped_dek AS d FROM secrets WHERE kek_version = ?${after} ORDER BY secret_id LIMIT ?) AS batch`;

const SQL: DialectSql = {
  createSecretsTable: SECRETS_DDL,
  types: { blob: "BYTEA", bigint: "BIGINT", text: "TEXT", tableOptions: "" },
  // The "C" collation compares UTF-8 bytes: code-point order, as on the other dialects.
  createTable: createTableWithIndexStatements,
  nameKey: (column) => `${column} COLLATE "C"`,
  nameParam: "?",
  rotation: {
    ...portableRotationSql("secret_id"),
    readPacked: { first: packedRead(""), next: packedRead(" AND secret_id > ?") },
    compareAndSetWrappedDeks: (u) => packedCompareAndSet(COMPARE_AND_SET_WRAPPED_DEKS, u),
  },
  limits: { parameters: 65_535, statementBytes: 16 << 20 },
  storesRowsByPrimaryKey: false,
};

const placeholderCache = new Map<string, string>();

/** `?` → `$1, $2, …`, skipping quoted strings, identifiers and dollar-quoted bodies. */
function toNumbered(sql: string): string {
  let converted = placeholderCache.get(sql);
  if (converted !== undefined) return converted;
  let out = "";
  let n = 0;
  for (let i = 0; i < sql.length; i++) {
    const ch = sql[i]!;
    if (ch === "'" || ch === '"') {
      const end = sql.indexOf(ch, i + 1);
      const stop = end === -1 ? sql.length : end;
      out += sql.slice(i, stop + 1);
      i = stop;
    } else if (ch === "$" && sql[i + 1] === "$") {
      const end = sql.indexOf("$$", i + 2);
      const stop = end === -1 ? sql.length : end + 1;
      out += sql.slice(i, stop + 1);
      i = stop;
    } else if (ch === "?") {
      out += `$${++n}`;
    } else {
      out += ch;
    }
  }
  converted = out;
  if (placeholderCache.size < 1000) placeholderCache.set(sql, converted);
  return converted;
}

/** BIGINT (epoch ms) as a number; every other type as pg parses it by default. */
const int8AsNumber = ((oid: number, format?: "text" | "binary") =>
  oid === INT8_OID
    ? (value: string): number => Number(value)
    : (pg.types.getTypeParser(oid, format ?? "text") as unknown)) as typeof pg.types.getTypeParser;

interface Queryable {
  query(text: string, values?: unknown[]): Promise<pg.QueryResult>;
}

function executorFor(client: Queryable): SqlExecutor {
  return {
    async all<T extends Row>(sql: string, params: readonly SqlValue[] = []) {
      return (await client.query(toNumbered(sql), [...params])).rows as T[];
    },
    async get<T extends Row>(sql: string, params: readonly SqlValue[] = []) {
      return (await client.query(toNumbered(sql), [...params])).rows[0] as T | undefined;
    },
    async run(sql: string, params: readonly SqlValue[] = []) {
      return (await client.query(toNumbered(sql), [...params])).rowCount ?? 0;
    },
    async exec(statements: readonly string[]) {
      for (const statement of statements) await client.query(statement);
    },
  };
}

export class PostgresDialect implements Dialect {
  readonly name = "postgresql" as const;
  readonly sql = SQL;
  readonly #pool: pg.Pool;
  readonly #executor: SqlExecutor;

  constructor(target: PostgresTarget, options: { maxConnections?: number } = {}) {
    this.#pool = new pg.Pool({
      connectionString: target.connectionString,
      max: options.maxConnections ?? 10,
      types: { getTypeParser: int8AsNumber },
    });
    // A connection that dies while idle (server restart) must not take the process down;
    // the pool replaces it and the next query reports any lasting problem.
    this.#pool.on("error", () => undefined);
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
    return this.transaction((tx) => tx.exec(statements));
  }

  async transaction<T>(
    fn: (tx: SqlExecutor) => Promise<T>,
    _options?: TransactionOptions,
  ): Promise<T> {
    const reentrant = reentrantCall(this);
    if (reentrant) throw reentrant;
    const client = await this.#pool.connect();
    let broken: Error | undefined;
    try {
      await client.query("BEGIN");
      try {
        const result = await runAsTransaction(this, () => fn(executorFor(client)));
        await client.query("COMMIT");
        return result;
      } catch (err) {
        try {
          await client.query("ROLLBACK");
        } catch (rollbackError) {
          broken = rollbackError as Error;
        }
        throw err;
      }
    } finally {
      client.release(broken);
    }
  }

  withMigrationLock<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.transaction(async (tx) => {
      await tx.get("SELECT pg_advisory_xact_lock(?::bigint) AS locked", [MIGRATION_LOCK_KEY]);
      return fn(tx);
    });
  }

  isUniqueViolation(err: unknown): boolean {
    return (err as { code?: unknown }).code === "23505";
  }

  async compactAfterBulkWrite(): Promise<void> {
    // Autovacuum reclaims the old row versions; nothing to do here.
  }

  /**
   * One statement per chunk whatever its number of rows: a column's values travel as one array
   * and `unnest` turns the arrays back into rows (twice as fast as multi-row VALUES, whose
   * thousands of parameters PostgreSQL parses one by one). Arrays are cast to the columns' base
   * types (`varchar`, not `varchar(36)`: an explicit cast to a length would truncate silently; the
   * assignment to the column checks the length instead).
   */
  async insertRows(
    tx: SqlExecutor,
    table: string,
    columns: readonly string[],
    rows: readonly (readonly SqlValue[])[],
  ): Promise<number> {
    const types = await this.#baseTypes(tx, table);
    const casts = columns.map((column) => {
      const type = types.get(column);
      if (type === undefined) throw new Error(`column ${table}.${column} does not exist`);
      return `?::${type}[]`;
    });
    const sql = `INSERT INTO ${table} (${columns.join(", ")}) SELECT * FROM unnest(${casts.join(", ")})`;
    let inserted = 0;
    for (const chunk of chunkRows(SQL.limits, columns.length, rows)) {
      const arrays = columns.map((_, i) => chunk.map((row) => row[i] ?? null));
      inserted += await tx.run(sql, arrays as unknown as SqlValue[]);
    }
    return inserted;
  }

  readonly #types = new Map<string, Promise<Map<string, string>>>();

  #baseTypes(tx: SqlExecutor, table: string): Promise<Map<string, string>> {
    let types = this.#types.get(table);
    if (types === undefined) {
      types = tx
        .all<{ name: string; type: string }>(
          "SELECT attname AS name, format_type(atttypid, NULL) AS type FROM pg_attribute WHERE attrelid = to_regclass(?) AND attnum > 0 AND NOT attisdropped",
          [table],
        )
        .then((rows) => new Map(rows.map((r) => [r.name, r.type])));
      types.catch(() => this.#types.delete(table));
      this.#types.set(table, types);
    }
    return types;
  }

  async refreshStatistics(table: string): Promise<void> {
    await this.run(`ANALYZE ${table}`);
  }

  async tableExists(table: string): Promise<boolean> {
    const row = await this.get<{ found: string | null }>("SELECT to_regclass(?)::text AS found", [
      table,
    ]);
    return row?.found != null;
  }

  async columnNames(table: string): Promise<string[]> {
    const rows = await this.all<{ name: string }>(
      "SELECT attname AS name FROM pg_attribute WHERE attrelid = to_regclass(?) AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
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
