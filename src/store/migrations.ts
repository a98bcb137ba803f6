/**
 * Versioned, idempotent migrations for the tables this package owns, run on open under a
 * database-wide lock. MLflow's own tables are never created, altered or dropped in a database
 * MLflow manages (one with `alembic_version`).
 */
import { MlflowSecretsError } from "../errors.js";
import type { Dialect, DialectSql, SqlExecutor, TableDefinition } from "./dialect.js";

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

/** The server's tables: users, API tokens, per-secret grants, and the audit log. */
export const USERS_TABLE = "mlflow_secrets_users";
export const TOKENS_TABLE = "mlflow_secrets_tokens";
export const PERMISSIONS_TABLE = "mlflow_secrets_permissions";
export const AUDIT_LOG_TABLE = "mlflow_secrets_audit_log";

function authTables(sql: DialectSql): TableDefinition[] {
  const { bigint, text } = sql.types;
  return [
    {
      name: USERS_TABLE,
      clauses: [
        "user_id VARCHAR(36) NOT NULL",
        "username VARCHAR(255) NOT NULL",
        // scrypt parameters, salt and hash; never a password.
        "password_hash VARCHAR(255) NOT NULL",
        "is_admin INTEGER DEFAULT 0 NOT NULL",
        `created_at ${bigint} NOT NULL`,
        `updated_at ${bigint} NOT NULL`,
        `CONSTRAINT ${USERS_TABLE}_pk PRIMARY KEY (user_id)`,
        `CONSTRAINT uq_${USERS_TABLE}_username UNIQUE (username)`,
      ],
    },
    {
      name: TOKENS_TABLE,
      clauses: [
        "token_id VARCHAR(36) NOT NULL",
        // SHA-256 of the token, hex; the token itself is shown once and never stored.
        "token_hash VARCHAR(64) NOT NULL",
        "user_id VARCHAR(36) NOT NULL",
        "name VARCHAR(255) NOT NULL",
        "created_by VARCHAR(255)",
        `created_at ${bigint} NOT NULL`,
        `CONSTRAINT ${TOKENS_TABLE}_pk PRIMARY KEY (token_id)`,
        `CONSTRAINT uq_${TOKENS_TABLE}_token_hash UNIQUE (token_hash)`,
        `CONSTRAINT fk_${TOKENS_TABLE}_user FOREIGN KEY (user_id) REFERENCES ${USERS_TABLE} (user_id) ON DELETE CASCADE`,
      ],
      indexes: [{ name: `idx_${TOKENS_TABLE}_user`, columns: ["user_id"] }],
    },
    {
      // No foreign key to `secrets`: in a database MLflow manages, that table is MLflow's.
      name: PERMISSIONS_TABLE,
      clauses: [
        "secret_id VARCHAR(36) NOT NULL",
        "user_id VARCHAR(36) NOT NULL",
        "permission VARCHAR(32) NOT NULL",
        `created_at ${bigint} NOT NULL`,
        `updated_at ${bigint} NOT NULL`,
        `CONSTRAINT ${PERMISSIONS_TABLE}_pk PRIMARY KEY (secret_id, user_id)`,
        `CONSTRAINT fk_${PERMISSIONS_TABLE}_user FOREIGN KEY (user_id) REFERENCES ${USERS_TABLE} (user_id) ON DELETE CASCADE`,
      ],
      indexes: [{ name: `idx_${PERMISSIONS_TABLE}_user`, columns: ["user_id"] }],
    },
    {
      name: AUDIT_LOG_TABLE,
      clauses: [
        "event_id VARCHAR(36) NOT NULL",
        `event_time ${bigint} NOT NULL`,
        "username VARCHAR(255)",
        "action VARCHAR(64) NOT NULL",
        "secret_id VARCHAR(36)",
        "secret_name VARCHAR(255)",
        "workspace VARCHAR(63)",
        "outcome VARCHAR(16) NOT NULL",
        "remote_address VARCHAR(64)",
        "request_id VARCHAR(64)",
        // A small JSON object of non-secret facts (target user, permission, token id, reason).
        `details ${text}`,
        `CONSTRAINT ${AUDIT_LOG_TABLE}_pk PRIMARY KEY (event_id)`,
      ],
      indexes: [
        { name: `idx_${AUDIT_LOG_TABLE}_time`, columns: ["event_time"] },
        { name: `idx_${AUDIT_LOG_TABLE}_secret`, columns: ["secret_id", "event_time"] },
        { name: `idx_${AUDIT_LOG_TABLE}_user`, columns: ["username", "event_time"] },
        { name: `idx_${AUDIT_LOG_TABLE}_address`, columns: ["remote_address", "event_time"] },
      ],
    },
  ];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "MLflow's secrets table, its index and immutability trigger (unless MLflow manages the database)",
    async up({ tx, sql, mlflowManaged }) {
      if (!mlflowManaged) await tx.exec(sql.createSecretsTable);
    },
  },
  {
    version: 2,
    name: "The server's users, API tokens, per-secret permissions and audit log",
    async up({ tx, sql }) {
      for (const table of authTables(sql)) await tx.exec(sql.createTable(table));
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
