/** The `mlflow_secrets_permissions` table: explicit per-secret grants. */
import type { DialectSql, TableDefinition } from "../../store/dialect.js";
import { USERS_TABLE } from "../users/schema.js";

export const PERMISSIONS_TABLE = "mlflow_secrets_permissions";

export function permissionsTable(sql: DialectSql): TableDefinition {
  // No foreign key to `secrets`: in a database MLflow manages, that table is MLflow's.
  return {
    name: PERMISSIONS_TABLE,
    clauses: [
      "secret_id VARCHAR(36) NOT NULL",
      "user_id VARCHAR(36) NOT NULL",
      "permission VARCHAR(32) NOT NULL",
      `created_at ${sql.types.bigint} NOT NULL`,
      `updated_at ${sql.types.bigint} NOT NULL`,
      `CONSTRAINT ${PERMISSIONS_TABLE}_pk PRIMARY KEY (secret_id, user_id)`,
      `CONSTRAINT fk_${PERMISSIONS_TABLE}_user FOREIGN KEY (user_id) REFERENCES ${USERS_TABLE} (user_id) ON DELETE CASCADE`,
    ],
    indexes: [{ name: `idx_${PERMISSIONS_TABLE}_user`, columns: ["user_id"] }],
  };
}
