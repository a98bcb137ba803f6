/**
 * Authenticated HTTP to an MLflow server, as MLflow's `http_request` / `call_endpoint`:
 * URL = host without one trailing `/` + endpoint; headers `User-Agent: mlflow-secrets/<version>`
 * and `X-MLFLOW-WORKSPACE`; credentials applied in MLflow's order (Basic → Bearer → SigV4 → auth
 * provider, and ours: Databricks OAuth client credentials, then `.netrc` when nothing else is set);
 * TLS options on the connection; the proxy `requests` would pick (`HTTPS_PROXY`, `NO_PROXY`, …);
 * retries with backoff and `Retry-After`; a timeout that names `MLFLOW_HTTP_REQUEST_TIMEOUT`.
 * Credentials are applied afresh on every attempt (a token file is re-read), and none of them ever
 * appears in an error.
 */
import type { IncomingMessage } from "node:http";
import { Readable } from "node:stream";
import { setTimeout as sleepFor } from "node:timers/promises";
import {
  HTTP_REQUEST_BACKOFF_FACTOR_ENV_VAR,
  HTTP_REQUEST_BACKOFF_JITTER_ENV_VAR,
  HTTP_REQUEST_MAX_RETRIES_ENV_VAR,
  HTTP_REQUEST_TIMEOUT_ENV_VAR,
  TRACKING_AUTH_PROVIDER_MODULE_ENV_VAR,
  TRACKING_TOKEN_FILE_ENV_VAR,
  DEFAULT_AWS_SIGV4_SERVICE,
  HTTP_REQUEST_DEFAULTS,
  readEnvString,
  readHttpRequestEnv,
  readSecretFile,
  type Env,
} from "../config.js";
import { MlflowSecretsError, RestError, invalidParameter, type AnyErrorCode } from "../errors.js";
import { VERSION } from "../version.js";
import { findRequestAuthProvider, isKubernetesAuth } from "./auth-providers.js";
import { MlflowHostCreds } from "./host-creds.js";
import { emitNetrcWarnings, netrcCredentialsFor } from "./netrc.js";
import {
  DATABRICKS_OAUTH_TOKEN_PATH,
  cachedAccessToken,
  clientCredentialsRequest,
  invalidateAccessToken,
  parseTokenResponse,
  tokenCacheKey,
} from "./oauth.js";
import { proxyFor } from "./proxy.js";
import { redactUrl, scrubSecrets } from "./redact.js";
import {
  BACKOFF_MAX_SECONDS,
  RETRY_AFTER_STATUS_CODES,
  RETRY_STATUS_CODES,
  backoffSeconds,
  parseRetryAfter,
  validateBackoffFactor,
  validateBackoffJitter,
  validateMaxRetries,
  validateTimeoutSeconds,
} from "./retry.js";
import {
  ProxyError,
  RequestTimeoutError,
  isRetryableTransportError,
  isTlsError,
  loadEnvCaBundle,
  loadTlsMaterial,
  sendOnce,
  toWebResponse,
  type ProxyTls,
  type TlsMaterial,
  type WireRequest,
} from "./transport.js";

/** The `User-Agent` of every request. */
export const USER_AGENT = `mlflow-secrets/${VERSION}`;
/** The header carrying the MLflow workspace. */
const WORKSPACE_HEADER = "X-MLFLOW-WORKSPACE";

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 30; // requests' default
const MAX_BODY_IN_MESSAGE = 1000;

/** Credentials, or a function that resolves them (called once per request, like MLflow's stores). */
export type HostCredsSource = MlflowHostCreds | (() => MlflowHostCreds | Promise<MlflowHostCreds>);

/** A query parameter value; arrays repeat the parameter. */
export type QueryValue = string | number | boolean | readonly (string | number | boolean)[];

