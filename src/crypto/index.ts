/** The envelope-encryption core: pure functions over bytes, node:crypto only, no I/O. */
export {
  AES_256_KEY_LENGTH,
  CRYPTO_KEK_PASSPHRASE_ENV_VAR,
  CRYPTO_KEK_VERSION_ENV_VAR,
  DEFAULT_KEK_PASSPHRASE,
  GCM_NONCE_LENGTH,
  GCM_TAG_LENGTH,
  MAX_KEK_VERSION,
  MLFLOW_KEK_SALT,
  PBKDF2_ITERATIONS,
  WRAPPED_DEK_LENGTH,
  validateKekVersion,
} from "./constants.js";
export { decryptWithAesGcm, encryptWithAesGcm } from "./aes-gcm.js";
export { KekManager, deriveKek, type KekManagerOptions } from "./kek.js";
export {
  createAad,
  decryptSecret,
  encryptSecret,
  generateDek,
  rotateSecretEncryption,
  unwrapDek,
  wrapDek,
  type EncryptedSecret,
} from "./envelope.js";
export { maskSecretValue, maskSecretValues } from "./mask.js";
export { pythonJsonDumps } from "./python-json.js";
