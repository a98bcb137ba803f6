/**
 * The only module that reads `process.env`. Everything else receives parsed, validated values.
 *
 * Functions take an `env` argument (default: the process environment) so tests and embedders
 * can pass their own.
 */
import { readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter } from "node:path";
import {
  CRYPTO_KEK_PASSPHRASE_ENV_VAR,
  CRYPTO_KEK_VERSION_ENV_VAR,
  MAX_KEK_VERSION,
  validateKekVersion,
} from "./crypto/constants.js";
import { MlflowSecretsError, invalidParameter } from "./errors.js";

/**
 * An environment: variable name → value. Every reader here takes one, and reads the process
 * environment when given `undefined` — so code elsewhere passes the caller's environment (or
 * nothing) along and never touches `process.env` itself.
 */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * The process environment, for the CLI's composition root only (`cli/main.ts` hands it to the
 * commands as their `io.env`; a lint rule keeps every other module from importing this).
 */
export function processEnvForCli(): Env {
  return process.env;
}

/** `env` with some variables replaced (the process environment when `env` is undefined). */
export function overlayEnv(env: Env | undefined, overrides: Env): Env {
  return { ...(env ?? process.env), ...overrides };
}

export { CRYPTO_KEK_PASSPHRASE_ENV_VAR, CRYPTO_KEK_VERSION_ENV_VAR };
export const CRYPTO_KEK_PASSPHRASE_FILE_ENV_VAR = "MLFLOW_CRYPTO_KEK_PASSPHRASE_FILE";

/** Parses the text of a KEK-version variable (decimal digits, surrounding blanks allowed). */
function parseKekVersion(raw: string, source: string): number {
  const text = raw.trim();
  if (!/^\+?\d+$/.test(text)) {
    throw invalidParameter(
      `${source} must be an integer between 0 and ${MAX_KEK_VERSION}, got '${truncate(raw)}'`,
    );
  }
  return validateKekVersion(Number(text), source);
}

/** Reads a file holding a secret; one trailing newline (`\n` or `\r\n`) is stripped. */
export function readSecretFile(path: string, source: string): string {
  try {
    return readFileSync(path, "utf8").replace(/\r?\n$/, "");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "error";
    throw invalidParameter(`Cannot read ${source} file '${path}' (${code})`, err);
  }
}

/**
 * The current KEK passphrase from `MLFLOW_CRYPTO_KEK_PASSPHRASE`, else the file named by
 * `MLFLOW_CRYPTO_KEK_PASSPHRASE_FILE`. Returns `undefined` when neither is set or the value is
 * empty (the caller decides between MLflow's default passphrase and an error).
 */
export function readKekPassphrase(env: Env | undefined = process.env): string | undefined {
  const direct = env[CRYPTO_KEK_PASSPHRASE_ENV_VAR];
  const file = env[CRYPTO_KEK_PASSPHRASE_FILE_ENV_VAR];
  if (direct && file) {
    throw invalidParameter(
      `Set only one of ${CRYPTO_KEK_PASSPHRASE_ENV_VAR} and ${CRYPTO_KEK_PASSPHRASE_FILE_ENV_VAR}`,
    );
  }
  if (direct) return direct;
  if (file) return readSecretFile(file, CRYPTO_KEK_PASSPHRASE_FILE_ENV_VAR) || undefined;
  return undefined;
}

/** The current KEK version from `MLFLOW_CRYPTO_KEK_VERSION` (default 1). */
export function readKekVersion(env: Env | undefined = process.env): number {
  const raw = env[CRYPTO_KEK_VERSION_ENV_VAR];
  if (raw === undefined || raw === "") return 1;
  return parseKekVersion(raw, CRYPTO_KEK_VERSION_ENV_VAR);
}