/** Options of {@link httpRequest} and {@link callEndpoint}. */
export interface HttpRequestOptions {
  /** A JSON body (sent as `application/json`); for `callEndpoint` GETs, query parameters. */
  json?: unknown;
  /** Ours: a raw body — text, bytes, or a stream (streams are sent once, without retries, unless SigV4 buffers them to hash). */
  body?: string | Uint8Array | Readable | AsyncIterable<Uint8Array | string>;
  /** Query parameters, appended to any query in the endpoint. */
  params?: Record<string, QueryValue>;
  /** Extra headers (an `Authorization` here is replaced when credentials apply). */
  headers?: Record<string, string>;
  /** Per-attempt inactivity timeout in seconds (default `MLFLOW_HTTP_REQUEST_TIMEOUT`, 120). */
  timeoutSeconds?: number;
  /** Default `MLFLOW_HTTP_REQUEST_MAX_RETRIES` (7); 0 ≤ n < 10. */
  maxRetries?: number;
  /** Default `MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR` (2); 0 ≤ f < 120. */
  backoffFactor?: number;
  /** Default `MLFLOW_HTTP_REQUEST_BACKOFF_JITTER` (1.0). */
  backoffJitter?: number;
  /** Default `MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER` (true). */
  respectRetryAfterHeader?: boolean;
  /** Default `MLFLOW_ALLOW_HTTP_REDIRECTS` (true). */
  allowRedirects?: boolean;
  /** Aborts the request and any wait between retries (the promise rejects with the signal's reason). */
  signal?: AbortSignal;
  /** The environment for defaults, token files, SigV4 and auth providers (default: the process's). */
  env?: Env;
}

/** Time and randomness, injectable so tests can check backoff without waiting. */
export interface HttpClock {
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  random(): number;
  now(): number;
}

const realClock: HttpClock = {
  sleep: (ms, signal) => sleepFor(ms, undefined, signal ? { signal } : undefined),
  random: Math.random,
  now: Date.now,
};

interface Settings {
  maxRetries: number;
  backoffFactor: number;
  backoffJitter: number;
  timeoutMs: number;
  respectRetryAfterHeader: boolean;
  allowRedirects: boolean;
}

/**
 * The request's settings: options first, then the variables. A bad value is refused naming the
 * variable it came from (an option's error names the value only).
 */
function resolveSettings(options: HttpRequestOptions, env: Env | undefined): Settings {
  const fromEnv = readHttpRequestEnv(env);
  const source = (option: unknown, variable: string) =>
    option === undefined ? variable : undefined;
  const maxRetries = validateMaxRetries(
    options.maxRetries ?? fromEnv.maxRetries,
    fromEnv.maxRetriesLimit,
    source(options.maxRetries, HTTP_REQUEST_MAX_RETRIES_ENV_VAR),
  );
  const backoffFactor = validateBackoffFactor(
    options.backoffFactor ?? fromEnv.backoffFactor,
    fromEnv.backoffFactorLimit,
    source(options.backoffFactor, HTTP_REQUEST_BACKOFF_FACTOR_ENV_VAR),
  );
  return {
    maxRetries,
    backoffFactor,
    backoffJitter: validateBackoffJitter(
      options.backoffJitter ?? fromEnv.backoffJitter,
      source(options.backoffJitter, HTTP_REQUEST_BACKOFF_JITTER_ENV_VAR),
    ),
    timeoutMs:
      validateTimeoutSeconds(
        options.timeoutSeconds ?? fromEnv.timeoutSeconds,
        source(options.timeoutSeconds, HTTP_REQUEST_TIMEOUT_ENV_VAR),
      ) * 1000,
    respectRetryAfterHeader: options.respectRetryAfterHeader ?? fromEnv.respectRetryAfterHeader,
    allowRedirects: options.allowRedirects ?? fromEnv.allowRedirects,
  };
}

