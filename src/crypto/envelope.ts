/**
 * Envelope encryption as MLflow does it: a fresh DEK per secret encrypts the value (AAD =
 * `secret_id|secret_name`), and the KEK wraps the DEK. See ./README.md for the invariants.
 */
import { randomFillSync } from "node:crypto";
import { isUtf8 } from "node:buffer";
import { MlflowSecretsError, invalidParameter } from "../errors.js";

/** Every failed decryption, unwrap or re-wrap says so the same way (and says nothing else). */
const DECRYPT = "DECRYPT_FAILED" as const;
import {
  AES_256_KEY_LENGTH,
  CRYPTO_KEK_PASSPHRASE_ENV_VAR,
  GCM_NONCE_LENGTH,
  GCM_TAG_LENGTH,
  WRAPPED_DEK_LENGTH,
} from "./constants.js";
import {
  asBuffer,
  checkBytes,
  checkKey,
  open,
  randomPool,
  releaseRandom,
  reserveRandom,
  sealInto,
  type AesKey,
} from "./aes-gcm.js";
import { kekInternals, type KekInternals, type KekManager } from "./kek.js";
import { isPlainObject, pythonJsonDumps } from "./python-json.js";

const UNWRAP_FAILURE = "Failed to unwrap DEK: incorrect KEK or corrupted wrapped DEK.";
const DECRYPT_FAILURE =
  "Failed to decrypt secret. Check KEK passphrase, secret metadata, or database integrity.";
const DECRYPT_FAILURE_DEFAULT_PASSPHRASE =
  "Failed to decrypt secret. The server is using the default KEK passphrase, but the secret was " +
  "likely encrypted with a custom passphrase.\n\n" +
  "This typically happens when:\n" +
  `1. Secrets were created with ${CRYPTO_KEK_PASSPHRASE_ENV_VAR} set\n` +
  `2. The server was restarted without ${CRYPTO_KEK_PASSPHRASE_ENV_VAR}\n\n` +
  `To fix this, set ${CRYPTO_KEK_PASSPHRASE_ENV_VAR} to the same value that was used when the ` +
  "secrets were created:\n" +
  `  export ${CRYPTO_KEK_PASSPHRASE_ENV_VAR}='your-original-passphrase'\n\n` +
  "If you've lost the original passphrase, the encrypted secrets cannot be recovered and must be " +
  "recreated.";
const ROTATE_FAILURE =
  "Failed to rotate secret encryption. Check old KEK passphrase or database integrity.";

/** The bytes that AES-GCM authenticates alongside a value: `UTF-8(secretId + "|" + secretName)`. */
export function createAad(secretId: string, secretName: string): Buffer {
  if (typeof secretId !== "string" || typeof secretName !== "string") {
    throw invalidParameter("secretId and secretName must be strings");
  }
  return Buffer.from(`${secretId}|${secretName}`, "utf8");
}

/**
 * A fresh random 32-byte data-encryption key.
 *
 * @example
 * ```ts
 * const dek = generateDek(); // Buffer(32)
 * ```
 */
export function generateDek(): Buffer {
  return randomFillSync(Buffer.alloc(AES_256_KEY_LENGTH));
}

/** Wraps `dek` into `out` (nonce already at `out[0…12)`): the fast path for 32-byte DEKs. */
function sealDek(dek: Uint8Array, kek: KekInternals | AesKey, out: Buffer): void {
  if (!isAesKey(kek) && dek.length === AES_256_KEY_LENGTH) kek.wrapper.wrapInto(dek, out);
  else sealInto(isAesKey(kek) ? kek : kek.key, dek, undefined, out);
}

function isAesKey(kek: KekInternals | AesKey): kek is AesKey {
  return kek instanceof Uint8Array || !("wrapper" in kek);
}

