/** The store's rules, on every dialect. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  MlflowSecretsError,
  decryptSecret,
  openSecretStore,
  type SecretInfo,
} from "../../src/index.js";
import { DIALECTS, SKIPPED_DIALECTS } from "../helpers/databases.js";
import { kekFor } from "../helpers/keks.js";
import { PASSPHRASE, testKeyring, withStore } from "../helpers/store.js";

interface RawRow {
  secret_id: string;
  secret_name: string;
  encrypted_value: Buffer;
  wrapped_dek: Buffer;
  kek_version: number;
  masked_value: string;
  auth_config: string | null;
}

async function rawRow(
  db: { query<T>(sql: string, p?: unknown[]): Promise<T[]> },
  id: string,
): Promise<RawRow> {
  const [row] = await db.query<RawRow>(
    "SELECT secret_id, secret_name, encrypted_value, wrapped_dek, kek_version, masked_value, auth_config FROM secrets WHERE secret_id = ?",
    [id],
  );
  assert.ok(row, `row ${id} missing`);
  return { ...row, kek_version: Number(row.kek_version) };
}

async function rejectsWith(
  promise: Promise<unknown>,
  errorCode: string,
  message?: string | RegExp,
): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof MlflowSecretsError, `not a library error: ${String(err)}`);
    assert.equal(err.errorCode, errorCode);
    if (typeof message === "string") assert.equal(err.message, message);
    else if (message) assert.match(err.message, message);
    return true;
  });
}

if (SKIPPED_DIALECTS.length > 0) {
  it(
    `store suite skips ${SKIPPED_DIALECTS.join(", ")}`,
    { skip: "database not configured" },
    () => {},
  );
}

for (const dialect of DIALECTS) {
  describe(`secret store on ${dialect.name}`, () => {
    it("creates a secret: s- + 32 hex id, masks per key, Python json.dumps plaintext, no plaintext in the info", () =>
      withStore(dialect, async (store, db) => {
        const value = {
          aws_access_key_id: "AKIAIOSFODNN7EXAMPLE",
          aws_secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        };
        const info = await store.createSecret({
          secretName: "bedrock",
          secretValue: value,
          provider: "bedrock",
          createdBy: "alice",
        });
        assert.match(info.secretId, /^s-[0-9a-f]{32}$/);
        assert.deepEqual(info.maskedValues, {
          aws_access_key_id: "AKI...MPLE",
          aws_secret_access_key: "wJa...EKEY",
        });
        assert.equal(info.provider, "bedrock");
        assert.equal(info.createdBy, "alice");
        assert.equal(info.lastUpdatedBy, "alice");
        assert.equal(info.workspace, "default");
        assert.equal(info.kekVersion, 1);
        assert.equal(info.createdAt, info.lastUpdatedAt);
        assert.ok(Math.abs(info.createdAt - Date.now()) < 60_000);
        const dump = JSON.stringify(info);
        for (const secret of Object.values(value)) assert.ok(!dump.includes(secret));

        const row = await rawRow(db, info.secretId);
        assert.equal(row.wrapped_dek.length, 60);
        assert.equal(
          row.masked_value,
          '{"aws_access_key_id": "AKI...MPLE", "aws_secret_access_key": "wJa...EKEY"}',
        );
        const kek = await kekFor(PASSPHRASE, 1);
        // MLflow's store encrypts json.dumps(dict): insertion order, ", " and ": " separators.
        assert.equal(
          decryptSecret(row.encrypted_value, row.wrapped_dek, kek, info.secretId, "bedrock") !==
            undefined,
          true,
        );
        const expectedPlaintext =
          '{"aws_access_key_id": "AKIAIOSFODNN7EXAMPLE", "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}';
        assert.equal(row.encrypted_value.length, 28 + Buffer.byteLength(expectedPlaintext));
        assert.deepEqual(await store.getSecretValue({ secretId: info.secretId }), value);
        assert.deepEqual(await store.getSecretInfo({ secretId: info.secretId }), info);
      }));

    it("stores non-ASCII values escaped as Python does and reads them back", () =>
      withStore(dialect, async (store, db) => {
        const value = { api_key: "ключ-🔐-密钥-1234", clé: "x" };
        const info = await store.createSecret({ secretName: "名前 🔑", secretValue: value });
        assert.deepEqual(await store.getSecretValue({ secretId: info.secretId }), value);
        const row = await rawRow(db, info.secretId);
        const plaintextLength = Buffer.byteLength(
          '{"api_key": "\\u043a\\u043b\\u044e\\u0447-\\ud83d\\udd10-\\u5bc6\\u94a5-1234", "cl\\u00e9": "x"}',
        );
        assert.equal(row.encrypted_value.length, 28 + plaintextLength);
        assert.equal(row.secret_name, "名前 🔑");
        assert.equal(
          (await store.getSecretInfo({ secretName: "名前 🔑" })).secretId,
          info.secretId,
        );
      }));

    it("validates input with clear messages that never contain the value", () =>
      withStore(dialect, async (store) => {
        const secretValue = { api_key: "sk-NEVER-IN-A-MESSAGE-123" };
        const cases: [Record<string, unknown>, RegExp][] = [
          [
            { secretName: "", secretValue },
            /^Missing value for required parameter 'secret_name'\.$/,
          ],
          [{ secretValue }, /^Missing value for required parameter 'secret_name'\.$/],
          [
            { secretName: "x".repeat(256), secretValue },
            /^secret_name must be at most 255 characters, got 256$/,
          ],
          [{ secretName: "n", secretValue: {} }, /secret_value must be a non-empty object/],
          [
            { secretName: "n", secretValue: "sk-NEVER-IN-A-MESSAGE-123" },
            /secret_value must be a non-empty object/,
          ],
          [{ secretName: "n", secretValue: ["a"] }, /secret_value must be a non-empty object/],
          [
            { secretName: "n", secretValue: { api_key: 42 } },
            /secret_value\['api_key'\] must be a string, got number/,
          ],
          [
            { secretName: "n", secretValue, provider: "p".repeat(65) },
            /provider must be at most 64 characters/,
          ],
          [
            { secretName: "n", secretValue: { api_key: "k".repeat(61 * 1024) } },
            /secret_value is too large: \d+ bytes as JSON, the limit is 61440/,
          ],
          [
            {
              secretName: "n",
              secretValue: Object.fromEntries(
                Array.from({ length: 40 }, (_, i) => [
                  `key_number_${i}`,
                  "sk-NEVER-IN-A-MESSAGE-123",
                ]),
              ),
            },
            /masks take \d+ characters, the limit is 500/,
          ],
          [
            { secretName: "n", secretValue, authConfig: "not an object" },
            /auth_config must be a JSON object/,
          ],
          [
            { secretName: "n", secretValue, workspace: "w".repeat(64) },
            /workspace must be at most 63 characters/,
          ],
        ];
        for (const [input, message] of cases) {
          await assert.rejects(store.createSecret(input as never), (err: MlflowSecretsError) => {
            assert.equal(err.errorCode, "INVALID_PARAMETER_VALUE", err.message);
            assert.match(err.message, message);
            assert.ok(!err.message.includes("sk-NEVER-IN-A-MESSAGE"));
            return true;
          });
        }
        // The limits themselves are accepted (255 code points, astral ones included).
        const name = "🔑".repeat(255);
        const info = await store.createSecret({
          secretName: name,
          secretValue,
          provider: "p".repeat(64),
        });
        assert.equal((await store.getSecretInfo({ secretId: info.secretId })).secretName, name);
        assert.equal((await store.listSecretInfos()).secrets.length, 1);
      }));

    it("rejects a duplicate name in a workspace, also between two concurrent creators", () =>
      withStore(dialect, async (store, db) => {
        await store.createSecret({ secretName: "dup", secretValue: { api_key: "sk-1" } });
        await rejectsWith(
          store.createSecret({ secretName: "dup", secretValue: { api_key: "sk-2" } }),
          "RESOURCE_ALREADY_EXISTS",
          "Secret with name 'dup' already exists",
        );
        // Same name in another workspace is a different secret.
        await store.createSecret({
          secretName: "dup",
          secretValue: { api_key: "sk-3" },
          workspace: "team-a",
        });

        const other = await openSecretStore({ uri: db.uri, keyring: await testKeyring() });
        try {
          for (let round = 0; round < 5; round++) {
            const results = await Promise.allSettled([
              store.createSecret({ secretName: `race-${round}`, secretValue: { api_key: "a" } }),
              other.createSecret({ secretName: `race-${round}`, secretValue: { api_key: "b" } }),
              store.createSecret({ secretName: `race-${round}`, secretValue: { api_key: "c" } }),
            ]);
            const ok = results.filter((r) => r.status === "fulfilled");
            const failed = results.filter(
              (r): r is PromiseRejectedResult => r.status === "rejected",
            );
            assert.equal(
              ok.length,
              1,
              `round ${round}: ${failed.map((f) => String(f.reason)).join("; ")}`,
            );
            for (const f of failed) {
              assert.ok(f.reason instanceof MlflowSecretsError);
              assert.equal(f.reason.errorCode, "RESOURCE_ALREADY_EXISTS");
            }
          }
        } finally {
          await other.close();
        }
      }));

    it("gets by id or by name, exactly one of them", () =>
      withStore(dialect, async (store) => {
        const info = await store.createSecret({
          secretName: "openai",
          secretValue: { api_key: "sk-proj-1234567890" },
        });
        assert.deepEqual(await store.getSecretInfo({ secretName: "openai" }), info);
        assert.deepEqual(await store.getSecretInfo({ secretId: info.secretId }), info);
        const exactlyOne = "Exactly one of secret_id or secret_name must be provided";
        await rejectsWith(store.getSecretInfo({} as never), "INVALID_PARAMETER_VALUE", exactlyOne);
        await rejectsWith(
          store.getSecretInfo({ secretId: info.secretId, secretName: "openai" } as never),
          "INVALID_PARAMETER_VALUE",
          exactlyOne,
        );
        await rejectsWith(
          store.getSecretInfo({ secretId: "s-00000000000000000000000000000000" }),
          "RESOURCE_DOES_NOT_EXIST",
          /not found/,
        );
        await rejectsWith(
          store.getSecretInfo({ secretName: "nope" }),
          "RESOURCE_DOES_NOT_EXIST",
          /not found/,
        );
        await rejectsWith(
          store.getSecretValue({ secretId: "s-00000000000000000000000000000000" }),
          "RESOURCE_DOES_NOT_EXIST",
        );
      }));

    it("updates a value with a new DEK under the current KEK, keeping id and name", () =>
      withStore(dialect, async (store, db) => {
        const created = await store.createSecret({
          secretName: "rotating",
          secretValue: { api_key: "sk-old-0000000000" },
          authConfig: { api_base: "https://a" },
        });
        const before = await rawRow(db, created.secretId);
        // A server whose current KEK is v2 (v1 still in its keyring) updates the value.
        const v2 = await openSecretStore({ uri: db.uri, keyring: await testKeyring(2, [1]) });
        try {
          await new Promise((r) => setTimeout(r, 5));
          const updated = await v2.updateSecret({
            secretId: created.secretId,
            secretValue: { api_key: "sk-new-1111111111" },
            updatedBy: "bob",
          });
          assert.equal(updated.secretId, created.secretId);
          assert.equal(updated.secretName, "rotating");
          assert.equal(updated.kekVersion, 2);
          assert.deepEqual(updated.maskedValues, { api_key: "sk-...1111" });
          assert.deepEqual(
            updated.authConfig,
            { api_base: "https://a" },
            "auth_config unchanged when omitted",
          );
          assert.equal(updated.lastUpdatedBy, "bob");
          assert.equal(updated.createdBy, undefined);
          assert.ok(updated.lastUpdatedAt > created.lastUpdatedAt);
          assert.equal(updated.createdAt, created.createdAt);
          const after = await rawRow(db, created.secretId);
          assert.equal(after.kek_version, 2);
          assert.ok(!after.wrapped_dek.equals(before.wrapped_dek));
          assert.ok(!after.encrypted_value.equals(before.encrypted_value));
          const oldDek = await kekFor(PASSPHRASE, 1);
          assert.throws(() =>
            decryptSecret(
              after.encrypted_value,
              after.wrapped_dek,
              oldDek,
              created.secretId,
              "rotating",
            ),
          );
          assert.deepEqual(await v2.getSecretValue({ secretId: created.secretId }), {
            api_key: "sk-new-1111111111",
          });
          assert.deepEqual(await v2.getSecretInfo({ secretId: created.secretId }), updated);
        } finally {
          await v2.close();
        }
      }));

    it("replaces, keeps or clears auth_config on update", () =>
      withStore(dialect, async (store, db) => {
        const { secretId } = await store.createSecret({
          secretName: "azure",
          secretValue: { api_key: "k" },
          authConfig: { api_base: "https://x", api_version: "1" },
        });
        let info = await store.updateSecret({ secretId, authConfig: { api_version: "2" } });
        assert.deepEqual(info.authConfig, { api_version: "2" });
        info = await store.updateSecret({ secretId });
        assert.deepEqual(info.authConfig, { api_version: "2" });
        assert.equal(info.lastUpdatedBy, undefined);
        assert.deepEqual(await store.getSecretValue({ secretId }), { api_key: "k" });
        info = await store.updateSecret({ secretId, authConfig: {} });
        assert.equal(info.authConfig, undefined);
        assert.equal((await rawRow(db, secretId)).auth_config, null);
        assert.equal((await store.getSecretInfo({ secretId })).authConfig, undefined);
        await rejectsWith(
          store.updateSecret({ secretId: "s-00000000000000000000000000000000", authConfig: {} }),
          "RESOURCE_DOES_NOT_EXIST",
        );
        await rejectsWith(
          store.updateSecret({ secretId, secretValue: {} }),
          "INVALID_PARAMETER_VALUE",
        );
      }));

    it("refuses a raw rename or id change in SQL (the immutability trigger)", () =>
      withStore(dialect, async (store, db) => {
        const { secretId } = await store.createSecret({
          secretName: "immutable",
          secretValue: { api_key: "sk-1" },
        });
        await assert.rejects(
          db.query("UPDATE secrets SET secret_name = 'renamed' WHERE secret_id = ?", [secretId]),
          /immutable/,
        );
        await assert.rejects(
          db.query(
            "UPDATE secrets SET secret_id = 's-ffffffffffffffffffffffffffffffff' WHERE secret_id = ?",
            [secretId],
          ),
          /immutable/,
        );
        assert.equal((await store.getSecretInfo({ secretId })).secretName, "immutable");
        // Other columns still update.
        await db.query("UPDATE secrets SET provider = 'openai' WHERE secret_id = ?", [secretId]);
        assert.equal((await store.getSecretInfo({ secretId })).provider, "openai");
      }));

    it("deletes for good", () =>
      withStore(dialect, async (store) => {
        const { secretId } = await store.createSecret({
          secretName: "gone",
          secretValue: { api_key: "sk-1" },
        });
        await store.deleteSecret({ secretId });
        await rejectsWith(store.getSecretInfo({ secretId }), "RESOURCE_DOES_NOT_EXIST");
        await rejectsWith(store.getSecretValue({ secretId }), "RESOURCE_DOES_NOT_EXIST");
        await rejectsWith(store.deleteSecret({ secretId }), "RESOURCE_DOES_NOT_EXIST");
        // The name is free again.
        await store.createSecret({ secretName: "gone", secretValue: { api_key: "sk-2" } });
      }));

    it("lists by name in code-point order, filtered by provider, paginated with an opaque token", () =>
      withStore(dialect, async (store) => {
        const names = ["b", "B", "a", "Z", "é", "🔑", "z-1", "z-10", "z-2", "_", "0"];
        for (const [i, name] of names.entries()) {
          await store.createSecret({
            secretName: name,
            secretValue: { api_key: `sk-${i}` },
            provider: i % 2 ? "openai" : "anthropic",
          });
        }
        const codePointOrder = [...names]
          .sort((x, y) => (x < y ? -1 : 1))
          .sort((x, y) => {
            const a = Array.from(x).map((c) => c.codePointAt(0)!);
            const b = Array.from(y).map((c) => c.codePointAt(0)!);
            for (let i = 0; i < Math.min(a.length, b.length); i++)
              if (a[i] !== b[i]) return a[i]! - b[i]!;
            return a.length - b.length;
          });
        const all = await store.listSecretInfos();
        assert.deepEqual(
          all.secrets.map((s) => s.secretName),
          codePointOrder,
        );
        assert.equal(all.nextPageToken, undefined);

        const paged: SecretInfo[] = [];
        let token: string | undefined;
        let pages = 0;
        do {
          const page = await store.listSecretInfos({
            maxResults: 4,
            ...(token ? { pageToken: token } : {}),
          });
          assert.ok(page.secrets.length <= 4);
          paged.push(...page.secrets);
          token = page.nextPageToken;
          pages++;
        } while (token);
        assert.equal(pages, 3);
        assert.deepEqual(
          paged.map((s) => s.secretName),
          codePointOrder,
        );

        const openai = await store.listSecretInfos({ provider: "openai" });
        assert.deepEqual(
          openai.secrets.map((s) => s.provider),
          Array(5).fill("openai"),
        );
        assert.equal((await store.listSecretInfos({ maxResults: 11 })).nextPageToken, undefined);

        await rejectsWith(
          store.listSecretInfos({ pageToken: "garbage" }),
          "INVALID_PARAMETER_VALUE",
          "Invalid page_token",
        );
        for (const bad of [0, -1, 1.5, 1001]) {
          await rejectsWith(
            store.listSecretInfos({ maxResults: bad }),
            "INVALID_PARAMETER_VALUE",
            /max_results/,
          );
        }
      }));

    it("keeps workspaces apart", () =>
      withStore(dialect, async (store) => {
        const a = await store.createSecret({
          secretName: "shared-name",
          secretValue: { api_key: "sk-a" },
          workspace: "team-a",
        });
        const b = await store.createSecret({
          secretName: "shared-name",
          secretValue: { api_key: "sk-b" },
          workspace: "team-b",
        });
        assert.equal(a.workspace, "team-a");
        assert.deepEqual(
          (await store.listSecretInfos({ workspace: "team-a" })).secrets.map((s) => s.secretId),
          [a.secretId],
        );
        assert.deepEqual((await store.listSecretInfos()).secrets, []);
        assert.equal(
          (await store.getSecretInfo({ secretName: "shared-name", workspace: "team-b" })).secretId,
          b.secretId,
        );
        await rejectsWith(
          store.getSecretInfo({ secretName: "shared-name" }),
          "RESOURCE_DOES_NOT_EXIST",
        );
        await rejectsWith(
          store.getSecretInfo({ secretId: a.secretId, workspace: "team-b" }),
          "RESOURCE_DOES_NOT_EXIST",
        );
        await rejectsWith(
          store.getSecretValue({ secretId: a.secretId, workspace: "team-b" }),
          "RESOURCE_DOES_NOT_EXIST",
        );
        await rejectsWith(
          store.deleteSecret({ secretId: a.secretId, workspace: "team-b" }),
          "RESOURCE_DOES_NOT_EXIST",
        );
        await rejectsWith(
          store.updateSecret({ secretId: a.secretId, workspace: "team-b", authConfig: {} }),
          "RESOURCE_DOES_NOT_EXIST",
        );
        assert.deepEqual(
          await store.getSecretValue({ secretId: a.secretId, workspace: "team-a" }),
          { api_key: "sk-a" },
        );
      }));

    it("runs several operations in one transaction: all or nothing", () =>
      withStore(dialect, async (store) => {
        await assert.rejects(
          store.transaction(async (tx) => {
            await tx.createSecret({ secretName: "first", secretValue: { api_key: "1" } });
            await tx.createSecret({ secretName: "first", secretValue: { api_key: "2" } });
          }),
          { errorCode: "RESOURCE_ALREADY_EXISTS" },
        );
        assert.deepEqual((await store.listSecretInfos()).secrets, []);
        const ids = await store.transaction(async (tx) => [
          (await tx.createSecret({ secretName: "one", secretValue: { api_key: "1" } })).secretId,
          (await tx.createSecret({ secretName: "two", secretValue: { api_key: "2" } })).secretId,
        ]);
        assert.equal((await store.listSecretInfos()).secrets.length, ids.length);
      }));

    it("refuses at once a store call inside its own transaction (instead of tx), and rolls back", () =>
      withStore(dialect, async (store) => {
        const { secretId } = await store.createSecret({
          secretName: "existing",
          secretValue: { api_key: "sk-1" },
        });
        const misuses: [string, () => Promise<unknown>][] = [
          ["getSecretInfo", () => store.getSecretInfo({ secretId })],
          ["createSecret", () => store.createSecret({ secretName: "x", secretValue: { k: "v" } })],
          ["listSecretInfos", () => store.listSecretInfos()],
          ["getSecretValue", () => store.getSecretValue({ secretId })],
          ["transaction", () => store.transaction(async () => 1)],
          ["dialect.get", () => store.dialect.get("SELECT 1 AS one")],
        ];
        for (const [name, misuse] of misuses) {
          const started = Date.now();
          await assert.rejects(
            store.transaction(async (tx) => {
              await tx.createSecret({ secretName: `before-${name}`, secretValue: { k: "v" } });
              // After an await as well: the transaction's context follows its callback.
              await new Promise((resolve) => setImmediate(resolve));
              await misuse();
            }),
            (err: MlflowSecretsError) =>
              err.reason === "TX_REENTRANT" && /use the `tx`/.test(err.message),
            name,
          );
          assert.ok(Date.now() - started < 100, `${name} took ${Date.now() - started} ms`);
        }
        // Everything rolled back; the store works as before, also concurrently.
        const names = (await store.listSecretInfos()).secrets.map((s) => s.secretName);
        assert.deepEqual(names, ["existing"]);
        await Promise.all([
          store.getSecretInfo({ secretId }),
          store.transaction((tx) => tx.getSecretInfo({ secretId })),
          store.createSecret({ secretName: "after", secretValue: { k: "v" } }),
        ]);
      }));
  });
}
