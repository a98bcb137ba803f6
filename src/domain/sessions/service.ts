/**
 * Console sessions: a sign-in (checked by the server's authenticator, exactly as Basic auth or a
 * token) becomes a random 256-bit session id held by the browser in a cookie; the database
 * keeps only its SHA-256, so every server process shares the session and a copy of the table
 * signs nobody in. A session ends at its absolute lifetime, after an idle timeout, when the
 * user's password changes, when the token it was opened with is revoked, when the user is
 * deleted, or when the user signs out.
 *
 * State-changing calls made with a session carry its CSRF token: an HMAC of the session id,
 * so it needs no storage and only the holder of the (HttpOnly) cookie's session could know it.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { insertAuditEvent } from "../audit/data.js";
import type { CallContext, Database } from "../context.js";
import type { Principal } from "../permissions/model.js";
import {
  deleteExpiredSessions,
  deleteSession,
  findSession,
  insertSession,
  touchSession,
} from "./data.js";

/** What a session was opened with. */
export type SessionCredential =
  { kind: "password"; passwordHash: string } | { kind: "token"; tokenId: string };

export interface OpenedSession {
  /** The cookie's value: shown to the browser once, never stored. */
  sessionId: string;
  csrfToken: string;
  /** Epoch ms: the absolute end. */
  expiresAt: number;
}

export interface ResolvedSession {
  principal: Principal;
  csrfToken: string;
  expiresAt: number;
}

export interface SessionsService {
  readonly idleTimeoutMs: number;
  readonly lifetimeMs: number;
  /** Opens a session for a principal the authenticator has just verified (audited). */
  open(ctx: CallContext, credential: SessionCredential): Promise<OpenedSession>;
  /** The live session with this id, or undefined (an ended one is deleted on the way). */
  resolve(sessionId: string): Promise<ResolvedSession | undefined>;
  /** True when `token` is the session's CSRF token (constant-time). */
  checkCsrf(sessionId: string, token: string | undefined): boolean;
  /** Ends a session (audited when it was live). */
  close(ctx: CallContext, sessionId: string): Promise<void>;
}

interface SessionsServiceDeps {
  database: Database;
  idleTimeoutMs: number;
  lifetimeMs: number;
  now?: () => number;
}

const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;
/** Expired rows are swept at most this often per process (on sign-in). */
const SWEEP_INTERVAL_MS = 60_000;

function sessionHash(sessionId: string): string {
  return createHash("sha256").update(sessionId, "utf8").digest("hex");
}

/** A fingerprint of the password hash a session was opened under (not the hash itself). */
function credentialStamp(passwordHash: string): string {
  return createHash("sha256").update(`session-stamp\0${passwordHash}`, "utf8").digest("hex");
}

function csrfTokenOf(sessionId: string): string {
  return createHmac("sha256", sessionId).update("mlflow-secrets csrf").digest("base64url");
}

/**
 * Builds the sessions service.
 *
 * @example
 * ```ts
 * const sessions = createSessionsService({ database, idleTimeoutMs: 30 * 60_000, lifetimeMs: 12 * 3600_000 });
 * const { sessionId } = await sessions.open(ctx, { kind: "password", passwordHash });
 * (await sessions.resolve(sessionId))?.principal.username;
 * ```
 */
export function createSessionsService(deps: SessionsServiceDeps): SessionsService {
  const { database, idleTimeoutMs, lifetimeMs } = deps;
  const now = deps.now ?? Date.now;
  // Moving the idle clock costs a write: at most once per this interval per session.
  const touchEveryMs = Math.min(60_000, Math.floor(idleTimeoutMs / 4));
  let lastSweep = 0;

  return {
    idleTimeoutMs,
    lifetimeMs,

    async open(ctx, credential) {
      const sessionId = randomBytes(32).toString("base64url");
      const createdAt = now();
      const expiresAt = createdAt + lifetimeMs;
      const sweep = createdAt - lastSweep >= SWEEP_INTERVAL_MS;
      if (sweep) lastSweep = createdAt;
      await database.transaction(async (db) => {
        if (sweep) await deleteExpiredSessions(db, createdAt, idleTimeoutMs);
        await insertSession(db, {
          sessionHash: sessionHash(sessionId),
          userId: ctx.principal.userId,
          tokenId: credential.kind === "token" ? credential.tokenId : undefined,
          credentialStamp:
            credential.kind === "password" ? credentialStamp(credential.passwordHash) : undefined,
          createdAt,
          expiresAt,
        });
        await insertAuditEvent(db, {
          username: ctx.principal.username,
          remoteAddress: ctx.remoteAddress,
          requestId: ctx.requestId,
          action: "session.create",
          outcome: "success",
          details: { via: credential.kind },
        });
      });
      return { sessionId, csrfToken: csrfTokenOf(sessionId), expiresAt };
    },

    async resolve(sessionId) {
      if (!SESSION_ID.test(sessionId)) return undefined;
      const hash = sessionHash(sessionId);
      const session = await findSession(database.reader, hash);
      if (session === undefined) return undefined;
      const at = now();
      const live =
        session.expiresAt > at &&
        session.lastSeenAt + idleTimeoutMs > at &&
        (session.tokenId !== undefined ||
          (session.credentialStamp !== undefined &&
            session.credentialStamp === credentialStamp(session.passwordHash)));
      if (!live) {
        await database.transaction((db) => deleteSession(db, hash));
        return undefined;
      }
      if (at - session.lastSeenAt >= touchEveryMs) {
        await database.transaction((db) => touchSession(db, hash, at));
      }
      return {
        principal: Object.freeze({
          userId: session.userId,
          username: session.username,
          isAdmin: session.isAdmin,
          via: "session" as const,
        }),
        csrfToken: csrfTokenOf(sessionId),
        expiresAt: session.expiresAt,
      };
    },

    checkCsrf(sessionId, token) {
      if (token === undefined) return false;
      const expected = Buffer.from(csrfTokenOf(sessionId), "utf8");
      const given = Buffer.from(token, "utf8");
      return given.length === expected.length && timingSafeEqual(given, expected);
    },

    async close(ctx, sessionId) {
      if (!SESSION_ID.test(sessionId)) return;
      await database.transaction(async (db) => {
        if ((await deleteSession(db, sessionHash(sessionId))) === 0) return;
        await insertAuditEvent(db, {
          username: ctx.principal.username,
          remoteAddress: ctx.remoteAddress,
          requestId: ctx.requestId,
          action: "session.delete",
          outcome: "success",
        });
      });
    },
  };
}
