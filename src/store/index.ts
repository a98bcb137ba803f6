/** The secret store over SQL: MLflow's `secrets` table, three dialects, the keyring. */
export { openSecretStore, resolveBackendStoreUri, type OpenSecretStoreOptions } from "./open.js";
export {
  DEFAULT_WORKSPACE,
  MAX_AUTH_CONFIG_BYTES,
  MAX_AUTH_CONFIG_DEPTH,
  MAX_MASKED_VALUE_LENGTH,
  MAX_PAGE_SIZE,
  MAX_PLAINTEXT_BYTES,
  SecretStore,
  type CreateSecretInput,
  type GetSecretInput,
  type ListSecretsInput,
  type SecretOperations,
  type SecretPage,
  type SecretTransaction,
  type StoreLayout,
  type UpdateSecretInput,
} from "./secret-store.js";
export type { SecretInfo } from "./secret-info.js";
export { Keyring, type KeyringOptions } from "./keyring.js";
export { DEFAULT_BACKEND_STORE_URI, parseDatabaseUri, redactUri, type DialectName } from "./uri.js";
export { LATEST_SCHEMA_VERSION } from "./migrations.js";