/** RFC 3986 percent-encoding (spaces as `%20`, as SigV4 canonicalises). */
function encodeQueryComponent(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function buildUrl(host: string, endpoint: string, params: HttpRequestOptions["params"]): URL {
  const base = host.endsWith("/") ? host.slice(0, -1) : host;
  let url: URL;
  try {
    url = new URL(base + endpoint);
  } catch (err) {
    throw new MlflowSecretsError(
      `Invalid url: ${redactUrl(base + endpoint)}`,
      "INVALID_PARAMETER_VALUE",
      {
        cause: err,
      },
    );
  }
  const pairs: string[] = [];
  for (const [key, value] of Object.entries(params ?? {})) {
    const values = Array.isArray(value) ? value : [value as string | number | boolean];
    for (const v of values)
      pairs.push(`${encodeQueryComponent(key)}=${encodeQueryComponent(String(v))}`);
  }
  if (pairs.length > 0) {
    const existing = url.search.replace(/^\?/, "");
    url.search = (existing ? `${existing}&` : "") + pairs.join("&");
  }
  return url;
}

type PreparedBody =
  | { kind: "none" }
  | { kind: "bytes"; bytes: Uint8Array; json: boolean }
  | { kind: "stream"; stream: Readable };

function prepareBody(options: HttpRequestOptions): PreparedBody {
  if (options.json !== undefined && options.body !== undefined) {
    throw invalidParameter("Pass either json or body, not both");
  }
  if (options.json !== undefined) {
    return { kind: "bytes", bytes: Buffer.from(JSON.stringify(options.json), "utf8"), json: true };
  }
  const body = options.body;
  if (body === undefined) return { kind: "none" };
  if (typeof body === "string")
    return { kind: "bytes", bytes: Buffer.from(body, "utf8"), json: false };
  if (body instanceof Uint8Array) return { kind: "bytes", bytes: body, json: false };
  return { kind: "stream", stream: body instanceof Readable ? body : Readable.from(body) };
}

async function bufferStream(stream: Readable): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) {
    chunks.push(
      typeof chunk === "string" ? Buffer.from(chunk, "utf8") : Buffer.from(chunk as Uint8Array),
    );
  }
  return Buffer.concat(chunks);
}

function basicAuth(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, "utf8").toString("base64")}`;
}

const HEADER_SAFE_TOKEN = /^[\x21-\x7e]+$/;

/** The bearer token for this attempt: the direct one, or the token file read now. */
function currentToken(creds: MlflowHostCreds): string | undefined {
  if (creds.token) return creds.token;
  if (!creds.tokenFile) return undefined;
  const token = readSecretFile(creds.tokenFile, TRACKING_TOKEN_FILE_ENV_VAR).trim();
  if (token === "") {
    throw invalidParameter(`The ${TRACKING_TOKEN_FILE_ENV_VAR} file '${creds.tokenFile}' is empty`);
  }
  return token;
}

/** Everything one request needs across attempts and redirects. */
interface RequestContext {
  readonly creds: MlflowHostCreds;
  readonly env: Env | undefined;
  readonly method: string;
  readonly url: URL;
  /** The URL as written (host + endpoint), for `NO_PROXY`'s `host:port` entries. */
  readonly rawUrl: string;
  readonly userHeaders: Record<string, string>;
  readonly settings: Settings;
  readonly signal: AbortSignal | undefined;
  readonly clock: HttpClock;
  /** Secrets used so far, to mask them in messages built from server responses. */
  readonly secrets: Set<string>;
  /** The OAuth token the last attempt carried (to drop it if the server refuses it). */
  oauthUsed?: { key: string; token: string };
  /** How to verify an `https://` proxy: Node's roots plus the environment's CA bundle. */
  proxyTls?: ProxyTls;
}

function setHeader(headers: Headers, name: string, value: string): void {
  try {
    headers.set(name, value);
  } catch {
    // The platform's message quotes the value, which may be a credential.
    throw invalidParameter(`The value of header '${name}' contains characters not allowed in HTTP`);
  }
}

async function applyAuth(
  ctx: RequestContext,
  url: URL,
  method: string,
  headers: Headers,
  body: Uint8Array | undefined,
): Promise<void> {
  const { creds } = ctx;
  // Kubernetes providers ignore Basic credentials (MLflow PR #25131); an explicit token still wins.
  const kubernetes = !creds.awsSigv4 && isKubernetesAuth(creds.auth);
  ctx.oauthUsed = undefined;
  if (creds.username && creds.password && !kubernetes) {
    ctx.secrets.add(creds.password);
    headers.set("authorization", basicAuth(creds.username, creds.password));
  } else {
    const token = currentToken(creds) ?? (await oauthToken(ctx));
    if (token !== undefined) {
      ctx.secrets.add(token);
      if (!HEADER_SAFE_TOKEN.test(token)) {
        throw invalidParameter(
          "The bearer token contains characters not allowed in an HTTP header",
        );
      }
      headers.set("authorization", `Bearer ${token}`);
    } else if (!creds.awsSigv4 && !creds.auth && !headers.has("authorization")) {
      // As `requests` does when no other auth is given: a `.netrc` entry for the host (ours: not
      // over an Authorization header the caller set).
      await applyNetrc(ctx, url, headers);
    }
  }
  if (creds.awsSigv4) {
    // The AWS SDK is loaded only by those who sign with it.
    const { signWithEnvironment } = await import("./sigv4.js");
    await signWithEnvironment(
      { method, url, headers, body },
      creds.awsSigv4Service || DEFAULT_AWS_SIGV4_SERVICE,
      ctx.env,
    );
  } else if (creds.auth) {
    const provider = await findRequestAuthProvider(
      creds.auth,
      readEnvString(ctx.env, TRACKING_AUTH_PROVIDER_MODULE_ENV_VAR),
    );
    await provider.authenticate(
      { method, url: new URL(url.href), headers, body },
      { env: ctx.env },
    );
  }
  rememberSentSecrets(ctx.secrets, headers);
}

