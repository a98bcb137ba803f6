/**
 * `login`: checks the current credentials, asks for new ones when they do not work, writes them
 * and checks again.
 *
 * - `databricks` (MLflow's `mlflow.login()`): a profile in `~/.databrickscfg` — a token, or (ours,
 *   when the token is left empty) an OAuth service principal's client ID and secret — validated with
 *   `GET /api/2.0/preview/scim/v2/Me`; on failure the previous file is put back (MLflow leaves the
 *   bad profile on disk). The host is asked again until it starts with `https://` (MLflow accepts
 *   any host after logging an error).
 * - `mlflow` (ours): `[mlflow]` in `~/.mlflow/credentials`, validated with
 *   `GET /api/2.0/mlflow/users/get?username=…` before anything is written.
 */
import {
  DATABRICKS_CONFIG_PROFILE_ENV_VAR,
  TRACKING_URI_ENV_VAR,
  overlayEnv,
  readEnvString,
  type Env,
} from "../config.js";
import type { Prompts } from "../prompts.js";
import { MlflowSecretsError, invalidParameter } from "../errors.js";
import { mlflowCredentialsPath, resolveHostCreds } from "./creds.js";
import {
  DEFAULT_DATABRICKS_PROFILE,
  databricksConfigPath,
  databricksProfileName,
  resolveDatabricksCreds,
} from "./databricks.js";
import { restoreFile, snapshotFile } from "./files.js";
import { MlflowHostCreds } from "./host-creds.js";
import { callEndpoint } from "./http.js";
import {
  overwriteOrCreateDatabricksProfile,
  writeMlflowCredentials,
  type DatabricksProfile,
} from "./profiles.js";
import { hideUserInfo } from "./redact.js";

/** The backends `login` supports. */
export const LOGIN_BACKENDS = ["databricks", "mlflow"] as const;
export type LoginBackend = (typeof LOGIN_BACKENDS)[number];

/** Options of {@link login}. */
export interface LoginOptions {
  /** `databricks` (default, as MLflow) or `mlflow`. */
  backend?: LoginBackend;
  /** Ask for credentials when the current ones do not work (default true). */
  interactive?: boolean;
  /** The Databricks profile to write (default `DATABRICKS_CONFIG_PROFILE`, else `DEFAULT`). */
  profile?: string;
  /** The environment (default: the process environment). */
  env?: Env;
  /** Where questions are asked (default: the terminal; hidden input for secrets). */
  prompts?: Prompts;
  /** Where progress lines go (default: stderr). Never given a secret. */
  log?: (line: string) => void;
}

/** How `login` checks credentials: resolves when they work, rejects with the reason otherwise. */
export type CredentialsValidator = (creds: MlflowHostCreds, env: Env | undefined) => Promise<void>;

/** The checks `login` runs; replaceable for tests. */
export interface LoginValidators {
  databricks: CredentialsValidator;
  mlflow: CredentialsValidator;
}

const MAX_PROMPT_ATTEMPTS = 10;

/** The token question; an empty answer switches to an OAuth service principal. */
const DATABRICKS_TOKEN_PROMPT = "Token (leave empty to use an OAuth service principal)";

/** MLflow's check: `current_user.me()` (Community Edition: `clusters.list_zones()`). */
export async function validateDatabricksCreds(
  creds: MlflowHostCreds,
  env: Env | undefined,
): Promise<void> {
  const endpoint = creds.host.includes("community")
    ? "/api/2.0/clusters/list-zones"
    : "/api/2.0/preview/scim/v2/Me";
  try {
    await callEndpoint(creds, endpoint, "GET", { env, maxRetries: 0 });
  } catch (err) {
    throw new MlflowSecretsError(
      `Failed to validate databricks credentials: ${err instanceof Error ? err.message : String(err)}`,
      "UNAUTHENTICATED",
      { cause: err },
    );
  }
}

/** The MLflow auth app's check (our server answers it too): the user can read itself. */
export async function validateMlflowCreds(
  creds: MlflowHostCreds,
  env: Env | undefined,
): Promise<void> {
  try {
    await callEndpoint(creds, "/api/2.0/mlflow/users/get", "GET", {
      env,
      maxRetries: 0,
      params: { username: creds.username ?? "" },
    });
  } catch (err) {
    throw new MlflowSecretsError(
      `Failed to validate MLflow credentials: ${err instanceof Error ? err.message : String(err)}`,
      "UNAUTHENTICATED",
      { cause: err },
    );
  }
}

