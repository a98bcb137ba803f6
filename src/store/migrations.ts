/**
 * Versioned, idempotent migrations for the tables this package owns, run on open under a
 * database-wide lock. MLflow's own tables are never created, altered or dropped in a database
 * MLflow manages (one with `alembic_version`).
 */
import { MlflowSecretsError } from "../errors.js";
import type { Dialect, DialectSql, SqlExecutor } from "./dialect.js";

export const SCHEMA_VERSION_TABLE = "mlflow_secrets_schema_version";

export interface MigrationContext {
  tx: SqlExecutor;
  sql: DialectSql;
  /** The database belongs to MLflow: leave its tables alone. */
  mlflowManaged: boolean;
}

export interface Migration {
  version: number;
  name: string;
  /** Must be idempotent: on MySQL, DDL commits as it goes, so a crash can leave half a migration. */
  up(ctx: MigrationContext): Promise<void>;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "MLflow's secrets table, its index and immutability trigger (unless MLflow manages the database)",
    async up({ tx, sql, mlflowManaged }) {
      if (!mlflowManaged) await tx.exec(sql.createSecretsTable);
    },
  },
];

export const LATEST_SCHEMA_VERSION = Math.max(...MIGRATIONS.map((m) => m.version));

export interface MigrationResult {
  /** Versions applied by this call. */
  applied: number[];
  /** The schema version after the call. */
  version: number;
}

/** Applies pending migrations; safe when several processes start at once. */
export async function migrate(
  dialect: Dialect,
  options: { mlflowManaged: boolean; migrations?: readonly Migration[] },
): Promise<MigrationResult> {
  const migrations = options.migrations ?? MIGRATIONS;
  const latest = Math.max(...migrations.map((m) => m.version));
  return dialect.withMigrationLock(async (tx) => {
    await tx.exec([
      `CREATE TABLE IF NOT EXISTS ${SCHEMA_VERSION_TABLE} (
  version INTEGER NOT NULL,
  name VARCHAR(255) NOT NULL,
  applied_at ${dialect.sql.types.bigint} NOT NULL,
  CONSTRAINT ${SCHEMA_VERSION_TABLE}_pk PRIMARY KEY (version)
) ${dialect.sql.types.tableOptions}`,
    ]);
    const rows = await tx.all<{ version: number }>(`SELECT version FROM ${SCHEMA_VERSION_TABLE}`);
    const done = new Set(rows.map((r) => Number(r.version)));
    const newest = Math.max(0, ...done);
    if (newest > latest) {
      throw new MlflowSecretsError(
        `The database has mlflow-secrets schema version ${newest}, newer than this version supports (${latest}): upgrade mlflow-secrets`,
        "INVALID_STATE",
      );
    }
    const applied: number[] = [];
    for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(migration.version)) continue;
      await migration.up({ tx, sql: dialect.sql, mlflowManaged: options.mlflowManaged });
      await tx.run(
        `INSERT INTO ${SCHEMA_VERSION_TABLE} (version, name, applied_at) VALUES (?, ?, ?)`,
        [migration.version, migration.name.slice(0, 255), Date.now()],
      );
      applied.push(migration.version);
    }
    return { applied, version: Math.max(newest, ...applied) };
  });
}
