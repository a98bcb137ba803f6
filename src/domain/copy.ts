/**
 * Copying a whole installation to another database (`mlflow-secrets db copy`): MLflow's `secrets`
 * table and this package's own tables, byte for byte, between any two of SQLite, PostgreSQL and
 * MySQL — including into a database MLflow manages, whose tables are used as they are.
 *
 * The source is only read (opened without migrations); the destination gets this package's
 * migrations (never MLflow's tables: in a database with `alembic_version` they are MLflow's).
 * Both are checked against the keyring before anything is written, and every copied secret is
 * decrypted at the destination at the end (store/copy.ts has the engine).
 */
import { existsSync } from "node:fs";
import type { Env } from "../config.js";
import { MlflowSecretsError, invalidParameter } from "../errors.js";
import {
  copyTableOf,
  copyTables,
  storeCopyTables,
  type CopyResult,
  type CopyTable,
  type CopyTablesOptions,
} from "../store/copy.js";
import type { Dialect, DialectSql, TableDefinition } from "../store/dialect.js";
import { LATEST_SCHEMA_VERSION, recordedSchemaVersion } from "../store/migrations.js";
import { connectDatabase } from "../store/open.js";
import {
  Keyring,
  openSecretStore,
  parseDatabaseUri,
  redactUri,
  resolveBackendStoreUri,
  SecretStore,
} from "../store/index.js";
import { auditLogTable } from "./audit/schema.js";
import { permissionsTable } from "./permissions/schema.js";
import { DOMAIN_MIGRATIONS } from "./schema.js";
import { tokensTable } from "./tokens/schema.js";
import { usersTable } from "./users/schema.js";

/**
 * The domain's tables, in the order they are copied (users before the tables whose foreign keys
 * point at them). A table the domain adds (with its migration) is added here; a column needs
 * nothing: columns are read from the databases.
 */
const DOMAIN_COPY_TABLES: readonly {
  definition: (sql: DialectSql) => TableDefinition;
  label?: readonly string[];
}[] = [
  { definition: usersTable, label: ["username"] },
  { definition: tokensTable, label: ["token_id", "name"] },
  { definition: permissionsTable },
  { definition: auditLogTable },
];

interface CopyDatabaseOptions extends Pick<
  CopyTablesOptions,
  "onConflict" | "dryRun" | "batchSize" | "onStart" | "onProgress" | "signal"
> {
  /** The source; default `MLFLOW_BACKEND_STORE_URI`, else the SQLite default. */
  from?: string;
  /** The destination. */
  to: string;
  /** `secrets`: MLflow's table only, not this package's users, tokens, grants and audit log. */
  only?: "secrets";
  /** Default: from the environment (`Keyring.fromEnv`). Must hold every `kek_version` stored. */
  keyring?: Keyring;
  env?: Env;
}

export interface CopyDatabaseResult extends CopyResult {
  /** The URIs, passwords masked. */
  from: string;
  to: string;
  /** The destination has `alembic_version`: its `secrets` table is MLflow's, used as it is. */
  destinationMlflowManaged: boolean;
}

/** What identifies a database (not its credentials): two URIs naming the same one are refused. */
function identity(uri: string): string {
  const target = parseDatabaseUri(uri);
  switch (target.dialect) {
    case "sqlite":
      return `sqlite:${target.path}`;
    case "postgresql": {
      const url = new URL(target.connectionString);
      url.username = "";
      url.password = "";
      return `postgresql:${url.toString()}`;
    }
    case "mysql":
      return `mysql:${target.socketPath ?? `${target.host ?? "localhost"}:${target.port ?? 3306}`}/${target.database ?? ""}`;
  }
}

/** Refuses a source written by a newer mlflow-secrets: its tables may hold what this one cannot copy. */
async function checkSourceVersion(dialect: Dialect, shown: string): Promise<void> {
  const version = await recordedSchemaVersion(dialect);
  if (version > LATEST_SCHEMA_VERSION) {
    throw new MlflowSecretsError(
      `The source ${shown} has mlflow-secrets schema version ${version}, newer than this version supports (${LATEST_SCHEMA_VERSION}): upgrade mlflow-secrets`,
      "INVALID_STATE",
      { reason: "SCHEMA_TOO_NEW" },
    );
  }
}

/**
 * Opens the destination for a dry run: connected, inspected and checked against the keyring,
 * but not migrated (a dry run changes nothing anywhere).
 */