/** `.netrc` Basic credentials for the request's host (below every MLflow credential source). */
async function applyNetrc(ctx: RequestContext, url: URL, headers: Headers): Promise<void> {
  const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const { credentials, warnings } = await netrcCredentialsFor(hostname, ctx.env);
  emitNetrcWarnings(warnings);
  if (credentials === undefined) return;
  if (credentials.password) ctx.secrets.add(credentials.password);
  headers.set("authorization", basicAuth(credentials.username, credentials.password));
}

/**
 * The Databricks OAuth token (client-credentials grant) when the credentials hold an OAuth client;
 * cached until shortly before it expires, one token request at a time per client.
 */
async function oauthToken(ctx: RequestContext): Promise<string | undefined> {
  const { creds } = ctx;
  const clientId = creds.clientId;
  const clientSecret = creds.clientSecret;
  if (!clientId || !clientSecret) return undefined;
  ctx.secrets.add(clientSecret);
  const tokenUrl = buildUrl(creds.host, DATABRICKS_OAUTH_TOKEN_PATH, undefined).href;
  const key = tokenCacheKey(tokenUrl, clientId, clientSecret);
  const pending = cachedAccessToken(key, ctx.clock.now(), () =>
    requestOAuthToken(ctx, tokenUrl, clientId, clientSecret),
  );
  // The token request is shared with other callers, so it is not aborted; this caller stops
  // waiting for it.
  const token = ctx.signal ? await untilAborted(pending, ctx.signal) : await pending;
  ctx.oauthUsed = { key, token };
  return token;
}

function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

async function requestOAuthToken(
  ctx: RequestContext,
  tokenUrl: string,
  clientId: string,
  clientSecret: string,
): Promise<{ accessToken: string; expiresInSeconds?: number }> {
  const { creds, settings } = ctx;
  // The workspace's TLS settings and proxy apply; the grant carries its own client authentication.
  const endpointCreds = new MlflowHostCreds({
    host: creds.host,
    ignoreTlsVerification: creds.ignoreTlsVerification,
    clientCertPath: creds.clientCertPath,
    clientKeyPath: creds.clientKeyPath,
    serverCertPath: creds.serverCertPath,
  });
  const grant = clientCredentialsRequest(clientId, clientSecret);
  const { response, secrets } = await performRequest(
    endpointCreds,
    DATABRICKS_OAUTH_TOKEN_PATH,
    "POST",
    {
      body: grant.body,
      headers: grant.headers,
      env: ctx.env,
      maxRetries: settings.maxRetries,
      backoffFactor: settings.backoffFactor,
      backoffJitter: settings.backoffJitter,
      timeoutSeconds: settings.timeoutMs / 1000,
      respectRetryAfterHeader: settings.respectRetryAfterHeader,
      allowRedirects: false,
    },
    ctx.clock,
  );
  const text = await response.text();
  return parseTokenResponse(response.status, text, tokenUrl, [clientSecret, ...secrets]);
}

/**
 * Whatever credential ended up in the headers (set by us, the signer or a provider) is masked in
 * any message built from the server's answer: the header value, its credentials part (a Basic
 * blob decodes to the password), a SigV4 signature, a session token.
 */
function rememberSentSecrets(secrets: Set<string>, headers: Headers): void {
  const authorization = headers.get("authorization");
  if (authorization) {
    secrets.add(authorization);
    const credentials = /^\S+\s+(.+)$/.exec(authorization)?.[1];
    if (credentials) secrets.add(credentials);
    const signature = /Signature=([0-9a-f]+)/i.exec(authorization)?.[1];
    if (signature) secrets.add(signature);
  }
  const sessionToken = headers.get("x-amz-security-token");
  if (sessionToken) secrets.add(sessionToken);
}

