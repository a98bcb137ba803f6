/** The transfer service as non-admin callers meet it: permissions first, audit rows, batches. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { databaseOf, type CallContext } from "../../src/domain/context.js";
import { createPermissionsService } from "../../src/domain/permissions/service.js";
import { DOMAIN_MIGRATIONS } from "../../src/domain/schema.js";
import { createSecretsService } from "../../src/domain/secrets/service.js";
import { createSecretsTransferService, planImport } from "../../src/domain/secrets/transfer.js";
import { createPasswordHasher } from "../../src/domain/users/passwords.js";
import { createUsersService } from "../../src/domain/users/service.js";
import { DIALECTS } from "../helpers/databases.js";
import { auditRows } from "../helpers/server.js";
import { withStore } from "../helpers/store.js";

const admin: CallContext = {
  principal: { userId: "", username: "root", isAdmin: true, via: "cli" },
};

describe("planImport", () => {
  it("creates what is missing and settles the rest by the policy", () => {
    const existing = new Map([["b", { secretId: "s-b" }]]);
    const entries = [{ name: "a" }, { name: "b" }];
    assert.deepEqual(planImport(entries, existing, "fail"), [
      { name: "a", action: "create" },
      { name: "b", action: "conflict", secretId: "s-b" },
    ]);
    assert.equal(planImport(entries, existing, "skip")[1]!.action, "skip");
    assert.equal(planImport(entries, existing, "update")[1]!.action, "update");
  });
});

for (const dialect of DIALECTS) {
  describe(`secrets transfer service on ${dialect.name}`, () => {
    it("refuses a non-admin export unless USE is held on every secret, reading nothing and recording the refusals", () =>
      withStore(
        dialect,
        async (store, db) => {
          const deps = { store, defaultPermission: "READ" as const, usersCanCreate: false };
          const secrets = createSecretsService(deps);
          const a = await secrets.create(admin, {
            secretName: "a",
            secretValue: { api_key: "sk-a-000000" },
          });
          await secrets.create(admin, { secretName: "b", secretValue: { api_key: "sk-b-000000" } });
          const users = createUsersService({
            database: databaseOf(store),
            dialect: store.dialect,
            hasher: createPasswordHasher({ logN: 4, r: 8, p: 1 }),
          });
          const dave = await users.create(admin, { username: "dave", password: "dave-password-1" });
          const ctx: CallContext = {
            principal: { userId: dave.userId, username: "dave", isAdmin: false, via: "basic" },
          };
          const transfer = createSecretsTransferService(deps);
          await assert.rejects(
            transfer.exportSecrets(ctx, {}),
            (err: Error & { errorCode?: string }) => {
              assert.equal(err.errorCode, "PERMISSION_DENIED");
              assert.match(err.message, /USE permission is required on 2 secret\(s\): 'a', 'b'/);
              return true;
            },
          );
          const rows = await auditRows(db, "action = 'secret.value'");
          assert.deepEqual(rows.map((r) => [r.secret_name, r.outcome]).sort(), [
            ["a", "denied"],
            ["b", "denied"],
          ]);
          await createPermissionsService({
            store,
            dialect: store.dialect,
            defaultPermission: "READ",
          }).create(admin, {
            secretId: a.secretId,
            username: "dave",
            permission: "USE",
          });
          const exported = await transfer.exportSecrets(ctx, { namePrefix: "a" });
          assert.deepEqual(exported, [
            { name: "a", value: { api_key: "sk-a-000000" }, provider: null, authConfig: null },
          ]);

          // Non-admins may not create (MLFLOW_SECRETS_USERS_CAN_CREATE is off): nothing written.
          await assert.rejects(
            transfer.importSecrets(ctx, [{ name: "c", value: { api_key: "sk-c-000000" } }]),
            /only admins may create secrets/,
          );
          assert.equal((await store.listSecretInfos()).secrets.length, 2);
          const denied = await auditRows(db, "action = 'secret.create' AND outcome = 'denied'");
          assert.deepEqual(
            denied.map((r) => r.secret_name),
            ["c"],
          );
        },
        { migrations: DOMAIN_MIGRATIONS },
      ));

    it("imports many secrets in batches, each batch one transaction, with an audit row per secret", () =>
      withStore(
        dialect,
        async (store, db) => {
          const transfer = createSecretsTransferService({
            store,
            defaultPermission: "READ",
            usersCanCreate: false,
          });
          const entries = Array.from({ length: 250 }, (_, i) => ({
            name: `bulk-${String(i).padStart(3, "0")}`,
            value: { api_key: `sk-bulk-${i}-0000000` },
            provider: "openai",
          }));
          const plan = await transfer.importSecrets(admin, entries, { batchSize: 100 });
          assert.equal(plan.filter((p) => p.action === "create").length, 250);
          assert.equal((await store.listSecretInfos()).secrets.length, 250);
          assert.equal((await auditRows(db, "action = 'secret.create'")).length, 250);
          const again = await transfer.importSecrets(admin, entries, { onConflict: "update" });
          assert.ok(again.every((p) => p.action === "unchanged"));
          assert.equal((await auditRows(db, "action = 'secret.update'")).length, 0);
          // A dry run of changes decides, writes nothing.
          const changed = entries.map((e, i) =>
            i < 3 ? { ...e, value: { api_key: "sk-new-value-00" } } : e,
          );
          const dry = await transfer.importSecrets(admin, changed, {
            onConflict: "update",
            dryRun: true,
          });
          assert.equal(dry.filter((p) => p.action === "update").length, 3);
          assert.equal((await auditRows(db, "action = 'secret.update'")).length, 0);
          assert.deepEqual(
            await store.getSecretValue({ secretId: plan[0]!.secretId! }),
            entries[0]!.value,
          );
        },
        { migrations: DOMAIN_MIGRATIONS },
      ));
  });
}
