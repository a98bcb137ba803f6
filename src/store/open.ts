/**
 * Opening a store: connect, migrate our tables, inspect MLflow's, derive the keyring, and refuse
 * to start with a KEK that cannot read what is stored.
 */
import { readBackendStoreUri, type Env } from "../config.js";
import { MlflowSecretsError } from "../errors.js";
import type { Dialect } from "./dialect.js";
import { Keyring } from "./keyring.js";
import { STORE_MIGRATIONS, migrate, type Migration } from "./migrations.js";
import { SecretStore } from "./secret-store.js";
import {
  DEFAULT_BACKEND_STORE_URI,
  parseDatabaseUri,
  redactUri,
  type DatabaseTarget,
} from "./uri.js";

export interface OpenSecretStoreOptions {
  /** Database URI; default `MLFLOW_BACKEND_STORE_URI`, else `sqlite:///mlflow-secrets.db`. */
  uri?: string;
  /** The KEKs; default from the environment (`Keyring.fromEnv`). */
  keyring?: Keyring;
  /** Where defaults come from (default: the process environment). */
  env?: Env;
  /** Refuse to open when a stored `kek_version` cannot be unwrapped (default true). */
  verifyKeyring?: boolean;
  /** Apply pending migrations of our tables (default true). */
  migrate?: boolean;
  /**
   * Migrations of other layers' tables to apply with the store's own (e.g. the domain's users,
   * tokens, grants and audit log: `DOMAIN_MIGRATIONS`).
   */
  migrations?: readonly Migration[];
  /** Connection-pool size for PostgreSQL and MySQL (default 10). */
  maxConnections?: number;
}

/** The URI a store would open: the argument, else `MLFLOW_BACKEND_STORE_URI`, else the SQLite default. */
export function resolveBackendStoreUri(uri: string | undefined, env?: Env): string {
  return uri || readBackendStoreUri(env) || DEFAULT_BACKEND_STORE_URI;
}

