/**
 * The only module that reads `process.env`. Everything else receives parsed, validated values.
 *
 * Functions take an `env` argument (default: the process environment) so tests and embedders
 * can pass their own.
 */
import { readFileSync } from "node:fs";
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
