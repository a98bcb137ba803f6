/**
 * MLflow's `secrets` table, as MLflow's migrations leave it (after the workspace migration):
 * column names, types, nullability, the `secrets_pk` primary key, the
 * `uq_secrets_workspace_secret_name` constraint and the `idx_secrets_workspace` index. Dialects
 * create it with their `createTable` and add their own form of the `prevent_secrets_aad_mutation`
 * trigger.
 */
import type { TableDefinition } from "./dialect.js";

/** The trigger's message, identical on every dialect (MLflow's). */
export const IMMUTABLE_AAD_MESSAGE =
  "secret_id and secret_name are immutable (used as AAD in encryption)";

/** The table, with the dialect's binary type (LargeBinary: BLOB, or BYTEA on PostgreSQL). */
export function secretsTable(blob: string): TableDefinition {
  return {
    name: "secrets",
    clauses: [
      "secret_id VARCHAR(36) NOT NULL",
      "secret_name VARCHAR(255) NOT NULL",
      `encrypted_value ${blob} NOT NULL`,
      `wrapped_dek ${blob} NOT NULL`,
      "kek_version INTEGER NOT NULL",
      "masked_value VARCHAR(500) NOT NULL",
      "provider VARCHAR(64)",
      "auth_config TEXT",
      "description TEXT",
      "created_by VARCHAR(255)",
      "created_at BIGINT NOT NULL",
      "last_updated_by VARCHAR(255)",
      "last_updated_at BIGINT NOT NULL",
      "workspace VARCHAR(63) DEFAULT 'default' NOT NULL",
      "CONSTRAINT secrets_pk PRIMARY KEY (secret_id)",
      "CONSTRAINT uq_secrets_workspace_secret_name UNIQUE (workspace, secret_name)",
    ],
    indexes: [{ name: "idx_secrets_workspace", columns: ["workspace"] }],
  };
}
