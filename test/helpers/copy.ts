/**
 * For `db copy` tests: an installation with something in every table (secrets at two KEK
 * versions and in two workspaces, users, tokens, grants, audit rows), and every table's rows as
 * exact, comparable values.
 */
import { randomUUID } from "node:crypto";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encryptPlaintext } from "../../src/crypto/internal.js";
import { insertRowsStatements } from "../../src/store/dialect.js";
import { Keyring, openSecretStore, pythonJsonDumps } from "../../src/index.js";
import { cliContext } from "../../src/cli/admin.js";
import { databaseOf } from "../../src/domain/context.js";
import { createPermissionsService } from "../../src/domain/permissions/service.js";
import { DOMAIN_MIGRATIONS } from "../../src/domain/schema.js";
import { createSecretsService } from "../../src/domain/secrets/service.js";
import { createTokensService } from "../../src/domain/tokens/service.js";
import { createPasswordHasher } from "../../src/domain/users/passwords.js";
import { createUsersService } from "../../src/domain/users/service.js";
import type { TestDatabase } from "./databases.js";
import { kekFor } from "./keks.js";

export const PASSPHRASE_V1 = "copy test passphrase one";
export const PASSPHRASE_V2 = "copy test passphrase two";

/** The KEK environment: current v2, v1 in a keyring file. */
export function keyringEnv(): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), "copy-keyring-"));
  const file = join(dir, "keyring.json");
  writeFileSync(file, JSON.stringify({ keks: [{ version: 1, passphrase: PASSPHRASE_V1 }] }));
  chmodSync(file, 0o600);
  return {
    MLFLOW_CRYPTO_KEK_PASSPHRASE: PASSPHRASE_V2,
    MLFLOW_CRYPTO_KEK_VERSION: "2",
    MLFLOW_SECRETS_KEYRING_FILE: file,
  };
}

async function testKeyringV2(): Promise<Keyring> {
  return Keyring.of(await kekFor(PASSPHRASE_V2, 2), [await kekFor(PASSPHRASE_V1, 1)]);
}

/** The secrets the installation holds: name, workspace and value. */
export const SEEDED_SECRETS = [
  { name: "openai-prod", workspace: "default", value: { api_key: "sk-proj-0000-openai-prod" } },
  { name: "openai-prod", workspace: "team-a", value: { api_key: "sk-proj-1111-team-a" } },
  {
    name: "bedrock",
    workspace: "default",
    value: { aws_access_key_id: "AKIA00000000", aws_secret_access_key: "secret/with+chars=" },
  },
  { name: "ünïcødé-名前-🔑", workspace: "default", value: { api_key: "välue-🔑-ütf8" } },
  { name: "anthropic", workspace: "default", value: { api_key: "sk-ant-api03-at-v2" } },
] as const;

/**
 * Fills a database through the domain's services (as the CLI's direct mode does, audited the
 * same way): four secrets under KEK v1, one under v2 (so both versions are stored), a second
 * workspace, two users, a token, a grant, and the audit rows of it all.
 */
export async function seedInstallation(
  uri: string,
  options: { workspaces?: boolean } = {},
): Promise<void> {
  const v1 = Keyring.of(await kekFor(PASSPHRASE_V1, 1));
  const v2 = await testKeyringV2();
  let firstId = "";
  for (const keyring of [v1, v2]) {
    const store = await openSecretStore({ uri, keyring, migrations: DOMAIN_MIGRATIONS });
    try {
      const secrets = createSecretsService({
        store,
        defaultPermission: "READ",
        usersCanCreate: false,
      });
      for (const secret of SEEDED_SECRETS) {
        if ((secret.name === "anthropic") !== (keyring === v2)) continue;
        if (secret.workspace !== "default" && options.workspaces === false) continue;
        const info = await secrets.create(cliContext(secret.workspace), {
          secretName: secret.name,
          secretValue: { ...secret.value },
          ...(secret.name === "openai-prod"
            ? { provider: "openai", authConfig: { api_base: "https://api.openai.com/v1" } }
            : {}),
        });
        firstId ||= info.secretId;
      }
      if (keyring === v2) {
        const database = databaseOf(store);
        const users = createUsersService({
          database,
          dialect: store.dialect,
          hasher: createPasswordHasher(),
        });
        const ctx = cliContext();
        await users.create(ctx, { username: "alice", password: "alice-password-1" });
        await users.create(ctx, { username: "bob", password: "bob-password-11", isAdmin: true });
        await createTokensService({ database }).create(ctx, { name: "ci", username: "alice" });
        await createPermissionsService({
          store,
          dialect: store.dialect,
          defaultPermission: "READ",
        }).create(ctx, { secretId: firstId, username: "alice", permission: "USE" });
      }
    } finally {
      await store.close();
    }
  }
}