async function prepareHop(
  ctx: RequestContext,
  url: URL,
  method: string,
  body: PreparedBody,
  authenticate: boolean,
): Promise<WireRequest> {
  const headers = new Headers();
  headers.set("user-agent", USER_AGENT);
  if (ctx.creds.workspace) setHeader(headers, WORKSPACE_HEADER, ctx.creds.workspace);
  for (const [name, value] of Object.entries(ctx.userHeaders)) setHeader(headers, name, value);
  if (body.kind === "bytes") {
    if (body.json && !headers.has("content-type")) headers.set("content-type", "application/json");
    headers.set("content-length", String(body.bytes.byteLength));
  }
  if (authenticate) {
    await applyAuth(ctx, url, method, headers, body.kind === "bytes" ? body.bytes : undefined);
  } else {
    headers.delete("authorization");
    ctx.oauthUsed = undefined;
  }
  const wireHeaders: Record<string, string> = {};
  headers.forEach((value, name) => {
    wireHeaders[name] = value;
  });
  return {
    url,
    method,
    headers: wireHeaders,
    body: body.kind === "bytes" ? body.bytes : body.kind === "stream" ? body.stream : undefined,
  };
}

interface Exchange {
  res: IncomingMessage;
  url: URL;
  method: string;
}

/** One attempt: the request and any redirects it is sent to. */
async function exchange(
  ctx: RequestContext,
  body: PreparedBody,
  tls: TlsMaterial | undefined,
): Promise<Exchange> {
  let url = ctx.url;
  let method = ctx.method;
  let currentBody = body;
  for (let hop = 0; ; hop += 1) {
    // Credentials go only to the server they were meant for.
    const sameOrigin = url.origin === ctx.url.origin;
    const wire = await prepareHop(ctx, url, method, currentBody, sameOrigin);
    // The proxy is chosen per hop, as `requests` re-resolves it after a redirect.
    const proxy = proxyFor(url, hop === 0 ? ctx.rawUrl : url.href, ctx.env);
    if (proxy !== undefined && ctx.proxyTls === undefined) {
      const extraCa = await loadEnvCaBundle(ctx.env);
      ctx.proxyTls = extraCa !== undefined ? { extraCa } : {};
    }
    const res = await sendOnce(wire, {
      tls,
      timeoutMs: ctx.settings.timeoutMs,
      signal: ctx.signal,
      ...(proxy !== undefined ? { proxy, proxyTls: ctx.proxyTls } : {}),
    });
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if (!ctx.settings.allowRedirects || !REDIRECT_STATUSES.has(status) || !location) {
      return { res, url, method };
    }
    let next: URL;
    try {
      next = new URL(location, url);
    } catch {
      return { res, url, method };
    }
    if (next.protocol !== "http:" && next.protocol !== "https:") return { res, url, method };
    const toGet =
      (status === 303 && method !== "HEAD") ||
      (status === 302 && method !== "HEAD") ||
      (status === 301 && method === "POST");
    if (!toGet && currentBody.kind === "stream") return { res, url, method }; // cannot replay
    if (hop + 1 > MAX_REDIRECTS) {
      res.resume();
      throw new MlflowSecretsError(
        `API request to ${redactUrl(ctx.url.href)} failed: more than ${MAX_REDIRECTS} redirects`,
        "INTERNAL_ERROR",
      );
    }
    res.resume();
    if (toGet) {
      method = "GET";
      currentBody = { kind: "none" };
    }
    next.username = "";
    next.password = "";
    url = next;
  }
}