function truncate(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

// ---------------------------------------------------------------------------------------------
// Store: backend URI and the keyring of older KEKs
// ---------------------------------------------------------------------------------------------

const BACKEND_STORE_URI_ENV_VAR = "MLFLOW_BACKEND_STORE_URI";
export const KEYRING_FILE_ENV_VAR = "MLFLOW_SECRETS_KEYRING_FILE";

/** `MLFLOW_BACKEND_STORE_URI`, or undefined when unset or empty. */
export function readBackendStoreUri(env: Env | undefined = process.env): string | undefined {
  return env[BACKEND_STORE_URI_ENV_VAR] || undefined;
}

/** One older KEK from the keyring file. */
interface KeyringEntry {
  version: number;
  passphrase: string;
}

interface KeyringFile {
  path: string;
  entries: KeyringEntry[];
  /** Paths (the keyring file, passphrase files) that group or others can read. */
  looselyReadable: string[];
}

function isLooselyReadable(path: string): boolean {
  try {
    return (statSync(path).mode & 0o077) !== 0;
  } catch {
    return false;
  }
}

/**
 * Reads `MLFLOW_SECRETS_KEYRING_FILE`:
 * `{"keks": [{"version": 1, "passphrase": "…"}, {"version": 2, "passphrase_file": "/run/secrets/kek2"}]}`.
 * Messages name the file and the entry, never a passphrase.
 */
export function readKeyringFile(env: Env | undefined = process.env): KeyringFile | undefined {
  const path = env[KEYRING_FILE_ENV_VAR];
  if (!path) return undefined;
  const source = `${KEYRING_FILE_ENV_VAR} '${path}'`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    const reason =
      err instanceof SyntaxError
        ? "is not valid JSON"
        : `cannot be read (${(err as NodeJS.ErrnoException).code ?? "error"})`;
    throw invalidParameter(`${source} ${reason}`, err);
  }
  const keks = (parsed as { keks?: unknown } | null)?.keks;
  if (!Array.isArray(keks))
    throw invalidParameter(`${source} must hold {"keks": [{"version": N, "passphrase": "…"}, …]}`);
  const looselyReadable = isLooselyReadable(path) ? [path] : [];
  const byVersion = new Map<number, string>();
  const entries: KeyringEntry[] = [];
  keks.forEach((item: unknown, index) => {
    const where = `${source}, entry ${index}`;
    if (typeof item !== "object" || item === null)
      throw invalidParameter(`${where}: must be an object`);
    const {
      version,
      passphrase,
      passphrase_file: passphraseFile,
    } = item as Record<string, unknown>;
    validateKekVersion(version, `${where}: version`);
    let text: string;
    if (typeof passphrase === "string" && passphraseFile === undefined) {
      text = passphrase;
    } else if (typeof passphraseFile === "string" && passphrase === undefined) {
      text = readSecretFile(passphraseFile, `${where}: passphrase_file`);
      if (isLooselyReadable(passphraseFile)) looselyReadable.push(passphraseFile);
    } else {
      throw invalidParameter(`${where}: give exactly one of "passphrase" and "passphrase_file"`);
    }
    if (text === "") throw invalidParameter(`${where}: the passphrase is empty`);
    const v = version as number;
    const known = byVersion.get(v);
    if (known !== undefined && known !== text) {
      throw new MlflowSecretsError(
        `${source}: two different passphrases for kek_version ${v}`,
        "INVALID_PARAMETER_VALUE",
        { reason: "KEYRING_CONFLICT" },
      );
    }
    if (known === undefined) {
      byVersion.set(v, text);
      entries.push({ version: v, passphrase: text });
    }
  });
  return { path, entries, looselyReadable };
}

// ---------------------------------------------------------------------------------------------
// CLI: where secret commands go, and debugging
// ---------------------------------------------------------------------------------------------

const DEBUG_ENV_VAR = "MLFLOW_SECRETS_DEBUG";

/** `MLFLOW_TRACKING_URI` when it is an http(s) URL (a server to talk to), else undefined. */
export function readHttpTrackingUri(env: Env | undefined = process.env): string | undefined {
  const uri = env[TRACKING_URI_ENV_VAR];
  return uri && /^https?:\/\//i.test(uri) ? uri : undefined;
}

/** True when `MLFLOW_SECRETS_DEBUG=1`: errors print their stack trace. */
export function readDebug(env: Env | undefined = process.env): boolean {
  return env[DEBUG_ENV_VAR] === "1";
}

// ─────────────────────────────────────── client ────────────────────────────────────────
// The variables of MLflow's client (client.md), with MLflow's names, defaults and parsing, plus
// the ones this package adds (marked "ours"). Values are read fresh on every call: credentials
// and HTTP settings are resolved per request, as MLflow's Python client does.

