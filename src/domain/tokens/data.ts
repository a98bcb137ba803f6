/** Rows of `mlflow_secrets_tokens`: only the SHA-256 of a token is stored. */
import type { SqlExecutor } from "../../store/dialect.js";
import { USERS_TABLE } from "../users/schema.js";
import { TOKENS_TABLE } from "./schema.js";

export interface ApiToken {
  tokenId: string;
  name: string;
  userId: string;
  username: string;
  createdBy?: string;
  createdAt: number;
}

interface TokenRow extends Record<string, unknown> {
  token_id: string;
  name: string;
  user_id: string;
  username: string;
  created_by: string | null;
  created_at: number | string;
}

const SELECT = `SELECT t.token_id, t.name, t.user_id, u.username, t.created_by, t.created_at
FROM ${TOKENS_TABLE} t JOIN ${USERS_TABLE} u ON u.user_id = t.user_id`;

function fromRow(row: TokenRow): ApiToken {
  const token: ApiToken = {
    tokenId: row.token_id,
    name: row.name,
    userId: row.user_id,
    username: row.username,
    createdAt: Number(row.created_at),
  };
  if (row.created_by !== null) token.createdBy = row.created_by;
  return token;
}

/** The token whose SHA-256 is `tokenHash`, with its owner's current admin flag. */
export async function findTokenByHash(
  db: SqlExecutor,
  tokenHash: string,
): Promise<(ApiToken & { isAdmin: boolean }) | undefined> {
  const row = await db.get<TokenRow & { is_admin: number | boolean }>(
    `SELECT t.token_id, t.name, t.user_id, u.username, t.created_by, t.created_at, u.is_admin
FROM ${TOKENS_TABLE} t JOIN ${USERS_TABLE} u ON u.user_id = t.user_id WHERE t.token_hash = ?`,
    [tokenHash],
  );
  return row && { ...fromRow(row), isAdmin: Number(row.is_admin) === 1 };
}

export async function findTokenById(
  db: SqlExecutor,
  tokenId: string,
): Promise<ApiToken | undefined> {
  const row = await db.get<TokenRow>(`${SELECT} WHERE t.token_id = ?`, [tokenId]);
  return row && fromRow(row);
}

/** Tokens by creation time; of one user when `userId` is given. */
export async function listTokens(db: SqlExecutor, userId?: string): Promise<ApiToken[]> {
  const rows =
    userId === undefined
      ? await db.all<TokenRow>(`${SELECT} ORDER BY t.created_at, t.token_id`)
      : await db.all<TokenRow>(`${SELECT} WHERE t.user_id = ? ORDER BY t.created_at, t.token_id`, [
          userId,
        ]);
  return rows.map(fromRow);
}

export async function insertToken(
  db: SqlExecutor,
  token: {
    tokenId: string;
    tokenHash: string;
    userId: string;
    name: string;
    createdBy: string | undefined;
  },
  now = Date.now(),
): Promise<void> {
  await db.run(
    `INSERT INTO ${TOKENS_TABLE} (token_id, token_hash, user_id, name, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
    [token.tokenId, token.tokenHash, token.userId, token.name, token.createdBy ?? null, now],
  );
}

/** Revoking a token deletes it: nothing of it is left that could authenticate. */
export function deleteToken(db: SqlExecutor, tokenId: string): Promise<number> {
  return db.run(`DELETE FROM ${TOKENS_TABLE} WHERE token_id = ?`, [tokenId]);
}
