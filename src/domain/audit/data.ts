/**
 * Rows of `mlflow_secrets_audit_log`. A row is written on the executor of the transaction that
 * makes the change it records, so both commit or neither does.
 *
 * Invariant: no row holds a password, a token or a secret value — only names, ids and outcomes.
 */
import { randomUUID } from "node:crypto";
import type { SqlExecutor, SqlValue } from "../../store/dialect.js";
import { AUDIT_LOG_TABLE } from "./schema.js";

export const AUDIT_ACTIONS = [
  "secret.create",
  "secret.update",
  "secret.delete",
  "secret.value",
  "permission.create",
  "permission.update",
  "permission.delete",
  "user.create",
  "user.update_password",
  "user.update_admin",
  "user.delete",
  "token.create",
  "token.revoke",
  "session.create",
  "session.delete",
  "login.failed",
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** `success`: the change committed; `denied`: refused for lack of permission; `failure`: a failed login. */
export const AUDIT_OUTCOMES = ["success", "denied", "failure"] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** Who did it, from where, in which request. */
export interface AuditActor {
  username?: string | undefined;
  remoteAddress?: string | undefined;
  requestId?: string | undefined;
}

export interface AuditEventInput extends AuditActor {
  action: AuditAction;
  outcome: AuditOutcome;
  secretId?: string | undefined;
  secretName?: string | undefined;
  workspace?: string | undefined;
  /** Non-secret facts: the target user, a permission, a token id, a reason. */
  details?: Readonly<Record<string, string | number | boolean>> | undefined;
}

export interface AuditEvent extends AuditEventInput {
  eventId: string;
  /** Epoch milliseconds. */
  time: number;
}

interface AuditRow extends Record<string, unknown> {
  event_id: string;
  event_time: number | string;
  username: string | null;
  action: string;
  secret_id: string | null;
  secret_name: string | null;
  workspace: string | null;
  outcome: string;
  remote_address: string | null;
  request_id: string | null;
  details: string | null;
}

const COLUMNS =
  "event_id, event_time, username, action, secret_id, secret_name, workspace, outcome, remote_address, request_id, details";

function clip(text: string | undefined, max: number): string | null {
  if (text === undefined) return null;
  return text.length > max ? text.slice(0, max) : text;
}

let sequence = 0;

/**
 * A UUID-shaped id that sorts by time (like UUIDv7): 48 bits of epoch ms, a per-process sequence,
 * then random bits. Events of one process within one millisecond keep their order.
 */
function newEventId(now: number): string {
  sequence = (sequence + 1) & 0xffff;
  // 64 random bits from a v4 UUID (Node draws those from a buffered pool: cheaper than randomBytes).
  const random = randomUUID();
  const hex =
    now.toString(16).padStart(12, "0") +
    sequence.toString(16).padStart(4, "0") +
    random.slice(9, 13) +
    random.slice(24);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Writes one row. */
export async function insertAuditEvent(
  db: SqlExecutor,
  event: AuditEventInput,
  now = Date.now(),
): Promise<void> {
  await db.run(
    `INSERT INTO ${AUDIT_LOG_TABLE} (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      newEventId(now),
      now,
      clip(event.username, 255),
      event.action,
      clip(event.secretId, 36),
      clip(event.secretName, 255),
      clip(event.workspace, 63),
      event.outcome,
      clip(event.remoteAddress, 64),
      clip(event.requestId, 64),
      event.details === undefined ? null : JSON.stringify(event.details),
    ],
  );
}

function fromRow(row: AuditRow): AuditEvent {
  const event: AuditEvent = {
    eventId: row.event_id,
    time: Number(row.event_time),
    action: row.action as AuditAction,
    outcome: row.outcome as AuditOutcome,
  };
  if (row.username !== null) event.username = row.username;
  if (row.secret_id !== null) event.secretId = row.secret_id;
  if (row.secret_name !== null) event.secretName = row.secret_name;
  if (row.workspace !== null) event.workspace = row.workspace;
  if (row.remote_address !== null) event.remoteAddress = row.remote_address;
  if (row.request_id !== null) event.requestId = row.request_id;
  if (row.details !== null) {
    try {
      event.details = JSON.parse(row.details) as Record<string, string | number | boolean>;
    } catch {
      // a hand-edited row: show it without details
    }
  }
  return event;
}

interface AuditQuery {
  secretId?: string | undefined;
  username?: string | undefined;
  /** Events about the secret with this id, or this name. */
  secretIdOrName?: string | undefined;
  action?: AuditAction | undefined;
  outcome?: AuditOutcome | undefined;
  /** Epoch milliseconds, inclusive. */
  since?: number | undefined;
  /** Epoch milliseconds, inclusive. */
  until?: number | undefined;
  limit: number;
  /** Continue after this event (newest first): its time and id. */
  after?: { time: number; eventId: string } | undefined;
}

/** Events newest first; `limit` rows at most. */
export async function queryAuditEvents(db: SqlExecutor, query: AuditQuery): Promise<AuditEvent[]> {
  const where: string[] = [];
  const params: SqlValue[] = [];
  if (query.secretId !== undefined) {
    where.push("secret_id = ?");
    params.push(query.secretId);
  }
  if (query.username !== undefined) {
    where.push("username = ?");
    params.push(query.username);
  }
  if (query.secretIdOrName !== undefined) {
    where.push("(secret_id = ? OR secret_name = ?)");
    params.push(query.secretIdOrName, query.secretIdOrName);
  }
  if (query.action !== undefined) {
    where.push("action = ?");
    params.push(query.action);
  }
  if (query.outcome !== undefined) {
    where.push("outcome = ?");
    params.push(query.outcome);
  }
  if (query.since !== undefined) {
    where.push("event_time >= ?");
    params.push(query.since);
  }
  if (query.until !== undefined) {
    where.push("event_time <= ?");
    params.push(query.until);
  }
  if (query.after !== undefined) {
    where.push("(event_time < ? OR (event_time = ? AND event_id < ?))");
    params.push(query.after.time, query.after.time, query.after.eventId);
  }
  const rows = await db.all<AuditRow>(
    `SELECT ${COLUMNS} FROM ${AUDIT_LOG_TABLE}${where.length ? ` WHERE ${where.join(" AND ")}` : ""} ORDER BY event_time DESC, event_id DESC LIMIT ?`,
    [...params, query.limit],
  );
  return rows.map(fromRow);
}

/** Failed logins since `since` for a username and for an address, and the oldest of them. */
export async function countLoginFailures(
  db: SqlExecutor,
  username: string | undefined,
  remoteAddress: string | undefined,
  since: number,
): Promise<{ byUsername: number; byAddress: number; oldest: number | undefined }> {
  const row = await db.get<{
    by_username: number | string | null;
    by_address: number | string | null;
    oldest: number | string | null;
  }>(
    `SELECT SUM(CASE WHEN username = ? THEN 1 ELSE 0 END) AS by_username,
  SUM(CASE WHEN remote_address = ? THEN 1 ELSE 0 END) AS by_address,
  MIN(event_time) AS oldest
FROM ${AUDIT_LOG_TABLE}
WHERE action = 'login.failed' AND event_time >= ? AND (username = ? OR remote_address = ?)`,
    [
      clip(username, 255),
      clip(remoteAddress, 64),
      since,
      clip(username, 255),
      clip(remoteAddress, 64),
    ],
  );
  return {
    byUsername: Number(row?.by_username ?? 0),
    byAddress: Number(row?.by_address ?? 0),
    oldest: row?.oldest == null ? undefined : Number(row.oldest),
  };
}
