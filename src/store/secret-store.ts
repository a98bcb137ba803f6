/**
 * The secret store: MLflow's `secrets` table over any dialect, with the keyring.
 *
 * Rules (MLflow's, plus what MLflow lacks): values are non-empty string → string objects, stored
 * as Python `json.dumps` text; an update with a value re-encrypts under a new DEK and the current
 * KEK in one statement; id and name never change (they are the AAD); every read decrypts with the
 * KEK of the row's own `kek_version`.
 */
import { randomUUID } from "node:crypto";
import type { KekManager } from "../crypto/index.js";
import { maskSecretValues } from "../crypto/index.js";
import {
  decodePlaintext,
  decryptPlaintext,
  encryptPlaintext,
  isPlainObject,
  pythonJsonDumps,
  unwrapDekWith,
} from "../crypto/internal.js";
import { MlflowSecretsError, invalidParameter } from "../errors.js";
import type { Dialect, SqlExecutor } from "./dialect.js";
import type { Keyring } from "./keyring.js";
import { SecretInfoCache, type SecretInfo, type SecretInfoRow } from "./secret-info.js";

export const DEFAULT_WORKSPACE = "default";
/** MySQL's BLOB holds 64 KiB; a value's plaintext is capped below that on every dialect. */
export const MAX_PLAINTEXT_BYTES = 60 * 1024;
export const MAX_MASKED_VALUE_LENGTH = 500;
export const MAX_PAGE_SIZE = 1000;
/** MySQL's TEXT holds 64 KiB: the auth config's JSON is capped below that on every dialect. */
export const MAX_AUTH_CONFIG_BYTES = 60 * 1024;
/** How deeply an auth config's JSON may nest (it is serialised recursively). */
export const MAX_AUTH_CONFIG_DEPTH = 32;
const FILTERED_SCAN_BATCH = 500;
/** Ids per `secret_id IN (…)` query (well below every dialect's parameter limit). */
const ROWS_PER_IN_QUERY = 500;

/** What identifies a row's version: its id, and kek_version with last_updated_at. */
interface RowVersion extends Record<string, unknown> {
  secret_id: string;
  secret_name: string;
  kek_version: number;
  last_updated_at: number | string;
}

export interface CreateSecretInput {
  secretName: string;
  secretValue: Record<string, string>;
  provider?: string;
  authConfig?: Record<string, unknown>;
  createdBy?: string;
  workspace?: string;
}

export type GetSecretInput =
  | { secretId: string; secretName?: undefined; workspace?: string }
  | { secretName: string; secretId?: undefined; workspace?: string };

export interface UpdateSecretInput {
  secretId: string;
  /** A new value: re-encrypted with a new DEK under the current KEK. */
  secretValue?: Record<string, string>;
  /** undefined = unchanged, `{}` = cleared, otherwise replaced. */
  authConfig?: Record<string, unknown>;
  updatedBy?: string;
  workspace?: string;
}

export interface ListSecretsInput {
  provider?: string;
  workspace?: string;
  /** Page size (1 … 1000); omitted = every secret at once, as MLflow. */
  maxResults?: number;
  pageToken?: string;
  /**
   * Only secrets for which this returns true (e.g. those a user may read); pages are filled with
   * matching secrets only.
   */
  filter?: (info: SecretInfo) => boolean;
}

export interface SecretPage {
  secrets: SecretInfo[];
  nextPageToken?: string;
}

/** The secret operations, run on one connection or transaction. */
export interface SecretOperations {
  createSecret(input: CreateSecretInput): Promise<SecretInfo>;
  getSecretInfo(input: GetSecretInput): Promise<SecretInfo>;
  updateSecret(input: UpdateSecretInput): Promise<SecretInfo>;
  deleteSecret(input: { secretId: string; workspace?: string }): Promise<SecretInfo>;
  listSecretInfos(input?: ListSecretsInput): Promise<SecretPage>;
  /** Decrypts a value: server-side only. */
  getSecretValue(input: { secretId: string; workspace?: string }): Promise<Record<string, string>>;
  /** A secret's metadata and its decrypted value, from one read (server-side only). */
  getSecretWithValue(input: {
    secretId: string;
    workspace?: string;
  }): Promise<{ info: SecretInfo; value: Record<string, string> }>;
}

/** Operations inside `store.transaction`, plus the transaction's executor for other tables. */
export interface SecretTransaction extends SecretOperations {
  readonly executor: SqlExecutor;
}

