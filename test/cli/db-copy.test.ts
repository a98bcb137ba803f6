/**
 * `db copy` between every pair of databases this run has, into databases laid out as MLflow
 * manages them, with conflicts, dry runs and the copies it refuses.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { cli } from "../helpers/cli.js";
import {
  PASSPHRASE_V1,
  PASSPHRASE_V2,
  SEEDED_SECRETS,
  decryptAll,
  dumpAll,
  dumpTable,
  keyringEnv,
  seedInstallation,
} from "../helpers/copy.js";
import { DIALECTS, type DialectUnderTest, type TestDatabase } from "../helpers/databases.js";
import { hasReference, referenceDir } from "../helpers/python.js";
import { withDatabase } from "../helpers/store.js";
import { kekFor } from "../helpers/keks.js";
import { Keyring, openSecretStore } from "../../src/index.js";

const byName = new Map(DIALECTS.map((d) => [d.name, d]));
const sqlite = byName.get("sqlite")!;

/** The pairs the issue names, plus SQLite → SQLite (always available). */
const PAIRS = (
  [
    ["sqlite", "postgresql"],
    ["postgresql", "mysql"],
    ["mysql", "sqlite"],
    ["sqlite", "sqlite"],
  ] as const
).filter(([from, to]) => byName.has(from) && byName.has(to));

function copy(from: string, to: string, args: string[] = [], env = keyringEnv()) {
  return cli(["db", "copy", "--backend-store-uri", from, "--to", to, ...args], { env });
}

function withTwo(
  from: DialectUnderTest,
  to: DialectUnderTest,
  fn: (source: TestDatabase, destination: TestDatabase) => Promise<void>,
): Promise<void> {
  return withDatabase(from, (source) => withDatabase(to, (destination) => fn(source, destination)));
}

function expectedValues(options: { workspaces?: boolean } = {}): Map<string, unknown> {
  return new Map(
    SEEDED_SECRETS.filter((s) => options.workspaces !== false || s.workspace === "default").map(
      (s) => [`${s.name}@${s.workspace}`, s.value],
    ),
  );
}