function wrapWith(dek: Uint8Array, kek: KekInternals | AesKey): Buffer {
  const wrapped = Buffer.allocUnsafe(GCM_NONCE_LENGTH + dek.length + GCM_TAG_LENGTH);
  const offset = reserveRandom(GCM_NONCE_LENGTH);
  randomPool.copy(wrapped, 0, offset, offset + GCM_NONCE_LENGTH);
  releaseRandom(offset, GCM_NONCE_LENGTH);
  sealDek(dek, kek, wrapped);
  return wrapped;
}

function unwrapWith(wrappedDek: Uint8Array, kek: KekInternals | AesKey): Buffer {
  if (!isAesKey(kek) && wrappedDek.length === WRAPPED_DEK_LENGTH) {
    const dek = kek.wrapper.unwrap(wrappedDek);
    if (dek !== undefined) return dek;
    throw new MlflowSecretsError(UNWRAP_FAILURE, "INVALID_PARAMETER_VALUE", { reason: DECRYPT });
  }
  try {
    return open(isAesKey(kek) ? kek : kek.key, wrappedDek, undefined);
  } catch (err) {
    throw new MlflowSecretsError(UNWRAP_FAILURE, "INVALID_PARAMETER_VALUE", {
      cause: err,
      reason: DECRYPT,
    });
  }
}

/**
 * Wraps (encrypts) a DEK with a KEK: `nonce(12) ‖ AES-256-GCM(KEK, DEK) ‖ tag(16)`, 60 bytes.
 *
 * @example
 * ```ts
 * const wrappedDek = wrapDek(generateDek(), kek.getKek());
 * ```
 */
export function wrapDek(dek: Uint8Array, kek: Uint8Array): Buffer {
  checkKey(kek);
  checkBytes(dek, "dek");
  return wrapWith(dek, kek);
}

/**
 * Unwraps a DEK. A wrong KEK or a corrupted wrapped DEK gives MLflow's unwrap error.
 *
 * @example
 * ```ts
 * const dek = unwrapDek(wrappedDek, kek.getKek());
 * ```
 */
export function unwrapDek(wrappedDek: Uint8Array, kek: Uint8Array): Buffer {
  checkKey(kek);
  checkBytes(wrappedDek, "wrappedDek");
  if (wrappedDek.length < GCM_NONCE_LENGTH) {
    // MLflow lets the length error through unwrapped.
    return open(kek, wrappedDek, undefined);
  }
  return unwrapWith(wrappedDek, kek);
}

/** The result of encrypting one secret value: what the `secrets` table stores. */
export interface EncryptedSecret {
  /** `nonce(12) ‖ AES-256-GCM(DEK, plaintext, AAD) ‖ tag(16)`. */
  encryptedValue: Buffer;
  /** The DEK wrapped by the KEK, 60 bytes. */
  wrappedDek: Buffer;
  /** The KEK version that wrapped the DEK. */
  kekVersion: number;
}

/**
 * Encrypts plaintext bytes under a fresh DEK and wraps the DEK (package-internal: the store
 * passes its own JSON flavour, and {@link encryptSecret} the sorted one).
 */
export function encryptPlaintext(
  plaintext: Uint8Array,
  kek: KekManager,
  secretId: string,
  secretName: string,
): EncryptedSecret {
  const internals = kekInternals(kek);
  const aad = createAad(secretId, secretName);
  const encryptedValue = Buffer.allocUnsafe(GCM_NONCE_LENGTH + plaintext.length + GCM_TAG_LENGTH);
  const wrappedDek = Buffer.allocUnsafe(WRAPPED_DEK_LENGTH);
  // One draw for both nonces and the DEK; the DEK is used in place and zeroed right after.
  const length = 2 * GCM_NONCE_LENGTH + AES_256_KEY_LENGTH;
  const offset = reserveRandom(length);
  randomPool.copy(encryptedValue, 0, offset, offset + GCM_NONCE_LENGTH);
  randomPool.copy(wrappedDek, 0, offset + GCM_NONCE_LENGTH, offset + 2 * GCM_NONCE_LENGTH);
  const dek = randomPool.subarray(offset + 2 * GCM_NONCE_LENGTH, offset + length);
  try {
    sealInto(dek, plaintext, aad, encryptedValue);
    sealDek(dek, internals, wrappedDek);
  } finally {
    releaseRandom(offset, length);
  }
  return { encryptedValue, wrappedDek, kekVersion: kek.kekVersion };
}

