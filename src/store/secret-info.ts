/**
 * A secret's metadata — what may be shown to anyone allowed to see the secret. It never holds
 * ciphertext or plaintext; building it from a row is an allowlist of columns.
 */

/** Metadata of one secret. */
export interface SecretInfo {
  secretId: string;
  secretName: string;
  /** Per-key display masks, e.g. `{ api_key: "sk-...cdef" }`. */
  maskedValues: Record<string, string>;
  provider?: string;
  /** Non-secret settings stored in plaintext (e.g. `api_base`, `api_version`). */
  authConfig?: Record<string, unknown>;
  createdBy?: string;
  /** Epoch milliseconds. */
  createdAt: number;
  lastUpdatedBy?: string;
  /** Epoch milliseconds. */
  lastUpdatedAt: number;
  workspace: string;
  /** The KEK version that wraps this secret's DEK. */
  kekVersion: number;
}

/** The row columns a SecretInfo is built from. */
export interface SecretInfoRow {
  secret_id: string;
  secret_name: string;
  kek_version: number;
  masked_value: string;
  provider: string | null;
  auth_config: string | null;
  created_by: string | null;
  created_at: number | string;
  last_updated_by: string | null;
  last_updated_at: number | string;
  workspace: string;
}

/** A JSON object's own properties, copied so that a key such as `__proto__` stays plain data. */
function parseObject(text: string | null): Record<string, unknown> | undefined {
  if (text === null || text === "") return undefined;
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      return value as Record<string, unknown>;
    }
  } catch {
    // fall through
  }
  return undefined;
}

function parseMasks(text: string): Record<string, string> {
  const parsed = parseObject(text);
  if (parsed === undefined) return { value: "***" }; // as MLflow, for an unreadable column
  const masks: Record<string, string> = {};
  for (const key of Object.keys(parsed)) {
    const mask = parsed[key];
    Object.defineProperty(masks, key, {
      value: typeof mask === "string" ? mask : "***",
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return masks;
}

export function secretInfoFromRow(row: SecretInfoRow): SecretInfo {
  const info: SecretInfo = {
    secretId: row.secret_id,
    secretName: row.secret_name,
    maskedValues: parseMasks(row.masked_value),
    createdAt: Number(row.created_at),
    lastUpdatedAt: Number(row.last_updated_at),
    workspace: row.workspace,
    kekVersion: Number(row.kek_version),
  };
  if (row.provider !== null) info.provider = row.provider;
  const authConfig = parseObject(row.auth_config);
  if (authConfig !== undefined) info.authConfig = authConfig;
  if (row.created_by !== null) info.createdBy = row.created_by;
  if (row.last_updated_by !== null) info.lastUpdatedBy = row.last_updated_by;
  return info;
}

/** MLflow's REST representation (`GatewaySecretInfo`); absent fields are omitted. */
export interface RestSecretInfo {
  secret_id: string;
  secret_name: string;
  masked_values: Record<string, string>;
  provider?: string;
  auth_config?: Record<string, unknown>;
  auth_config_json?: string;
  created_by?: string;
  created_at: number;
  last_updated_by?: string;
  last_updated_at: number;
  workspace: string;
}

/**
 * The REST form of a SecretInfo, shared by the server and `--output json`.
 *
 * @example
 * ```ts
 * toRestSecretInfo(info); // { secret_id: "s-…", secret_name: "openai-prod", masked_values: {…}, … }
 * ```
 */
export function toRestSecretInfo(info: SecretInfo): RestSecretInfo {
  const rest: RestSecretInfo = {
    secret_id: info.secretId,
    secret_name: info.secretName,
    masked_values: info.maskedValues,
    created_at: info.createdAt,
    last_updated_at: info.lastUpdatedAt,
    workspace: info.workspace,
  };
  if (info.provider !== undefined) rest.provider = info.provider;
  if (info.authConfig !== undefined) {
    rest.auth_config = info.authConfig;
    rest.auth_config_json = JSON.stringify(info.authConfig);
  }
  if (info.createdBy !== undefined) rest.created_by = info.createdBy;
  if (info.lastUpdatedBy !== undefined) rest.last_updated_by = info.lastUpdatedBy;
  return rest;
}
