/**
 * Who is calling: HTTP Basic (MLflow's basic-auth app, so `MLFLOW_TRACKING_USERNAME` /
 * `_PASSWORD` work), `Bearer` API tokens, or the web console's session cookie. Signing in to the
 * console goes through the very same password and token checks (cache, throttling, failed-login
 * audit rows) as Basic and Bearer; a session's state-changing calls need its CSRF token.
 *
 * scrypt must not dominate request cost: a successful Basic verification is cached for at most
 * `cacheTtlMs`, keyed by an HMAC of the credentials under a per-process random key. Every
 * request still reads the user's row, and a cache entry counts only while the row's password
 * hash is the one it was verified against — so a changed password or a deleted user takes
 * effect at once, in every process. Failed logins are audit rows; ten for one username or one
 * address within the window answer 429 until the window has passed.
 */
import { createHmac, randomBytes } from "node:crypto";
import { countLoginFailures, insertAuditEvent } from "../../domain/audit/data.js";
import { findTokenByHash } from "../../domain/tokens/data.js";
import { findUserByName, type User } from "../../domain/users/data.js";
import { HttpError, unauthenticated } from "../http/http-error.js";
import type { SessionCredential, SessionsService } from "../../domain/sessions/service.js";
import type { Principal } from "../../domain/permissions/model.js";
import type { Database } from "../../domain/context.js";
import type { PasswordHasher } from "../../domain/users/passwords.js";
import { hashApiToken } from "../../domain/tokens/api-token.js";

export type AuthFailureReason =
  | "missing"
  | "malformed"
  | "unknown_user"
  | "bad_password"
  | "bad_token"
  | "throttled"
  | "bad_session"
  | "bad_csrf";

interface AuthenticatorDeps {
  database: Database;
  hasher: PasswordHasher;
  /** How long a verified password is trusted without scrypt (≤ 60 s). */
  cacheTtlMs: number;
  throttle: { maxFailures: number; windowMs: number };
  /** Called for every refused attempt (metrics). */
  onFailure?: (reason: AuthFailureReason) => void;
  /** The console's sessions (absent: the session cookie is ignored). */
  sessions?: SessionsService;
}

interface AuthAttempt {
  /** The `Authorization` header, if any. */
  authorization: string | undefined;
  remoteAddress?: string | undefined;
  requestId?: string | undefined;
  /** The console's session cookie, used when there is no `Authorization` header. */
  sessionId?: string | undefined;
  /** A method other than GET/HEAD/OPTIONS: with a session, the CSRF token must match. */
  stateChanging?: boolean;
  /** The `X-CSRF-Token` header. */
  csrfToken?: string | undefined;
}

/** What the console's sign-in form sends. */
export type SignInCredentials = { username: string; password: string } | { token: string };

export interface Authenticator {
  authenticate(attempt: AuthAttempt): Promise<Principal>;
  /**
   * Checks console sign-in credentials exactly as a Basic or Bearer request (cache, throttling,
   * failed-login audit), and says what the session is opened with.
   */
  signIn(
    attempt: AuthAttempt,
    credentials: SignInCredentials,
  ): Promise<{ principal: Principal; credential: SessionCredential }>;
}

const MAX_CACHE_ENTRIES = 10_000;
const MAX_TOKEN_LENGTH = 256;

interface CacheEntry {
  userId: string;
  passwordHash: string;
  expires: number;
}

function principalOf(user: User, via: Principal["via"]): Principal {
  return Object.freeze({
    userId: user.userId,
    username: user.username,
    isAdmin: user.isAdmin,
    via,
  });
}

