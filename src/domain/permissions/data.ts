/** Rows of `mlflow_secrets_permissions`: explicit per-secret grants. */
import type { PermissionName } from "./model.js";
import type { SqlExecutor } from "../../store/dialect.js";
import { USERS_TABLE } from "../users/schema.js";
import { PERMISSIONS_TABLE } from "./schema.js";
import { toPermissionName } from "./model.js";

export interface SecretGrant {
  secretId: string;
  userId: string;
  username: string;
  permission: PermissionName;
}

interface GrantRow extends Record<string, unknown> {
  secret_id: string;
  user_id: string;
  username: string;
  permission: string;
}

const SELECT = `SELECT p.secret_id, p.user_id, u.username, p.permission
FROM ${PERMISSIONS_TABLE} p JOIN ${USERS_TABLE} u ON u.user_id = p.user_id`;

function fromRow(row: GrantRow): SecretGrant {
  return {
    secretId: row.secret_id,
    userId: row.user_id,
    username: row.username,
    permission: toPermissionName(row.permission),
  };
}

/** The explicit grant of one user on one secret. */
export async function findGrant(
  db: SqlExecutor,
  secretId: string,
  userId: string,
): Promise<SecretGrant | undefined> {
  const row = await db.get<GrantRow>(`${SELECT} WHERE p.secret_id = ? AND p.user_id = ?`, [
    secretId,
    userId,
  ]);
  return row && fromRow(row);
}

/** Every explicit grant of one user: secret id → permission. */
export async function grantsOfUser(
  db: SqlExecutor,
  userId: string,
): Promise<Map<string, PermissionName>> {
  const rows = await db.all<{ secret_id: string; permission: string }>(
    `SELECT secret_id, permission FROM ${PERMISSIONS_TABLE} WHERE user_id = ?`,
    [userId],
  );
  return new Map(rows.map((r) => [r.secret_id, toPermissionName(r.permission)]));
}

/** Every explicit grant on one secret, by username. */
export async function grantsOnSecret(db: SqlExecutor, secretId: string): Promise<SecretGrant[]> {
  const rows = await db.all<GrantRow>(`${SELECT} WHERE p.secret_id = ? ORDER BY u.username`, [
    secretId,
  ]);
  return rows.map(fromRow);
}

export async function insertGrant(
  db: SqlExecutor,
  grant: { secretId: string; userId: string; permission: PermissionName },
  now = Date.now(),
): Promise<void> {
  await db.run(
    `INSERT INTO ${PERMISSIONS_TABLE} (secret_id, user_id, permission, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
    [grant.secretId, grant.userId, grant.permission, now, now],
  );
}

export function updateGrant(
  db: SqlExecutor,
  grant: { secretId: string; userId: string; permission: PermissionName },
  now = Date.now(),
): Promise<number> {
  return db.run(
    `UPDATE ${PERMISSIONS_TABLE} SET permission = ?, updated_at = ? WHERE secret_id = ? AND user_id = ?`,
    [grant.permission, now, grant.secretId, grant.userId],
  );
}

export function deleteGrant(db: SqlExecutor, secretId: string, userId: string): Promise<number> {
  return db.run(`DELETE FROM ${PERMISSIONS_TABLE} WHERE secret_id = ? AND user_id = ?`, [
    secretId,
    userId,
  ]);
}

/** Removes every grant on a secret (when it is deleted). */
export function deleteGrantsOnSecret(db: SqlExecutor, secretId: string): Promise<number> {
  return db.run(`DELETE FROM ${PERMISSIONS_TABLE} WHERE secret_id = ?`, [secretId]);
}
