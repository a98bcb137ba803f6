/** The `mlflow_secrets_users` table: one row per user of the server. */
import type { DialectSql, TableDefinition } from "../../store/dialect.js";

export const USERS_TABLE = "mlflow_secrets_users";

export function usersTable(sql: DialectSql): TableDefinition {
  return {
    name: USERS_TABLE,
    clauses: [
      "user_id VARCHAR(36) NOT NULL",
      "username VARCHAR(255) NOT NULL",
      // scrypt parameters, salt and hash; never a password.
      "password_hash VARCHAR(255) NOT NULL",
      "is_admin INTEGER DEFAULT 0 NOT NULL",
      `created_at ${sql.types.bigint} NOT NULL`,
      `updated_at ${sql.types.bigint} NOT NULL`,
      `CONSTRAINT ${USERS_TABLE}_pk PRIMARY KEY (user_id)`,
      `CONSTRAINT uq_${USERS_TABLE}_username UNIQUE (username)`,
    ],
  };
}
