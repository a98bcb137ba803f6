/**
 * Every store test runs on every dialect: SQLite always, PostgreSQL and MySQL when
 * MLFLOW_SECRETS_TEST_POSTGRES_URI / MLFLOW_SECRETS_TEST_MYSQL_URI are set (CI sets them).
 * Each test gets its own database (SQLite file, PostgreSQL schema, MySQL database) and drops it.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mysql from "mysql2/promise";
import pg from "pg";

export interface TestDatabase {
  /** A URI for a fresh, empty database. */
  uri: string;
  /** Runs SQL directly (no store), e.g. to tamper with rows. `?` placeholders. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Drops the database. */
  drop(): Promise<void>;
}

export interface DialectUnderTest {
  name: "sqlite" | "postgresql" | "mysql";
  create(): Promise<TestDatabase>;
}

const POSTGRES_URI = process.env.MLFLOW_SECRETS_TEST_POSTGRES_URI;
const MYSQL_URI = process.env.MLFLOW_SECRETS_TEST_MYSQL_URI;

function uniqueName(): string {
  return `mst_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;
}

const sqlite: DialectUnderTest = {
  name: "sqlite",
  async create() {
    const dir = mkdtempSync(join(tmpdir(), "mlflow-secrets-test-"));
    const path = join(dir, "store.db");
    const { default: Database } = await import("better-sqlite3");
    return {
      uri: `sqlite:///${path}`,
      async query<T>(sql: string, params: unknown[] = []) {
        const db = new Database(path, { timeout: 10_000 });
        try {
          const statement = db.prepare(sql);
          return (
            statement.reader ? statement.all(...params) : (statement.run(...params), [])
          ) as T[];
        } finally {
          db.close();
        }
      },
      async drop() {
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

function withPath(uri: string, database: string): string {
  const url = new URL(uri);
  url.pathname = `/${database}`;
  return url.toString();
}

const postgres: DialectUnderTest | undefined = POSTGRES_URI
  ? {
      name: "postgresql",
      async create() {
        const schema = uniqueName();
        const admin = new pg.Client({ connectionString: POSTGRES_URI });
        await admin.connect();
        await admin.query(`CREATE SCHEMA ${schema}`);
        await admin.end();
        const url = new URL(POSTGRES_URI);
        url.searchParams.set("options", `-c search_path=${schema}`);
        const uri = url.toString();
        return {
          uri,
          async query<T>(sql: string, params: unknown[] = []) {
            const client = new pg.Client({ connectionString: uri });
            await client.connect();
            try {
              let n = 0;
              return (
                await client.query(
                  sql.replace(/\?/g, () => `$${++n}`),
                  params,
                )
              ).rows as T[];
            } finally {
              await client.end();
            }
          },
          async drop() {
            const client = new pg.Client({ connectionString: POSTGRES_URI });
            await client.connect();
            await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
            await client.end();
          },
        };
      },
    }
  : undefined;

const mysqlDialect: DialectUnderTest | undefined = MYSQL_URI
  ? {
      name: "mysql",
      async create() {
        const database = uniqueName();
        const admin = await mysql.createConnection({ uri: MYSQL_URI });
        await admin.query(`CREATE DATABASE ${database}`);
        await admin.end();
        const uri = withPath(MYSQL_URI, database);
        return {
          uri,
          async query<T>(sql: string, params: unknown[] = []) {
            const connection = await mysql.createConnection({ uri, charset: "utf8mb4" });
            try {
              const [rows] = await connection.query(sql, params);
              return (Array.isArray(rows) ? rows : []) as T[];
            } finally {
              await connection.end();
            }
          },
          async drop() {
            const connection = await mysql.createConnection({ uri: MYSQL_URI });
            await connection.query(`DROP DATABASE IF EXISTS ${database}`);
            await connection.end();
          },
        };
      },
    }
  : undefined;

/** The dialects this run tests. */
export const DIALECTS: readonly DialectUnderTest[] = [sqlite, postgres, mysqlDialect].filter(
  (d): d is DialectUnderTest => d !== undefined,
);

/** Names of the dialects skipped in this run (for a visible skip). */
export const SKIPPED_DIALECTS: readonly string[] = [
  ...(POSTGRES_URI ? [] : ["postgresql (set MLFLOW_SECRETS_TEST_POSTGRES_URI)"]),
  ...(MYSQL_URI ? [] : ["mysql (set MLFLOW_SECRETS_TEST_MYSQL_URI)"]),
];