export const TRACKING_URI_ENV_VAR = "MLFLOW_TRACKING_URI";
export const TRACKING_USERNAME_ENV_VAR = "MLFLOW_TRACKING_USERNAME";
export const TRACKING_PASSWORD_ENV_VAR = "MLFLOW_TRACKING_PASSWORD";
export const TRACKING_TOKEN_ENV_VAR = "MLFLOW_TRACKING_TOKEN";
/** Ours: a file holding the bearer token, re-read on every request (MLflow issue #8823). */
export const TRACKING_TOKEN_FILE_ENV_VAR = "MLFLOW_TRACKING_TOKEN_FILE";
export const TRACKING_AWS_SIGV4_ENV_VAR = "MLFLOW_TRACKING_AWS_SIGV4";
/** Ours: the SigV4 service name (MLflow hard-codes `execute-api`). */
export const TRACKING_AWS_SIGV4_SERVICE_ENV_VAR = "MLFLOW_TRACKING_AWS_SIGV4_SERVICE";
export const TRACKING_AUTH_ENV_VAR = "MLFLOW_TRACKING_AUTH";
/** Ours: an ES module whose default export is one auth provider or an array of them. */
export const TRACKING_AUTH_PROVIDER_MODULE_ENV_VAR = "MLFLOW_TRACKING_AUTH_PROVIDER_MODULE";
export const TRACKING_INSECURE_TLS_ENV_VAR = "MLFLOW_TRACKING_INSECURE_TLS";
export const TRACKING_CLIENT_CERT_PATH_ENV_VAR = "MLFLOW_TRACKING_CLIENT_CERT_PATH";
/** Ours: the client certificate's private key when it is not in the certificate's PEM file. */
export const TRACKING_CLIENT_KEY_PATH_ENV_VAR = "MLFLOW_TRACKING_CLIENT_KEY_PATH";
export const TRACKING_SERVER_CERT_PATH_ENV_VAR = "MLFLOW_TRACKING_SERVER_CERT_PATH";
export const WORKSPACE_ENV_VAR = "MLFLOW_WORKSPACE";

export const HTTP_REQUEST_MAX_RETRIES_ENV_VAR = "MLFLOW_HTTP_REQUEST_MAX_RETRIES";
export const HTTP_REQUEST_BACKOFF_FACTOR_ENV_VAR = "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR";
export const HTTP_REQUEST_BACKOFF_JITTER_ENV_VAR = "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER";
export const HTTP_REQUEST_TIMEOUT_ENV_VAR = "MLFLOW_HTTP_REQUEST_TIMEOUT";
const HTTP_RESPECT_RETRY_AFTER_HEADER_ENV_VAR = "MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER";
const ALLOW_HTTP_REDIRECTS_ENV_VAR = "MLFLOW_ALLOW_HTTP_REDIRECTS";
/** MLflow's internal limits on the two settings above (kept for parity with its tests). */
const HTTP_REQUEST_MAX_RETRIES_LIMIT_ENV_VAR = "_MLFLOW_HTTP_REQUEST_MAX_RETRIES_LIMIT";
const HTTP_REQUEST_MAX_BACKOFF_FACTOR_LIMIT_ENV_VAR =
  "_MLFLOW_HTTP_REQUEST_MAX_BACKOFF_FACTOR_LIMIT";

export const DATABRICKS_HOST_ENV_VAR = "DATABRICKS_HOST";
export const DATABRICKS_TOKEN_ENV_VAR = "DATABRICKS_TOKEN";
export const DATABRICKS_USERNAME_ENV_VAR = "DATABRICKS_USERNAME";
export const DATABRICKS_PASSWORD_ENV_VAR = "DATABRICKS_PASSWORD";
export const DATABRICKS_INSECURE_ENV_VAR = "DATABRICKS_INSECURE";
export const DATABRICKS_CLIENT_ID_ENV_VAR = "DATABRICKS_CLIENT_ID";
export const DATABRICKS_CLIENT_SECRET_ENV_VAR = "DATABRICKS_CLIENT_SECRET";
export const DATABRICKS_CONFIG_FILE_ENV_VAR = "DATABRICKS_CONFIG_FILE";
export const DATABRICKS_CONFIG_PROFILE_ENV_VAR = "DATABRICKS_CONFIG_PROFILE";