/**
 * Encrypts a secret with envelope encryption, bound to its id and name (AAD).
 * A string is encrypted as its UTF-8 bytes; an object as Python's
 * `json.dumps(value, sort_keys=True)`, exactly as MLflow's `_encrypt_secret`.
 *
 * @example
 * ```ts
 * const kek = await KekManager.create({ passphrase: "from your secrets manager" });
 * const { encryptedValue, wrappedDek, kekVersion } =
 *   encryptSecret({ api_key: "sk-..." }, kek, "s-0123…", "openai-prod");
 * ```
 */
export function encryptSecret(
  value: string | Record<string, unknown>,
  kek: KekManager,
  secretId: string,
  secretName: string,
): EncryptedSecret {
  let plaintext: Buffer;
  if (typeof value === "string") {
    plaintext = Buffer.from(value, "utf8");
  } else if (isPlainObject(value)) {
    plaintext = Buffer.from(pythonJsonDumps(value, { sortKeys: true }), "utf8");
  } else {
    throw invalidParameter(
      `Secret value must be a string or an object, got ${value === null ? "null" : Array.isArray(value) ? "an array" : typeof value}`,
    );
  }
  return encryptPlaintext(plaintext, kek, secretId, secretName);
}

/**
 * Decrypts a secret to its plaintext bytes (package-internal). Any failure — wrong KEK, id or name
 * that do not match the AAD, tampering — is one error that reveals nothing about which.
 */
export function decryptPlaintext(
  encryptedValue: Uint8Array,
  wrappedDek: Uint8Array,
  kek: KekManager,
  secretId: string,
  secretName: string,
): Buffer {
  const internals = kekInternals(kek);
  let dek: Buffer | undefined;
  try {
    checkBytes(encryptedValue, "encryptedValue");
    checkBytes(wrappedDek, "wrappedDek");
    dek = unwrapWith(wrappedDek, internals);
    return open(dek, encryptedValue, createAad(secretId, secretName));
  } catch (err) {
    const message = kek.usingDefaultPassphrase
      ? DECRYPT_FAILURE_DEFAULT_PASSPHRASE
      : DECRYPT_FAILURE;
    throw new MlflowSecretsError(message, "INVALID_PARAMETER_VALUE", {
      cause: err,
      reason: DECRYPT,
    });
  } finally {
    dek?.fill(0);
  }
}

/** The plaintext as text; invalid UTF-8 is a decryption failure, as in MLflow. */
export function decodePlaintext(plaintext: Buffer, kek: KekManager): string {
  if (!isUtf8(plaintext)) {
    const message = kek.usingDefaultPassphrase
      ? DECRYPT_FAILURE_DEFAULT_PASSPHRASE
      : DECRYPT_FAILURE;
    throw new MlflowSecretsError(message, "INVALID_PARAMETER_VALUE", { reason: DECRYPT });
  }
  return plaintext.toString("utf8");
}

/** JSON whitespace, as Python's `json.loads` skips it before a value. */
function firstNonWhitespace(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit !== 0x20 && unit !== 0x09 && unit !== 0x0a && unit !== 0x0d) return unit;
  }
  return -1;
}

/**
 * Decrypts a secret. Returns an object when the plaintext is a JSON object, otherwise the
 * plaintext string itself (MLflow would turn a string secret such as `"12345678"` into a number).
 *
 * @throws MlflowSecretsError `INVALID_PARAMETER_VALUE` with MLflow's message (the longer one when
 * the default passphrase is in use); it never reveals which check failed.
 * @example
 * ```ts
 * const value = decryptSecret(row.encrypted_value, row.wrapped_dek, kek, row.secret_id, row.secret_name);
 * ```
 */
