/** Rows of `mlflow_secrets_users`. Every function runs on the executor it is given (a transaction or not). */
import { randomUUID } from "node:crypto";
import type { SqlExecutor } from "../../store/dialect.js";
import { USERS_TABLE } from "./schema.js";

export interface User {
  userId: string;
  username: string;
  isAdmin: boolean;
  /** scrypt hash (auth/passwords.ts); never leaves the server. */
  passwordHash: string;
  createdAt: number;
  updatedAt: number;
}

interface UserRow extends Record<string, unknown> {
  user_id: string;
  username: string;
  password_hash: string;
  is_admin: number | boolean;
  created_at: number | string;
  updated_at: number | string;
}

const COLUMNS = "user_id, username, password_hash, is_admin, created_at, updated_at";

function fromRow(row: UserRow): User {
  return {
    userId: row.user_id,
    username: row.username,
    isAdmin: Number(row.is_admin) === 1,
    passwordHash: row.password_hash,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

export async function findUserByName(db: SqlExecutor, username: string): Promise<User | undefined> {
  const row = await db.get<UserRow>(`SELECT ${COLUMNS} FROM ${USERS_TABLE} WHERE username = ?`, [
    username,
  ]);
  return row && fromRow(row);
}

export async function listUsers(db: SqlExecutor): Promise<User[]> {
  const rows = await db.all<UserRow>(`SELECT ${COLUMNS} FROM ${USERS_TABLE} ORDER BY username`);
  return rows.map(fromRow);
}

export async function countUsers(db: SqlExecutor): Promise<{ users: number; admins: number }> {
  const row = await db.get<{ users: number | string; admins: number | string | null }>(
    `SELECT COUNT(*) AS users, SUM(is_admin) AS admins FROM ${USERS_TABLE}`,
  );
  return { users: Number(row?.users ?? 0), admins: Number(row?.admins ?? 0) };
}

/** Inserts a user; a duplicate name is the dialect's unique violation. */
export async function insertUser(
  db: SqlExecutor,
  user: { username: string; passwordHash: string; isAdmin: boolean },
  now = Date.now(),
): Promise<User> {
  const created: User = {
    userId: `u-${randomUUID().replaceAll("-", "")}`,
    username: user.username,
    isAdmin: user.isAdmin,
    passwordHash: user.passwordHash,
    createdAt: now,
    updatedAt: now,
  };
  await db.run(`INSERT INTO ${USERS_TABLE} (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`, [
    created.userId,
    created.username,
    created.passwordHash,
    created.isAdmin ? 1 : 0,
    now,
    now,
  ]);
  return created;
}

export function updateUserPassword(
  db: SqlExecutor,
  userId: string,
  passwordHash: string,
  now = Date.now(),
): Promise<number> {
  return db.run(`UPDATE ${USERS_TABLE} SET password_hash = ?, updated_at = ? WHERE user_id = ?`, [
    passwordHash,
    now,
    userId,
  ]);
}

export function updateUserAdmin(
  db: SqlExecutor,
  userId: string,
  isAdmin: boolean,
  now = Date.now(),
): Promise<number> {
  return db.run(`UPDATE ${USERS_TABLE} SET is_admin = ?, updated_at = ? WHERE user_id = ?`, [
    isAdmin ? 1 : 0,
    now,
    userId,
  ]);
}

/** Deletes a user; their tokens and grants go with them (ON DELETE CASCADE). */
export function deleteUser(db: SqlExecutor, userId: string): Promise<number> {
  return db.run(`DELETE FROM ${USERS_TABLE} WHERE user_id = ?`, [userId]);
}
