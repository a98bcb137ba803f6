/**
 * The console's session cookie: `HttpOnly` (no script reads it), `SameSite=Strict` (no other
 * site's page sends it), `Secure` whenever the request came over TLS (directly, or as a proxy
 * in front says), scoped to the static prefix, and a browser-session cookie (closing the browser
 * drops it; the server ends it anyway at its idle timeout or lifetime).
 */
import { parseCookie, stringifySetCookie } from "cookie";
import type { FastifyRequest } from "fastify";

const SESSION_COOKIE = "mlflow_secrets_session";

/** The session id the request's cookie carries, if any. */
export function sessionIdOf(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (header === undefined || !header.includes(SESSION_COOKIE)) return undefined;
  return parseCookie(header)[SESSION_COOKIE] || undefined;
}

/**
 * Over TLS: the socket's own, or `X-Forwarded-Proto: https` from a proxy. Trusting the header
 * here is safe: it can only add `Secure`, which protects the cookie further.
 */
function overTls(request: FastifyRequest): boolean {
  if (request.protocol === "https") return true;
  const forwarded = request.headers["x-forwarded-proto"];
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(",")[0]?.trim();
  return first?.toLowerCase() === "https";
}

function attributes(request: FastifyRequest, staticPrefix: string) {
  return {
    httpOnly: true,
    sameSite: "strict",
    secure: overTls(request),
    path: `${staticPrefix}/`,
  } as const;
}

/** `Set-Cookie` for a new session. */
export function sessionCookie(
  request: FastifyRequest,
  staticPrefix: string,
  sessionId: string,
): string {
  return stringifySetCookie(SESSION_COOKIE, sessionId, attributes(request, staticPrefix));
}

/** `Set-Cookie` that removes the session cookie. */
export function clearedSessionCookie(request: FastifyRequest, staticPrefix: string): string {
  return stringifySetCookie(SESSION_COOKIE, "", {
    ...attributes(request, staticPrefix),
    maxAge: 0,
    expires: new Date(0),
  });
}
