/**
 * MLflow's crypto constants (`mlflow/utils/crypto.py`), and the one rule they imply for settings
 * (the KEK version range). Changing any of them breaks compatibility with every database MLflow
 * or this package has written. Imports nothing but the error family, so config can use it.
 */
import { invalidParameter } from "../errors.js";

/** MLflow's variable for the KEK passphrase (read by the keyring, named in messages here). */
export const CRYPTO_KEK_PASSPHRASE_ENV_VAR = "MLFLOW_CRYPTO_KEK_PASSPHRASE";

/** MLflow's variable for the current KEK version. */
export const CRYPTO_KEK_VERSION_ENV_VAR = "MLFLOW_CRYPTO_KEK_VERSION";

/** KEK versions are folded into the salt as uint32 big-endian: 0 … 4294967295. */
export const MAX_KEK_VERSION = 0xffffffff;

/**
 * The passphrase used when none is configured. Every installation that uses it shares one KEK:
 * acceptable on a developer's laptop, never on a shared server.
 */
export const DEFAULT_KEK_PASSPHRASE = "mlflow-default-kek-passphrase-for-development-only";

/** The fixed, application-level PBKDF2 salt; the KEK version is appended as uint32 big-endian. */
export const MLFLOW_KEK_SALT = "mlflow-secrets-kek-v1-2025";

/** PBKDF2-HMAC-SHA256 iterations (OWASP 2023). */
export const PBKDF2_ITERATIONS = 600_000;

/** AES-256 key length in bytes (KEKs and DEKs). */
export const AES_256_KEY_LENGTH = 32;

/** AES-GCM nonce length in bytes. */
export const GCM_NONCE_LENGTH = 12;

/** AES-GCM tag length in bytes (appended to the ciphertext). */
export const GCM_TAG_LENGTH = 16;

/** Length of a wrapped DEK: nonce ‖ AES-GCM(KEK, DEK) ‖ tag. */
export const WRAPPED_DEK_LENGTH = GCM_NONCE_LENGTH + AES_256_KEY_LENGTH + GCM_TAG_LENGTH;

/**
 * Validates a KEK version: an integer 0 … 4294967295 (it is folded into the salt as uint32 BE).
 * `source` names the argument or variable in the error message.
 *
 * @example
 * ```ts
 * validateKekVersion(2, "kekVersion"); // 2
 * ```
 */
export function validateKekVersion(value: unknown, source: string): number {
  if (
    typeof value !== "number" ||
    !Number.isInteger(value) ||
    value < 0 ||
    value > MAX_KEK_VERSION
  ) {
    const shown =
      typeof value === "number"
        ? String(value)
        : typeof value === "string"
          ? `'${value.length > 40 ? `${value.slice(0, 40)}…` : value}'`
          : typeof value;
    throw invalidParameter(
      `${source} must be an integer between 0 and ${MAX_KEK_VERSION}, got ${shown}`,
    );
  }
  return value;
}