const defaultValidators: LoginValidators = {
  databricks: validateDatabricksCreds,
  mlflow: validateMlflowCreds,
};

async function defaultPrompts(): Promise<Prompts> {
  const { terminalPrompts } = await import("../prompts.js");
  return terminalPrompts();
}

function isLoopback(hostname: string): boolean {
  return (
    hostname === "localhost" ||
    hostname === "[::1]" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname)
  );
}

/** `https://` URL, or (mlflow backend) `http://` on this machine. */
function checkHost(raw: string, allowLoopbackHttp: boolean): string | undefined {
  const host = raw.trim();
  let url: URL;
  try {
    url = new URL(host);
  } catch {
    return undefined;
  }
  if (url.protocol === "https:" && url.hostname !== "") return host;
  if (allowLoopbackHttp && url.protocol === "http:" && isLoopback(url.hostname)) return host;
  return undefined;
}

async function askHost(
  prompts: Prompts,
  log: (line: string) => void,
  question: string,
  allowLoopbackHttp: boolean,
): Promise<string> {
  for (let attempt = 1; attempt <= MAX_PROMPT_ATTEMPTS; attempt += 1) {
    const answer = await prompts.text(question);
    const host = checkHost(answer, allowLoopbackHttp);
    if (host !== undefined) return host;
    log(
      `Invalid host: ${hideUserInfo(answer.trim())}, host must begin with https://` +
        `${allowLoopbackHttp ? " (or http:// for localhost)" : ""}, please retry.`,
    );
  }
  throw invalidParameter(`No valid host after ${MAX_PROMPT_ATTEMPTS} attempts`);
}

async function askNonEmpty(ask: () => Promise<string>, what: string): Promise<string> {
  for (let attempt = 1; attempt <= MAX_PROMPT_ATTEMPTS; attempt += 1) {
    const answer = (await ask()).trim();
    if (answer !== "") return answer;
  }
  throw invalidParameter(`No ${what} given`);
}

