/**
 * AES-256-GCM in MLflow's layout: `nonce(12) ‖ ciphertext ‖ tag(16)`.
 *
 * The hot paths write straight into pre-sized output buffers and draw nonces and DEKs from a pooled
 * CSPRNG buffer: per call, cipher set-up is then the only real cost left.
 */
import { createCipheriv, createDecipheriv, randomFillSync, type KeyObject } from "node:crypto";
import { MlflowSecretsError, invalidParameter } from "../errors.js";
import { AES_256_KEY_LENGTH, GCM_NONCE_LENGTH, GCM_TAG_LENGTH } from "./constants.js";

/** A 32-byte AES key, as raw bytes or as a `KeyObject` built once for a long-lived key (a KEK). */
export type AesKey = Uint8Array | KeyObject;

const ALGORITHM = "aes-256-gcm";
const GCM_OPTIONS = { authTagLength: GCM_TAG_LENGTH } as const;
const OVERHEAD = GCM_NONCE_LENGTH + GCM_TAG_LENGTH;

const TAG_FAILURE =
  "AES-GCM decryption failed: authentication tag verification failed. " +
  "This indicates wrong key, AAD mismatch, or data tampering.";

// ---------------------------------------------------------------------------------------------
// Pooled randomness. Every byte handed out is copied to its destination (or used synchronously)
// and then zeroed in the pool, so no DEK lingers and no byte is ever handed out twice.
// ---------------------------------------------------------------------------------------------
const POOL_SIZE = 16 * 1024;
const pool = Buffer.alloc(POOL_SIZE);
let poolOffset = POOL_SIZE;

/**
 * Reserves `length` fresh random bytes in the pool and returns their offset. The caller must use
 * them before its next call into this module and then call {@link releaseRandom}.
 */
export function reserveRandom(length: number): number {
  if (poolOffset + length > POOL_SIZE) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const offset = poolOffset;
  poolOffset += length;
  return offset;
}

/** The pool, for callers of {@link reserveRandom}. */
export const randomPool: Buffer = pool;

/** Zeroes random bytes once they have been used. */
export function releaseRandom(offset: number, length: number): void {
  pool.fill(0, offset, offset + length);
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

/** Throws MLflow's key-length error unless `key` is 32 bytes. */
export function checkKey(key: unknown): asserts key is Uint8Array {
  if (!(key instanceof Uint8Array)) {
    throw invalidParameter(`Key must be ${AES_256_KEY_LENGTH} bytes (256 bits), got ${typeof key}`);
  }
  if (key.length !== AES_256_KEY_LENGTH) {
    throw invalidParameter(`Key must be ${AES_256_KEY_LENGTH} bytes (256 bits), got ${key.length}`);
  }
}

export function checkBytes(value: unknown, name: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw invalidParameter(`${name} must be a Uint8Array, got ${typeof value}`);
  }
}

/** A Buffer view of the same memory (no copy). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

// ---------------------------------------------------------------------------------------------
// Core operations (no argument checks: callers validate once at the public boundary)
// ---------------------------------------------------------------------------------------------

/**
 * Encrypts `plaintext` into `out`, whose first 12 bytes already hold the nonce; `out` must be
 * exactly `28 + plaintext.length` bytes.
 */
export function sealInto(
  key: AesKey,
  plaintext: Uint8Array,
  aad: Uint8Array | undefined,
  out: Buffer,
): void {
  // GCM's default tag is 16 bytes; passing no options object saves measurable time per call.
  const cipher = createCipheriv(ALGORITHM, key, out.subarray(0, GCM_NONCE_LENGTH));
  if (aad !== undefined) cipher.setAAD(aad);
  const body = cipher.update(plaintext);
  cipher.final(); // GCM emits nothing here; it computes the tag
  body.copy(out, GCM_NONCE_LENGTH);
  cipher.getAuthTag().copy(out, GCM_NONCE_LENGTH + body.length);
}

