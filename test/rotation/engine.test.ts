/** The rotation engine (`rotateKek`), on every dialect. */
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import {
  KekRotationError,
  MlflowSecretsError,
  openSecretStore,
  rotateKek,
  type RotationProgress,
  type SecretStore,
} from "../../src/index.js";
import { DIALECTS, SKIPPED_DIALECTS } from "../helpers/databases.js";
import { withDatabase } from "../helpers/store.js";
import { kekFor } from "../helpers/keks.js";
import {
  assertEveryRowDecrypts,
  fill,
  kek,
  keyringFor,
  rawRows,
  versionCounts,
} from "./helpers.js";

if (SKIPPED_DIALECTS.length > 0) {
  it(
    `rotation suite skips ${SKIPPED_DIALECTS.join(", ")}`,
    { skip: "database not configured" },
    () => {},
  );
}

// Every store a test opens is closed after it, even when an assertion fails first (an open pool
// would keep the test process alive).
const opened: SecretStore[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close().catch(() => undefined);
});

async function openStore(uri: string, version: number): Promise<SecretStore> {
  const store = await openSecretStore({ uri, keyring: await keyringFor(version) });
  const close = store.close.bind(store);
  let closed = false;
  store.close = async () => {
    if (closed) return;
    closed = true;
    await close();
  };
  opened.push(store);
  return store;
}

/** Corrupts one row's wrapped DEK (flips its last byte: the GCM tag). */
async function corrupt(
  db: { query<T>(sql: string, p?: unknown[]): Promise<T[]> },
  name: string,
): Promise<string> {
  const [row] = await db.query<{ secret_id: string; wrapped_dek: Buffer }>(
    "SELECT secret_id, wrapped_dek FROM secrets WHERE secret_name = ?",
    [name],
  );
  const tampered = Buffer.from(row!.wrapped_dek);
  tampered[59] = tampered[59]! ^ 0x01;
  await db.query("UPDATE secrets SET wrapped_dek = ? WHERE secret_id = ?", [
    tampered,
    row!.secret_id,
  ]);
  return row!.secret_id;
}

