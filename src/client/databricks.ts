/**
 * Databricks tracking URIs (`databricks`, `databricks://PROFILE`): credentials from the
 * `DATABRICKS_*` variables when they are complete, else from a profile of `~/.databrickscfg`
 * (MLflow's legacy resolver, without the Databricks SDK). A token becomes Bearer auth, a username
 * and password Basic auth.
 *
 * A profile's options are its own: `[DEFAULT]` values are not inherited (as MLflow reads the file).
 */
import { join } from "node:path";
import {
  DATABRICKS_CONFIG_FILE_ENV_VAR,
  DATABRICKS_CONFIG_PROFILE_ENV_VAR,
  DATABRICKS_HOST_ENV_VAR,
  DATABRICKS_INSECURE_ENV_VAR,
  DATABRICKS_PASSWORD_ENV_VAR,
  DATABRICKS_TOKEN_ENV_VAR,
  DATABRICKS_USERNAME_ENV_VAR,
  parseBoolean,
  readDatabricksEnv,
  resolveHomeDir,
  type Env,
} from "../config.js";
import { MlflowSecretsError, invalidParameter } from "../errors.js";
import type { CredSources, ResolvedHostCreds } from "./host-creds.js";
import { readTextFileIfExists } from "./files.js";
import { MlflowHostCreds, type MlflowHostCredsInit } from "./host-creds.js";
import { parseIni, type IniOptions } from "./ini.js";

/** The profile used when neither the URI nor `DATABRICKS_CONFIG_PROFILE` names one. */
export const DEFAULT_DATABRICKS_PROFILE = "DEFAULT";

/** True for `databricks` and `databricks://…` (and `databricks:` anything, rejected later). */
export function isDatabricksUri(uri: string): boolean {
  return uri === "databricks" || /^databricks:/i.test(uri);
}

/**
 * The profile named by a Databricks URI: `undefined` for plain `databricks`. MLflow's rules: the
 * name may not be empty or contain `/`, `:` or a space. `databricks://scope:prefix` (secret scopes)
 * only works inside a Databricks runtime and is rejected with that explanation.
 */
export function parseDatabricksUri(uri: string): { profile: string | undefined } {
  if (uri === "databricks") return { profile: undefined };
  const match = /^databricks:\/\/([^/?#]*)\/?$/i.exec(uri);
  if (!match || match[1] === "") {
    throw invalidParameter(
      `URI is formatted incorrectly: '${uri}'. Use 'databricks' or 'databricks://<profile>'.`,
    );
  }
  const profile = decodeURIComponent(match[1]!);
  if (profile.includes(":")) {
    throw invalidParameter(
      "Secret-scope tracking URIs (databricks://<scope>:<prefix>) only work inside a Databricks " +
        "runtime; use a profile: databricks://<profile>",
    );
  }
  if (/[\s/]/.test(profile)) {
    throw invalidParameter(`Invalid Databricks profile name in the URI: '${profile}'`);
  }
  return { profile };
}

/** `DATABRICKS_CONFIG_FILE`, else `~/.databrickscfg`. */
export function databricksConfigPath(env: Env | undefined): string {
  return readDatabricksEnv(env).configFile ?? join(resolveHomeDir(env), ".databrickscfg");
}

/** The profile to use: the URI's, else `DATABRICKS_CONFIG_PROFILE`, else `DEFAULT`. */
export function databricksProfileName(env: Env | undefined, uriProfile?: string): string {
  return uriProfile ?? readDatabricksEnv(env).configProfile ?? DEFAULT_DATABRICKS_PROFILE;
}

/** A Databricks host as MLflow and the SDK accept it: a bare hostname gets `https://`. */
function normalizeDatabricksHost(host: string, source: string): string {
  const trimmed = host.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `https://${trimmed}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw invalidParameter(`The Databricks host from ${source} is not a valid URL`);
  }
  if (url.protocol !== "https:") {
    throw invalidParameter(
      `The Databricks host from ${source} must start with https:// (credentials are never sent over plain http)`,
    );
  }
  return withScheme;
}

interface DatabricksConfig {
  host?: string;
  token?: string;
  username?: string;
  password?: string;
  insecure?: boolean;
  clientId?: string;
  authType?: string;
}

function isComplete(config: DatabricksConfig): boolean {
  return Boolean(config.host && (config.token || (config.username && config.password)));
}

async function readProfile(
  path: string,
  profile: string,
): Promise<{ options: IniOptions | undefined; fileExists: boolean }> {
  const text = await readTextFileIfExists(path);
  if (text === undefined) return { options: undefined, fileExists: false };
  const doc = parseIni(text, path);
  const options = profile === DEFAULT_DATABRICKS_PROFILE ? doc.defaults : doc.sections.get(profile);
  return { options: options && options.size > 0 ? options : undefined, fileExists: true };
}

