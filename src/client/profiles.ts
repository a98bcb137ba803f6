/**
 * The profile writers behind `login`: a profile in `~/.databrickscfg`, or the `[mlflow]` section of
 * `~/.mlflow/credentials`. MLflow's writer deletes the next section's header when no blank line
 * separates the two, leaves later keys of a profile with a blank line inside it behind, writes
 * non-atomically and leaves the file world-readable; this one replaces exactly the named section,
 * keeps every other byte, and writes atomically with mode 0600.
 */
import { MlflowSecretsError, invalidParameter } from "../errors.js";
import { MLFLOW_CREDENTIALS_SECTION, MLFLOW_PASSWORD_KEY, MLFLOW_USERNAME_KEY } from "./creds.js";
import { readTextFileIfExists, writeFileAtomic } from "./files.js";
import { escapeIniInterpolation, replaceIniSection } from "./ini.js";

/** A Databricks profile: a host and a token, a username and password, or an OAuth client. */
export interface DatabricksProfile {
  host: string;
  token?: string;
  username?: string;
  password?: string;
  /** An OAuth service principal (written with `auth_type = oauth-m2m`). */
  clientId?: string;
  clientSecret?: string;
}

function checkValue(value: string | undefined, field: string): string {
  if (typeof value !== "string" || value === "") {
    throw invalidParameter(`The profile's ${field} must be a non-empty string`);
  }
  // INI readers trim values and end them at a line break: such a value could not be read back.
  if (/[\r\n]/.test(value) || value.trim() !== value) {
    throw invalidParameter(
      `The profile's ${field} cannot contain line breaks or leading/trailing whitespace`,
    );
  }
  return value;
}

function checkSectionName(name: string): string {
  if (typeof name !== "string" || name === "" || /[[\]\r\n]/.test(name) || name.trim() !== name) {
    throw invalidParameter(
      "A profile name must be non-empty, without brackets, line breaks or surrounding spaces",
    );
  }
  return name;
}

/**
 * Writes `profile` as section `[profileName]` of the Databricks config file: replaces that section
 * if present (exactly it, through the line before the next section header), else prepends it, as
 * MLflow does. Every other section and comment is kept byte for byte; the file is written
 * atomically with mode 0600 and its directory is created if missing.
 *
 * @example
 * ```ts
 * await overwriteOrCreateDatabricksProfile(
 *   join(homedir(), ".databrickscfg"),
 *   { host: "https://my-workspace.cloud.databricks.com", token: "dapi…" },
 *   "DEFAULT",
 * );
 * // an OAuth service principal (machine-to-machine):
 * await overwriteOrCreateDatabricksProfile(path, { host, clientId: "…", clientSecret: "…" }, "ci");
 * ```
 */
export async function overwriteOrCreateDatabricksProfile(
  fileName: string,
  profile: DatabricksProfile,
  profileName = "DEFAULT",
): Promise<void> {
  const name = checkSectionName(profileName);
  const lines = [`[${name}]`, `host = ${checkValue(profile?.host, "host")}`];
  // MLflow writes a token when the profile has one, else username and password; ours also writes
  // an OAuth client as the Databricks CLI does.
  if (profile.token !== undefined) {
    lines.push(`token = ${checkValue(profile.token, "token")}`);
  } else if (profile.username !== undefined || profile.password !== undefined) {
    lines.push(`username = ${checkValue(profile.username, "username")}`);
    lines.push(`password = ${checkValue(profile.password, "password")}`);
  } else if (profile.clientId !== undefined || profile.clientSecret !== undefined) {
    lines.push(`client_id = ${checkValue(profile.clientId, "client ID")}`);
    lines.push(`client_secret = ${checkValue(profile.clientSecret, "client secret")}`);
    lines.push("auth_type = oauth-m2m");
  } else {
    throw invalidParameter(
      "A Databricks profile needs a token, a username and password, or an OAuth client ID and secret",
    );
  }
  await rewriteSection(fileName, name, lines);
}

/**
 * Writes `[mlflow]` with `mlflow_tracking_username` / `mlflow_tracking_password` to the MLflow
 * credentials file, keeping every other section; `%` is doubled because Python's `configparser`
 * interpolates this file.
 *
 * @example
 * ```ts
 * await writeMlflowCredentials(mlflowCredentialsPath(), { username: "alice", password: "…" });
 * ```
 */
export async function writeMlflowCredentials(
  fileName: string,
  creds: { username: string; password: string },
): Promise<void> {
  const lines = [
    `[${MLFLOW_CREDENTIALS_SECTION}]`,
    `${MLFLOW_USERNAME_KEY} = ${escapeIniInterpolation(checkValue(creds.username, "username"))}`,
    `${MLFLOW_PASSWORD_KEY} = ${escapeIniInterpolation(checkValue(creds.password, "password"))}`,
  ];
  await rewriteSection(fileName, MLFLOW_CREDENTIALS_SECTION, lines);
}

async function rewriteSection(fileName: string, section: string, lines: string[]): Promise<void> {
  if (typeof fileName !== "string" || fileName === "") {
    throw new MlflowSecretsError("A file name is required", "INVALID_PARAMETER_VALUE");
  }
  const current = (await readTextFileIfExists(fileName)) ?? "";
  await writeFileAtomic(fileName, replaceIniSection(current, section, lines));
}