async function count(db: TestDatabase, table = "secrets"): Promise<number> {
  const [row] = await db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM ${table}`);
  return Number(row!.n);
}

/** MLflow's own tables around `secrets`, as `mlflow db upgrade` leaves them (the parts we touch). */
function mlflowLayout(dialect: string, options: { workspaces: boolean }): string[] {
  const suffix = dialect === "mysql" ? " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4" : "";
  const blob = dialect === "postgresql" ? "BYTEA" : "BLOB";
  return [
    `CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))${suffix}`,
    `INSERT INTO alembic_version (version_num) VALUES ('1b5f0d9ad7c1')`,
    `CREATE TABLE secrets (
      secret_id VARCHAR(36) NOT NULL, secret_name VARCHAR(255) NOT NULL,
      encrypted_value ${blob} NOT NULL, wrapped_dek ${blob} NOT NULL,
      kek_version INTEGER NOT NULL, masked_value VARCHAR(500) NOT NULL, provider VARCHAR(64),
      auth_config TEXT, description TEXT, created_by VARCHAR(255), created_at BIGINT NOT NULL,
      last_updated_by VARCHAR(255), last_updated_at BIGINT NOT NULL,
      ${options.workspaces ? "workspace VARCHAR(63) DEFAULT 'default' NOT NULL," : ""}
      CONSTRAINT secrets_pk PRIMARY KEY (secret_id))${suffix}`,
    options.workspaces
      ? "CREATE UNIQUE INDEX uq_secrets_workspace_secret_name ON secrets (workspace, secret_name)"
      : "CREATE UNIQUE INDEX unique_secret_name ON secrets (secret_name)",
    `CREATE TABLE model_definitions (
      model_definition_id VARCHAR(36) NOT NULL, name VARCHAR(255) NOT NULL, secret_id VARCHAR(36),
      provider VARCHAR(64) NOT NULL, model_name VARCHAR(256) NOT NULL,
      CONSTRAINT model_definitions_pk PRIMARY KEY (model_definition_id),
      CONSTRAINT fk_model_definitions_secret_id FOREIGN KEY (secret_id) REFERENCES secrets (secret_id) ON DELETE SET NULL)${suffix}`,
  ];
}

/** The definition of every table and index, to show nothing of MLflow's was altered. */
async function schemaOf(db: TestDatabase, dialect: string, table: string): Promise<unknown> {
  if (dialect === "sqlite") {
    return db.query("SELECT type, name, sql FROM sqlite_master WHERE tbl_name = ? ORDER BY name", [
      table,
    ]);
  }
  const schema = dialect === "postgresql" ? "current_schema()" : "DATABASE()";
  return db.query(
    `SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns WHERE table_schema = ${schema} AND table_name = ? ORDER BY column_name`,
    [table],
  );
}

for (const [fromName, toName] of PAIRS) {
  const from = byName.get(fromName)!;
  const to = byName.get(toName)!;
  describe(`db copy ${fromName} → ${toName}`, () => {
    it("copies every table byte for byte, verifies, leaves the source alone, resumes as a no-op, and the copy works", () =>
      withTwo(from, to, async (source, destination) => {
        await seedInstallation(source.uri);
        const before = await dumpAll(source);
        assert.equal(before.secrets!.length, SEEDED_SECRETS.length);
        assert.ok(before.mlflow_secrets_audit_log!.length >= 8);

        const result = await copy(source.uri, destination.uri);
        assert.equal(result.code, 0, result.stderr + result.stdout);
        assert.match(result.stdout, /✓ \d+ row\(s\) written/);
        assert.match(result.stdout, /all 5 secret\(s\) there decrypt with the keyring/);

        // Byte for byte, every column of every table; the source untouched.
        assert.deepEqual(await dumpAll(destination), before);
        assert.deepEqual(await dumpAll(source), before);
        // Both KEK versions carried as they are; every secret decrypts at the destination.
        const versions = new Set(before.secrets!.map((r) => r.kek_version));
        assert.deepEqual([...versions].sort(), ["1", "2"]);
        assert.deepEqual(await decryptAll(destination.uri), expectedValues());

        // Running it again finds everything there: nothing written.
        const again = await copy(source.uri, destination.uri, ["--output", "json"]);
        assert.equal(again.code, 0, again.stderr);
        const body = JSON.parse(again.stdout) as {
          tables: {
            table: string;
            inserted: number;
            identical: number;
            verified: number;
            sourceRows: number;
          }[];
          failureCount: number;
        };
        assert.equal(body.failureCount, 0);
        for (const table of body.tables) {
          assert.equal(table.inserted, 0, table.table);
          assert.equal(table.identical, table.sourceRows, table.table);
          assert.equal(table.verified, table.sourceRows, table.table);
        }
        assert.deepEqual(await dumpAll(destination), before);

        // The copy is a working installation: its users, grants and secrets, as they were.
        const env = { MLFLOW_BACKEND_STORE_URI: destination.uri, ...keyringEnv() };
        const listed = await cli(["users", "list", "--output", "json"], { env });
        assert.equal(listed.code, 0, listed.stderr);
        assert.deepEqual(
          (JSON.parse(listed.stdout) as { users: { username: string }[] }).users
            .map((u) => u.username)
            .sort(),
          ["alice", "bob"],
        );
        const [secret] = await destination.query<{ secret_id: string }>(
          "SELECT secret_id FROM secrets WHERE secret_name = 'bedrock'",
        );
        const revealed = await cli(
          ["secrets", "reveal", "--id", secret!.secret_id, "--output", "json"],
          { env },
        );
        assert.equal(revealed.code, 0, revealed.stderr);
        assert.deepEqual(
          (JSON.parse(revealed.stdout) as { secret_value: unknown }).secret_value,
          SEEDED_SECRETS[2].value,
        );
      }));
  });
}

for (const dialect of DIALECTS) {
  describe(`db copy into a database MLflow manages (${dialect.name})`, () => {
    it("uses MLflow's tables as they are, creates none of them, and the copy decrypts there", () =>
      withTwo(sqlite, dialect, async (source, destination) => {
        await seedInstallation(source.uri);
        for (const statement of mlflowLayout(dialect.name, { workspaces: true })) {
          await destination.query(statement);
        }
        const mlflowSchema = await schemaOf(destination, dialect.name, "secrets");
        const result = await copy(source.uri, destination.uri);
        assert.equal(result.code, 0, result.stderr + result.stdout);
        assert.match(result.stdout, /a database MLflow manages/);
        assert.deepEqual(await schemaOf(destination, dialect.name, "secrets"), mlflowSchema);
        assert.deepEqual(
          await dumpTable(destination, "secrets", "secret_id"),
          await dumpTable(source, "secrets", "secret_id"),
        );
        assert.deepEqual(await decryptAll(destination.uri), expectedValues());
        // A model definition can point at a copied secret (MLflow's foreign key holds).
        const [row] = await destination.query<{ secret_id: string }>(
          "SELECT secret_id FROM secrets",
        );
        await destination.query(
          "INSERT INTO model_definitions (model_definition_id, name, secret_id, provider, model_name) VALUES ('d-1', 'gpt', ?, 'openai', 'gpt-4o')",
          [row!.secret_id],
        );
      }));

    it("refuses a workspace-enabled source into a table without workspaces, unless every row is 'default'", () =>
      withTwo(sqlite, dialect, async (source, destination) => {
        await seedInstallation(source.uri);
        for (const statement of mlflowLayout(dialect.name, { workspaces: false })) {
          await destination.query(statement);
        }
        const refused = await copy(source.uri, destination.uri);
        assert.equal(refused.code, 1);
        assert.match(
          refused.stderr,
          /1 row\(s\) of the source have a workspace other than 'default'/,
        );
        assert.equal(await count(destination), 0);

        await withDatabase(sqlite, async (onlyDefault) => {
          await seedInstallation(onlyDefault.uri, { workspaces: false });
          const copied = await copy(onlyDefault.uri, destination.uri, ["--only", "secrets"]);
          assert.equal(copied.code, 0, copied.stderr + copied.stdout);
          assert.deepEqual(
            await dumpTable(destination, "secrets", "secret_id"),
            await dumpTable(onlyDefault, "secrets", "secret_id", { omit: ["workspace"] }),
          );
          assert.deepEqual(
            await decryptAll(destination.uri),
            expectedValues({ workspaces: false }),
          );
        });
      }));
  });
}

for (const dialect of DIALECTS) {
  describe(`db copy from a database MLflow manages, before workspaces (sqlite → ${dialect.name})`, () => {
    it("copies its secrets into workspace 'default', and notes that it has none of our tables", () =>
      withTwo(sqlite, dialect, async (source, destination) => {
        for (const statement of mlflowLayout("sqlite", { workspaces: false })) {
          await source.query(statement);
        }
        // Written the way MLflow's store would (no workspace column, none of our tables).
        const store = await openSecretStore({
          uri: source.uri,
          keyring: Keyring.of(await kekFor(PASSPHRASE_V1, 1)),
          migrate: false,
        });
        try {
          await store.createSecret({
            secretName: "openai-prod",
            secretValue: { api_key: "sk-old-mlflow-0001" },
          });
          await store.createSecret({
            secretName: "bedrock",
            secretValue: { aws_access_key_id: "AKIA0", aws_secret_access_key: "s3" },
          });
        } finally {
          await store.close();
        }
        const before = await dumpTable(source, "secrets", "secret_id");
        const result = await copy(source.uri, destination.uri, ["--output", "json"]);
        assert.equal(result.code, 0, result.stderr + result.stdout);
        const body = JSON.parse(result.stdout) as {
          tables: { table: string; missingInSource: boolean; verified: number }[];
        };
        assert.deepEqual(
          body.tables.map((t) => [t.table, t.missingInSource, t.verified]),
          [
            ["secrets", false, 2],
            ["mlflow_secrets_users", true, 0],
            ["mlflow_secrets_tokens", true, 0],
            ["mlflow_secrets_permissions", true, 0],
            ["mlflow_secrets_audit_log", true, 0],
          ],
        );
        const copied = await dumpTable(destination, "secrets", "secret_id");
        assert.deepEqual(
          copied.map((r) => r.workspace),
          ["default", "default"],
        );
        assert.deepEqual(
          copied.map(({ workspace: _w, ...rest }) => rest),
          before,
        );
        assert.deepEqual((await decryptAll(destination.uri)).get("openai-prod@default"), {
          api_key: "sk-old-mlflow-0001",
        });
        // The source was only read: still none of our tables there.
        assert.deepEqual(
          await source.query("SELECT name FROM sqlite_master WHERE name LIKE 'mlflow_secrets%'"),
          [],
        );
      }));
  });
}

describe("db copy into a database MLflow's store made", () => {
  it(
    "sqlite: after copying into a database made by MLflow's store, MLflow's reference reads every secret (verify_db.py)",
    { skip: !hasReference && "python3 or the reference tools are missing" },
    () =>
      withDatabase(sqlite, async (source) => {
        await seedInstallation(source.uri);
        const path = join(mkdtempSync(join(tmpdir(), "mlflow-made-")), "mlflow.db");
        const env = {
          ...process.env,
          MLFLOW_CRYPTO_KEK_PASSPHRASE: PASSPHRASE_V1,
          MLFLOW_CRYPTO_KEK_VERSION: "1",
        };
        const made = spawnSync(
          "python3",
          [
            join(referenceDir, "mlflow_store_ref.py"),
            "create",
            path,
            "made-by-mlflow",
            '{"api_key": "sk-from-mlflow-0001"}',
            "openai",
          ],
          { env, encoding: "utf8" },
        );
        assert.equal(made.status, 0, made.stderr);
        const reference = spawnSync("python3", [
          "-c",
          `import sqlite3,sys; db=sqlite3.connect(sys.argv[1]); db.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"); db.execute("INSERT INTO alembic_version VALUES ('1b5f0d9ad7c1')"); db.commit()`,
          path,
        ]);
        assert.equal(reference.status, 0, String(reference.stderr));

        const keyring = keyringEnv();
        const result = await copy(source.uri, `sqlite:///${path}`, [], keyring);
        assert.equal(result.code, 0, result.stderr + result.stdout);
        const verify = spawnSync(
          "python3",
          [
            join(referenceDir, "verify_db.py"),
            path,
            "--keyring",
            keyring.MLFLOW_SECRETS_KEYRING_FILE!,
          ],
          {
            env: {
              ...process.env,
              MLFLOW_CRYPTO_KEK_PASSPHRASE: PASSPHRASE_V2,
              MLFLOW_CRYPTO_KEK_VERSION: "2",
            },
            encoding: "utf8",
          },
        );
        assert.equal(verify.status, 0, verify.stdout + verify.stderr);
        const summary = JSON.parse(verify.stdout) as { rows: number; ok: number };
        assert.deepEqual(summary, {
          rows: SEEDED_SECRETS.length + 1,
          ok: SEEDED_SECRETS.length + 1,
          failed: [],
        });
      }),
  );
});

