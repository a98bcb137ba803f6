/**
 * Versioned, idempotent migrations for the tables this package owns, run on open under a
 * database-wide lock. MLflow's own tables are never created, altered or dropped in a database
 * MLflow manages (one with `alembic_version`).
 */
import { MlflowSecretsError } from "../errors.js";
import type { Dialect, DialectSql, SqlExecutor } from "./dialect.js";
import type { SecretStore } from "./secret-store.js";

const SCHEMA_VERSION_TABLE = "mlflow_secrets_schema_version";

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

/**
 * The store's own migrations. The layers above add theirs (the domain's users, tokens, grants and
 * audit tables) through `openSecretStore({ migrations })`; versions are numbered across the whole
 * package, so they never collide.
 */
export const STORE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "MLflow's secrets table, its index and immutability trigger (unless MLflow manages the database)",
    async up({ tx, sql, mlflowManaged }) {
      if (!mlflowManaged) await tx.exec(sql.createSecretsTable);
    },
  },
];

/**
 * The newest schema version of this build, over every layer's migrations (a test checks it): a
 * database at a newer version was written by a newer mlflow-secrets, and is refused.
 */
export const LATEST_SCHEMA_VERSION = 3;

interface MigrationResult {
  /** Versions applied by this call. */
  applied: number[];
  /** The schema version after the call. */
  version: number;
}

/**
 * The newest schema version recorded in a database (0 when it has none), read without migrating:
 * a database written by a newer mlflow-secrets is one to refuse, not to copy from.
 */
export async function recordedSchemaVersion(dialect: Dialect): Promise<number> {
  if (!(await dialect.tableExists(SCHEMA_VERSION_TABLE))) return 0;
  const row = await dialect.get<{ v: number | string | null }>(
    `SELECT MAX(version) AS v FROM ${SCHEMA_VERSION_TABLE}`,
  );
  return Number(row?.v ?? 0);
}

/**
 * Applies the pending ones of `migrations` (and only those); safe when several processes start at
 * once. A database with a version newer than {@link LATEST_SCHEMA_VERSION} is refused.
 */
export async function migrate(
  dialect: Dialect,
  options: { mlflowManaged: boolean; migrations: readonly Migration[] },
): Promise<MigrationResult> {
  const { migrations } = options;
  const latest = LATEST_SCHEMA_VERSION;
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
        { reason: "SCHEMA_TOO_NEW" },
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

/**
 * Applies further migrations (another layer's tables) to an opened store's database.
 *
 * @example
 * ```ts
 * await ensureMigrations(store, DOMAIN_MIGRATIONS);
 * ```
 */
export function ensureMigrations(
  store: SecretStore,
  migrations: readonly Migration[],
): Promise<MigrationResult> {
  return migrate(store.dialect, { mlflowManaged: store.layout.mlflowManaged, migrations });
}
