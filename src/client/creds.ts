/**
 * Credential resolution for a tracking URI, as MLflow's `get_default_host_creds` does it, re-run
 * for every request: the environment, then `~/.mlflow/credentials` for username and password
 * (field by field), then the rest from the environment. Each resolved field remembers where it came
 * from, for `creds show`.
 */
import { join } from "node:path";
import {
  TRACKING_AWS_SIGV4_ENV_VAR,
  TRACKING_AWS_SIGV4_SERVICE_ENV_VAR,
  TRACKING_AUTH_ENV_VAR,
  TRACKING_CLIENT_CERT_PATH_ENV_VAR,
  TRACKING_CLIENT_KEY_PATH_ENV_VAR,
  TRACKING_INSECURE_TLS_ENV_VAR,
  TRACKING_PASSWORD_ENV_VAR,
  TRACKING_SERVER_CERT_PATH_ENV_VAR,
  TRACKING_TOKEN_ENV_VAR,
  TRACKING_TOKEN_FILE_ENV_VAR,
  TRACKING_USERNAME_ENV_VAR,
  WORKSPACE_ENV_VAR,
  readEnvString,
  readTrackingEnv,
  resolveHomeDir,
  type Env,
} from "../config.js";
import { invalidParameter } from "../errors.js";
import { isDatabricksUri, resolveDatabricksCreds } from "./databricks.js";
import {
  MlflowHostCreds,
  type CredSources,
  type MlflowHostCredsInit,
  type ResolvedHostCreds,
} from "./host-creds.js";
import { interpolateIniValue, parseIni } from "./ini.js";
import { readTextFileIfExists } from "./files.js";
import { redactUrl } from "./redact.js";

/** The `[mlflow]` section of the credentials file, as MLflow names it. */
export const MLFLOW_CREDENTIALS_SECTION = "mlflow";
export const MLFLOW_USERNAME_KEY = TRACKING_USERNAME_ENV_VAR.toLowerCase();
export const MLFLOW_PASSWORD_KEY = TRACKING_PASSWORD_ENV_VAR.toLowerCase();

/** Username and password for Basic auth; either may be missing. */
export interface MlflowCreds {
  username?: string;
  password?: string;
}

/** Options of {@link readMlflowCreds}. */
export interface ReadMlflowCredsOptions {
  /** The environment (default: the process environment). */
  env?: Env;
  /** The credentials file (default `~/.mlflow/credentials`). */
  credentialsPath?: string;
}

/** `~/.mlflow/credentials`, with the home directory from `env` (`HOME`) or the OS. */
export function mlflowCredentialsPath(env?: Env): string {
  return join(resolveHomeDir(env), ".mlflow", "credentials");
}

async function readCredentialsFile(path: string): Promise<MlflowCreds> {
  const text = await readTextFileIfExists(path);
  if (text === undefined) return {};
  const doc = parseIni(text, path);
  const section = doc.sections.get(MLFLOW_CREDENTIALS_SECTION);
  if (section === undefined) return {};
  // `[DEFAULT]` values are inherited and `%` interpolation applies, as with configparser.
  const lookup = (key: string): string | undefined => section.get(key) ?? doc.defaults.get(key);
  const get = (key: string): string | undefined => {
    const raw = lookup(key);
    if (raw === undefined) return undefined;
    const value = interpolateIniValue(
      raw,
      lookup,
      `${path} [${MLFLOW_CREDENTIALS_SECTION}] ${key}`,
    );
    return value === "" ? undefined : value;
  };
  return { username: get(MLFLOW_USERNAME_KEY), password: get(MLFLOW_PASSWORD_KEY) };
}

interface Sourced {
  value?: string;
  source?: string;
}

async function resolveUsernamePassword(
  env: Env | undefined,
  credentialsPath: string,
): Promise<{ username: Sourced; password: Sourced }> {
  const fromEnv = readTrackingEnv(env);
  const username: Sourced = { value: fromEnv.username, source: TRACKING_USERNAME_ENV_VAR };
  const password: Sourced = { value: fromEnv.password, source: TRACKING_PASSWORD_ENV_VAR };
  if (username.value !== undefined && password.value !== undefined) return { username, password };
  // Each field on its own: a set variable wins, an unset or empty one falls through to the file.
  const fromFile = await readCredentialsFile(credentialsPath);
  const fileSource = (key: string): string =>
    `${credentialsPath} [${MLFLOW_CREDENTIALS_SECTION}] ${key}`;
  const pick = (own: Sourced, fileValue: string | undefined, key: string): Sourced =>
    own.value !== undefined
      ? own
      : fileValue !== undefined
        ? { value: fileValue, source: fileSource(key) }
        : {};
  return {
    username: pick(username, fromFile.username, MLFLOW_USERNAME_KEY),
    password: pick(password, fromFile.password, MLFLOW_PASSWORD_KEY),
  };
}

/**
 * MLflow's `read_mlflow_creds`: `MLFLOW_TRACKING_USERNAME` / `MLFLOW_TRACKING_PASSWORD`, else the
 * `[mlflow]` section of `~/.mlflow/credentials` (keys `mlflow_tracking_username`,
 * `mlflow_tracking_password`), field by field; an empty variable falls through to the file.
 *
 * @example
 * ```ts
 * const { username, password } = await readMlflowCreds();
 * ```
 */