/** Splits `Basic base64(user:password)`; undefined when malformed. */
function parseBasic(credentials: string): { username: string; password: string } | undefined {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(Buffer.from(credentials, "base64"));
  } catch {
    return undefined;
  }
  const colon = text.indexOf(":");
  if (colon <= 0) return undefined;
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** Builds the authenticator. */
export function createAuthenticator(deps: AuthenticatorDeps): Authenticator {
  const { database, hasher, cacheTtlMs, throttle } = deps;
  const cacheKeySecret = randomBytes(32);
  const cache = new Map<string, CacheEntry>();
  // Concurrent first requests with the same credentials share one scrypt run.
  const inFlight = new Map<string, Promise<boolean>>();

  const fail = (reason: AuthFailureReason) => deps.onFailure?.(reason);

  const cacheKey = (username: string, password: string) =>
    createHmac("sha256", cacheKeySecret)
      .update(username)
      .update("\0")
      .update(password)
      .digest("base64");

  const remember = (key: string, user: User) => {
    if (cache.size >= MAX_CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
    cache.set(key, {
      userId: user.userId,
      passwordHash: user.passwordHash,
      expires: Date.now() + cacheTtlMs,
    });
  };

  const checkThrottle = async (username: string | undefined, remoteAddress: string | undefined) => {
    const now = Date.now();
    const counts = await countLoginFailures(
      database.reader,
      username,
      remoteAddress,
      now - throttle.windowMs,
    );
    if (counts.byUsername >= throttle.maxFailures || counts.byAddress >= throttle.maxFailures) {
      fail("throttled");
      const retryAfter = Math.max(
        1,
        Math.ceil(((counts.oldest ?? now) + throttle.windowMs - now) / 1000),
      );
      throw new HttpError(
        `Too many failed logins; try again in ${retryAfter} seconds`,
        "REQUEST_LIMIT_EXCEEDED",
        { status: 429, headers: { "retry-after": String(retryAfter) } },
      );
    }
  };

  const recordFailure = async (
    attempt: AuthAttempt,
    username: string | undefined,
    reason: AuthFailureReason,
  ) => {
    fail(reason);
    await database.transaction((db) =>
      insertAuditEvent(db, {
        action: "login.failed",
        outcome: "failure",
        username,
        remoteAddress: attempt.remoteAddress,
        requestId: attempt.requestId,
        details: { reason },
      }),
    );
  };

  const verify = (key: string, password: string, user: User | undefined): Promise<boolean> => {
    let running = inFlight.get(key);
    if (running === undefined) {
      running = (
        user === undefined
          ? hasher.verifyNothing(password)
          : hasher.verify(password, user.passwordHash)
      ).finally(() => inFlight.delete(key));
      inFlight.set(key, running);
    }
    return running;
  };

  const verifyPassword = async (
    attempt: AuthAttempt,
    username: string,
    password: string,
  ): Promise<User> => {
    const user =
      username.length <= 255 ? await findUserByName(database.reader, username) : undefined;
    const key = cacheKey(username, password);
    const hit = cache.get(key);
    if (hit !== undefined) {
      if (
        user !== undefined &&
        hit.userId === user.userId &&
        hit.passwordHash === user.passwordHash &&
        hit.expires > Date.now()
      ) {
        return user;
      }
      cache.delete(key);
    }
    await checkThrottle(username, attempt.remoteAddress);
    if (await verify(key, password, user)) {
      remember(key, user!);
      return user!;
    }
    await recordFailure(attempt, username, user === undefined ? "unknown_user" : "bad_password");
    throw unauthenticated("Invalid username or password");
  };

  const basic = async (attempt: AuthAttempt, username: string, password: string) =>
    principalOf(await verifyPassword(attempt, username, password), "basic");

  const verifyToken = async (attempt: AuthAttempt, token: string) => {
    const found =
      token.length <= MAX_TOKEN_LENGTH
        ? await findTokenByHash(database.reader, hashApiToken(token))
        : undefined;
    if (found !== undefined) return found;
    await checkThrottle(undefined, attempt.remoteAddress);
    await recordFailure(attempt, undefined, "bad_token");
    throw unauthenticated("Invalid or revoked API token");
  };

  const bearer = async (attempt: AuthAttempt, token: string): Promise<Principal> => {
    const found = await verifyToken(attempt, token);
    return Object.freeze({
      userId: found.userId,
      username: found.username,
      isAdmin: found.isAdmin,
      via: "token" as const,
    });
  };

  const session = async (attempt: AuthAttempt, sessionId: string): Promise<Principal> => {
    const resolved = await deps.sessions!.resolve(sessionId);
    if (resolved === undefined) {
      fail("bad_session");
      throw unauthenticated("The console session has ended: sign in again");
    }
    if (attempt.stateChanging && !deps.sessions!.checkCsrf(sessionId, attempt.csrfToken)) {
      fail("bad_csrf");
      throw new HttpError("Missing or invalid CSRF token (X-CSRF-Token)", "PERMISSION_DENIED", {
        status: 403,
      });
    }
    return resolved.principal;
  };

  return {
    async authenticate(attempt) {
      const header = attempt.authorization?.trim();
      if (!header && attempt.sessionId !== undefined && deps.sessions !== undefined) {
        return session(attempt, attempt.sessionId);
      }
      if (!header) {
        fail("missing");
        throw unauthenticated("Authentication required: use HTTP Basic or a Bearer token");
      }
      const space = header.indexOf(" ");
      const scheme = (space === -1 ? header : header.slice(0, space)).toLowerCase();
      const credentials = space === -1 ? "" : header.slice(space + 1).trim();
      if (scheme === "basic") {
        const parsed = parseBasic(credentials);
        if (parsed !== undefined) return basic(attempt, parsed.username, parsed.password);
      } else if (scheme === "bearer" && credentials !== "") {
        return bearer(attempt, credentials);
      }
      fail("malformed");
      throw unauthenticated("Malformed Authorization header: use HTTP Basic or a Bearer token");
    },

    async signIn(attempt, credentials) {
      if ("token" in credentials) {
        const found = await verifyToken(attempt, credentials.token);
        return {
          principal: Object.freeze({
            userId: found.userId,
            username: found.username,
            isAdmin: found.isAdmin,
            via: "session" as const,
          }),
          credential: { kind: "token", tokenId: found.tokenId },
        };
      }
      const user = await verifyPassword(attempt, credentials.username, credentials.password);
      return {
        principal: principalOf(user, "session"),
        credential: { kind: "password", passwordHash: user.passwordHash },
      };
    },
  };
}