/** Facts about the opened database. */
export interface StoreLayout {
  /** `alembic_version` exists: MLflow owns the schema. */
  mlflowManaged: boolean;
  /** `secrets.workspace` exists (MLflow ≥ workspaces, and every table we create). */
  hasWorkspaceColumn: boolean;
  /** The database URI with its password masked. */
  uri: string;
}

function codePoints(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

function checkText(
  value: unknown,
  field: string,
  max: number,
  options: { required?: boolean } = {},
): string | undefined {
  if (value === undefined || value === null) {
    if (options.required)
      throw invalidParameter(`Missing value for required parameter '${field}'.`);
    return undefined;
  }
  if (typeof value !== "string")
    throw invalidParameter(`${field} must be a string, got ${typeof value}`);
  if (value === "" && options.required)
    throw invalidParameter(`Missing value for required parameter '${field}'.`);
  const length = codePoints(value);
  if (length > max)
    throw invalidParameter(`${field} must be at most ${max} characters, got ${length}`);
  return value;
}

function checkSecretValue(value: unknown): Record<string, string> {
  if (!isPlainObject(value) || Object.keys(value).length === 0) {
    throw invalidParameter(
      "secret_value must be a non-empty object of string keys to string values",
    );
  }
  for (const key of Object.keys(value)) {
    if (typeof value[key] !== "string") {
      throw invalidParameter(
        `secret_value['${key.slice(0, 64)}'] must be a string, got ${typeof value[key]}`,
      );
    }
  }
  return value as Record<string, string>;
}

/** True when `value` nests arrays or objects deeper than `limit` levels. */
function nestsDeeperThan(value: unknown, limit: number): boolean {
  if (typeof value !== "object" || value === null) return false;
  if (limit === 0) return true;
  const children = Array.isArray(value) ? value : Object.values(value);
  return children.some((child) => nestsDeeperThan(child, limit - 1));
}

function checkAuthConfig(value: unknown): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isPlainObject(value)) throw invalidParameter("auth_config must be a JSON object");
  if (nestsDeeperThan(value, MAX_AUTH_CONFIG_DEPTH)) {
    throw invalidParameter(`auth_config must not nest deeper than ${MAX_AUTH_CONFIG_DEPTH} levels`);
  }
  return value;
}

/** The bytes MLflow's store encrypts (`json.dumps(dict)`, insertion order) and the mask column. */
function serialiseValue(value: Record<string, string>): { plaintext: Buffer; maskedValue: string } {
  const plaintext = Buffer.from(pythonJsonDumps(value), "utf8");
  if (plaintext.length > MAX_PLAINTEXT_BYTES) {
    throw invalidParameter(
      `secret_value is too large: ${plaintext.length} bytes as JSON, the limit is ${MAX_PLAINTEXT_BYTES} (60 KiB)`,
    );
  }
  const maskedValue = pythonJsonDumps(maskSecretValues(value));
  if (maskedValue.length > MAX_MASKED_VALUE_LENGTH) {
    throw invalidParameter(
      `secret_value has too many or too long keys: their masks take ${maskedValue.length} characters, the limit is ${MAX_MASKED_VALUE_LENGTH}`,
    );
  }
  return { plaintext, maskedValue };
}

function serialiseAuthConfig(value: Record<string, unknown> | undefined): string | null {
  if (value === undefined || Object.keys(value).length === 0) return null;
  const text = pythonJsonDumps(value);
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > MAX_AUTH_CONFIG_BYTES) {
    throw invalidParameter(
      `auth_config is too large: ${bytes} bytes as JSON, the limit is ${MAX_AUTH_CONFIG_BYTES} (60 KiB)`,
    );
  }
  return text;
}

/**
 * Checks a secret as `createSecret` would (name, value, provider, auth config, their sizes and
 * the masks' length) without writing anything: throws the same `INVALID_PARAMETER_VALUE` error.
 * For validating a whole file of secrets before the first one is written.
 *
 * @example
 * ```ts
 * checkSecretInput({ secretName: "openai", secretValue: { api_key: "sk-…" } });
 * ```
 */
export function checkSecretInput(
  input: Pick<CreateSecretInput, "secretName" | "secretValue" | "provider" | "authConfig">,
): void {
  checkText(input.secretName, "secret_name", 255, { required: true });
  const value = checkSecretValue(input.secretValue);
  checkText(input.provider, "provider", 64);
  serialiseAuthConfig(checkAuthConfig(input.authConfig));
  serialiseValue(value).plaintext.fill(0);
}