/** MLflow's HTTP defaults (`mlflow/environment_variables.py`). */
export const HTTP_REQUEST_DEFAULTS = Object.freeze({
  maxRetries: 7,
  backoffFactor: 2,
  backoffJitter: 1.0,
  timeoutSeconds: 120,
  respectRetryAfterHeader: true,
  allowRedirects: true,
  maxRetriesLimit: 10,
  backoffFactorLimit: 120,
});

/** The SigV4 service MLflow signs for (Amazon API Gateway). */
export const DEFAULT_AWS_SIGV4_SERVICE = "execute-api";

/** A variable's value, `undefined` when unset or empty (an empty value means "not set"). */
export function readEnvString(env: Env | undefined, name: string): string | undefined {
  const value = (env ?? process.env)[name];
  return value === undefined || value === "" ? undefined : value;
}

/**
 * The one boolean parser of the package (variables, ini files and flags alike): MLflow's
 * vocabulary, `true`, `false`, `1` or `0` in any case (surrounding blanks ignored). Anything else
 * is an error naming `name` (the variable, file entry or flag).
 */
export function parseBoolean(raw: string, name: string): boolean {
  const text = raw.trim().toLowerCase();
  if (text === "true" || text === "1") return true;
  if (text === "false" || text === "0") return false;
  throw invalidParameter(
    `${name} must be one of 'true', 'false', '1' or '0' (any case), got ${quoteSetting(raw)}`,
  );
}

/**
 * A mistyped setting, quoted in an error only when it looks like one (short, plain): a long or
 * odd value may be a secret pasted into the wrong variable, and errors never show secrets.
 */
function quoteSetting(raw: string): string {
  return /^[\w .+-]{0,12}$/.test(raw) ? `'${raw}'` : "a value that is not one (not shown)";
}

/** A boolean variable, `defaultValue` when unset or empty. */
function readBooleanEnv(env: Env | undefined, name: string, defaultValue: boolean): boolean {
  const raw = readEnvString(env, name);
  return raw === undefined ? defaultValue : parseBoolean(raw, name);
}

function readNumberEnv(
  env: Env | undefined,
  name: string,
  defaultValue: number,
  kind: "integer" | "number",
): number {
  const raw = readEnvString(env, name);
  if (raw === undefined) return defaultValue;
  const text = raw.trim();
  const pattern = kind === "integer" ? /^[+-]?\d+$/ : /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
  if (!pattern.test(text)) {
    throw invalidParameter(
      `${name} must be ${kind === "integer" ? "an integer" : "a number"}, got ${quoteSetting(raw)}`,
    );
  }
  return Number(text);
}

/** The client's view of the `MLFLOW_TRACKING_*` variables (empty values count as unset). */
interface TrackingEnv {
  readonly trackingUri?: string;
  readonly username?: string;
  readonly password?: string;
  readonly token?: string;
  readonly tokenFile?: string;
  readonly awsSigv4: boolean;
  readonly awsSigv4Service: string;
  readonly auth?: string;
  readonly authProviderModule?: string;
  readonly insecureTls: boolean;
  readonly clientCertPath?: string;
  readonly clientKeyPath?: string;
  readonly serverCertPath?: string;
  readonly workspace?: string;
}

/**
 * Reads the tracking variables; booleans are parsed (an error names a bad variable). Setting both
 * `MLFLOW_TRACKING_TOKEN` and `MLFLOW_TRACKING_TOKEN_FILE` is an error.
 */
