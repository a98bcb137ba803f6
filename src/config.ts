/**
 * The only module that reads `process.env`. Everything else receives parsed, validated values.
 *
 * Functions take an `env` argument (default: the process environment) so tests and embedders
 * can pass their own.
 */
import { readFileSync, statSync } from "node:fs";
import { invalidParameter } from "./errors.js";

/** An environment: variable name → value. */
export type Env = Readonly<Record<string, string | undefined>>;

/** The process environment, for callers that need to pass it on. */
export function processEnv(): Env {
  return process.env;
}

export const CRYPTO_KEK_PASSPHRASE_ENV_VAR = "MLFLOW_CRYPTO_KEK_PASSPHRASE";
export const CRYPTO_KEK_PASSPHRASE_FILE_ENV_VAR = "MLFLOW_CRYPTO_KEK_PASSPHRASE_FILE";
export const CRYPTO_KEK_VERSION_ENV_VAR = "MLFLOW_CRYPTO_KEK_VERSION";

const MAX_KEK_VERSION = 0xffffffff;

/**
 * Validates a KEK version: an integer 0 … 4294967295 (it is folded into the salt as uint32 BE).
 * `source` names the argument or variable in the error message.
 */
export function validateKekVersion(value: unknown, source: string): number {
  if (
    typeof value !== "number" ||
    !Number.isInteger(value) ||
    value < 0 ||
    value > MAX_KEK_VERSION
  ) {
    throw invalidParameter(
      `${source} must be an integer between 0 and ${MAX_KEK_VERSION}, got ${describe(value)}`,
    );
  }
  return value;
}

/** Parses the text of a KEK-version variable (decimal digits, surrounding blanks allowed). */
export function parseKekVersion(raw: string, source: string): number {
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
export function readKekPassphrase(env: Env = process.env): string | undefined {
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
export function readKekVersion(env: Env = process.env): number {
  const raw = env[CRYPTO_KEK_VERSION_ENV_VAR];
  if (raw === undefined || raw === "") return 1;
  return parseKekVersion(raw, CRYPTO_KEK_VERSION_ENV_VAR);
}

function describe(value: unknown): string {
  if (typeof value === "number") return String(value);
  if (typeof value === "string") return `'${truncate(value)}'`;
  return typeof value;
}

function truncate(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

// ---------------------------------------------------------------------------------------------
// Store: backend URI and the keyring of older KEKs
// ---------------------------------------------------------------------------------------------

export const BACKEND_STORE_URI_ENV_VAR = "MLFLOW_BACKEND_STORE_URI";
export const KEYRING_FILE_ENV_VAR = "MLFLOW_SECRETS_KEYRING_FILE";

/** `MLFLOW_BACKEND_STORE_URI`, or undefined when unset or empty. */
export function readBackendStoreUri(env: Env = process.env): string | undefined {
  return env[BACKEND_STORE_URI_ENV_VAR] || undefined;
}

/** One older KEK from the keyring file. */
export interface KeyringEntry {
  version: number;
  passphrase: string;
}

export interface KeyringFile {
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
export function readKeyringFile(env: Env = process.env): KeyringFile | undefined {
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
      throw invalidParameter(`${source}: two different passphrases for kek_version ${v}`);
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

export const TRACKING_URI_ENV_VAR = "MLFLOW_TRACKING_URI";
export const DEBUG_ENV_VAR = "MLFLOW_SECRETS_DEBUG";

/** `MLFLOW_TRACKING_URI` when it is an http(s) URL (a server to talk to), else undefined. */
export function readHttpTrackingUri(env: Env = process.env): string | undefined {
  const uri = env[TRACKING_URI_ENV_VAR];
  return uri && /^https?:\/\//i.test(uri) ? uri : undefined;
}

/** True when `MLFLOW_SECRETS_DEBUG=1`: errors print their stack trace. */
export function readDebug(env: Env = process.env): boolean {
  return env[DEBUG_ENV_VAR] === "1";
}

// ---------------------------------------------------------------------------------------------
// Server: the first admin and the permission defaults
// ---------------------------------------------------------------------------------------------

export const ADMIN_USERNAME_ENV_VAR = "MLFLOW_SECRETS_ADMIN_USERNAME";
export const ADMIN_PASSWORD_ENV_VAR = "MLFLOW_SECRETS_ADMIN_PASSWORD";
export const DEFAULT_PERMISSION_ENV_VAR = "MLFLOW_SECRETS_DEFAULT_PERMISSION";
export const USERS_CAN_CREATE_ENV_VAR = "MLFLOW_SECRETS_USERS_CAN_CREATE";

/** Per-secret permission names (MLflow's, plus `USE`), lowest first. */
export const PERMISSION_NAMES = ["NO_PERMISSIONS", "READ", "USE", "EDIT", "MANAGE"] as const;
export type PermissionName = (typeof PERMISSION_NAMES)[number];

/** The server's settings that come from the environment. */
export interface ServerEnvSettings {
  /** The first admin's name (`MLFLOW_SECRETS_ADMIN_USERNAME`, default `admin`). */
  adminUsername: string;
  /** The first admin's password; undefined = generate one and print it once. */
  adminPassword: string | undefined;
  /** What users get on secrets they have no grant for (default `READ`). */
  defaultPermission: PermissionName;
  /** Whether non-admins may create secrets (default false). */
  usersCanCreate: boolean;
}

/** Parses a permission name (case-insensitive); `source` names the variable or field. */
export function parsePermissionName(raw: string, source: string): PermissionName {
  const name = raw.trim().toUpperCase();
  const found = PERMISSION_NAMES.find((p) => p === name);
  if (found === undefined) {
    throw invalidParameter(
      `${source} must be one of ${PERMISSION_NAMES.join(", ")}, got '${truncate(raw)}'`,
    );
  }
  return found;
}

function parseBoolean(raw: string, source: string): boolean {
  const text = raw.trim().toLowerCase();
  if (["true", "1", "yes", "on"].includes(text)) return true;
  if (["false", "0", "no", "off", ""].includes(text)) return false;
  throw invalidParameter(`${source} must be true or false, got '${truncate(raw)}'`);
}

/**
 * The server's environment settings, validated. Messages name the variable, never a password.
 *
 * @example
 * ```ts
 * readServerEnvSettings({ MLFLOW_SECRETS_DEFAULT_PERMISSION: "NO_PERMISSIONS" }).defaultPermission;
 * // "NO_PERMISSIONS"
 * ```
 */
export function readServerEnvSettings(env: Env = process.env): ServerEnvSettings {
  const adminUsername = env[ADMIN_USERNAME_ENV_VAR] || "admin";
  const adminPassword = env[ADMIN_PASSWORD_ENV_VAR] || undefined;
  const rawPermission = env[DEFAULT_PERMISSION_ENV_VAR];
  const rawCreate = env[USERS_CAN_CREATE_ENV_VAR];
  return Object.freeze({
    adminUsername,
    adminPassword,
    defaultPermission: rawPermission
      ? parsePermissionName(rawPermission, DEFAULT_PERMISSION_ENV_VAR)
      : "READ",
    usersCanCreate: rawCreate ? parseBoolean(rawCreate, USERS_CAN_CREATE_ENV_VAR) : false,
  });
}