function newSecretId(): string {
  return `s-${randomUUID().replaceAll("-", "")}`;
}

function encodePageToken(lastName: string): string {
  return Buffer.from(JSON.stringify({ after: lastName }), "utf8").toString("base64url");
}

function decodePageToken(token: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as {
      after?: unknown;
    };
    if (typeof parsed.after === "string") return parsed.after;
  } catch {
    // fall through
  }
  throw invalidParameter("Invalid page_token");
}

function notFound(what: string): MlflowSecretsError {
  return new MlflowSecretsError(`Secret ${what} not found`, "RESOURCE_DOES_NOT_EXIST");
}

interface ValueRow extends SecretInfoRow, Record<string, unknown> {
  encrypted_value: Buffer;
  wrapped_dek: Buffer;
}

/** SQL built once per store, for the table's actual shape. */
class Statements {
  readonly infoColumns: string;
  readonly insert: string;
  readonly byId: string;
  readonly byIdPrefix: string;
  readonly byName: string;
  readonly valueById: string;
  constructor(
    readonly dialect: Dialect,
    readonly hasWorkspace: boolean,
  ) {
    const workspace = hasWorkspace ? "workspace" : `'${DEFAULT_WORKSPACE}' AS workspace`;
    this.infoColumns = `secret_id, secret_name, kek_version, masked_value, provider, auth_config, created_by, created_at, last_updated_by, last_updated_at, ${workspace}`;
    const columns =
      "secret_id, secret_name, encrypted_value, wrapped_dek, kek_version, masked_value, provider, auth_config, created_by, created_at, last_updated_by, last_updated_at";
    this.insert = hasWorkspace
      ? `INSERT INTO secrets (${columns}, workspace) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
      : `INSERT INTO secrets (${columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
    this.byId = `SELECT ${this.infoColumns} FROM secrets WHERE secret_id = ?`;
    this.byIdPrefix = `SELECT ${this.infoColumns} FROM secrets WHERE secret_id`;
    this.byName = `SELECT ${this.infoColumns} FROM secrets WHERE secret_name = ?${hasWorkspace ? " AND workspace = ?" : ""}`;
    this.valueById = `SELECT ${this.infoColumns}, encrypted_value, wrapped_dek FROM secrets WHERE secret_id = ?`;
  }
}

/**
 * The store. Open it with `openSecretStore()`; share one per process.
 *
 * @example
 * ```ts
 * const store = await openSecretStore({ uri: "sqlite:///mlflow.db" });
 * const info = await store.createSecret({ secretName: "openai-prod", secretValue: { api_key: "sk-…" }, provider: "openai" });
 * const value = await store.getSecretValue({ secretId: info.secretId }); // { api_key: "sk-…" }
 * await store.close();
 * ```
 */
export class SecretStore {
  readonly #dialect: Dialect;
  readonly #keyring: Keyring;
  readonly #sql: Statements;
  readonly #direct: SecretOperations;
  readonly #infos = new SecretInfoCache();
  /** Facts about the opened database. */
  readonly layout: StoreLayout;

  constructor(dialect: Dialect, keyring: Keyring, layout: StoreLayout) {
    this.#dialect = dialect;
    this.#keyring = keyring;
    this.layout = Object.freeze({ ...layout });
    this.#sql = new Statements(dialect, layout.hasWorkspaceColumn);
    this.#direct = this.#operations(dialect);
  }

  /** The keyring this store decrypts and encrypts with. */
  get keyring(): Keyring {
    return this.#keyring;
  }

  /** The dialect (package-internal: the server's own tables and the rotation engine use it). */
  get dialect(): Dialect {
    return this.#dialect;
  }

  createSecret(input: CreateSecretInput): Promise<SecretInfo> {
    return this.transaction((tx) => tx.createSecret(input));
  }

  getSecretInfo(input: GetSecretInput): Promise<SecretInfo> {
    return this.#direct.getSecretInfo(input);
  }

  updateSecret(input: UpdateSecretInput): Promise<SecretInfo> {
    return this.transaction((tx) => tx.updateSecret(input));
  }

  async deleteSecret(input: { secretId: string; workspace?: string }): Promise<void> {
    await this.transaction((tx) => tx.deleteSecret(input));
  }

  listSecretInfos(input: ListSecretsInput = {}): Promise<SecretPage> {
    return this.#direct.listSecretInfos(input);
  }

  getSecretValue(input: { secretId: string; workspace?: string }): Promise<Record<string, string>> {
    return this.#direct.getSecretValue(input);
  }

  getSecretWithValue(input: {
    secretId: string;
    workspace?: string;
  }): Promise<{ info: SecretInfo; value: Record<string, string> }> {
    return this.#direct.getSecretWithValue(input);
  }

  /**
   * Runs several operations (and statements on other tables, e.g. an audit row) in one write
   * transaction: all of them happen or none.
   */
  transaction<T>(fn: (tx: SecretTransaction) => Promise<T>): Promise<T> {
    return this.#dialect.transaction(
      (executor) => fn({ ...this.#operations(executor), executor }),
      { write: true },
    );
  }

  /** Rows per `kek_version`, ascending by version. */
  async countByKekVersion(): Promise<{ kekVersion: number; count: number }[]> {
    const rows = await this.#dialect.all<{ kek_version: number; n: number | string }>(
      "SELECT kek_version, COUNT(*) AS n FROM secrets GROUP BY kek_version ORDER BY kek_version",
    );
    return rows.map((r) => ({ kekVersion: Number(r.kek_version), count: Number(r.n) }));
  }

  /**
   * Checks that the keyring opens every `kek_version` stored, unwrapping one DEK per version.
   * Returns the versions that fail and why; an empty list means every version is readable.
   */
  async checkKeyring(): Promise<{ kekVersion: number; problem: "missing" | "wrong-passphrase" }[]> {
    const versions = await this.#dialect.all<{ kek_version: number }>(
      "SELECT DISTINCT kek_version FROM secrets",
    );
    const problems: { kekVersion: number; problem: "missing" | "wrong-passphrase" }[] = [];
    for (const { kek_version: raw } of versions) {
      const version = Number(raw);
      const kek = this.#keyring.get(version);
      if (kek === undefined) {
        problems.push({ kekVersion: version, problem: "missing" });
        continue;
      }
      const row = await this.#dialect.get<{ wrapped_dek: Buffer }>(
        "SELECT wrapped_dek FROM secrets WHERE kek_version = ? LIMIT 1",
        [version],
      );
      if (row === undefined) continue; // rotated away meanwhile
      try {
        unwrapDekWith(row.wrapped_dek, kek).fill(0);
      } catch {
        problems.push({ kekVersion: version, problem: "wrong-passphrase" });
      }
    }
    return problems.sort((a, b) => a.kekVersion - b.kekVersion);
  }