export function readTrackingEnv(env: Env | undefined = process.env): TrackingEnv {
  const token = readEnvString(env, TRACKING_TOKEN_ENV_VAR);
  const tokenFile = readEnvString(env, TRACKING_TOKEN_FILE_ENV_VAR);
  if (token !== undefined && tokenFile !== undefined) {
    throw invalidParameter(
      `Set only one of ${TRACKING_TOKEN_ENV_VAR} and ${TRACKING_TOKEN_FILE_ENV_VAR}`,
    );
  }
  return Object.freeze({
    trackingUri: readEnvString(env, TRACKING_URI_ENV_VAR),
    username: readEnvString(env, TRACKING_USERNAME_ENV_VAR),
    password: readEnvString(env, TRACKING_PASSWORD_ENV_VAR),
    token,
    tokenFile,
    awsSigv4: readBooleanEnv(env, TRACKING_AWS_SIGV4_ENV_VAR, false),
    awsSigv4Service:
      readEnvString(env, TRACKING_AWS_SIGV4_SERVICE_ENV_VAR)?.trim() || DEFAULT_AWS_SIGV4_SERVICE,
    auth: readEnvString(env, TRACKING_AUTH_ENV_VAR)?.trim() || undefined,
    authProviderModule: readEnvString(env, TRACKING_AUTH_PROVIDER_MODULE_ENV_VAR),
    insecureTls: readBooleanEnv(env, TRACKING_INSECURE_TLS_ENV_VAR, false),
    clientCertPath: readEnvString(env, TRACKING_CLIENT_CERT_PATH_ENV_VAR),
    clientKeyPath: readEnvString(env, TRACKING_CLIENT_KEY_PATH_ENV_VAR),
    serverCertPath: readEnvString(env, TRACKING_SERVER_CERT_PATH_ENV_VAR),
    workspace: readEnvString(env, WORKSPACE_ENV_VAR),
  });
}

/** The HTTP settings: retries, backoff, timeout, `Retry-After`, redirects. */
interface HttpRequestEnv {
  readonly maxRetries: number;
  readonly backoffFactor: number;
  readonly backoffJitter: number;
  readonly timeoutSeconds: number;
  readonly respectRetryAfterHeader: boolean;
  readonly allowRedirects: boolean;
  readonly maxRetriesLimit: number;
  readonly backoffFactorLimit: number;
}

/**
 * Reads the HTTP variables (MLflow's defaults: 7 retries, factor 2, jitter 1.0, 120 s timeout,
 * `Retry-After` respected, redirects followed); a value that is not a number is an error naming
 * its variable. The ranges are the client's rules (`client/retry.ts`), checked where the
 * settings are applied.
 */
export function readHttpRequestEnv(env: Env | undefined = process.env): HttpRequestEnv {
  const d = HTTP_REQUEST_DEFAULTS;
  const maxRetriesLimit = readNumberEnv(
    env,
    HTTP_REQUEST_MAX_RETRIES_LIMIT_ENV_VAR,
    d.maxRetriesLimit,
    "integer",
  );
  const backoffFactorLimit = readNumberEnv(
    env,
    HTTP_REQUEST_MAX_BACKOFF_FACTOR_LIMIT_ENV_VAR,
    d.backoffFactorLimit,
    "number",
  );
  const maxRetries = readNumberEnv(env, HTTP_REQUEST_MAX_RETRIES_ENV_VAR, d.maxRetries, "integer");
  const backoffFactor = readNumberEnv(
    env,
    HTTP_REQUEST_BACKOFF_FACTOR_ENV_VAR,
    d.backoffFactor,
    "number",
  );
  const backoffJitter = readNumberEnv(
    env,
    HTTP_REQUEST_BACKOFF_JITTER_ENV_VAR,
    d.backoffJitter,
    "number",
  );
  const timeoutSeconds = readNumberEnv(
    env,
    HTTP_REQUEST_TIMEOUT_ENV_VAR,
    d.timeoutSeconds,
    "number",
  );
  return Object.freeze({
    maxRetries,
    backoffFactor,
    backoffJitter,
    timeoutSeconds,
    respectRetryAfterHeader: readBooleanEnv(
      env,
      HTTP_RESPECT_RETRY_AFTER_HEADER_ENV_VAR,
      d.respectRetryAfterHeader,
    ),
    allowRedirects: readBooleanEnv(env, ALLOW_HTTP_REDIRECTS_ENV_VAR, d.allowRedirects),
    maxRetriesLimit,
    backoffFactorLimit,
  });
}

/** The `DATABRICKS_*` variables MLflow's legacy resolver reads. */
interface DatabricksEnv {
  readonly host?: string;
  readonly token?: string;
  readonly username?: string;
  readonly password?: string;
  readonly insecure?: boolean;
  readonly clientId?: string;
  readonly clientSecret?: string;
  readonly configFile?: string;
  readonly configProfile?: string;
}