function missingCredentials(uri: string, path: string, profile: string, why: string): Error {
  return new MlflowSecretsError(
    `No valid Databricks credentials for tracking URI '${uri}': ${why}. Set ` +
      `${DATABRICKS_HOST_ENV_VAR} and ${DATABRICKS_TOKEN_ENV_VAR}, or write a profile (host and ` +
      `token) to ${path} (${DATABRICKS_CONFIG_FILE_ENV_VAR}), chosen by 'databricks://<profile>' or ` +
      `${DATABRICKS_CONFIG_PROFILE_ENV_VAR}; 'mlflow-secrets login' writes one.`,
    "UNAUTHENTICATED",
  );
}

function unsupportedAuth(source: string): Error {
  return new MlflowSecretsError(
    `The Databricks credentials in ${source} use OAuth (client_id/client_secret) or the ` +
      "Databricks CLI, which need the Databricks SDK; this client supports a personal access " +
      "token or a username and password",
    "UNAUTHENTICATED",
  );
}

/** Resolves credentials for a Databricks tracking URI, with the origin of every field. */
export async function resolveDatabricksCreds(
  uri: string,
  env: Env | undefined,
): Promise<ResolvedHostCreds> {
  const { profile: uriProfile } = parseDatabricksUri(uri);
  const vars = readDatabricksEnv(env);
  const fromEnv: DatabricksConfig = {
    host: vars.host,
    token: vars.token,
    username: vars.username,
    password: vars.password,
    insecure: vars.insecure,
    clientId: vars.clientId,
  };
  if (isComplete(fromEnv)) {
    const sources: CredSources = { host: DATABRICKS_HOST_ENV_VAR };
    if (fromEnv.token) sources.token = DATABRICKS_TOKEN_ENV_VAR;
    else {
      sources.username = DATABRICKS_USERNAME_ENV_VAR;
      sources.password = DATABRICKS_PASSWORD_ENV_VAR;
    }
    if (fromEnv.insecure) sources.ignoreTlsVerification = DATABRICKS_INSECURE_ENV_VAR;
    return build(uri, fromEnv, DATABRICKS_HOST_ENV_VAR, sources);
  }

  const path = databricksConfigPath(env);
  const profile = databricksProfileName(env, uriProfile);
  const { options, fileExists } = await readProfile(path, profile);
  if (options === undefined) {
    if (fromEnv.host && fromEnv.clientId) throw unsupportedAuth("the DATABRICKS_* variables");
    const why = fileExists
      ? `profile '${profile}' is not in ${path}`
      : `${path} does not exist and the DATABRICKS_* variables are incomplete`;
    throw missingCredentials(uri, path, profile, why);
  }
  const where = `${path} [${profile}]`;
  const insecureRaw = options.get("insecure");
  const fromFile: DatabricksConfig = {
    host: options.get("host") || undefined,
    token: options.get("token") || undefined,
    username: options.get("username") || undefined,
    password: options.get("password") || undefined,
    insecure:
      insecureRaw === undefined || insecureRaw === ""
        ? undefined
        : parseBoolean(insecureRaw, `${where} insecure`),
    clientId: options.get("client_id") || undefined,
    authType: options.get("auth_type") || undefined,
  };
  if (!isComplete(fromFile)) {
    if (fromFile.host && (fromFile.clientId || fromFile.authType)) throw unsupportedAuth(where);
    throw missingCredentials(
      uri,
      path,
      profile,
      `profile '${profile}' lacks a host and a token (or username and password)`,
    );
  }
  const sources: CredSources = { host: `${where} host` };
  if (fromFile.token) sources.token = `${where} token`;
  else {
    sources.username = `${where} username`;
    sources.password = `${where} password`;
  }
  if (fromFile.insecure) sources.ignoreTlsVerification = `${where} insecure`;
  return build(uri, fromFile, `${where} host`, sources);
}

function build(
  uri: string,
  config: DatabricksConfig,
  hostSource: string,
  sources: CredSources,
): ResolvedHostCreds {
  const init: MlflowHostCredsInit = {
    host: normalizeDatabricksHost(config.host!, hostSource),
    ignoreTlsVerification: Boolean(config.insecure),
  };
  if (config.token) init.token = config.token;
  else {
    init.username = config.username;
    init.password = config.password;
  }
  return { creds: new MlflowHostCreds(init), sources, trackingUri: uri, kind: "databricks" };
}
