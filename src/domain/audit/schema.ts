/** The `mlflow_secrets_audit_log` table: one row per change, value read, refusal and failed login. */
import type { DialectSql, TableDefinition } from "../../store/dialect.js";

export const AUDIT_LOG_TABLE = "mlflow_secrets_audit_log";

export function auditLogTable(sql: DialectSql): TableDefinition {
  return {
    name: AUDIT_LOG_TABLE,
    clauses: [
      "event_id VARCHAR(36) NOT NULL",
      `event_time ${sql.types.bigint} NOT NULL`,
      "username VARCHAR(255)",
      "action VARCHAR(64) NOT NULL",
      "secret_id VARCHAR(36)",
      "secret_name VARCHAR(255)",
      "workspace VARCHAR(63)",
      "outcome VARCHAR(16) NOT NULL",
      "remote_address VARCHAR(64)",
      "request_id VARCHAR(64)",
      // A small JSON object of non-secret facts (target user, permission, token id, reason).
      `details ${sql.types.text}`,
      `CONSTRAINT ${AUDIT_LOG_TABLE}_pk PRIMARY KEY (event_id)`,
    ],
    indexes: [
      { name: `idx_${AUDIT_LOG_TABLE}_time`, columns: ["event_time"] },
      { name: `idx_${AUDIT_LOG_TABLE}_secret`, columns: ["secret_id", "event_time"] },
      { name: `idx_${AUDIT_LOG_TABLE}_user`, columns: ["username", "event_time"] },
      { name: `idx_${AUDIT_LOG_TABLE}_address`, columns: ["remote_address", "event_time"] },
    ],
  };
}