/** Reads the Databricks variables; `DATABRICKS_INSECURE` is parsed as a boolean (MLflow: any non-empty string). */
export function readDatabricksEnv(env: Env | undefined = process.env): DatabricksEnv {
  const insecure = readEnvString(env, DATABRICKS_INSECURE_ENV_VAR);
  return Object.freeze({
    host: readEnvString(env, DATABRICKS_HOST_ENV_VAR)?.trim() || undefined,
    token: readEnvString(env, DATABRICKS_TOKEN_ENV_VAR),
    username: readEnvString(env, DATABRICKS_USERNAME_ENV_VAR),
    password: readEnvString(env, DATABRICKS_PASSWORD_ENV_VAR),
    insecure:
      insecure === undefined ? undefined : parseBoolean(insecure, DATABRICKS_INSECURE_ENV_VAR),
    clientId: readEnvString(env, DATABRICKS_CLIENT_ID_ENV_VAR),
    clientSecret: readEnvString(env, DATABRICKS_CLIENT_SECRET_ENV_VAR),
    configFile: readEnvString(env, DATABRICKS_CONFIG_FILE_ENV_VAR),
    configProfile: readEnvString(env, DATABRICKS_CONFIG_PROFILE_ENV_VAR)?.trim() || undefined,
  });
}

/** The AWS variables used to sign with SigV4 (the AWS SDK's credential chain reads the rest). */
interface AwsEnv {
  /** `AWS_REGION`, else `AWS_DEFAULT_REGION` (boto3's variable, which MLflow's tests use). */
  readonly region?: string;
  readonly regionSource?: "AWS_REGION" | "AWS_DEFAULT_REGION";
  /** `AWS_PROFILE`, else `AWS_DEFAULT_PROFILE`. */
  readonly profile?: string;
  readonly accessKeyId?: string;
  readonly secretAccessKey?: string;
  /** `AWS_SESSION_TOKEN`, else the older `AWS_SECURITY_TOKEN`. */
  readonly sessionToken?: string;
  readonly sharedCredentialsFile?: string;
  readonly configFile?: string;
}

/** Reads the AWS variables. */
export function readAwsEnv(env: Env | undefined = process.env): AwsEnv {
  const region = readEnvString(env, "AWS_REGION")?.trim() || undefined;
  const defaultRegion = readEnvString(env, "AWS_DEFAULT_REGION")?.trim() || undefined;
  return Object.freeze({
    region: region ?? defaultRegion,
    regionSource: region ? "AWS_REGION" : defaultRegion ? "AWS_DEFAULT_REGION" : undefined,
    profile: readEnvString(env, "AWS_PROFILE") ?? readEnvString(env, "AWS_DEFAULT_PROFILE"),
    accessKeyId: readEnvString(env, "AWS_ACCESS_KEY_ID"),
    secretAccessKey: readEnvString(env, "AWS_SECRET_ACCESS_KEY"),
    sessionToken:
      readEnvString(env, "AWS_SESSION_TOKEN") ?? readEnvString(env, "AWS_SECURITY_TOKEN"),
    sharedCredentialsFile: readEnvString(env, "AWS_SHARED_CREDENTIALS_FILE"),
    configFile: readEnvString(env, "AWS_CONFIG_FILE"),
  });
}

/** The kubeconfig files named by `KUBECONFIG` (path-list), or `undefined` when unset. */
export function readKubeconfigPaths(
  env: Env | undefined = process.env,
): readonly string[] | undefined {
  const raw = readEnvString(env, "KUBECONFIG");
  if (raw === undefined) return undefined;
  const paths = raw.split(delimiter).filter((p) => p !== "");
  return paths.length > 0 ? paths : undefined;
}

/** The user's home directory: `HOME` (or `USERPROFILE`) from `env`, else the OS's answer. */
export function resolveHomeDir(env: Env | undefined = process.env): string {
  return readEnvString(env, "HOME") ?? readEnvString(env, "USERPROFILE") ?? homedir();
}

// ── client: the network settings MLflow's Python client gets from `requests` ──
// Proxies, `.netrc` and CA bundles, read exactly as `requests` (and Python's `urllib`, which it
// calls) reads them, so that one environment configures both clients the same way.