/** Our tables and MLflow's, each with its primary key. */
const TABLES: readonly { name: string; key: string }[] = [
  { name: "secrets", key: "secret_id" },
  { name: "mlflow_secrets_users", key: "user_id" },
  { name: "mlflow_secrets_tokens", key: "token_id" },
  { name: "mlflow_secrets_permissions", key: "secret_id, user_id" },
  { name: "mlflow_secrets_audit_log", key: "event_id" },
];

function normalise(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return `bytes:${value.toString("hex")}`;
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  return value;
}

/**
 * Every row of a table, values as exact comparable strings (bytes as hex, integers as decimal
 * text, since drivers return BIGINT as numbers or strings), sorted by primary key in JavaScript.
 */
export async function dumpTable(
  db: TestDatabase,
  table: string,
  key: string,
  options: { omit?: readonly string[] } = {},
): Promise<Record<string, unknown>[]> {
  const rows = await db.query<Record<string, unknown>>(`SELECT * FROM ${table}`);
  const keys = key.split(",").map((k) => k.trim());
  return rows
    .map((row) => {
      const out: Record<string, unknown> = {};
      for (const column of Object.keys(row).sort()) {
        if (!options.omit?.includes(column.toLowerCase()))
          out[column.toLowerCase()] = normalise(row[column]);
      }
      return out;
    })
    .sort((a, b) => {
      const ka = keys.map((k) => String(a[k])).join("\u0000");
      const kb = keys.map((k) => String(b[k])).join("\u0000");
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    });
}

/** Every table of the installation. */
export async function dumpAll(
  db: TestDatabase,
): Promise<Record<string, Record<string, unknown>[]>> {
  const all: Record<string, Record<string, unknown>[]> = {};
  for (const { name, key } of TABLES) all[name] = await dumpTable(db, name, key);
  return all;
}

/** Decrypts every secret at `uri` with the v1+v2 keyring: name@workspace → value. */
export async function decryptAll(uri: string): Promise<Map<string, Record<string, string>>> {
  const store = await openSecretStore({ uri, keyring: await testKeyringV2(), migrate: false });
  try {
    const values = new Map<string, Record<string, string>>();
    const rows = await store.dialect.all<{
      secret_id: string;
      secret_name: string;
      workspace?: string;
    }>("SELECT * FROM secrets");
    for (const row of rows) {
      values.set(
        `${row.secret_name}@${row.workspace ?? "default"}`,
        await store.getSecretValue({ secretId: row.secret_id }),
      );
    }
    return values;
  } finally {
    await store.close();
  }
}

/**
 * Inserts `count` valid secrets (KEK v1) straight into a database's `secrets` table, a few
 * hundred rows per statement: a large source in seconds.
 */
export async function fillSecrets(uri: string, count: number): Promise<void> {
  const kek = await kekFor(PASSPHRASE_V1, 1);
  const store = await openSecretStore({ uri, keyring: Keyring.of(kek) });
  const columns = [
    "secret_id",
    "secret_name",
    "encrypted_value",
    "wrapped_dek",
    "kek_version",
    "masked_value",
    "provider",
    "created_at",
    "last_updated_at",
    "workspace",
  ];
  try {
    for (let start = 0; start < count; start += 5000) {
      const rows: (string | number | Buffer)[][] = [];
      for (let i = start; i < Math.min(count, start + 5000); i++) {
        const id = `s-${randomUUID().replaceAll("-", "")}`;
        const name = `bulk-${String(i).padStart(7, "0")}`;
        const key = `sk-${i.toString(16).padStart(24, "0")}`;
        const sealed = encryptPlaintext(
          Buffer.from(pythonJsonDumps({ api_key: key })),
          kek,
          id,
          name,
        );
        rows.push([
          id,
          name,
          sealed.encryptedValue,
          sealed.wrappedDek,
          1,
          pythonJsonDumps({ api_key: `sk-...${key.slice(-4)}` }),
          "openai",
          i,
          i,
          "default",
        ]);
      }
      await store.transaction(async (tx) => {
        for (const s of insertRowsStatements(store.dialect.sql, "secrets", columns, rows)) {
          await tx.executor.run(s.sql, s.params);
        }
      });
    }
  } finally {
    await store.close();
  }
}