function transportFailure(err: unknown, ctx: RequestContext, attempts: number): MlflowSecretsError {
  if (err instanceof MlflowSecretsError) return err;
  if (err instanceof ProxyError) {
    // Named after the proxy, not the server: the request never reached it.
    return new MlflowSecretsError(err.message, "INTERNAL_ERROR", { cause: err });
  }
  const url = redactUrl(ctx.url.href);
  const after = attempts > 1 ? ` after ${attempts} attempts` : "";
  if (err instanceof RequestTimeoutError) {
    return new MlflowSecretsError(
      `API request to ${url} failed with timeout exception: ${err.message}${after}. To increase ` +
        `the timeout, set the environment variable ${HTTP_REQUEST_TIMEOUT_ENV_VAR} (default: ` +
        `${HTTP_REQUEST_DEFAULTS.timeoutSeconds}) to a larger value.`,
      "INTERNAL_ERROR",
      { cause: err },
    );
  }
  const code = (err as { code?: unknown } | undefined)?.code;
  const reason = err instanceof Error ? err.message : String(err);
  if (isTlsError(err)) {
    return new MlflowSecretsError(
      `API request to ${url} failed: TLS error ${String(code)} (${tlsReason(reason)}); ${tlsAdvice(String(code), ctx.creds)}`,
      "INTERNAL_ERROR",
      { cause: err },
    );
  }
  return new MlflowSecretsError(
    `API request to ${url} failed with exception ${typeof code === "string" ? `${code}: ` : ""}${reason}${after}`,
    "INTERNAL_ERROR",
    { cause: err },
  );
}

/** OpenSSL's messages carry a code path; the reason phrase is enough. */
function tlsReason(message: string): string {
  return /SSL routines:[^:]*:([^:]+)/.exec(message)?.[1]?.trim() ?? message;
}

function tlsAdvice(code: string, creds: MlflowHostCreds): string {
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") {
    return "the server's certificate does not name this host";
  }
  if (
    /ALERT_(CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|HANDSHAKE_FAILURE)/.test(
      code,
    )
  ) {
    return creds.clientCertPath
      ? `the server rejected the client certificate '${creds.clientCertPath}' (MLFLOW_TRACKING_CLIENT_CERT_PATH)`
      : "the server requires a client certificate: set MLFLOW_TRACKING_CLIENT_CERT_PATH (and MLFLOW_TRACKING_CLIENT_KEY_PATH if the key is in a separate file)";
  }
  if (creds.serverCertPath) {
    return `the server's certificate is not issued by a CA in MLFLOW_TRACKING_SERVER_CERT_PATH ('${creds.serverCertPath}')`;
  }
  return (
    "set MLFLOW_TRACKING_SERVER_CERT_PATH to the CA bundle that issued the server's certificate " +
    "(or MLFLOW_TRACKING_INSECURE_TLS=true to skip verification, which is unsafe)"
  );
}

async function resolveCreds(source: HostCredsSource): Promise<MlflowHostCreds> {
  const creds = typeof source === "function" ? await source() : source;
  if (!(creds instanceof MlflowHostCreds)) {
    throw invalidParameter("hostCreds must be an MlflowHostCreds (or a function returning one)");
  }
  return creds;
}

/** The outcome of {@link performRequest}: the response and the secrets it was sent with. */
interface PerformedRequest {
  readonly response: Response;
  readonly secrets: readonly string[];
}

/**
 * {@link httpRequest} with an injectable clock; also returns the secrets used, so that messages
 * built from the response can mask them.
 */