// HTTP_PROXY, HTTPS_PROXY, ALL_PROXY and any other `<scheme>_proxy`: see readProxyEnv.
const NO_PROXY_ENV_VAR = "NO_PROXY";
/** `requests`' `.netrc` override (an empty value disables `.netrc`, as in `requests`). */
const NETRC_ENV_VAR = "NETRC";
const REQUESTS_CA_BUNDLE_ENV_VAR = "REQUESTS_CA_BUNDLE";
const CURL_CA_BUNDLE_ENV_VAR = "CURL_CA_BUNDLE";
const SSL_CERT_FILE_ENV_VAR = "SSL_CERT_FILE";
/** The CA-bundle variables, in the order they are tried. */
const CA_BUNDLE_ENV_VARS = [
  REQUESTS_CA_BUNDLE_ENV_VAR,
  CURL_CA_BUNDLE_ENV_VAR,
  SSL_CERT_FILE_ENV_VAR,
] as const;

/** A value from the environment and the variable that gave it. */
export interface SourcedEnvValue {
  readonly value: string;
  /** The variable's name as it is spelled in the environment (`https_proxy`, `HTTPS_PROXY`, …). */
  readonly source: string;
}

/** The proxy settings, as `requests` sees them. */
export interface ProxyEnv {
  /**
   * Python's `urllib.request.getproxies_environment()`: every `<scheme>_proxy` variable, keyed by
   * the lower-cased scheme (`http`, `https`, `all`, `no`, …). A lower-case variable wins over any
   * other spelling, and an empty lower-case one removes the entry; when `REQUEST_METHOD` is set
   * (a CGI script) only a lower-case `http_proxy` counts (CVE-2016-1000110).
   */
  readonly proxies: ReadonlyMap<string, SourcedEnvValue>;
  /** `requests`' own read of the bypass list: `no_proxy`, else `NO_PROXY` (empty means unset). */
  readonly noProxy?: SourcedEnvValue;
}

function isProxyVariable(name: string): boolean {
  return name.length > 6 && name.slice(-6).toLowerCase() === "_proxy";
}

/**
 * Reads the proxy variables (`HTTPS_PROXY`, `https_proxy`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`,
 * …) with the precedence of `requests` and Python's `urllib`.
 *
 * @example
 * ```ts
 * readProxyEnv({ HTTPS_PROXY: "http://proxy:3128", https_proxy: "" }).proxies.get("https");
 * // undefined: the empty lower-case variable unsets it, as in Python
 * ```
 */
export function readProxyEnv(env: Env = process.env): ProxyEnv {
  const proxies = new Map<string, SourcedEnvValue>();
  const names = Object.keys(env).filter(isProxyVariable);
  // First pass: any spelling.
  for (const name of names) {
    const value = env[name];
    if (value) proxies.set(name.slice(0, -6).toLowerCase(), { value, source: name });
  }
  if (env.REQUEST_METHOD !== undefined) proxies.delete("http");
  // Second pass: names ending in a lower-case `_proxy` override, and empty ones unset.
  for (const name of names) {
    if (!name.endsWith("_proxy")) continue;
    const value = env[name];
    const key = name.slice(0, -6).toLowerCase();
    if (value) proxies.set(key, { value, source: name });
    else proxies.delete(key);
  }
  const lower = env.no_proxy;
  const upper = env[NO_PROXY_ENV_VAR];
  const noProxy = lower
    ? { value: lower, source: "no_proxy" }
    : upper
      ? { value: upper, source: NO_PROXY_ENV_VAR }
      : undefined;
  return Object.freeze({ proxies, ...(noProxy ? { noProxy } : {}) });
}

/**
 * Where `.netrc` is looked for, as `requests` does: `NETRC` when it is set at all (even empty,
 * which then matches no file), else `~/.netrc` then `~/_netrc`. A leading `~` is the home directory.
 */
export function readNetrcLocations(env: Env = process.env): readonly string[] {
  const home = resolveHomeDir(env);
  const expand = (path: string): string =>
    path === "~" || path.startsWith("~/") || path.startsWith("~\\")
      ? `${home}${path.slice(1)}`
      : path;
  const explicit = env[NETRC_ENV_VAR];
  if (explicit !== undefined) return [expand(explicit)];
  return [expand("~/.netrc"), expand("~/_netrc")];
}

/**
 * Node's own extra CA file (`NODE_EXTRA_CA_CERTS`): Node adds it to its default roots, which an
 * explicit CA list replaces, so a CA bundle from the environment is added on top of both.
 */
