/**
 * Databricks tracking URIs (`databricks`, `databricks://PROFILE`): credentials from the
 * `DATABRICKS_*` variables when they are complete, else from a profile of `~/.databrickscfg`
 * (MLflow's legacy resolver, without the Databricks SDK). A token becomes Bearer auth, a username
 * and password Basic auth, an OAuth client (`client_id` + `client_secret`, the SDK's `oauth-m2m`)
 * a token from the workspace's client-credentials grant. Like the SDK, a personal access token
 * wins over a username and password, which win over an OAuth client, unless the profile's
 * `auth_type` names one.
 *
 * A profile's options are its own: `[DEFAULT]` values are not inherited (as MLflow reads the file).
 */
import { join } from "node:path";
import {
  DATABRICKS_CLIENT_ID_ENV_VAR,
  DATABRICKS_CLIENT_SECRET_ENV_VAR,
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
  clientSecret?: string;
  authType?: string;
}

/** The Databricks SDK's names of the auth types this client implements. */
const DATABRICKS_AUTH_TYPES = ["pat", "basic", "oauth-m2m"] as const;
type DatabricksAuthType = (typeof DATABRICKS_AUTH_TYPES)[number];

/** Keys of the SDK's other auth types (Azure, Google): present, they mean an unsupported method. */
const OTHER_AUTH_KEYS = [
  "azure_client_id",
  "azure_client_secret",
  "azure_tenant_id",
  "azure_use_msi",
  "google_service_account",
  "google_credentials",
];

function hasCredentialsFor(config: DatabricksConfig, type: DatabricksAuthType): boolean {
  if (type === "pat") return Boolean(config.token);
  if (type === "basic") return Boolean(config.username && config.password);
  return Boolean(config.clientId && config.clientSecret);
}

/** The auth type the config resolves to: its `auth_type`, else the first complete one (SDK order). */
function authTypeOf(config: DatabricksConfig): DatabricksAuthType | undefined {
  if (config.authType !== undefined) {
    const named = DATABRICKS_AUTH_TYPES.find((t) => t === config.authType);
    return named !== undefined && hasCredentialsFor(config, named) ? named : undefined;
  }
  return DATABRICKS_AUTH_TYPES.find((t) => hasCredentialsFor(config, t));
}

function isComplete(config: DatabricksConfig): boolean {
  return Boolean(config.host && authTypeOf(config));
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
      `${DATABRICKS_HOST_ENV_VAR} and ${DATABRICKS_TOKEN_ENV_VAR} (or ${DATABRICKS_CLIENT_ID_ENV_VAR} ` +
      `and ${DATABRICKS_CLIENT_SECRET_ENV_VAR}), or write a profile (host and token, or client_id ` +
      `and client_secret) to ${path} (${DATABRICKS_CONFIG_FILE_ENV_VAR}), chosen by ` +
      `'databricks://<profile>' or ${DATABRICKS_CONFIG_PROFILE_ENV_VAR}; 'mlflow-secrets login' writes one.`,
    "UNAUTHENTICATED",
  );
}

function unsupportedAuth(source: string, what: string): Error {
  return new MlflowSecretsError(
    `The Databricks credentials in ${source} use ${what}, which needs the Databricks SDK; this ` +
      "client supports a personal access token (token), a username and password, or OAuth " +
      "machine-to-machine (client_id and client_secret, auth_type = oauth-m2m)",
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
    clientSecret: vars.clientSecret,
  };
  if (isComplete(fromEnv)) {
    const sources: CredSources = {
      host: DATABRICKS_HOST_ENV_VAR,
      ...sourcesOf(authTypeOf(fromEnv)!, {
        token: DATABRICKS_TOKEN_ENV_VAR,
        username: DATABRICKS_USERNAME_ENV_VAR,
        password: DATABRICKS_PASSWORD_ENV_VAR,
        clientId: DATABRICKS_CLIENT_ID_ENV_VAR,
        clientSecret: DATABRICKS_CLIENT_SECRET_ENV_VAR,
      }),
    };
    if (fromEnv.insecure) sources.ignoreTlsVerification = DATABRICKS_INSECURE_ENV_VAR;
    return build(uri, fromEnv, DATABRICKS_HOST_ENV_VAR, sources);
  }

  const path = databricksConfigPath(env);
  const profile = databricksProfileName(env, uriProfile);
  const { options, fileExists } = await readProfile(path, profile);
  if (options === undefined) {
    const why = fileExists
      ? `profile '${profile}' is not in ${path}`
      : `${path} does not exist and the DATABRICKS_* variables are incomplete` +
        (fromEnv.clientId && !fromEnv.clientSecret
          ? ` (${DATABRICKS_CLIENT_ID_ENV_VAR} needs ${DATABRICKS_CLIENT_SECRET_ENV_VAR})`
          : "");
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
    clientSecret: options.get("client_secret") || undefined,
    authType: options.get("auth_type")?.trim().toLowerCase() || undefined,
  };
  if (
    fromFile.authType !== undefined &&
    !DATABRICKS_AUTH_TYPES.some((t) => t === fromFile.authType)
  ) {
    throw unsupportedAuth(where, `auth_type = ${fromFile.authType.slice(0, 40)}`);
  }
  if (!isComplete(fromFile)) {
    const otherKey = OTHER_AUTH_KEYS.find((key) => options.get(key));
    if (fromFile.host && otherKey !== undefined && fromFile.authType === undefined) {
      throw unsupportedAuth(where, otherKey);
    }
    throw missingCredentials(uri, path, profile, incompleteProfile(profile, fromFile));
  }
  const sources: CredSources = {
    host: `${where} host`,
    ...sourcesOf(authTypeOf(fromFile)!, {
      token: `${where} token`,
      username: `${where} username`,
      password: `${where} password`,
      clientId: `${where} client_id`,
      clientSecret: `${where} client_secret`,
    }),
  };
  if (fromFile.insecure) sources.ignoreTlsVerification = `${where} insecure`;
  return build(uri, fromFile, `${where} host`, sources);
}

function incompleteProfile(profile: string, config: DatabricksConfig): string {
  if (!config.host) return `profile '${profile}' lacks a host`;
  const needs: Record<DatabricksAuthType, string> = {
    pat: "a token",
    basic: "a username and password",
    "oauth-m2m": "client_id and client_secret",
  };
  const named = DATABRICKS_AUTH_TYPES.find((t) => t === config.authType);
  if (named !== undefined) {
    return `profile '${profile}' has auth_type = ${named} but lacks ${needs[named]}`;
  }
  if (config.clientId || config.clientSecret) {
    return `profile '${profile}' lacks ${config.clientId ? "client_secret" : "client_id"} (OAuth needs both)`;
  }
  return `profile '${profile}' lacks a host and a token (or username and password, or client_id and client_secret)`;
}

type CredentialSourceNames = Required<
  Pick<CredSources, "token" | "username" | "password" | "clientId" | "clientSecret">
>;

function sourcesOf(type: DatabricksAuthType, names: CredentialSourceNames): CredSources {
  if (type === "pat") return { token: names.token };
  if (type === "basic") return { username: names.username, password: names.password };
  return { clientId: names.clientId, clientSecret: names.clientSecret };
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
  const type = authTypeOf(config)!;
  if (type === "pat") init.token = config.token;
  else if (type === "basic") {
    init.username = config.username;
    init.password = config.password;
  } else {
    init.clientId = config.clientId;
    init.clientSecret = config.clientSecret;
  }
  return { creds: new MlflowHostCreds(init), sources, trackingUri: uri, kind: "databricks" };
}