async function inspectDestination(
  uri: string,
  keyring: Keyring,
): Promise<{ dialect: Dialect; mlflowManaged: boolean; close: () => Promise<void> }> {
  const shown = redactUri(uri);
  const target = parseDatabaseUri(uri);
  // A SQLite file that does not exist yet is inspected as an empty database: connecting would
  // create it, and a dry run leaves nothing behind.
  const missingFile = target.dialect === "sqlite" && !existsSync(target.path);
  const dialect = await connectDatabase(missingFile ? "sqlite://" : uri);
  try {
    const mlflowManaged = await dialect.tableExists("alembic_version");
    const hasSecrets = await dialect.tableExists("secrets");
    if (mlflowManaged && !hasSecrets) {
      throw new MlflowSecretsError(
        `The database ${shown} is managed by MLflow but has no secrets table: run \`mlflow db upgrade ${shown}\` first`,
        "INVALID_STATE",
        { reason: "SCHEMA_MISSING" },
      );
    }
    if (hasSecrets) {
      const store = new SecretStore(dialect, keyring, {
        mlflowManaged,
        hasWorkspaceColumn: (await dialect.columnNames("secrets")).includes("workspace"),
        uri: shown,
      });
      await refuseUnreadable(store, "destination");
    }
    return { dialect, mlflowManaged, close: () => dialect.close() };
  } catch (err) {
    await dialect.close().catch(() => undefined);
    throw err;
  }
}

/** Refuses a database holding secrets whose KEK version the keyring cannot unwrap. */
async function refuseUnreadable(store: SecretStore, side: "source" | "destination"): Promise<void> {
  const problems = await store.checkKeyring();
  if (problems.length === 0) return;
  const described = problems
    .map((p) =>
      p.problem === "missing"
        ? `kek_version ${p.kekVersion} is not in the keyring`
        : `the keyring's KEK for kek_version ${p.kekVersion} does not unwrap its data keys`,
    )
    .join("; ");
  throw new MlflowSecretsError(
    `Refusing to copy: the ${side} ${store.layout.uri} holds secrets this keyring cannot read (${described}). ` +
      "Configure MLFLOW_CRYPTO_KEK_PASSPHRASE / MLFLOW_CRYPTO_KEK_VERSION and MLFLOW_SECRETS_KEYRING_FILE with every KEK in use.",
    "INVALID_STATE",
    {
      reason: problems.some((p) => p.problem === "missing")
        ? "KEK_VERSION_MISSING"
        : "WRONG_PASSPHRASE",
    },
  );
}

/**
 * Copies a database's secrets (and, unless `only: "secrets"`, this package's users, tokens,
 * grants and audit log) into another database, then reads every row back and decrypts every
 * copied secret there.
 *
 * @throws MlflowSecretsError for a refused copy (same database, unreadable KEK versions, a
 * workspace-enabled source into a table without workspaces, a newer schema), and
 * `CopyConflictError` / `CopyInterruptedError` from the engine.
 * @example
 * ```ts
 * const result = await copyDatabase({
 *   from: "sqlite:///mlflow-secrets.db",
 *   to: "postgresql://mlflow@db/mlflow",
 * });
 * if (result.failureCount > 0) throw new Error("copy not verified");
 * ```
 */
export async function copyDatabase(options: CopyDatabaseOptions): Promise<CopyDatabaseResult> {
  const from = resolveBackendStoreUri(options.from, options.env);
  const to = options.to;
  if (!to) throw invalidParameter("The destination URI is empty");
  if (identity(from) === identity(to)) {
    throw invalidParameter(
      `The source and the destination are the same database (${redactUri(to)})`,
    );
  }
  const keyring = options.keyring ?? (await Keyring.fromEnv(options.env));
  const source = await openSecretStore({ uri: from, keyring, migrate: false, env: options.env });
  try {
    await checkSourceVersion(source.dialect, source.layout.uri);
    const destination = options.dryRun
      ? await inspectDestination(to, keyring)
      : await openSecretStore({
          uri: to,
          keyring,
          verifyKeyring: false,
          migrations: options.only === "secrets" ? [] : DOMAIN_MIGRATIONS,
          env: options.env,
        }).then(async (store) => {
          try {
            await refuseUnreadable(store, "destination");
          } catch (err) {
            await store.close();
            throw err;
          }
          return {
            dialect: store.dialect,
            mlflowManaged: store.layout.mlflowManaged,
            close: () => store.close(),
          };
        });
    try {
      const tables: CopyTable[] = [...storeCopyTables(keyring)];
      if (options.only !== "secrets") {
        for (const { definition, label } of DOMAIN_COPY_TABLES) {
          tables.push(copyTableOf(definition(destination.dialect.sql), label ? { label } : {}));
        }
      }
      const result = await copyTables({
        source: source.dialect,
        destination: destination.dialect,
        tables,
        onConflict: options.onConflict,
        dryRun: options.dryRun,
        batchSize: options.batchSize,
        onStart: options.onStart,
        onProgress: options.onProgress,
        signal: options.signal,
      });
      return {
        ...result,
        from: source.layout.uri,
        to: redactUri(to),
        destinationMlflowManaged: destination.mlflowManaged,
      };
    } finally {
      await destination.close();
    }
  } finally {
    await source.close();
  }
}