export async function performRequest(
  hostCreds: HostCredsSource,
  endpoint: string,
  method: string,
  options: HttpRequestOptions = {},
  clock: HttpClock = realClock,
): Promise<PerformedRequest> {
  const env = options.env;
  const settings = resolveSettings(options, env);
  if (typeof method !== "string" || !/^[A-Za-z]+$/.test(method)) {
    throw invalidParameter(`Invalid HTTP method '${String(method)}'`);
  }
  if (typeof endpoint !== "string") throw invalidParameter("endpoint must be a string");
  let body = prepareBody(options);
  const creds = await resolveCreds(hostCreds);
  const url = buildUrl(creds.host, endpoint, options.params);
  const ctx: RequestContext = {
    creds,
    env,
    method: method.toUpperCase(),
    url,
    rawUrl: (creds.host.endsWith("/") ? creds.host.slice(0, -1) : creds.host) + endpoint,
    userHeaders: options.headers ?? {},
    settings,
    signal: options.signal,
    clock,
    secrets: new Set(
      [creds.password, creds.token, creds.clientSecret].filter((s): s is string => Boolean(s)),
    ),
  };
  // SigV4 must hash what is sent, so a stream is read into memory first (which also makes it
  // replayable for retries).
  if (body.kind === "stream" && creds.awsSigv4) {
    body = { kind: "bytes", bytes: await bufferStream(body.stream), json: false };
  }
  const replayable = body.kind !== "stream";
  let failures = 0;
  let refreshedOAuthToken = false;
  for (;;) {
    options.signal?.throwIfAborted();
    let result: Exchange;
    try {
      const tls = await loadTlsMaterial(creds, env);
      result = await exchange(ctx, body, tls);
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (!replayable || !isRetryableTransportError(err) || failures >= settings.maxRetries) {
        throw transportFailure(err, ctx, failures + 1);
      }
      failures += 1;
      await clock.sleep(
        backoffSeconds(failures, settings.backoffFactor, settings.backoffJitter, () =>
          clock.random(),
        ) * 1000,
        options.signal,
      );
      continue;
    }
    const status = result.res.statusCode ?? 0;
    if (status === 401 && ctx.oauthUsed !== undefined && !refreshedOAuthToken && replayable) {
      // The token was revoked or expired early: drop it and try once more with a fresh one.
      refreshedOAuthToken = true;
      invalidateAccessToken(ctx.oauthUsed.key, ctx.oauthUsed.token);
      result.res.resume();
      continue;
    }
    if (RETRY_STATUS_CODES.has(status) && replayable && failures < settings.maxRetries) {
      failures += 1;
      const retryAfter =
        settings.respectRetryAfterHeader && RETRY_AFTER_STATUS_CODES.has(status)
          ? parseRetryAfter(headerValue(result.res.headers["retry-after"]), clock.now())
          : undefined;
      // A zero or missing Retry-After falls back to the backoff, as urllib3 does.
      const waitSeconds = retryAfter
        ? Math.min(retryAfter, BACKOFF_MAX_SECONDS)
        : backoffSeconds(failures, settings.backoffFactor, settings.backoffJitter, () =>
            clock.random(),
          );
      result.res.resume();
      await clock.sleep(waitSeconds * 1000, options.signal);
      continue;
    }
    return {
      response: toWebResponse(result.res, result.url, result.method),
      secrets: [...ctx.secrets].sort((a, b) => b.length - a.length),
    };
  }
}

function headerValue(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return Array.isArray(value) ? (value[0] ?? null) : value;
}

/**
 * Sends one request to an MLflow server with the credentials applied, retrying transient failures
 * (connection errors, 408, 429, 500, 502, 503, 504) with exponential backoff. Resolves with the
 * final response whatever its status; rejects on a network failure, timeout or TLS error.
 *
 * @example
 * ```ts
 * const creds = await getDefaultHostCreds("https://mlflow.example.com");
 * const res = await httpRequest(creds, "/api/2.0/mlflow/experiments/get", "GET", {
 *   params: { experiment_id: "0" },
 * });
 * console.log(res.status, await res.json());
 * ```
 */
export async function httpRequest(
  hostCreds: HostCredsSource,
  endpoint: string,
  method: string,
  options: HttpRequestOptions = {},
): Promise<Response> {
  return (await performRequest(hostCreds, endpoint, method, options)).response;
}

function jsonToParams(json: unknown): Record<string, QueryValue> {
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw invalidParameter("A GET request's json must be an object (it becomes query parameters)");
  }
  const params: Record<string, QueryValue> = {};
  for (const [key, value] of Object.entries(json as Record<string, unknown>)) {
    if (value === undefined || value === null) continue;
    const items = Array.isArray(value) ? (value as unknown[]) : [value];
    params[key] = items.map((item) =>
      typeof item === "object" && item !== null ? JSON.stringify(item) : String(item as string),
    );
  }
  return params;
}

/** MLflow's error code for an HTTP status, when the body carries none. */
function errorCodeForStatus(status: number): AnyErrorCode {
  const known: Record<number, AnyErrorCode> = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "ENDPOINT_NOT_FOUND",
    409: "RESOURCE_CONFLICT",
    429: "REQUEST_LIMIT_EXCEEDED",
    501: "NOT_IMPLEMENTED",
    503: "TEMPORARILY_UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
  };
  return known[status] ?? (status >= 500 ? "INTERNAL_ERROR" : "BAD_REQUEST");
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function quoteBody(text: string, secrets: readonly string[]): string {
  const clipped =
    text.length > MAX_BODY_IN_MESSAGE ? `${text.slice(0, MAX_BODY_IN_MESSAGE)}…` : text;
  return scrubSecrets(clipped, secrets);
}