for (const dialect of DIALECTS) {
  describe(`rotateKek on ${dialect.name}`, () => {
    for (const mode of ["offline", "online"] as const) {
      for (const parallel of [false, true]) {
        it(`${mode}${parallel ? " in a worker thread" : ""}: re-wraps every DEK at the old version, values untouched, other versions left alone; a re-run has nothing to do`, () =>
          withDatabase(dialect, async (db) => {
            const store = await openStore(db.uri, 1);
            const expected = await fill(store, 230);
            await store.close();
            // A few rows at version 3 (another KEK): rotation 1 → 2 must not touch them.
            const v3 = await openStore(db.uri, 3);
            for (const [name, value] of await fill(v3, 5, "other")) expected.set(name, value);
            await v3.close();
            const before = await rawRows(db);

            const progress: RotationProgress[] = [];
            const result = await rotateKek({
              uri: db.uri,
              oldKek: await kek(1),
              newKek: await kek(2),
              mode,
              batchSize: 64,
              parallel,
              onProgress: (p) => progress.push(p),
            });
            assert.equal(result.total, 230);
            assert.equal(result.rotated, 230);
            assert.equal(result.skipped, 0);
            assert.equal(result.remaining, 0);
            assert.deepEqual(
              progress.map((p) => p.done),
              [64, 128, 192, 230],
            );
            assert.deepEqual(await assertEveryRowDecrypts(db, expected), { 2: 230, 3: 5 });
            const after = new Map((await rawRows(db)).map((r) => [r.secret_id, r]));
            for (const row of before) {
              const now = after.get(row.secret_id)!;
              assert.ok(now.encrypted_value.equals(row.encrypted_value), "value rewritten");
              assert.equal(now.wrapped_dek.length, 60);
              if (row.kek_version === 3) assert.ok(now.wrapped_dek.equals(row.wrapped_dek));
              else assert.ok(!now.wrapped_dek.equals(row.wrapped_dek), "DEK not re-wrapped");
            }

            // A store with the new KEK current (and v3 in the keyring) reads everything.
            const reader = await openStore(db.uri, 3);
            const [some] = (await reader.listSecretInfos({ maxResults: 1 })).secrets;
            assert.deepEqual(
              await reader.getSecretValue({ secretId: some!.secretId }),
              expected.get(some!.secretName),
            );
            await reader.close();

            const again = await rotateKek({
              uri: db.uri,
              oldKek: await kek(1),
              newKek: await kek(2),
              mode,
            });
            assert.equal(again.total, 0);
            assert.equal(again.rotated, 0);
            assert.deepEqual(versionCounts(await rawRows(db)), { 2: 230, 3: 5 });
          }));
      }
    }

    it("a wrong old KEK is caught before anything is written", () =>
      withDatabase(dialect, async (db) => {
        const store = await openStore(db.uri, 1);
        await fill(store, 20);
        const before = await rawRows(db);
        for (const mode of ["offline", "online"] as const) {
          await assert.rejects(
            rotateKek({
              store,
              oldKek: await kekFor("not the passphrase", 1),
              newKek: await kek(2),
              mode,
            }),
            (err: unknown) => {
              assert.ok(err instanceof MlflowSecretsError);
              assert.match(err.message, /old passphrase does not decrypt .* kek_version 1/);
              assert.match(err.message, /MLFLOW_CRYPTO_KEK_PASSPHRASE/);
              assert.match(err.message, /Nothing was changed/);
              return true;
            },
          );
        }
        assert.deepEqual(await rawRows(db), before);
        await store.close();
      }));

    it("refuses equal versions, and a new passphrase other than the one rows already at the new version use", () =>
      withDatabase(dialect, async (db) => {
        const store = await openStore(db.uri, 1);
        await fill(store, 10);
        await assert.rejects(
          rotateKek({ store, oldKek: await kek(1), newKek: await kekFor("other", 1) }),
          /different version/,
        );
        // An interrupted online rotation left rows at v2 …
        await store.close();
        const v2 = await openStore(db.uri, 2);
        await fill(v2, 3, "new");
        const before = await rawRows(db);
        // … so finishing it with another passphrase for v2 would mix two KEKs in one version.
        await assert.rejects(
          rotateKek({ store: v2, oldKek: await kek(1), newKek: await kekFor("another one", 2) }),
          /kek_version 2 are wrapped with a different KEK/,
        );
        assert.deepEqual(await rawRows(db), before);
        await v2.close();
      }));

    it("offline: a DEK that does not unwrap rolls everything back and names the secret", () =>
      withDatabase(dialect, async (db) => {
        const store = await openStore(db.uri, 1);
        await fill(store, 150);
        const badId = await corrupt(db, "secret-00120");
        const before = await rawRows(db);
        await assert.rejects(
          rotateKek({ store, oldKek: await kek(1), newKek: await kek(2), batchSize: 50 }),
          (err: unknown) => {
            assert.ok(err instanceof KekRotationError);
            assert.equal(
              err.message,
              `KEK rotation failed at secret 'secret-00120' (${badId}). No changes were made. Fix the issue and re-run the command.`,
            );
            assert.equal(err.secretId, badId);
            assert.equal(err.committed, 0);
            assert.match((err.cause as Error).message, /Failed to rotate secret encryption/);
            return true;
          },
        );
        assert.deepEqual(await rawRows(db), before);
        await store.close();
      }));

    it("a wrapped DEK of the wrong length fails the rotation at that secret (offline: nothing changed) and shows up in a dry run", () =>
      withDatabase(dialect, async (db) => {
        const store = await openStore(db.uri, 1);
        await fill(store, 40);
        const [row] = await db.query<{ secret_id: string; wrapped_dek: Buffer }>(
          "SELECT secret_id, wrapped_dek FROM secrets WHERE secret_name = ?",
          ["secret-00013"],
        );
        await db.query("UPDATE secrets SET wrapped_dek = ? WHERE secret_id = ?", [
          Buffer.from(row!.wrapped_dek).subarray(0, 59),
          row!.secret_id,
        ]);
        const before = await rawRows(db);
        const dry = await rotateKek({
          store,
          oldKek: await kek(1),
          newKek: await kek(2),
          dryRun: true,
          batchSize: 16,
        });
        assert.equal(dry.rotated, 39);
        assert.deepEqual(dry.failures, [
          {
            secretId: row!.secret_id,
            secretName: "secret-00013",
            problem: "the wrapped DEK is not 60 bytes",
          },
        ]);
        await assert.rejects(
          rotateKek({ store, oldKek: await kek(1), newKek: await kek(2), batchSize: 16 }),
          (err: unknown) =>
            err instanceof KekRotationError &&
            err.secretName === "secret-00013" &&
            /not 60 bytes/.test((err.cause as Error).message),
        );
        assert.deepEqual(await rawRows(db), before);
      }));

    it("online: batches before a failing DEK stay rotated; once fixed, a re-run resumes", () =>
      withDatabase(dialect, async (db) => {
        const store = await openStore(db.uri, 1);
        const expected = await fill(store, 150);
        // The row the engine reaches 121st (its physical order), so that two batches come first.
        const orderKey = store.dialect.sql.rotation.orderKey;
        const [victim] = await store.dialect.all<{ secret_name: string }>(
          `SELECT secret_name FROM secrets ORDER BY ${orderKey} LIMIT 1 OFFSET 120`,
        );
        const badId = await corrupt(db, victim!.secret_name);
        const err = await rotateKek({
          store,
          oldKek: await kek(1),
          newKek: await kek(2),
          mode: "online",
          batchSize: 50,
        }).then(
          () => assert.fail("rotation should fail"),
          (e: unknown) => e,
        );
        assert.ok(err instanceof KekRotationError);
        assert.equal(err.secretName, victim!.secret_name);
        assert.match(err.message, /re-run the command to resume/);
        const counts = versionCounts(await rawRows(db));
        assert.equal(counts[2], err.committed);
        assert.equal(err.committed, 100);
        await store.deleteSecret({ secretId: badId });
        expected.delete(victim!.secret_name);
        const resumed = await rotateKek({
          store,
          oldKek: await kek(1),
          newKek: await kek(2),
          mode: "online",
          batchSize: 50,
        });
        assert.equal(resumed.rotated, 149 - err.committed);
        assert.deepEqual(await assertEveryRowDecrypts(db, expected), { 2: 149 });
        await store.close();
      }));

    it("dry run: counts what would rotate and lists what fails; changes nothing", () =>
      withDatabase(dialect, async (db) => {
        const store = await openStore(db.uri, 1);
        await fill(store, 120);
        const badId = await corrupt(db, "secret-00077");
        const before = await rawRows(db);
        const result = await rotateKek({
          store,
          oldKek: await kek(1),
          newKek: await kek(2),
          dryRun: true,
          batchSize: 32,
        });
        assert.equal(result.dryRun, true);
        assert.equal(result.total, 120);
        assert.equal(result.rotated, 119);
        assert.equal(result.failureCount, 1);
        assert.deepEqual(result.failures, [
          {
            secretId: badId,
            secretName: "secret-00077",
            problem:
              "Failed to rotate secret encryption. Check old KEK passphrase or database integrity.",
          },
        ]);
        assert.deepEqual(await rawRows(db), before);
        await store.close();
      }));

    it("online: a row a server re-encrypts meanwhile never loses its new value", () =>
      withDatabase(dialect, async (db) => {
        const store = await openStore(db.uri, 1);
        const expected = await fill(store, 100);
        // A server still on the old KEK (rolling restart not finished) updates a row of batch 2
        // right after batch 1 was written, when batch 2 has been read and re-wrapped already
        // (the engine reads one batch ahead). Whichever write lands first, the row must end up
        // decrypting to the server's value; a re-run finishes the job.
        const orderKey = store.dialect.sql.rotation.orderKey;
        const inOrder = await store.dialect.all<{ secret_id: string; secret_name: string }>(
          `SELECT secret_id, secret_name FROM secrets ORDER BY ${orderKey}`,
        );
        const target = inOrder[60]!;
        const oldServer = await openStore(db.uri, 1);
        let update: Promise<unknown> | undefined;
        await rotateKek({
          uri: db.uri,
          oldKek: await kek(1),
          newKek: await kek(2),
          mode: "online",
          batchSize: 50,
          onProgress: (p) => {
            if (p.done === 50) {
              update = oldServer.updateSecret({
                secretId: target.secret_id,
                secretValue: { api_key: "sk-updated-by-a-server-0000" },
              });
            }
          },
        });
        await update;
        await oldServer.close();
        expected.set(target.secret_name, { api_key: "sk-updated-by-a-server-0000" });
        await assertEveryRowDecrypts(db, expected);
        await rotateKek({ store, oldKek: await kek(1), newKek: await kek(2), mode: "online" });
        assert.deepEqual(await assertEveryRowDecrypts(db, expected), { 2: 100 });
        await store.close();
      }));

    it("the dialect's compare-and-set leaves rows whose version or wrapped DEK changed", () =>
      withDatabase(dialect, async (db) => {
        const store = await openStore(db.uri, 1);
        await fill(store, 4);
        const orderKey = store.dialect.sql.rotation.orderKey;
        const rows = await store.dialect.all<{ k: string | number; wrapped_dek: Buffer }>(
          `SELECT ${orderKey} AS k, wrapped_dek FROM secrets ORDER BY ${orderKey}`,
        );
        const oldDeks = Buffer.concat(rows.map((r) => Buffer.from(r.wrapped_dek)));
        const newDeks = Buffer.alloc(oldDeks.length, 0xab);
        // Row 1 changed its wrapped DEK, row 2 its version, since they were read.
        oldDeks[60] = oldDeks[60]! ^ 0xff;
        await store.dialect.run(`UPDATE secrets SET kek_version = 7 WHERE ${orderKey} = ?`, [
          rows[2]!.k,
        ]);
        const statements = store.dialect.sql.rotation.compareAndSetWrappedDeks({
          keys: rows.map((r) => r.k),
          oldWrappedDeks: oldDeks,
          newWrappedDeks: newDeks,
          oldVersion: 1,
          newVersion: 2,
        });
        let changed = 0;
        await store.dialect.transaction(async (tx) => {
          for (const s of statements) changed += await tx.run(s.sql, s.params);
        });
        assert.equal(changed, 2);
        const after = await store.dialect.all<{ kek_version: number; wrapped_dek: Buffer }>(
          `SELECT kek_version, wrapped_dek FROM secrets ORDER BY ${orderKey}`,
        );
        assert.deepEqual(
          after.map((r) => [
            Number(r.kek_version),
            Buffer.from(r.wrapped_dek).equals(newDeks.subarray(0, 60)),
          ]),
          [
            [2, true],
            [1, false],
            [7, false],
            [2, true],
          ],
        );
        await store.close();
      }));
  });
}