  /**
   * Unwraps every stored DEK with the KEK of its row's version (in batches, bounded memory) and
   * returns the rows that fail. Decrypts no value.
   */
  async verifyWrappedDeks(
    options: { batchSize?: number } = {},
  ): Promise<{ secretId: string; secretName: string; kekVersion: number; problem: string }[]> {
    const batchSize = options.batchSize ?? 1000;
    const failures: {
      secretId: string;
      secretName: string;
      kekVersion: number;
      problem: string;
    }[] = [];
    let after = "";
    for (;;) {
      const rows = await this.#dialect.all<{
        secret_id: string;
        secret_name: string;
        kek_version: number;
        wrapped_dek: Buffer;
      }>(
        "SELECT secret_id, secret_name, kek_version, wrapped_dek FROM secrets WHERE secret_id > ? ORDER BY secret_id LIMIT ?",
        [after, batchSize],
      );
      for (const row of rows) {
        const version = Number(row.kek_version);
        const kek = this.#keyring.get(version);
        const failure = {
          secretId: row.secret_id,
          secretName: row.secret_name,
          kekVersion: version,
        };
        if (kek === undefined) {
          failures.push({
            ...failure,
            problem: `no KEK for kek_version ${version} in the keyring`,
          });
          continue;
        }
        try {
          unwrapDekWith(row.wrapped_dek, kek).fill(0);
        } catch {
          failures.push({ ...failure, problem: "the DEK does not unwrap with that version's KEK" });
        }
      }
      if (rows.length < batchSize) return failures;
      after = rows[rows.length - 1]!.secret_id;
    }
  }

  async close(): Promise<void> {
    await this.#dialect.close();
  }

  #workspace(workspace: string | undefined): string {
    const name = checkText(workspace, "workspace", 63) ?? DEFAULT_WORKSPACE;
    if (name === "") throw invalidParameter("workspace must not be empty");
    if (!this.layout.hasWorkspaceColumn && name !== DEFAULT_WORKSPACE) {
      throw invalidParameter(
        `This database's secrets table has no workspace column (MLflow before workspaces): only workspace '${DEFAULT_WORKSPACE}' exists`,
      );
    }
    return name;
  }

  #kekFor(row: { secret_id: string; secret_name: string; kek_version: number }): KekManager {
    const kek = this.#keyring.get(Number(row.kek_version));
    if (kek === undefined) {
      throw new MlflowSecretsError(
        `Secret '${row.secret_name}' (${row.secret_id}) is encrypted with kek_version ${row.kek_version}, ` +
          `which the keyring does not hold (configured versions: ${this.#keyring.versions.join(", ")}). ` +
          "Add that KEK to MLFLOW_SECRETS_KEYRING_FILE.",
        "INVALID_STATE",
        { reason: "KEK_VERSION_MISSING" },
      );
    }
    return kek;
  }

  /**
   * SecretInfos for rows identified by id and version, in the given order: cached ones as they
   * are, the rest read in chunks. A row deleted in between is left out.
   */
  async #infosFor(db: SqlExecutor, keys: readonly RowVersion[]): Promise<SecretInfo[]> {
    const found: (SecretInfo | undefined)[] = keys.map((k) =>
      this.#infos.atVersion(k.secret_id, Number(k.kek_version), Number(k.last_updated_at)),
    );
    const missing = keys.filter((_, i) => found[i] === undefined).map((k) => k.secret_id);
    const fresh = new Map<string, SecretInfo>();
    for (let start = 0; start < missing.length; start += ROWS_PER_IN_QUERY) {
      const ids = missing.slice(start, start + ROWS_PER_IN_QUERY);
      const rows = await db.all<SecretInfoRow & Record<string, unknown>>(
        `${this.#sql.byIdPrefix} IN (${ids.map(() => "?").join(", ")})`,
        ids,
      );
      for (const row of rows) fresh.set(row.secret_id, this.#infos.infoOf(row));
    }
    const infos: SecretInfo[] = [];
    keys.forEach((k, i) => {
      const info = found[i] ?? fresh.get(k.secret_id);
      if (info !== undefined) infos.push(info);
    });
    return infos;
  }

  #operations(db: SqlExecutor): SecretOperations {
    const secretInfoFromRow = (row: SecretInfoRow): SecretInfo => this.#infos.infoOf(row);
    const sql = this.#sql;
    const hasWorkspace = this.layout.hasWorkspaceColumn;
    const keyring = this.#keyring;
    const dialect = this.#dialect;

    const findById = async (
      secretId: unknown,
      workspace: string | undefined,
    ): Promise<SecretInfoRow> => {
      const id = checkText(secretId, "secret_id", 36, { required: true })!;
      const row = await db.get<SecretInfoRow & Record<string, unknown>>(sql.byId, [id]);
      if (row === undefined || (workspace !== undefined && row.workspace !== workspace)) {
        throw notFound(`with ID '${id}'`);
      }
      return row;
    };

    const operations: SecretOperations = {
      createSecret: async (input) => {
        const secretName = checkText(input.secretName, "secret_name", 255, { required: true })!;
        const secretValue = checkSecretValue(input.secretValue);
        const provider = checkText(input.provider, "provider", 64) || null;
        const authConfig = serialiseAuthConfig(checkAuthConfig(input.authConfig));
        const createdBy = checkText(input.createdBy, "created_by", 255) ?? null;
        const workspace = this.#workspace(input.workspace);
        const { plaintext, maskedValue } = serialiseValue(secretValue);
        const secretId = newSecretId();
        const sealed = encryptPlaintext(plaintext, keyring.current, secretId, secretName);
        plaintext.fill(0);
        const now = Date.now();
        const params = [
          secretId,
          secretName,
          sealed.encryptedValue,
          sealed.wrappedDek,
          sealed.kekVersion,
          maskedValue,
          provider,
          authConfig,
          createdBy,
          now,
          createdBy,
          now,
        ];
        if (hasWorkspace) params.push(workspace);
        try {
          await db.run(sql.insert, params);
        } catch (err) {
          if (dialect.isUniqueViolation(err)) {
            throw new MlflowSecretsError(
              `Secret with name '${secretName}' already exists`,
              "RESOURCE_ALREADY_EXISTS",
              {
                cause: err,
              },
            );
          }
          throw err;
        }
        return secretInfoFromRow({
          secret_id: secretId,
          secret_name: secretName,
          kek_version: sealed.kekVersion,
          masked_value: maskedValue,
          provider,
          auth_config: authConfig,
          created_by: createdBy,
          created_at: now,
          last_updated_by: createdBy,
          last_updated_at: now,
          workspace,
        });
      },

      getSecretInfo: async (input) => {
        const byId =
          input.secretId !== undefined && input.secretId !== null && input.secretId !== "";
        const byName =
          input.secretName !== undefined && input.secretName !== null && input.secretName !== "";
        if (byId === byName)
          throw invalidParameter("Exactly one of secret_id or secret_name must be provided");
        if (byId) {
          const workspace =
            input.workspace === undefined ? undefined : this.#workspace(input.workspace);
          return secretInfoFromRow(await findById(input.secretId, workspace));
        }
        const name = checkText(input.secretName, "secret_name", 255, { required: true })!;
        const workspace = this.#workspace(input.workspace);
        const row = await db.get<SecretInfoRow & Record<string, unknown>>(
          sql.byName,
          hasWorkspace ? [name, workspace] : [name],
        );
        if (row === undefined) throw notFound(`with name '${name}'`);
        return secretInfoFromRow(row);
      },

      updateSecret: async (input) => {
        const workspace =
          input.workspace === undefined ? undefined : this.#workspace(input.workspace);
        const current = await findById(input.secretId, workspace);
        const secretValue =
          input.secretValue === undefined ? undefined : checkSecretValue(input.secretValue);
        const authConfig = checkAuthConfig(input.authConfig);
        const updatedBy = checkText(input.updatedBy, "updated_by", 255) ?? null;
        const sets = ["last_updated_by = ?", "last_updated_at = ?"];
        // Strictly increasing per row, even for two updates in one millisecond: together with
        // kek_version it identifies a row's version (the list path relies on that).
        const now = Math.max(Date.now(), Number(current.last_updated_at) + 1);
        const params: (string | number | Buffer | null)[] = [updatedBy, now];
        let maskedValue = current.masked_value;
        let kekVersion = Number(current.kek_version);
        if (secretValue !== undefined) {
          const serialised = serialiseValue(secretValue);
          // A new DEK under the current KEK; the AAD is the row's own (immutable) id and name.
          const sealed = encryptPlaintext(
            serialised.plaintext,
            keyring.current,
            current.secret_id,
            current.secret_name,
          );
          serialised.plaintext.fill(0);
          sets.push(
            "encrypted_value = ?",
            "wrapped_dek = ?",
            "kek_version = ?",
            "masked_value = ?",
          );
          params.push(
            sealed.encryptedValue,
            sealed.wrappedDek,
            sealed.kekVersion,
            serialised.maskedValue,
          );
          maskedValue = serialised.maskedValue;
          kekVersion = sealed.kekVersion;
        }
        let authConfigColumn = current.auth_config;
        if (authConfig !== undefined) {
          authConfigColumn = serialiseAuthConfig(authConfig);
          sets.push("auth_config = ?");
          params.push(authConfigColumn);
        }
        params.push(current.secret_id);
        const changed = await db.run(
          `UPDATE secrets SET ${sets.join(", ")} WHERE secret_id = ?`,
          params,
        );
        if (changed === 0) throw notFound(`with ID '${current.secret_id}'`);
        return secretInfoFromRow({
          ...current,
          masked_value: maskedValue,
          kek_version: kekVersion,
          auth_config: authConfigColumn,
          last_updated_by: updatedBy,
          last_updated_at: now,
        });
      },

      deleteSecret: async (input) => {
        const workspace =
          input.workspace === undefined ? undefined : this.#workspace(input.workspace);
        const current = await findById(input.secretId, workspace);
        const changed = await db.run("DELETE FROM secrets WHERE secret_id = ?", [
          current.secret_id,
        ]);
        if (changed === 0) throw notFound(`with ID '${current.secret_id}'`);
        return secretInfoFromRow(current);
      },

      listSecretInfos: async (input = {}) => {
        const workspace = this.#workspace(input.workspace);
        const provider = checkText(input.provider, "provider", 64) || undefined;
        const maxResults = input.maxResults;
        if (
          maxResults !== undefined &&
          (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > MAX_PAGE_SIZE)
        ) {
          throw invalidParameter(
            `max_results must be an integer between 1 and ${MAX_PAGE_SIZE}, got ${String(maxResults)}`,
          );
        }
        const filters: string[] = [];
        const filterParams: string[] = [];
        if (hasWorkspace) {
          filters.push("workspace = ?");
          filterParams.push(workspace);
        }
        if (provider !== undefined) {
          filters.push("provider = ?");
          filterParams.push(provider);
        }
        // Rows by name after `after`, at most `limit` of them (keyset pagination). Only ids and
        // row versions are read first; full rows are read for secrets whose SecretInfo is not
        // cached at that version — reading every text column of every row is most of a list's cost.
        const scan = async (after: string | undefined, limit: number | undefined) => {
          const where = [...filters];
          const params: (string | number)[] = [...filterParams];
          if (after !== undefined) {
            where.push(`${dialect.sql.nameKey("secret_name")} > ${dialect.sql.nameParam}`);
            params.push(after);
          }
          let query = "SELECT secret_id, secret_name, kek_version, last_updated_at FROM secrets";
          if (where.length > 0) query += ` WHERE ${where.join(" AND ")}`;
          query += ` ORDER BY ${dialect.sql.nameKey("secret_name")}`;
          if (limit !== undefined) {
            query += " LIMIT ?";
            params.push(limit);
          }
          const keys = await db.all<RowVersion>(query, params);
          return { keys, infos: await this.#infosFor(db, keys) };
        };
        const after = input.pageToken ? decodePageToken(input.pageToken) : undefined;
        // One row more than the page tells whether another page follows.
        const wanted = maxResults === undefined ? undefined : maxResults + 1;
        let infos: SecretInfo[];
        const include = input.filter;
        if (include === undefined || wanted === undefined) {
          infos = (await scan(after, wanted)).infos;
          if (include !== undefined) infos = infos.filter((info) => include(info));
        } else {
          // Skipped rows do not count towards the page: scan in batches until it is full.
          infos = [];
          let cursor = after;
          for (;;) {
            const { keys, infos: batch } = await scan(cursor, FILTERED_SCAN_BATCH);
            for (const info of batch) {
              if (include(info)) infos.push(info);
              if (infos.length === wanted) break;
            }
            if (infos.length === wanted || keys.length < FILTERED_SCAN_BATCH) break;
            cursor = keys[keys.length - 1]!.secret_name;
          }
        }
        const more = maxResults !== undefined && infos.length > maxResults;
        const secrets = more ? infos.slice(0, maxResults) : infos;
        return more
          ? { secrets, nextPageToken: encodePageToken(secrets[secrets.length - 1]!.secretName) }
          : { secrets };
      },

      getSecretValue: async (input) => (await operations.getSecretWithValue(input)).value,

      getSecretWithValue: async (input) => {
        const id = checkText(input.secretId, "secret_id", 36, { required: true })!;
        const workspace =
          input.workspace === undefined ? undefined : this.#workspace(input.workspace);
        const row = await db.get<ValueRow>(sql.valueById, [id]);
        if (
          row === undefined ||
          (workspace !== undefined && hasWorkspace && row.workspace !== workspace)
        ) {
          throw notFound(`with ID '${id}'`);
        }
        const kek = this.#kekFor(row);
        const plaintext = decryptPlaintext(
          row.encrypted_value,
          row.wrapped_dek,
          kek,
          row.secret_id,
          row.secret_name,
        );
        const text = decodePlaintext(plaintext, kek);
        plaintext.fill(0);
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch {
          value = undefined;
        }
        if (!isPlainObject(value)) {
          throw new MlflowSecretsError(
            `Secret '${row.secret_name}' (${row.secret_id}) does not hold a JSON object of values`,
            "INVALID_STATE",
            { reason: "SECRET_MALFORMED" },
          );
        }
        const result: Record<string, string> = {};
        for (const key of Object.keys(value)) {
          Object.defineProperty(result, key, {
            value: typeof value[key] === "string" ? value[key] : JSON.stringify(value[key]),
            enumerable: true,
            writable: true,
            configurable: true,
          });
        }
        return { info: secretInfoFromRow(row), value: result };
      },
    };
    return operations;
  }
}