/** Replaces every occurrence of the URI's password in a driver message. */
function scrub(message: string, uri: string): string {
  const match = /^[a-z][a-z0-9+.-]*:\/\/[^:/?#@]*:([^@/?#]*)@/i.exec(uri);
  const passwords = [match?.[1], /[?&](?:password|passwd)=([^&#]*)/i.exec(uri)?.[1]]
    .filter((p): p is string => p !== undefined && p.length > 0)
    .flatMap((p) => [p, safeDecode(p)]);
  let text = message;
  for (const password of passwords) text = text.split(password).join("***");
  return text;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Only the driver in use is loaded (each costs ~10–20 MB of memory and start-up time). */
async function createDialect(
  target: DatabaseTarget,
  maxConnections: number | undefined,
): Promise<Dialect> {
  const pool = maxConnections === undefined ? {} : { maxConnections };
  switch (target.dialect) {
    case "sqlite":
      return (await import("./dialects/sqlite.js")).SqliteDialect.open(target);
    case "postgresql":
      return new (await import("./dialects/postgres.js")).PostgresDialect(target, pool);
    case "mysql":
      return new (await import("./dialects/mysql.js")).MysqlDialect(target, pool);
  }
}

function describeKeyringProblem(
  problem: { kekVersion: number; problem: "missing" | "wrong-passphrase" },
  keyring: Keyring,
): string {
  if (problem.problem === "missing") {
    return (
      `secrets are stored with kek_version ${problem.kekVersion}, but no KEK for that version is configured ` +
      `(configured versions: ${keyring.versions.join(", ")}). Set MLFLOW_CRYPTO_KEK_PASSPHRASE and ` +
      `MLFLOW_CRYPTO_KEK_VERSION to it, or add it to MLFLOW_SECRETS_KEYRING_FILE.`
    );
  }
  const usesDefault = keyring.get(problem.kekVersion)?.usingDefaultPassphrase ?? false;
  return (
    `the configured passphrase for kek_version ${problem.kekVersion} does not decrypt the secrets stored with it` +
    (usesDefault
      ? ". The default passphrase is in use (MLFLOW_CRYPTO_KEK_PASSPHRASE is not set): set it to the passphrase the secrets were created with."
      : ": check MLFLOW_CRYPTO_KEK_PASSPHRASE (or the keyring file entry for that version).")
  );
}

/**
 * Connects to a database and checks that it answers, changing nothing in it (no migrations):
 * package-internal, for callers that only read or inspect (e.g. `db copy --dry-run`).
 *
 * @throws MlflowSecretsError naming the URI with `***` for its password.
 */
export async function connectDatabase(uri: string, maxConnections?: number): Promise<Dialect> {
  const shown = redactUri(uri);
  const target = parseDatabaseUri(uri);
  let dialect: Dialect;
  try {
    dialect = await createDialect(target, maxConnections);
  } catch (err) {
    throw new MlflowSecretsError(
      `Cannot open the database ${shown}: ${scrub((err as Error).message, uri)}`,
      "INVALID_STATE",
      { cause: err, reason: "DATABASE_UNAVAILABLE" },
    );
  }
  try {
    await dialect.get("SELECT 1 AS ok");
  } catch (err) {
    await dialect.close().catch(() => undefined);
    throw new MlflowSecretsError(
      `Cannot connect to ${shown}: ${scrub((err as Error).message, uri)}`,
      "INVALID_STATE",
      { reason: "DATABASE_UNAVAILABLE" },
    );
  }
  return dialect;
}

/**
 * Opens the secret store.
 *
 * @throws MlflowSecretsError — an unknown scheme or unreachable database (the URI is shown with
 * `***` for its password), an MLflow database without a `secrets` table, or a KEK that cannot
 * unwrap the DEKs stored with its version.
 * @example
 * ```ts
 * const store = await openSecretStore({ uri: "postgresql://mlflow:***@db/mlflow" });
 * ```
 */
export async function openSecretStore(options: OpenSecretStoreOptions = {}): Promise<SecretStore> {
  const uri = resolveBackendStoreUri(options.uri, options.env);
  const shown = redactUri(uri);
  parseDatabaseUri(uri); // a bad URI fails before any KEK is derived
  // KEK derivation (~0.1 s of CPU per version, on the thread pool) overlaps with connecting.
  const keyringPromise = options.keyring
    ? Promise.resolve(options.keyring)
    : Keyring.fromEnv(options.env);
  keyringPromise.catch(() => undefined);

  const dialect = await connectDatabase(uri, options.maxConnections);
  try {
    const mlflowManaged = await dialect.tableExists("alembic_version");
    if (mlflowManaged && !(await dialect.tableExists("secrets"))) {
      throw new MlflowSecretsError(
        `The database ${shown} is managed by MLflow but has no secrets table: run \`mlflow db upgrade ${shown}\` first`,
        "INVALID_STATE",
        { reason: "SCHEMA_MISSING" },
      );
    }
    if (options.migrate ?? true) {
      await migrate(dialect, {
        mlflowManaged,
        migrations: [...STORE_MIGRATIONS, ...(options.migrations ?? [])],
      });
    } else if (!(await dialect.tableExists("secrets"))) {
      throw new MlflowSecretsError(
        `The database ${shown} has no secrets table: run \`mlflow-secrets db upgrade\` first`,
        "INVALID_STATE",
        { reason: "SCHEMA_MISSING" },
      );
    }
    const hasWorkspaceColumn = (await dialect.columnNames("secrets")).includes("workspace");
    const keyring = await keyringPromise;
    const store = new SecretStore(dialect, keyring, {
      mlflowManaged,
      hasWorkspaceColumn,
      uri: shown,
    });
    if (options.verifyKeyring ?? true) {
      const problems = await store.checkKeyring();
      if (problems.length > 0) {
        throw new MlflowSecretsError(
          `Refusing to open ${shown}: ${problems.map((p) => describeKeyringProblem(p, keyring)).join("; ")}`,
          "INVALID_STATE",
          {
            reason: problems.some((p) => p.problem === "wrong-passphrase")
              ? "WRONG_PASSPHRASE"
              : "KEK_VERSION_MISSING",
          },
        );
      }
    }
    return store;
  } catch (err) {
    await dialect.close().catch(() => undefined);
    if (err instanceof MlflowSecretsError) throw err;
    throw new MlflowSecretsError(
      `Database error on ${shown}: ${scrub((err as Error).message, uri)}`,
      "INTERNAL_ERROR",
      {
        cause: err,
      },
    );
  }
}