async function databricksLogin(
  options: LoginOptions,
  env: Env | undefined,
  validators: LoginValidators,
  log: (line: string) => void,
): Promise<void> {
  const profileName = options.profile ?? databricksProfileName(env);
  const configFile = databricksConfigPath(env);
  // The current credentials, as they would be used for this profile.
  const current = overlayEnv(env, { [DATABRICKS_CONFIG_PROFILE_ENV_VAR]: profileName });
  try {
    const { creds } = await resolveDatabricksCreds("databricks", current);
    await validators.databricks(creds, env);
    log(
      `Successfully connected to MLflow hosted tracking server! Host: ${hideUserInfo(creds.host)}.`,
    );
    return;
  } catch {
    if (options.interactive === false) {
      throw new MlflowSecretsError(
        "No valid Databricks credentials found while running in non-interactive mode.",
        "UNAUTHENTICATED",
      );
    }
    log("No valid Databricks credentials found, please enter your credentials...");
  }
  const prompts = options.prompts ?? (await defaultPrompts());
  const host = await askHost(prompts, log, "Databricks Host (should begin with https://)", false);
  const profile: DatabricksProfile = { host };
  if (host.includes("community")) {
    // Community Edition authenticates with a username and password.
    profile.username = await askNonEmpty(() => prompts.text("Username"), "username");
    profile.password = await askNonEmpty(() => prompts.password("Password"), "password");
  } else {
    const token = (await prompts.password(DATABRICKS_TOKEN_PROMPT)).trim();
    if (token !== "") profile.token = token;
    else {
      // Ours: an OAuth service principal (machine-to-machine), as the Databricks CLI configures it.
      profile.clientId = await askNonEmpty(() => prompts.text("Client ID"), "client ID");
      profile.clientSecret = await askNonEmpty(
        () => prompts.password("Client secret"),
        "client secret",
      );
    }
  }
  const snapshot = await snapshotFile(configFile);
  await overwriteOrCreateDatabricksProfile(configFile, profile, profileName);
  try {
    await validators.databricks(new MlflowHostCreds(profile), env);
  } catch (err) {
    await restoreFile(snapshot);
    throw new MlflowSecretsError(
      `login failed with error: ${err instanceof Error ? err.message : String(err)}`,
      "UNAUTHENTICATED",
      { cause: err },
    );
  }
  log(
    `Saved profile [${profileName}] to ${configFile}. Use it with MLFLOW_TRACKING_URI=databricks${
      profileName === DEFAULT_DATABRICKS_PROFILE
        ? ""
        : ` and ${DATABRICKS_CONFIG_PROFILE_ENV_VAR}=${profileName} (or databricks://${profileName})`
    }.`,
  );
}

async function mlflowLogin(
  options: LoginOptions,
  env: Env | undefined,
  validators: LoginValidators,
  log: (line: string) => void,
): Promise<void> {
  if (options.profile !== undefined) {
    throw invalidParameter("--profile applies to the databricks backend only");
  }
  const envUri = readEnvString(env, TRACKING_URI_ENV_VAR);
  const currentUri = envUri !== undefined && /^https?:\/\//i.test(envUri) ? envUri : undefined;
  if (currentUri !== undefined) {
    try {
      const { creds } = await resolveHostCreds(currentUri, { env });
      if (creds.username && creds.password) {
        await validators.mlflow(creds, env);
        log(`Already logged in to ${hideUserInfo(currentUri)} as ${creds.username}.`);
        return;
      }
    } catch {
      /* ask below */
    }
  }
  if (options.interactive === false) {
    throw new MlflowSecretsError(
      "No valid MLflow credentials found while running in non-interactive mode.",
      "UNAUTHENTICATED",
    );
  }
  log("No valid MLflow credentials found, please enter your credentials...");
  const prompts = options.prompts ?? (await defaultPrompts());
  const trackingUri = await askHost(
    prompts,
    log,
    "MLflow tracking URI (should begin with https://)",
    true,
  );
  const username = await askNonEmpty(() => prompts.text("Username"), "username");
  const password = await askNonEmpty(() => prompts.password("Password"), "password");
  // The TLS settings of the environment apply; the credentials are the ones just entered.
  const { creds: base } = await resolveHostCreds(trackingUri, { env });
  const creds = new MlflowHostCreds({
    host: trackingUri,
    username,
    password,
    ignoreTlsVerification: base.ignoreTlsVerification,
    clientCertPath: base.clientCertPath,
    clientKeyPath: base.clientKeyPath,
    serverCertPath: base.serverCertPath,
    workspace: base.workspace,
  });
  try {
    await validators.mlflow(creds, env);
  } catch (err) {
    throw new MlflowSecretsError(
      `login failed with error: ${err instanceof Error ? err.message : String(err)}`,
      "UNAUTHENTICATED",
      { cause: err },
    );
  }
  const path = mlflowCredentialsPath(env);
  await writeMlflowCredentials(path, { username, password });
  log(
    `Saved credentials for ${username} to ${path}. Use them with ${TRACKING_URI_ENV_VAR}=${hideUserInfo(trackingUri)}.`,
  );
}

/** {@link login} with replaceable validators (tests). */
export async function loginWith(options: LoginOptions, validators: LoginValidators): Promise<void> {
  const backend = options.backend ?? "databricks";
  const env = options.env;
  const log = options.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  if (backend === "databricks") return databricksLogin(options, env, validators, log);
  if (backend === "mlflow") return mlflowLogin(options, env, validators, log);
  throw invalidParameter(
    `Currently only 'databricks' and 'mlflow' backends are supported, received \`backend=${String(backend)}\`.`,
  );
}

/**
 * MLflow's `mlflow.login()`, plus an `mlflow` backend for MLflow's own auth: keeps working
 * credentials, otherwise asks for new ones (hidden input for secrets), validates them and saves
 * them with mode 0600. Non-interactive runs fail instead of asking.
 *
 * @example
 * ```ts
 * await login(); // Databricks, profile from DATABRICKS_CONFIG_PROFILE or DEFAULT
 * await login({ backend: "mlflow" }); // writes [mlflow] in ~/.mlflow/credentials
 * await login({ interactive: false }); // throws when no valid credentials are configured
 * ```
 */
export async function login(options: LoginOptions = {}): Promise<void> {
  return loginWith(options, defaultValidators);
}