/**
 * MLflow's `verify_rest_response` plus JSON decoding: a 2xx body is parsed (`""` and `"200 OK"`
 * mean `{}`; `/api/…` endpoints must answer a JSON object); any other status becomes a
 * {@link RestError} with the server's `error_code` and `message`, or one naming the endpoint and
 * status when the body is not MLflow's JSON error.
 */
export function verifyRestResponse(
  status: number,
  text: string,
  endpoint: string,
  secrets: readonly string[] = [],
): unknown {
  if (status >= 200 && status < 300) {
    if (text.trim() === "" || text.trim() === "200 OK") return {};
    const parsed = parseJson(text);
    if (endpoint.startsWith("/api/") && !(parsed.ok && isJsonObject(parsed.value))) {
      throw new MlflowSecretsError(
        `API request to endpoint was successful but the response body was not in a valid JSON ` +
          `format. Response body: '${quoteBody(text, secrets)}'`,
        "INTERNAL_ERROR",
      );
    }
    return parsed.ok ? parsed.value : text;
  }
  const parsed = parseJson(text);
  if (parsed.ok && isJsonObject(parsed.value)) {
    const code = parsed.value.error_code;
    const message = parsed.value.message;
    const errorCode = typeof code === "string" && code !== "" ? code : "INTERNAL_ERROR";
    const detail =
      typeof message === "string" && message !== ""
        ? scrubSecrets(message, secrets)
        : `API request to endpoint ${endpoint} failed with error code ${status} (${errorCode})`;
    throw new RestError(detail, errorCode, status);
  }
  throw new RestError(
    `API request to endpoint ${endpoint} failed with error code ${status} != 200. Response body: ` +
      `'${quoteBody(text, secrets)}'`,
    errorCodeForStatus(status),
    status,
  );
}

/**
 * MLflow's `call_endpoint`: sends JSON (for GET, as query parameters), returns the decoded JSON
 * answer, and throws {@link RestError} (`errorCode`, `message`, `status`) for an error response.
 *
 * @example
 * ```ts
 * const { experiment } = (await callEndpoint(creds, "/api/2.0/mlflow/experiments/get", "GET", {
 *   json: { experiment_id: "0" },
 * })) as { experiment: { name: string } };
 * ```
 */
export async function callEndpoint(
  hostCreds: HostCredsSource,
  endpoint: string,
  method: string,
  options: HttpRequestOptions = {},
): Promise<unknown> {
  return callEndpointWithClock(hostCreds, endpoint, method, options, realClock);
}

/** {@link callEndpoint} with an injectable clock (tests). */
export async function callEndpointWithClock(
  hostCreds: HostCredsSource,
  endpoint: string,
  method: string,
  options: HttpRequestOptions,
  clock: HttpClock,
): Promise<unknown> {
  let effective = options;
  if (method.toUpperCase() === "GET" && options.json !== undefined) {
    const { json, ...rest } = options;
    effective = { ...rest, params: { ...jsonToParams(json), ...(options.params ?? {}) } };
  }
  const { response, secrets } = await performRequest(hostCreds, endpoint, method, effective, clock);
  const text = await response.text();
  return verifyRestResponse(response.status, text, endpoint, secrets);
}

/**
 * MLflow's `call_endpoints`: tries each `[endpoint, method]` in turn, moving on only when the
 * server answers `ENDPOINT_NOT_FOUND`; the last error is thrown.
 */
export async function callEndpoints(
  hostCreds: HostCredsSource,
  endpoints: readonly (readonly [string, string])[],
  options: HttpRequestOptions = {},
  call: typeof callEndpoint = callEndpoint,
): Promise<unknown> {
  if (endpoints.length === 0) throw invalidParameter("callEndpoints needs at least one endpoint");
  for (let i = 0; i < endpoints.length; i += 1) {
    const [endpoint, method] = endpoints[i]!;
    try {
      return await call(hostCreds, endpoint, method, options);
    } catch (err) {
      const last = i === endpoints.length - 1;
      if (last || !(err instanceof RestError) || err.errorCode !== "ENDPOINT_NOT_FOUND") throw err;
    }
  }
  /* c8 ignore next */
  throw new MlflowSecretsError("unreachable", "INTERNAL_ERROR");
}