/**
 * Decrypts `nonce ‖ ciphertext ‖ tag`. Throws MLflow's tag-failure error for anything that does
 * not authenticate, including data too short to hold a tag. Never returns unauthenticated bytes.
 */
export function open(key: AesKey, data: Uint8Array, aad: Uint8Array | undefined): Buffer {
  if (data.length < GCM_NONCE_LENGTH) {
    throw invalidParameter(`Ciphertext too short (must be at least ${GCM_NONCE_LENGTH} bytes)`);
  }
  if (data.length < OVERHEAD) {
    throw new MlflowSecretsError(TAG_FAILURE, "INVALID_PARAMETER_VALUE", {
      reason: "DECRYPT_FAILED",
    });
  }
  const tagStart = data.length - GCM_TAG_LENGTH;
  try {
    const decipher = createDecipheriv(
      ALGORITHM,
      key,
      data.subarray(0, GCM_NONCE_LENGTH),
      GCM_OPTIONS,
    );
    decipher.setAuthTag(data.subarray(tagStart));
    if (aad !== undefined) decipher.setAAD(aad);
    const plaintext = decipher.update(data.subarray(GCM_NONCE_LENGTH, tagStart));
    decipher.final(); // throws when the tag does not verify
    return plaintext;
  } catch (err) {
    throw new MlflowSecretsError(TAG_FAILURE, "INVALID_PARAMETER_VALUE", {
      cause: err,
      reason: "DECRYPT_FAILED",
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

/**
 * Encrypts with AES-256-GCM. The nonce is random unless given (tests and known-answer vectors only:
 * reusing a nonce under one key destroys GCM's security).
 *
 * @returns the nonce, and the ciphertext with the 16-byte tag appended (nonce excluded).
 * @example
 * ```ts
 * const { nonce, ciphertext } = encryptWithAesGcm(Buffer.from("hi"), key, { aad: Buffer.from("id|name") });
 * const stored = Buffer.concat([nonce, ciphertext]); // MLflow's layout
 * ```
 */
export function encryptWithAesGcm(
  plaintext: Uint8Array,
  key: Uint8Array,
  options: { aad?: Uint8Array; nonce?: Uint8Array } = {},
): { nonce: Buffer; ciphertext: Buffer } {
  checkKey(key);
  checkBytes(plaintext, "plaintext");
  if (options.aad !== undefined) checkBytes(options.aad, "aad");
  const out = Buffer.allocUnsafe(OVERHEAD + plaintext.length);
  if (options.nonce === undefined) {
    const offset = reserveRandom(GCM_NONCE_LENGTH);
    randomPool.copy(out, 0, offset, offset + GCM_NONCE_LENGTH);
    releaseRandom(offset, GCM_NONCE_LENGTH);
  } else {
    checkBytes(options.nonce, "nonce");
    if (options.nonce.length !== GCM_NONCE_LENGTH) {
      throw invalidParameter(
        `Nonce must be ${GCM_NONCE_LENGTH} bytes, got ${options.nonce.length}`,
      );
    }
    out.set(options.nonce, 0);
  }
  sealInto(key, plaintext, options.aad, out);
  return { nonce: out.subarray(0, GCM_NONCE_LENGTH), ciphertext: out.subarray(GCM_NONCE_LENGTH) };
}

/**
 * Decrypts MLflow's AES-256-GCM layout `nonce(12) ‖ ciphertext ‖ tag(16)`.
 *
 * @throws MlflowSecretsError `INVALID_PARAMETER_VALUE`: wrong key length, data shorter than 12
 * bytes, or a tag that does not verify (wrong key, AAD mismatch, tampering).
 * @example
 * ```ts
 * const plaintext = decryptWithAesGcm(stored, key, Buffer.from("id|name"));
 * ```
 */
export function decryptWithAesGcm(data: Uint8Array, key: Uint8Array, aad?: Uint8Array): Buffer {
  checkKey(key);
  checkBytes(data, "data");
  if (aad !== undefined) checkBytes(aad, "aad");
  return open(key, data, aad);
}
