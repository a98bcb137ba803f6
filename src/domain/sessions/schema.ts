/**
 * The `mlflow_secrets_sessions` table: the console's sign-ins, shared by every server process on
 * the database. A session id is never stored, only its SHA-256.
 */
import type { DialectSql, TableDefinition } from "../../store/dialect.js";
import { TOKENS_TABLE } from "../tokens/schema.js";
import { USERS_TABLE } from "../users/schema.js";

export const SESSIONS_TABLE = "mlflow_secrets_sessions";

export function sessionsTable(sql: DialectSql): TableDefinition {
  return {
    name: SESSIONS_TABLE,
    clauses: [
      // SHA-256 of the session id, hex: a copy of the table signs nobody in.
      "session_hash VARCHAR(64) NOT NULL",
      "user_id VARCHAR(36) NOT NULL",
      // Signed in with an API token: the session ends with the token (revoked → row deleted).
      "token_id VARCHAR(36)",
      // Signed in with a password: SHA-256 of the password hash then; a new password ends it.
      "credential_stamp VARCHAR(64)",
      `created_at ${sql.types.bigint} NOT NULL`,
      `last_seen_at ${sql.types.bigint} NOT NULL`,
      `expires_at ${sql.types.bigint} NOT NULL`,
      `CONSTRAINT ${SESSIONS_TABLE}_pk PRIMARY KEY (session_hash)`,
      `CONSTRAINT fk_${SESSIONS_TABLE}_user FOREIGN KEY (user_id) REFERENCES ${USERS_TABLE} (user_id) ON DELETE CASCADE`,
      `CONSTRAINT fk_${SESSIONS_TABLE}_token FOREIGN KEY (token_id) REFERENCES ${TOKENS_TABLE} (token_id) ON DELETE CASCADE`,
    ],
    indexes: [
      { name: `idx_${SESSIONS_TABLE}_user`, columns: ["user_id"] },
      { name: `idx_${SESSIONS_TABLE}_token`, columns: ["token_id"] },
      { name: `idx_${SESSIONS_TABLE}_expires`, columns: ["expires_at"] },
    ],
  };
}