for (const dialect of DIALECTS) {
  describe(`db copy conflicts and dry runs (sqlite → ${dialect.name})`, () => {
    async function withConflict(
      fn: (source: TestDatabase, destination: TestDatabase, before: unknown) => Promise<void>,
    ): Promise<void> {
      await withTwo(sqlite, dialect, async (source, destination) => {
        await seedInstallation(source.uri);
        // The destination already has its own 'bedrock' (another id, another value).
        const env = { MLFLOW_BACKEND_STORE_URI: destination.uri, ...keyringEnv() };
        const created = await cli(["secrets", "create", "--name", "bedrock", "--value-stdin"], {
          env,
          stdin: '{"api_key": "destination-own-value"}',
        });
        assert.equal(created.code, 0, created.stderr);
        await fn(source, destination, await dumpAll(destination));
      });
    }

    it("fail (the default) stops before anything is written, naming the conflict", () =>
      withConflict(async (source, destination, before) => {
        const result = await copy(source.uri, destination.uri);
        assert.equal(result.code, 1);
        assert.match(
          result.stdout,
          /secrets: secret_name=bedrock workspace=default secret_id=s-[0-9a-f]{32} — another row has the same workspace, secret_name/,
        );
        assert.match(
          result.stderr,
          /1 row\(s\) at the destination conflict with the source; nothing was written/,
        );
        assert.deepEqual(await dumpAll(destination), before);
      }));

    it("skip copies the rest and leaves the destination's row alone", () =>
      withConflict(async (source, destination) => {
        const result = await copy(source.uri, destination.uri, ["--on-conflict", "skip"]);
        assert.equal(result.code, 0, result.stderr + result.stdout);
        assert.match(result.stdout, /1 conflicting row\(s\) were skipped/);
        const values = await decryptAll(destination.uri);
        assert.deepEqual(values.get("bedrock@default"), { api_key: "destination-own-value" });
        assert.equal(values.size, SEEDED_SECRETS.length);
      }));

    it("overwrite replaces the destination's row with the source's, byte for byte", () =>
      withConflict(async (source, destination) => {
        const result = await copy(source.uri, destination.uri, ["--on-conflict", "overwrite"]);
        assert.equal(result.code, 0, result.stderr + result.stdout);
        assert.deepEqual(
          await dumpTable(destination, "secrets", "secret_id"),
          await dumpTable(source, "secrets", "secret_id"),
        );
        assert.deepEqual(await decryptAll(destination.uri), expectedValues());
      }));

    it("overwrite updates a row in place when only its content changed (same id and name)", () =>
      withTwo(sqlite, dialect, async (source, destination) => {
        await seedInstallation(source.uri);
        assert.equal((await copy(source.uri, destination.uri, ["--only", "secrets"])).code, 0);
        const [row] = await source.query<{ secret_id: string }>(
          "SELECT secret_id FROM secrets WHERE secret_name = 'anthropic'",
        );
        const updated = await cli(["secrets", "update", "--id", row!.secret_id, "--value-stdin"], {
          env: { MLFLOW_BACKEND_STORE_URI: source.uri, ...keyringEnv() },
          stdin: '{"api_key": "sk-ant-rotated-value"}',
        });
        assert.equal(updated.code, 0, updated.stderr);
        const refused = await copy(source.uri, destination.uri, ["--only", "secrets"]);
        assert.equal(refused.code, 1);
        assert.match(refused.stdout, /same secret_id, different encrypted_value, wrapped_dek/);
        const replaced = await copy(source.uri, destination.uri, [
          "--only",
          "secrets",
          "--on-conflict",
          "overwrite",
          "--output",
          "json",
        ]);
        assert.equal(replaced.code, 0, replaced.stderr);
        assert.equal(
          (JSON.parse(replaced.stdout) as { tables: { overwritten: number }[] }).tables[0]!
            .overwritten,
          1,
        );
        assert.equal(
          (await decryptAll(destination.uri)).get("anthropic@default")!.api_key,
          "sk-ant-rotated-value",
        );
        assert.deepEqual(
          await dumpTable(destination, "secrets", "secret_id"),
          await dumpTable(source, "secrets", "secret_id"),
        );
      }));

    it("--dry-run reports what would happen and writes nothing", () =>
      withConflict(async (source, destination, before) => {
        const result = await copy(source.uri, destination.uri, ["--dry-run", "--output", "json"]);
        assert.equal(result.code, 0, result.stderr);
        const body = JSON.parse(result.stdout) as {
          dryRun: boolean;
          conflictCount: number;
          tables: { table: string; inserted: number }[];
        };
        assert.equal(body.dryRun, true);
        assert.equal(body.conflictCount, 1);
        assert.equal(
          body.tables.find((t) => t.table === "secrets")!.inserted,
          SEEDED_SECRETS.length - 1,
        );
        assert.deepEqual(await dumpAll(destination), before);
      }));
  });
}