export function decryptSecret(
  encryptedValue: Uint8Array,
  wrappedDek: Uint8Array,
  kek: KekManager,
  secretId: string,
  secretName: string,
): string | Record<string, unknown> {
  const text = decodePlaintext(
    decryptPlaintext(encryptedValue, wrappedDek, kek, secretId, secretName),
    kek,
  );
  // Only an object is returned parsed, so only text that can be one is handed to JSON.parse.
  if (firstNonWhitespace(text) === 0x7b /* { */) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (isPlainObject(parsed)) return parsed;
    } catch {
      // not JSON: the string itself
    }
  }
  return text;
}

/**
 * Re-wraps a secret's DEK from an old KEK to a new one (fresh nonce). The value's ciphertext is
 * untouched: rotation never decrypts a secret value.
 *
 * @example
 * ```ts
 * const rotated = rotateSecretEncryption(row.encrypted_value, row.wrapped_dek, oldKek, newKek);
 * // store rotated.wrappedDek and newKek.kekVersion
 * ```
 */
export function rotateSecretEncryption(
  encryptedValue: Uint8Array,
  wrappedDek: Uint8Array,
  oldKek: KekManager,
  newKek: KekManager,
): { encryptedValue: Buffer; wrappedDek: Buffer } {
  checkBytes(encryptedValue, "encryptedValue");
  return {
    encryptedValue: asBuffer(encryptedValue),
    wrappedDek: rewrapDek(wrappedDek, oldKek, newKek),
  };
}

/** Unwraps with `oldKek` and wraps with `newKek`. */
function rewrapDek(wrappedDek: Uint8Array, oldKek: KekManager, newKek: KekManager): Buffer {
  const oldKey = kekInternals(oldKek);
  const newKey = kekInternals(newKek);
  let dek: Buffer | undefined;
  try {
    checkBytes(wrappedDek, "wrappedDek");
    dek = unwrapWith(wrappedDek, oldKey);
    return wrapWith(dek, newKey);
  } catch (err) {
    throw new MlflowSecretsError(ROTATE_FAILURE, "INVALID_PARAMETER_VALUE", {
      cause: err,
      reason: DECRYPT,
    });
  } finally {
    dek?.fill(0);
  }
}

/**
 * Re-wraps `count` wrapped DEKs packed back to back (60 bytes each) from `oldKek` to `newKek`,
 * writing the results at the same offsets of `output` (package-internal; the rotation engine's
 * batch step, which may run in a worker thread). Every output gets a fresh nonce.
 *
 * @returns the index of the first DEK that does not unwrap with `oldKek` (nothing after it is
 * written), or -1 when all were re-wrapped.
 */
export function rewrapPackedDeks(
  input: Uint8Array,
  output: Buffer,
  oldKek: KekManager,
  newKek: KekManager,
): number {
  const oldKey = kekInternals(oldKek).wrapper;
  const newKey = kekInternals(newKek).wrapper;
  const count = Math.floor(input.length / WRAPPED_DEK_LENGTH);
  if (input.length !== count * WRAPPED_DEK_LENGTH || output.length < input.length) {
    throw invalidParameter(`packed wrapped DEKs must be a multiple of ${WRAPPED_DEK_LENGTH} bytes`);
  }
  return oldKey.rewrapInto(input, output, newKey);
}

/** Unwraps a DEK with a managed KEK (package-internal: start-up checks and `crypto status --verify`). */
export function unwrapDekWith(wrappedDek: Uint8Array, kek: KekManager): Buffer {
  checkBytes(wrappedDek, "wrappedDek");
  return unwrapWith(wrappedDek, kekInternals(kek));
}
