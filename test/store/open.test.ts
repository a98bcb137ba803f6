/** Opening a store: keyring checks, migrations, MLflow-managed databases, URIs — on every dialect. */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { MlflowSecretsError } from "../../src/index.js";
import { Keyring, openSecretStore, parseDatabaseUri, redactUri } from "../../src/index.js";
import { REPO_ROOT } from "../helpers/cli.js";
import { DOMAIN_MIGRATIONS } from "../../src/domain/schema.js";
import { LATEST_SCHEMA_VERSION, STORE_MIGRATIONS } from "../../src/store/migrations.js";
import { DIALECTS } from "../helpers/databases.js";
import { kekFor } from "../helpers/keks.js";
import { PASSPHRASE, testKeyring, withDatabase, withStore } from "../helpers/store.js";

const blob = (dialect: string) => (dialect === "postgresql" ? "BYTEA" : "BLOB");

/** MLflow's `secrets` table before workspaces (unique name index), plus what MLflow has around it. */
function mlflowSchemaWithoutWorkspaces(dialect: string): string[] {
  const suffix = dialect === "mysql" ? " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4" : "";
  return [
    `CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))${suffix}`,
    `INSERT INTO alembic_version (version_num) VALUES ('1bd49d398cd23')`,
    `CREATE TABLE secrets (
      secret_id VARCHAR(36) NOT NULL, secret_name VARCHAR(255) NOT NULL,
      encrypted_value ${blob(dialect)} NOT NULL, wrapped_dek ${blob(dialect)} NOT NULL,
      kek_version INTEGER NOT NULL, masked_value VARCHAR(500) NOT NULL, provider VARCHAR(64),
      auth_config TEXT, description TEXT, created_by VARCHAR(255), created_at BIGINT NOT NULL,
      last_updated_by VARCHAR(255), last_updated_at BIGINT NOT NULL,
      CONSTRAINT secrets_pk PRIMARY KEY (secret_id))${suffix}`,
    `CREATE UNIQUE INDEX unique_secret_name ON secrets (secret_name)`,
    `CREATE TABLE model_definitions (
      model_definition_id VARCHAR(36) NOT NULL, name VARCHAR(255) NOT NULL, secret_id VARCHAR(36),
      provider VARCHAR(64) NOT NULL, model_name VARCHAR(256) NOT NULL,
      CONSTRAINT model_definitions_pk PRIMARY KEY (model_definition_id),
      CONSTRAINT fk_model_definitions_secret_id FOREIGN KEY (secret_id) REFERENCES secrets (secret_id) ON DELETE SET NULL)${suffix}`,
  ];
}

async function tableNames(
  db: { query<T>(sql: string, p?: unknown[]): Promise<T[]> },
  dialect: string,
): Promise<string[]> {
  const sql =
    dialect === "sqlite"
      ? "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
      : dialect === "postgresql"
        ? "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name"
        : "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY table_name";
  return (await db.query<{ name: string; NAME?: string }>(sql)).map((r) => r.name ?? r.NAME!);
}

