/** Rows of `mlflow_secrets_sessions`, looked up by the SHA-256 of the session id. */
import type { SqlExecutor } from "../../store/dialect.js";
import { USERS_TABLE } from "../users/schema.js";
import { SESSIONS_TABLE } from "./schema.js";

interface SessionRecord {
  userId: string;
  username: string;
  /** The user's admin flag now (not at sign-in). */
  isAdmin: boolean;
  /** The user's password hash now, to compare with the stamp taken at sign-in. */
  passwordHash: string;
  tokenId: string | undefined;
  credentialStamp: string | undefined;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
}

interface SessionRow extends Record<string, unknown> {
  user_id: string;
  username: string;
  is_admin: number | boolean;
  password_hash: string;
  token_id: string | null;
  credential_stamp: string | null;
  created_at: number | string;
  last_seen_at: number | string;
  expires_at: number | string;
}

/** The session with this hash, joined with its user's current row. */
export async function findSession(
  db: SqlExecutor,
  sessionHash: string,
): Promise<SessionRecord | undefined> {
  const row = await db.get<SessionRow>(
    `SELECT s.user_id, u.username, u.is_admin, u.password_hash, s.token_id, s.credential_stamp,
  s.created_at, s.last_seen_at, s.expires_at
FROM ${SESSIONS_TABLE} s JOIN ${USERS_TABLE} u ON u.user_id = s.user_id
WHERE s.session_hash = ?`,
    [sessionHash],
  );
  return (
    row && {
      userId: row.user_id,
      username: row.username,
      isAdmin: Number(row.is_admin) === 1,
      passwordHash: row.password_hash,
      tokenId: row.token_id ?? undefined,
      credentialStamp: row.credential_stamp ?? undefined,
      createdAt: Number(row.created_at),
      lastSeenAt: Number(row.last_seen_at),
      expiresAt: Number(row.expires_at),
    }
  );
}

export async function insertSession(
  db: SqlExecutor,
  session: {
    sessionHash: string;
    userId: string;
    tokenId: string | undefined;
    credentialStamp: string | undefined;
    createdAt: number;
    expiresAt: number;
  },
): Promise<void> {
  await db.run(
    `INSERT INTO ${SESSIONS_TABLE} (session_hash, user_id, token_id, credential_stamp, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    [
      session.sessionHash,
      session.userId,
      session.tokenId ?? null,
      session.credentialStamp ?? null,
      session.createdAt,
      session.createdAt,
      session.expiresAt,
    ],
  );
}

/** Moves the idle clock on; only forwards, so racing processes cannot move it back. */
export function touchSession(db: SqlExecutor, sessionHash: string, now: number): Promise<number> {
  return db.run(
    `UPDATE ${SESSIONS_TABLE} SET last_seen_at = ? WHERE session_hash = ? AND last_seen_at < ?`,
    [now, sessionHash, now],
  );
}

export function deleteSession(db: SqlExecutor, sessionHash: string): Promise<number> {
  return db.run(`DELETE FROM ${SESSIONS_TABLE} WHERE session_hash = ?`, [sessionHash]);
}

/** Deletes every session past its lifetime or idle for longer than `idleMs`. */
export function deleteExpiredSessions(
  db: SqlExecutor,
  now: number,
  idleMs: number,
): Promise<number> {
  return db.run(`DELETE FROM ${SESSIONS_TABLE} WHERE expires_at <= ? OR last_seen_at <= ?`, [
    now,
    now - idleMs,
  ]);
}