describe("db copy refuses", () => {
  it("a dry run into a database that does not exist yet leaves nothing behind", () =>
    withDatabase(sqlite, async (source) => {
      await seedInstallation(source.uri);
      const path = join(mkdtempSync(join(tmpdir(), "copy-dry-")), "new.db");
      const result = await copy(source.uri, `sqlite:///${path}`, ["--dry-run"]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /Dry run: nothing was written/);
      assert.match(result.stdout, /\d+ row\(s\) would be written/);
      assert.equal(existsSync(path), false);
    }));

  it("draws a progress bar per phase on a terminal", () =>
    withTwo(sqlite, sqlite, async (source, destination) => {
      await seedInstallation(source.uri);
      const result = await cli(
        ["db", "copy", "--backend-store-uri", source.uri, "--to", destination.uri],
        {
          env: keyringEnv(),
          tty: true,
        },
      );
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /Copying +\|=+\| 100% \| \d+\/\d+ rows/);
      assert.match(result.stderr, /Verifying \|=+\| 100% \| \d+\/\d+ rows/);
    }));

  it("the same database as source and destination", () =>
    withDatabase(sqlite, async (source) => {
      await seedInstallation(source.uri);
      const result = await copy(source.uri, source.uri);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /the same database/);
    }));

  it("a keyring that cannot read the source, before touching the destination", () =>
    withTwo(sqlite, sqlite, async (source, destination) => {
      await seedInstallation(source.uri);
      const path = destination.uri.slice("sqlite:///".length);
      const wrong = await copy(source.uri, destination.uri, [], {
        MLFLOW_CRYPTO_KEK_PASSPHRASE: "not the passphrase",
        MLFLOW_CRYPTO_KEK_VERSION: "2",
      });
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, /kek_version 1/);
      assert.equal(existsSync(path), false);
    }));

  it("a destination holding secrets this keyring cannot read", () =>
    withTwo(sqlite, sqlite, async (source, destination) => {
      await seedInstallation(source.uri);
      const other = await cli(["secrets", "create", "--name", "theirs", "--value-stdin"], {
        env: {
          MLFLOW_BACKEND_STORE_URI: destination.uri,
          MLFLOW_CRYPTO_KEK_PASSPHRASE: "another installation",
          MLFLOW_CRYPTO_KEK_VERSION: "1",
        },
        stdin: "sk-theirs-000000",
      });
      assert.equal(other.code, 0, other.stderr);
      const result = await copy(source.uri, destination.uri);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /the destination .* holds secrets this keyring cannot read/);
      assert.equal(await count(destination), 1);
    }));

  it("a source written by a newer mlflow-secrets", () =>
    withTwo(sqlite, sqlite, async (source, destination) => {
      await seedInstallation(source.uri);
      await source.query(
        "INSERT INTO mlflow_secrets_schema_version (version, name, applied_at) VALUES (99, 'future', 0)",
      );
      const result = await copy(source.uri, destination.uri);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /schema version 99, newer than this version supports/);
    }));

  it("bad flags, as usage errors", async () => {
    const onConflict = await cli(["db", "copy", "--to", "sqlite://", "--on-conflict", "merge"]);
    assert.equal(onConflict.code, 2);
    assert.match(onConflict.stderr, /--on-conflict must be one of fail, skip, overwrite/);
    const only = await cli(["db", "copy", "--to", "sqlite://", "--only", "users"]);
    assert.equal(only.code, 2);
    const missing = await cli(["db", "copy"]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--to/);
  });
});