for (const dialect of DIALECTS) {
  describe(`opening a store on ${dialect.name}`, () => {
    it("creates MLflow's secrets table and our schema-version table once, also when two processes open at once", () =>
      withDatabase(dialect, async (db) => {
        const keyring = await testKeyring();
        const stores = await Promise.all(
          [1, 2, 3].map(() => openSecretStore({ uri: db.uri, keyring })),
        );
        await Promise.all(stores.map((s) => s.close()));
        const tables = await tableNames(db, dialect.name);
        assert.ok(tables.includes("secrets"));
        assert.ok(tables.includes("mlflow_secrets_schema_version"));
        const versions = await db.query<{ version: number }>(
          "SELECT version FROM mlflow_secrets_schema_version",
        );
        assert.deepEqual(
          versions.map((v) => Number(v.version)).sort((a, b) => a - b),
          STORE_MIGRATIONS.map((m) => m.version),
        );
        assert.ok(stores.every((s) => s.layout.hasWorkspaceColumn && !s.layout.mlflowManaged));
        // Re-opening is a no-op.
        await (await openSecretStore({ uri: db.uri, keyring })).close();
        assert.equal(
          (await db.query("SELECT version FROM mlflow_secrets_schema_version")).length,
          STORE_MIGRATIONS.length,
        );
      }));

    it("applies another layer's migrations with the store's own, once, and knows the newest version", () =>
      withDatabase(dialect, async (db) => {
        const keyring = await testKeyring();
        const all = [...STORE_MIGRATIONS, ...DOMAIN_MIGRATIONS].map((m) => m.version);
        assert.equal(new Set(all).size, all.length, "versions are unique across layers");
        assert.equal(LATEST_SCHEMA_VERSION, Math.max(...all));
        // A plain store first (its own tables), then one with the domain's (added on top).
        await (await openSecretStore({ uri: db.uri, keyring })).close();
        assert.ok(!(await tableNames(db, dialect.name)).includes("mlflow_secrets_users"));
        const stores = await Promise.all(
          [1, 2].map(() =>
            openSecretStore({ uri: db.uri, keyring, migrations: DOMAIN_MIGRATIONS }),
          ),
        );
        await Promise.all(stores.map((s) => s.close()));
        const tables = await tableNames(db, dialect.name);
        for (const table of [
          "mlflow_secrets_users",
          "mlflow_secrets_tokens",
          "mlflow_secrets_permissions",
          "mlflow_secrets_audit_log",
        ]) {
          assert.ok(tables.includes(table), table);
        }
        const versions = await db.query<{ version: number }>(
          "SELECT version FROM mlflow_secrets_schema_version",
        );
        assert.deepEqual(
          versions.map((v) => Number(v.version)).sort((a, b) => a - b),
          all.sort((a, b) => a - b),
        );
        // A plain store still opens a database that has the domain's tables.
        await (await openSecretStore({ uri: db.uri, keyring })).close();
        // One written by a newer mlflow-secrets is refused, whichever layer opens it.
        await db.query(
          "INSERT INTO mlflow_secrets_schema_version (version, name, applied_at) VALUES (?, ?, ?)",
          [LATEST_SCHEMA_VERSION + 1, "from the future", Date.now()],
        );
        await assert.rejects(openSecretStore({ uri: db.uri, keyring }), /newer than this version/);
      }));

    it("works on an MLflow database without workspaces, never touching MLflow's tables", () =>
      withDatabase(dialect, async (db) => {
        for (const statement of mlflowSchemaWithoutWorkspaces(dialect.name))
          await db.query(statement);
        const before = await tableNames(db, dialect.name);
        const store = await openSecretStore({ uri: db.uri, keyring: await testKeyring() });
        try {
          assert.deepEqual(store.layout, {
            mlflowManaged: true,
            hasWorkspaceColumn: false,
            uri: db.uri.replace(/:[^:@/]*@/, ":***@"),
          });
          const info = await store.createSecret({
            secretName: "openai",
            secretValue: { api_key: "sk-1234567890" },
          });
          assert.equal(info.workspace, "default");
          assert.deepEqual(
            (await store.listSecretInfos()).secrets.map((s) => s.secretId),
            [info.secretId],
          );
          await assert.rejects(
            store.createSecret({ secretName: "openai", secretValue: { api_key: "x" } }),
            {
              errorCode: "RESOURCE_ALREADY_EXISTS",
            },
          );
          await assert.rejects(
            store.createSecret({
              secretName: "x",
              secretValue: { api_key: "x" },
              workspace: "team",
            }),
            /no workspace column/,
          );
          // Deleting a secret orphans the model definitions that used it (ON DELETE SET NULL).
          await db.query(
            "INSERT INTO model_definitions (model_definition_id, name, secret_id, provider, model_name) VALUES ('d-1', 'gpt', ?, 'openai', 'gpt-4o')",
            [info.secretId],
          );
          await store.deleteSecret({ secretId: info.secretId });
          const [definition] = await db.query<{ secret_id: string | null }>(
            "SELECT secret_id FROM model_definitions",
          );
          assert.equal(definition?.secret_id, null);
        } finally {
          await store.close();
        }
        const after = await tableNames(db, dialect.name);
        assert.deepEqual(
          after.filter((t) => !t.startsWith("mlflow_secrets_")),
          before,
        );
        const columns = await db.query("SELECT * FROM secrets");
        assert.deepEqual(columns, []);
      }));

    it("asks for `mlflow db upgrade` when an MLflow database has no secrets table", () =>
      withDatabase(dialect, async (db) => {
        await db.query(mlflowSchemaWithoutWorkspaces(dialect.name)[0]!);
        await assert.rejects(
          openSecretStore({ uri: db.uri, keyring: await testKeyring() }),
          (err: MlflowSecretsError) => {
            assert.equal(err.errorCode, "INVALID_STATE");
            assert.match(
              err.message,
              /managed by MLflow but has no secrets table: run `mlflow db upgrade/,
            );
            return true;
          },
        );
        assert.deepEqual(await tableNames(db, dialect.name), ["alembic_version"]);
      }));

    it("reads rows of several kek_versions with a keyring; a version it lacks is a clear INVALID_STATE", () =>
      withDatabase(dialect, async (db) => {
        const v1 = await openSecretStore({ uri: db.uri, keyring: await testKeyring(1) });
        const old = await v1.createSecret({
          secretName: "old",
          secretValue: { api_key: "sk-old" },
        });
        await v1.close();
        const v2 = await openSecretStore({ uri: db.uri, keyring: await testKeyring(2, [1]) });
        const fresh = await v2.createSecret({
          secretName: "new",
          secretValue: { api_key: "sk-new" },
        });
        assert.equal(fresh.kekVersion, 2);
        assert.deepEqual(await v2.countByKekVersion(), [
          { kekVersion: 1, count: 1 },
          { kekVersion: 2, count: 1 },
        ]);
        assert.deepEqual(await v2.getSecretValue({ secretId: old.secretId }), {
          api_key: "sk-old",
        });
        assert.deepEqual(await v2.getSecretValue({ secretId: fresh.secretId }), {
          api_key: "sk-new",
        });
        await v2.close();

        // Without v1 in the keyring the store refuses to open, naming the version…
        await assert.rejects(
          openSecretStore({ uri: db.uri, keyring: await testKeyring(2) }),
          (err: MlflowSecretsError) => {
            assert.equal(err.errorCode, "INVALID_STATE");
            assert.match(
              err.message,
              /stored with kek_version 1, but no KEK for that version is configured \(configured versions: 2\)/,
            );
            return true;
          },
        );
        // …and, opened anyway (crypto status does), a read of such a row names secret, version and keyring.
        const lax = await openSecretStore({
          uri: db.uri,
          keyring: await testKeyring(2),
          verifyKeyring: false,
        });
        try {
          await assert.rejects(
            lax.getSecretValue({ secretId: old.secretId }),
            (err: MlflowSecretsError) => {
              assert.equal(err.errorCode, "INVALID_STATE");
              assert.equal(
                err.message,
                `Secret 'old' (${old.secretId}) is encrypted with kek_version 1, which the keyring does not hold (configured versions: 2). Add that KEK to MLFLOW_SECRETS_KEYRING_FILE.`,
              );
              return true;
            },
          );
          assert.deepEqual(await lax.checkKeyring(), [{ kekVersion: 1, problem: "missing" }]);
        } finally {
          await lax.close();
        }
      }));

    it("refuses to open with a wrong passphrase, naming the version, with the default-passphrase hint", () =>
      withStore(dialect, async (store, db) => {
        await store.createSecret({ secretName: "s", secretValue: { api_key: "sk-1" } });
        const wrong = Keyring.of(await kekFor("not the passphrase", 1));
        await assert.rejects(
          openSecretStore({ uri: db.uri, keyring: wrong }),
          (err: MlflowSecretsError) => {
            assert.match(
              err.message,
              /passphrase for kek_version 1 does not decrypt the secrets stored with it: check MLFLOW_CRYPTO_KEK_PASSPHRASE/,
            );
            assert.ok(!err.message.includes("not the passphrase"));
            assert.equal(err.reason, "WRONG_PASSPHRASE");
            return true;
          },
        );
        const fallback = Keyring.of(await kekFor("", 1));
        await assert.rejects(
          openSecretStore({ uri: db.uri, keyring: fallback }),
          /The default passphrase is in use \(MLFLOW_CRYPTO_KEK_PASSPHRASE is not set\)/,
        );
      }));
  });
}

describe("migrations across processes", () => {
  it("three processes opening a new SQLite file at once migrate it exactly once", async () => {
    const dir = mkdtempSync(join(tmpdir(), "race-"));
    const uri = `sqlite:///${join(dir, "race.db")}`;
    const script = `
      import { openSecretStore } from "./src/index.ts";
      const store = await openSecretStore();
      await store.createSecret({ secretName: "from-" + process.pid, secretValue: { api_key: "k" } });
      await store.close();
    `;
    const env = {
      ...process.env,
      MLFLOW_BACKEND_STORE_URI: uri,
      MLFLOW_CRYPTO_KEK_PASSPHRASE: PASSPHRASE,
    };
    const runs = await Promise.all(
      [0, 1, 2].map(
        () =>
          new Promise<{ code: number | null; stderr: string }>((resolve) => {
            const child = spawn(
              process.execPath,
              ["--import", "tsx", "--input-type=module", "-e", script],
              { cwd: REPO_ROOT, env },
            );
            let stderr = "";
            child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
            child.on("close", (code) => resolve({ code, stderr }));
          }),
      ),
    );
    for (const run of runs) assert.equal(run.code, 0, run.stderr);
    const store = await openSecretStore({ uri, keyring: await testKeyring() });
    try {
      assert.equal((await store.listSecretInfos()).secrets.length, 3);
      const versions = await store.dialect.all("SELECT version FROM mlflow_secrets_schema_version");
      assert.equal(versions.length, STORE_MIGRATIONS.length);
    } finally {
      await store.close();
    }
  });
});

describe("store URIs and the keyring file", () => {
  it("parses MLflow-style URIs", () => {
    assert.deepEqual(parseDatabaseUri("sqlite:///rel/x.db", "/work"), {
      dialect: "sqlite",
      path: "/work/rel/x.db",
    });
    assert.deepEqual(parseDatabaseUri("sqlite:////abs/x.db"), {
      dialect: "sqlite",
      path: "/abs/x.db",
    });
    for (const scheme of ["postgresql", "postgres", "postgresql+psycopg2"]) {
      assert.deepEqual(parseDatabaseUri(`${scheme}://u:p@h:5432/db`), {
        dialect: "postgresql",
        connectionString: "postgresql://u:p@h:5432/db",
      });
    }
    for (const scheme of ["mysql", "mysql+pymysql", "mariadb"]) {
      assert.deepEqual(parseDatabaseUri(`${scheme}://u:p%40ss@h:3307/db?charset=utf8mb4`), {
        dialect: "mysql",
        host: "h",
        port: 3307,
        user: "u",
        password: "p@ss",
        database: "db",
        charset: "utf8mb4",
      });
    }
    assert.throws(
      () => parseDatabaseUri("mongodb://u:hunter2@h/db"),
      (err: Error) => {
        assert.match(err.message, /Unsupported backend store URI 'mongodb:\/\/u:\*\*\*@h\/db'/);
        return true;
      },
    );
    assert.throws(() => parseDatabaseUri("sqlite://relative.db"), /three slashes/);
  });

  it("masks passwords in URIs", () => {
    assert.equal(
      redactUri("postgresql://app:s3cr%40t@db:5432/mlflow"),
      "postgresql://app:***@db:5432/mlflow",
    );
    assert.equal(
      redactUri("mysql://root@h/db?password=hunter2&x=1"),
      "mysql://root@h/db?password=***&x=1",
    );
    assert.equal(redactUri("sqlite:///x.db"), "sqlite:///x.db");
  });

  it("reports an unreachable server or bad credentials in one line, without the password", async () => {
    const cases = [
      "postgresql://postgres:hunter2secret@127.0.0.1:1/test",
      "mysql://root:hunter2secret@127.0.0.1:1/test",
      ...(process.env.MLFLOW_SECRETS_TEST_MYSQL_URI
        ? ["mysql://nobody:hunter2secret@127.0.0.1:3306/test"]
        : []),
    ];
    const keyring = await testKeyring();
    for (const uri of cases) {
      await assert.rejects(openSecretStore({ uri, keyring }), (err: MlflowSecretsError) => {
        assert.match(
          err.message,
          /^Cannot connect to (postgresql|mysql):\/\/\w+:\*\*\*@127\.0\.0\.1:\d+\/test: /,
        );
        assert.ok(!err.message.includes("hunter2"), err.message);
        assert.ok(!err.message.includes("\n"));
        return true;
      });
    }
  });

  it("creates a new SQLite file readable by its owner only, and names a missing directory", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mode-"));
    const store = await openSecretStore({
      uri: `sqlite:///${dir}/new.db`,
      keyring: await testKeyring(),
    });
    await store.createSecret({ secretName: "s", secretValue: { api_key: "k" } });
    await store.close();
    assert.equal(statSync(join(dir, "new.db")).mode & 0o777, 0o600);
    await assert.rejects(
      openSecretStore({ uri: `sqlite:///${dir}/missing/x.db`, keyring: await testKeyring() }),
      /Cannot open the database sqlite:\/\/\/.*missing\/x\.db: /,
    );
  });

  it("loads older KEKs from MLFLOW_SECRETS_KEYRING_FILE (passphrase or file), warning on loose permissions", async () => {
    const dir = mkdtempSync(join(tmpdir(), "keyring-"));
    const passFile = join(dir, "kek2");
    writeFileSync(passFile, `${PASSPHRASE}\n`, { mode: 0o600 });
    const file = join(dir, "keyring.json");
    writeFileSync(
      file,
      JSON.stringify({
        keks: [
          { version: 1, passphrase: PASSPHRASE },
          { version: 2, passphrase_file: passFile },
        ],
      }),
      { mode: 0o600 },
    );
    const env = {
      MLFLOW_CRYPTO_KEK_PASSPHRASE: PASSPHRASE,
      MLFLOW_CRYPTO_KEK_VERSION: "3",
      MLFLOW_SECRETS_KEYRING_FILE: file,
    };
    const warnings: string[] = [];
    const onWarning = (w: Error & { code?: string }) => warnings.push(w.code ?? "");
    process.on("warning", onWarning);
    try {
      const keyring = await Keyring.fromEnv(env);
      assert.deepEqual(keyring.versions, [1, 2, 3]);
      assert.equal(keyring.current.kekVersion, 3);
      assert.ok(
        keyring
          .get(2)!
          .getKek()
          .equals((await kekFor(PASSPHRASE, 2)).getKek()),
      );
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(warnings, []);
      chmodSync(file, 0o644);
      await Keyring.fromEnv(env);
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(warnings, ["MLFLOW_SECRETS_KEYRING_PERMISSIONS"]);
    } finally {
      process.off("warning", onWarning);
    }
    const bad = (content: string) => {
      writeFileSync(file, content, { mode: 0o600 });
      return Keyring.fromEnv(env);
    };
    await assert.rejects(
      bad(
        JSON.stringify({
          keks: [
            { version: 1, passphrase: "a" },
            { version: 1, passphrase: "b" },
          ],
        }),
      ),
      /two different passphrases for kek_version 1/,
    );
    await assert.rejects(
      bad(JSON.stringify({ keks: [{ version: 3, passphrase: "other" }] })),
      /Two different passphrases for kek_version 3/,
    );
    await assert.rejects(bad("{not json"), /is not valid JSON/);
    await assert.rejects(
      bad(JSON.stringify({ keks: [{ version: -1, passphrase: "a" }] })),
      /entry 0: version must be an integer/,
    );
    await assert.rejects(
      bad(JSON.stringify({ keks: [{ version: 1 }] })),
      /exactly one of "passphrase" and "passphrase_file"/,
    );
    await assert.rejects(bad(JSON.stringify({ keys: [] })), /must hold \{"keks"/);
    await assert.rejects(
      bad(
        JSON.stringify({
          keks: [
            { version: 1, passphrase: "secret-pass-xyz" },
            { version: 1, passphrase: "secret-pass-abc" },
          ],
        }),
      ),
      (err: Error) => !err.message.includes("secret-pass"),
    );
  });
});
