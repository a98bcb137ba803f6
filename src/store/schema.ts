/**
 * MLflow's `secrets` table, as MLflow's migrations leave it (after the workspace migration):
 * column names, types, nullability, the `secrets_pk` primary key, the
 * `uq_secrets_workspace_secret_name` constraint and the `idx_secrets_workspace` index. Dialects add
 * their own form of the `prevent_secrets_aad_mutation` trigger.
 */

/** The trigger's message, identical on every dialect (MLflow's). */
export const IMMUTABLE_AAD_MESSAGE =
  "secret_id and secret_name are immutable (used as AAD in encryption)";

export function createSecretsTable(options: {
  /** LargeBinary: BLOB (SQLite, MySQL) or BYTEA (PostgreSQL). */
  blob: string;
  /** MySQL declares the index inside CREATE TABLE (it has no CREATE INDEX IF NOT EXISTS). */
  indexInline: boolean;
  tableOptions: string;
}): string[] {
  const index = "idx_secrets_workspace";
  const table = `CREATE TABLE IF NOT EXISTS secrets (
  secret_id VARCHAR(36) NOT NULL,
  secret_name VARCHAR(255) NOT NULL,
  encrypted_value ${options.blob} NOT NULL,
  wrapped_dek ${options.blob} NOT NULL,
  kek_version INTEGER NOT NULL,
  masked_value VARCHAR(500) NOT NULL,
  provider VARCHAR(64),
  auth_config TEXT,
  description TEXT,
  created_by VARCHAR(255),
  created_at BIGINT NOT NULL,
  last_updated_by VARCHAR(255),
  last_updated_at BIGINT NOT NULL,
  workspace VARCHAR(63) DEFAULT 'default' NOT NULL,
  CONSTRAINT secrets_pk PRIMARY KEY (secret_id),
  CONSTRAINT uq_secrets_workspace_secret_name UNIQUE (workspace, secret_name)${options.indexInline ? `,\n  INDEX ${index} (workspace)` : ""}
)${options.tableOptions ? ` ${options.tableOptions}` : ""}`;
  return options.indexInline
    ? [table]
    : [table, `CREATE INDEX IF NOT EXISTS ${index} ON secrets (workspace)`];
}
