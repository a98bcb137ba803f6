/**
 * The console's sessions (`/api/3.0/mlflow-secrets/session/*`): sign in (a password or an API
 * token, checked exactly as Basic and Bearer are), read the open session (with its CSRF token),
 * sign out (the row is deleted: the old cookie is worthless at once, on every server).
 */
import { invalidParameter } from "../../errors.js";
import type { PermissionName } from "../../domain/permissions/model.js";
import type { SessionsService } from "../../domain/sessions/service.js";
import type { Authenticator, SignInCredentials } from "../auth/authenticator.js";
import { HttpError } from "../http/http-error.js";
import type { Router } from "../http/routing.js";
import { emptyResponse } from "../http/schemas.js";
import { clearedSessionCookie, sessionCookie, sessionIdOf } from "../http/session-cookie.js";
import type { FastifyRequest } from "fastify";
import type { Principal } from "../../domain/permissions/model.js";

const sessionResponse = {
  type: "object",
  required: [
    "user",
    "csrf_token",
    "expires_at",
    "idle_timeout_ms",
    "default_permission",
    "can_create_secrets",
  ],
  properties: {
    user: {
      type: "object",
      required: ["username", "is_admin"],
      properties: { username: { type: "string" }, is_admin: { type: "boolean" } },
      additionalProperties: false,
    },
    csrf_token: { type: "string" },
    expires_at: { type: "integer" },
    idle_timeout_ms: { type: "integer" },
    default_permission: { type: "string" },
    can_create_secrets: { type: "boolean" },
  },
  additionalProperties: false,
} as const;

/**
 * A sign-in posted from another site's page (or another origin of this site) is refused, so no
 * page elsewhere can sign a browser in under someone else's name. Browsers say where a request
 * comes from in `Sec-Fetch-Site`; older ones only in `Origin` (compared with the host the
 * request was sent to, as a proxy in front forwards it).
 */
function fromAnotherOrigin(request: FastifyRequest): boolean {
  const site = request.headers["sec-fetch-site"];
  if (typeof site === "string") return site !== "same-origin" && site !== "none";
  const origin = request.headers.origin;
  if (origin === undefined) return false;
  const forwarded = request.headers["x-forwarded-host"];
  const host =
    (typeof forwarded === "string" ? forwarded.split(",")[0]!.trim() : undefined) ??
    request.headers.host;
  try {
    const from = new URL(origin);
    // Through URL both ways, so that a default port (":80", ":443") compares equal.
    return from.host !== new URL(`${from.protocol}//${host}`).host;
  } catch {
    return true; // "null" (a sandboxed or file page), or garbage
  }
}

export function registerSessionRoutes(
  router: Router,
  deps: {
    authenticator: Authenticator;
    sessions: SessionsService;
    staticPrefix: string;
    defaultPermission: PermissionName;
    usersCanCreate: boolean;
  },
): void {
  const { authenticator, sessions, staticPrefix } = deps;
  const view = (principal: Principal, csrfToken: string, expiresAt: number) => ({
    user: { username: principal.username, is_admin: principal.isAdmin },
    csrf_token: csrfToken,
    expires_at: expiresAt,
    idle_timeout_ms: sessions.idleTimeoutMs,
    default_permission: deps.defaultPermission,
    can_create_secrets: principal.isAdmin || deps.usersCanCreate,
  });

  router.publicApi("3.0", {
    method: "POST",
    url: "/mlflow-secrets/session/create",
    schema: {
      body: {
        type: "object",
        properties: {
          username: { type: "string" },
          password: { type: "string" },
          token: { type: "string" },
        },
      },
      response: {
        200: {
          type: "object",
          required: ["session"],
          properties: { session: sessionResponse },
          additionalProperties: false,
        },
      },
    },
    async handler(request, reply) {
      if (fromAnotherOrigin(request)) {
        throw new HttpError("Sign-ins from another origin are refused", "PERMISSION_DENIED", {
          status: 403,
        });
      }
      const body = request.body;
      let credentials: SignInCredentials;
      if (body.token !== undefined && body.token !== "") {
        credentials = { token: body.token };
      } else {
        for (const field of ["username", "password"] as const) {
          if (!body[field]) {
            throw invalidParameter(`Missing value for required parameter '${field}'.`);
          }
        }
        credentials = { username: body.username!, password: body.password! };
      }
      const attempt = { remoteAddress: request.ip, requestId: request.id };
      const { principal, credential } = await authenticator.signIn(
        { ...attempt, authorization: undefined },
        credentials,
      );
      const opened = await sessions.open({ principal, ...attempt }, credential);
      void reply.header("set-cookie", sessionCookie(request, staticPrefix, opened.sessionId));
      return { session: view(principal, opened.csrfToken, opened.expiresAt) };
    },
  });

  router.publicApi("3.0", {
    method: "GET",
    url: "/mlflow-secrets/session/get",
    schema: {
      response: {
        200: {
          type: "object",
          properties: { session: sessionResponse },
          additionalProperties: false,
        },
      },
    },
    // No session is an ordinary answer (the console then shows its sign-in page), not a 401.
    async handler(request, reply) {
      const sessionId = sessionIdOf(request);
      const resolved = sessionId === undefined ? undefined : await sessions.resolve(sessionId);
      if (resolved === undefined) {
        if (sessionId !== undefined) {
          void reply.header("set-cookie", clearedSessionCookie(request, staticPrefix));
        }
        return {};
      }
      return { session: view(resolved.principal, resolved.csrfToken, resolved.expiresAt) };
    },
  });

  router.publicApi("3.0", {
    method: "DELETE",
    url: "/mlflow-secrets/session/delete",
    schema: { response: { 200: emptyResponse } },
    async handler(request, reply) {
      const sessionId = sessionIdOf(request);
      const resolved = sessionId === undefined ? undefined : await sessions.resolve(sessionId);
      if (resolved !== undefined) {
        const token = request.headers["x-csrf-token"];
        if (!sessions.checkCsrf(sessionId!, typeof token === "string" ? token : undefined)) {
          throw new HttpError("Missing or invalid CSRF token (X-CSRF-Token)", "PERMISSION_DENIED", {
            status: 403,
          });
        }
        await sessions.close(
          { principal: resolved.principal, remoteAddress: request.ip, requestId: request.id },
          sessionId!,
        );
      }
      void reply.header("set-cookie", clearedSessionCookie(request, staticPrefix));
      return {};
    },
  });
}
