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

/**
 * A stored JSON object, or undefined when the column is empty or not an object. `JSON.parse`
 * defines every key — `__proto__` included — as an own data property, so the result is plain
 * data as it is (callers must not `Object.assign` it onto another object).
 */
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

const ROW_FIELDS = [
  "secret_name",
  "kek_version",
  "masked_value",
  "provider",
  "auth_config",
  "created_by",
  "created_at",
  "last_updated_by",
  "last_updated_at",
  "workspace",
] as const;

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}

/**
 * Reuses a secret's (frozen) SecretInfo while its row is unchanged, so listing thousands of
 * secrets does not re-parse every mask and auth config on every call. Only the metadata columns
 * above are remembered — never ciphertext. Bounded; the oldest entry goes first.
 */
export class SecretInfoCache {
  readonly #entries = new Map<string, { row: Partial<SecretInfoRow>; info: SecretInfo }>();

  constructor(private readonly maxEntries = 50_000) {}

  /**
   * The cached SecretInfo of a secret at this version (kek_version, last_updated_at), if any.
   * Every update moves last_updated_at forward and rotation changes kek_version.
   */
  atVersion(secretId: string, kekVersion: number, lastUpdatedAt: number): SecretInfo | undefined {
    const cached = this.#entries.get(secretId);
    return cached !== undefined &&
      Number(cached.row.kek_version) === kekVersion &&
      Number(cached.row.last_updated_at) === lastUpdatedAt
      ? cached.info
      : undefined;
  }

  infoOf(row: SecretInfoRow): SecretInfo {
    const cached = this.#entries.get(row.secret_id);
    if (cached !== undefined && ROW_FIELDS.every((field) => cached.row[field] === row[field])) {
      return cached.info;
    }
    const info = deepFreeze(secretInfoFromRow(row));
    if (cached !== undefined) {
      this.#entries.delete(row.secret_id);
    } else if (this.#entries.size >= this.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    const snapshot: Partial<Record<(typeof ROW_FIELDS)[number], unknown>> = {};
    for (const field of ROW_FIELDS) snapshot[field] = row[field];
    this.#entries.set(row.secret_id, { row: snapshot as Partial<SecretInfoRow>, info });
    return info;
  }
}
