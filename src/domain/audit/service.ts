/** Reading the audit log (admins only), newest first, with an opaque page token. */
import { invalidParameter } from "../../errors.js";
import {
  AUDIT_ACTIONS,
  AUDIT_OUTCOMES,
  queryAuditEvents,
  type AuditAction,
  type AuditEvent,
  type AuditOutcome,
} from "./data.js";
import { requireAdmin, type CallContext, type Database } from "../context.js";

export const MAX_AUDIT_PAGE = 1000;
const DEFAULT_AUDIT_PAGE = 100;

export interface AuditListRequest {
  secretId?: string | undefined;
  username?: string | undefined;
  /** A secret's id or name (the console's filter). */
  secret?: string | undefined;
  action?: string | undefined;
  outcome?: string | undefined;
  /** Epoch milliseconds, inclusive. */
  since?: number | undefined;
  /** Epoch milliseconds, inclusive. */
  until?: number | undefined;
  maxResults?: number | undefined;
  pageToken?: string | undefined;
}

export interface AuditService {
  list(
    ctx: CallContext,
    request: AuditListRequest,
  ): Promise<{ events: AuditEvent[]; nextPageToken?: string }>;
}

function encodeToken(event: AuditEvent): string {
  return Buffer.from(JSON.stringify({ t: event.time, id: event.eventId }), "utf8").toString(
    "base64url",
  );
}

function decodeToken(token: string): { time: number; eventId: string } {
  try {
    const parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as {
      t?: unknown;
      id?: unknown;
    };
    if (Number.isSafeInteger(parsed.t) && typeof parsed.id === "string") {
      return { time: parsed.t as number, eventId: parsed.id };
    }
  } catch {
    // fall through
  }
  throw invalidParameter("Invalid page_token");
}

/** Builds the audit-log reader. */
export function createAuditService({ database }: { database: Database }): AuditService {
  return {
    async list(ctx, request) {
      requireAdmin(ctx, "read the audit log");
      const limit = request.maxResults ?? DEFAULT_AUDIT_PAGE;
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_AUDIT_PAGE) {
        throw invalidParameter(
          `max_results must be an integer between 1 and ${MAX_AUDIT_PAGE}, got ${String(limit)}`,
        );
      }
      const events = await queryAuditEvents(database.reader, {
        secretId: request.secretId,
        username: request.username,
        secretIdOrName: request.secret,
        action: oneOf<AuditAction>(request.action, AUDIT_ACTIONS, "action"),
        outcome: oneOf<AuditOutcome>(request.outcome, AUDIT_OUTCOMES, "outcome"),
        since: request.since,
        until: request.until,
        limit: limit + 1,
        after: request.pageToken ? decodeToken(request.pageToken) : undefined,
      });
      if (events.length <= limit) return { events };
      const page = events.slice(0, limit);
      return { events: page, nextPageToken: encodeToken(page[page.length - 1]!) };
    },
  };
}

function oneOf<T extends string>(
  value: string | undefined,
  allowed: readonly T[],
  name: string,
): T | undefined {
  if (value === undefined || value === "") return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw invalidParameter(
      `Invalid value for parameter '${name}': must be one of ${allowed.join(", ")}`,
    );
  }
  return value as T;
}

/** `since` (or `until`): epoch milliseconds, or an ISO-8601 date/time. */
export function parseSince(value: string | undefined, parameter = "since"): number | undefined {
  if (value === undefined || value === "") return undefined;
  if (/^\d{1,15}$/.test(value)) return Number(value);
  const time = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(time)) {
    throw invalidParameter(
      `Invalid value for parameter '${parameter}': use an ISO-8601 time (2026-01-31T12:00:00Z) or epoch milliseconds`,
    );
  }
  return time;
}