export async function readMlflowCreds(options: ReadMlflowCredsOptions = {}): Promise<MlflowCreds> {
  const env = options.env;
  const path = options.credentialsPath ?? mlflowCredentialsPath(env);
  const { username, password } = await resolveUsernamePassword(env, path);
  const out: MlflowCreds = {};
  if (username.value !== undefined) out.username = username.value;
  if (password.value !== undefined) out.password = password.value;
  return out;
}

/** Resolves credentials for an `http(s)://` tracking URI, with the origin of every field. */
async function resolveMlflowCreds(
  trackingUri: string,
  env: Env | undefined,
  credentialsPath: string,
): Promise<ResolvedHostCreds> {
  const tracking = readTrackingEnv(env);
  const { username, password } = await resolveUsernamePassword(env, credentialsPath);
  const init: MlflowHostCredsInit = {
    host: trackingUri,
    username: username.value,
    password: password.value,
    token: tracking.token,
    tokenFile: tracking.tokenFile,
    awsSigv4: tracking.awsSigv4,
    awsSigv4Service: tracking.awsSigv4Service,
    auth: tracking.auth,
    ignoreTlsVerification: tracking.insecureTls,
    clientCertPath: tracking.clientCertPath,
    clientKeyPath: tracking.clientKeyPath,
    serverCertPath: tracking.serverCertPath,
    workspace: tracking.workspace,
  };
  const sources: CredSources = {};
  const note = (field: keyof MlflowHostCredsInit, present: unknown, source: string): void => {
    if (present !== undefined && present !== false) sources[field] = source;
  };
  if (username.source && username.value !== undefined) sources.username = username.source;
  if (password.source && password.value !== undefined) sources.password = password.source;
  note("token", tracking.token, TRACKING_TOKEN_ENV_VAR);
  note("tokenFile", tracking.tokenFile, TRACKING_TOKEN_FILE_ENV_VAR);
  note("awsSigv4", tracking.awsSigv4, TRACKING_AWS_SIGV4_ENV_VAR);
  if (tracking.awsSigv4) {
    sources.awsSigv4Service = readEnvString(env, TRACKING_AWS_SIGV4_SERVICE_ENV_VAR)
      ? TRACKING_AWS_SIGV4_SERVICE_ENV_VAR
      : "default";
  }
  note("auth", tracking.auth, TRACKING_AUTH_ENV_VAR);
  note("ignoreTlsVerification", tracking.insecureTls, TRACKING_INSECURE_TLS_ENV_VAR);
  note("clientCertPath", tracking.clientCertPath, TRACKING_CLIENT_CERT_PATH_ENV_VAR);
  note("clientKeyPath", tracking.clientKeyPath, TRACKING_CLIENT_KEY_PATH_ENV_VAR);
  note("serverCertPath", tracking.serverCertPath, TRACKING_SERVER_CERT_PATH_ENV_VAR);
  note("workspace", tracking.workspace, WORKSPACE_ENV_VAR);
  return { creds: new MlflowHostCreds(init), sources, trackingUri, kind: "mlflow" };
}

/**
 * Resolves host credentials for a tracking URI with the origin of each field (what
 * `creds show` prints). `http(s)://` URIs use MLflow's variables and credentials file;
 * `databricks` and `databricks://PROFILE` use the Databricks variables and `~/.databrickscfg`.
 */
export async function resolveHostCreds(
  trackingUri: string,
  options: { env?: Env; credentialsPath?: string } = {},
): Promise<ResolvedHostCreds> {
  const env = options.env;
  const uri = typeof trackingUri === "string" ? trackingUri.trim() : "";
  if (uri === "") throw invalidParameter("A tracking URI is required");
  if (isDatabricksUri(uri)) return resolveDatabricksCreds(uri, env);
  const scheme = (/^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1] ?? uri).toLowerCase();
  if (scheme === "http" || scheme === "https") {
    return resolveMlflowCreds(uri, env, options.credentialsPath ?? mlflowCredentialsPath(env));
  }
  if (scheme === "databricks-uc" || scheme === "uc") {
    throw invalidParameter(
      `'${scheme}' URIs are model registry URIs and cannot be used as a tracking URI`,
    );
  }
  throw invalidParameter(
    `Client credentials apply to http://, https:// and databricks tracking URIs, got '${redactUrl(uri)}'`,
  );
}

/**
 * MLflow's `get_default_host_creds` (and, for `databricks` / `databricks://PROFILE`, its
 * Databricks counterpart): the credentials to call the tracking server at `trackingUri`.
 * Call it per request (or pass it to `httpRequest` as a function) so rotated credentials are seen.
 *
 * @example
 * ```ts
 * const creds = await getDefaultHostCreds("https://mlflow.example.com");
 * await callEndpoint(creds, "/api/2.0/mlflow/experiments/search", "POST", { json: {} });
 * // or re-resolve on every request:
 * await callEndpoint(() => getDefaultHostCreds(uri), "/api/2.0/mlflow/users/current", "GET");
 * ```
 */
export async function getDefaultHostCreds(
  trackingUri: string,
  options: { env?: Env } = {},
): Promise<MlflowHostCreds> {
  return (await resolveHostCreds(trackingUri, options)).creds;
}