const NODE_EXTRA_CA_CERTS_ENV_VAR = "NODE_EXTRA_CA_CERTS";

/** `NODE_EXTRA_CA_CERTS`, or undefined. */
export function readNodeExtraCaCerts(env: Env = process.env): string | undefined {
  return readEnvString(env, NODE_EXTRA_CA_CERTS_ENV_VAR);
}

/**
 * The CA bundle named by the environment: `REQUESTS_CA_BUNDLE`, else `CURL_CA_BUNDLE` (the order
 * of `requests`' `merge_environment_settings`), else `SSL_CERT_FILE`. Empty values are skipped.
 */
export function readCaBundleEnv(env: Env = process.env): SourcedEnvValue | undefined {
  for (const name of CA_BUNDLE_ENV_VARS) {
    const value = readEnvString(env, name);
    if (value !== undefined) return { value, source: name };
  }
  return undefined;
}
// ---------------------------------------------------------------------------------------------
// Server: the first admin and the permission defaults
// ---------------------------------------------------------------------------------------------

const ADMIN_USERNAME_ENV_VAR = "MLFLOW_SECRETS_ADMIN_USERNAME";
const ADMIN_PASSWORD_ENV_VAR = "MLFLOW_SECRETS_ADMIN_PASSWORD";
export const DEFAULT_PERMISSION_ENV_VAR = "MLFLOW_SECRETS_DEFAULT_PERMISSION";
const USERS_CAN_CREATE_ENV_VAR = "MLFLOW_SECRETS_USERS_CAN_CREATE";
const SESSION_IDLE_TIMEOUT_ENV_VAR = "MLFLOW_SECRETS_SESSION_IDLE_TIMEOUT";
const SESSION_LIFETIME_ENV_VAR = "MLFLOW_SECRETS_SESSION_LIFETIME";

/** The server's settings that come from the environment. */
interface ServerEnvSettings {
  /** The first admin's name (`MLFLOW_SECRETS_ADMIN_USERNAME`, default `admin`). */
  adminUsername: string;
  /** The first admin's password; undefined = generate one and print it once. */
  adminPassword: string | undefined;
  /**
   * `MLFLOW_SECRETS_DEFAULT_PERMISSION` as set (undefined when unset): a permission name, which
   * the domain's `parsePermissionName` validates where the setting is applied.
   */
  defaultPermission: string | undefined;
  /** Whether non-admins may create secrets (default false). */
  usersCanCreate: boolean;
  /** `MLFLOW_SECRETS_SESSION_IDLE_TIMEOUT` (seconds) in ms; present only when set. */
  sessionIdleTimeoutMs?: number;
  /** `MLFLOW_SECRETS_SESSION_LIFETIME` (seconds) in ms; present only when set. */
  sessionLifetimeMs?: number;
}

/**
 * The server's environment settings. Messages name the variable, never a password.
 *
 * @example
 * ```ts
 * readServerEnvSettings({ MLFLOW_SECRETS_USERS_CAN_CREATE: "true" }).usersCanCreate; // true
 * ```
 */
export function readServerEnvSettings(env: Env | undefined = process.env): ServerEnvSettings {
  return Object.freeze({
    adminUsername: readEnvString(env, ADMIN_USERNAME_ENV_VAR) ?? "admin",
    adminPassword: readEnvString(env, ADMIN_PASSWORD_ENV_VAR),
    defaultPermission: readEnvString(env, DEFAULT_PERMISSION_ENV_VAR),
    usersCanCreate: readBooleanEnv(env, USERS_CAN_CREATE_ENV_VAR, false),
    ...secondsAsMs(env, SESSION_IDLE_TIMEOUT_ENV_VAR, "sessionIdleTimeoutMs"),
    ...secondsAsMs(env, SESSION_LIFETIME_ENV_VAR, "sessionLifetimeMs"),
  });
}

/** `{ [key]: ms }` from a variable in seconds, or `{}` when it is unset. */
function secondsAsMs<K extends string>(
  env: Env | undefined,
  name: string,
  key: K,
): Partial<Record<K, number>> {
  if (readEnvString(env, name) === undefined) return {};
  return { [key]: readNumberEnv(env, name, 0, "integer") * 1000 } as Partial<Record<K, number>>;
}
