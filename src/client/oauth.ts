/**
 * Databricks OAuth machine-to-machine: an access token from the client-credentials grant
 * (RFC 6749 §4.4) at the workspace's token endpoint, `{host}/oidc/v1/token`, with scope
 * `all-apis`, as the Databricks SDK requests it (client authentication with HTTP Basic, §2.3.1).
 *
 * Tokens are cached in memory only, per endpoint and client, until shortly before they expire;
 * concurrent requests share one token request (so a burst of calls costs one grant); a token the
 * server rejects is dropped once so the next request fetches a fresh one. Nothing here sends
 * anything: the caller supplies the exchange, so the proxy, TLS and retry rules of every other
 * request apply to the token request too.
 */
import { createHash } from "node:crypto";
import { MlflowSecretsError } from "../errors.js";
import { scrubSecrets } from "./redact.js";

/** The token endpoint's path on a Databricks workspace. */
export const DATABRICKS_OAUTH_TOKEN_PATH = "/oidc/v1/token";
/** The scope the Databricks SDK asks for. */
export const DATABRICKS_OAUTH_SCOPE = "all-apis";
/** A token is replaced this long before it expires (or at half its life, if that is sooner). */
const TOKEN_REFRESH_MARGIN_MS = 60_000;

/** A token as the endpoint granted it. */
interface TokenGrant {
  readonly accessToken: string;
  /** Seconds until it expires (`expires_in`), when the endpoint said. */
  readonly expiresInSeconds?: number;
}

interface CachedToken {
  readonly accessToken: string;
  /** When to fetch a new one (ms since the epoch); `Infinity` when the endpoint gave no expiry. */
  readonly refreshAt: number;
}

const MAX_CACHED_CLIENTS = 64;
const cache = new Map<string, CachedToken>();
const inFlight = new Map<string, Promise<CachedToken>>();

/** The cache key of a client at an endpoint (the secret only as a hash). */
export function tokenCacheKey(tokenUrl: string, clientId: string, clientSecret: string): string {
  return createHash("sha256")
    .update(tokenUrl)
    .update("\0")
    .update(clientId)
    .update("\0")
    .update(clientSecret)
    .digest("hex");
}

/**
 * The cached token for `key`, or a new one from `fetchGrant` (one fetch at a time per key, shared
 * by every caller waiting for it).
 */
export async function cachedAccessToken(
  key: string,
  now: number,
  fetchGrant: () => Promise<TokenGrant>,
): Promise<string> {
  const cached = cache.get(key);
  if (cached !== undefined && now < cached.refreshAt) return cached.accessToken;
  let pending = inFlight.get(key);
  if (pending === undefined) {
    const started = now;
    pending = fetchGrant()
      .then((grant) => {
        const lifetimeMs =
          grant.expiresInSeconds === undefined ? Infinity : grant.expiresInSeconds * 1000;
        const token: CachedToken = {
          accessToken: grant.accessToken,
          refreshAt: started + lifetimeMs - Math.min(TOKEN_REFRESH_MARGIN_MS, lifetimeMs / 2),
        };
        if (!cache.has(key) && cache.size >= MAX_CACHED_CLIENTS) {
          cache.delete(cache.keys().next().value as string);
        }
        cache.set(key, token);
        return token;
      })
      .finally(() => inFlight.delete(key));
    inFlight.set(key, pending);
  }
  return (await pending).accessToken;
}

/** Drops `accessToken` from the cache (if it is still the cached one) after the server refused it. */
export function invalidateAccessToken(key: string, accessToken: string): void {
  if (cache.get(key)?.accessToken === accessToken) cache.delete(key);
}

/** `application/x-www-form-urlencoded` encoding of one value (RFC 6749 Appendix B). */
function formEncode(value: string): string {
  return encodeURIComponent(value)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, "+");
}

/**
 * The token request: HTTP Basic client authentication (the ID and secret form-encoded first, as
 * RFC 6749 §2.3.1 says) and the form body `grant_type=client_credentials&scope=all-apis`.
 */
export function clientCredentialsRequest(
  clientId: string,
  clientSecret: string,
): { headers: Record<string, string>; body: string } {
  const basic = Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret)}`, "utf8").toString(
    "base64",
  );
  return {
    headers: {
      authorization: `Basic ${basic}`,
      "content-type": "application/x-www-form-urlencoded",
      accept: "application/json",
    },
    body: `grant_type=client_credentials&scope=${formEncode(DATABRICKS_OAUTH_SCOPE)}`,
  };
}

function oauthError(message: string): MlflowSecretsError {
  return new MlflowSecretsError(message, "UNAUTHENTICATED");
}

/**
 * Reads the token endpoint's answer. Errors name the endpoint and the OAuth error code and
 * description (RFC 6749 §5.2), never the body of a success, which holds the token.
 */
export function parseTokenResponse(
  status: number,
  text: string,
  tokenUrl: string,
  secrets: readonly string[],
): TokenGrant {
  let body: unknown;
  try {
    body = JSON.parse(text) as unknown;
  } catch {
    body = undefined;
  }
  const fields = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
  if (status < 200 || status > 299) {
    const code = typeof fields.error === "string" ? fields.error : undefined;
    const description =
      typeof fields.error_description === "string" ? fields.error_description : undefined;
    const detail = code
      ? `${code}${description ? `: ${scrubSecrets(description.slice(0, 500), secrets)}` : ""}`
      : `HTTP ${status}`;
    const hint =
      code === "invalid_client" || status === 401
        ? " (check DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET, or the profile's client_id and client_secret)"
        : "";
    throw oauthError(
      `The Databricks OAuth token endpoint ${tokenUrl} refused the client credentials: ${detail}${hint}`,
    );
  }
  const accessToken = fields.access_token;
  if (typeof accessToken !== "string" || accessToken === "") {
    throw oauthError(
      `The Databricks OAuth token endpoint ${tokenUrl} answered without an access_token (HTTP ${status})`,
    );
  }
  const tokenType = fields.token_type;
  if (typeof tokenType === "string" && tokenType.toLowerCase() !== "bearer") {
    throw oauthError(
      `The Databricks OAuth token endpoint ${tokenUrl} granted a '${tokenType.slice(0, 20)}' token; only Bearer tokens are supported`,
    );
  }
  const rawExpiry = fields.expires_in;
  const expiresIn =
    typeof rawExpiry === "number"
      ? rawExpiry
      : typeof rawExpiry === "string" && /^\d+$/.test(rawExpiry)
        ? Number(rawExpiry)
        : undefined;
  return {
    accessToken,
    ...(expiresIn !== undefined && Number.isFinite(expiresIn) && expiresIn >= 0
      ? { expiresInSeconds: expiresIn }
      : {}),
  };
}
