/** The `mlflow_secrets_tokens` table: API tokens, stored only as their SHA-256. */
import type { DialectSql, TableDefinition } from "../../store/dialect.js";
import { USERS_TABLE } from "../users/schema.js";

export const TOKENS_TABLE = "mlflow_secrets_tokens";

export function tokensTable(sql: DialectSql): TableDefinition {
  return {
    name: TOKENS_TABLE,
    clauses: [
      "token_id VARCHAR(36) NOT NULL",
      // SHA-256 of the token, hex; the token itself is shown once and never stored.
      "token_hash VARCHAR(64) NOT NULL",
      "user_id VARCHAR(36) NOT NULL",
      "name VARCHAR(255) NOT NULL",
      "created_by VARCHAR(255)",
      `created_at ${sql.types.bigint} NOT NULL`,
      `CONSTRAINT ${TOKENS_TABLE}_pk PRIMARY KEY (token_id)`,
      `CONSTRAINT uq_${TOKENS_TABLE}_token_hash UNIQUE (token_hash)`,
      `CONSTRAINT fk_${TOKENS_TABLE}_user FOREIGN KEY (user_id) REFERENCES ${USERS_TABLE} (user_id) ON DELETE CASCADE`,
    ],
    indexes: [{ name: `idx_${TOKENS_TABLE}_user`, columns: ["user_id"] }],
  };
}
