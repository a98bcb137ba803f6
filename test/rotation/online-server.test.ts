/**
 * During an online rotation (the real CLI, in another process), a server — a store with the new
 * KEK current and the old one in its keyring, step 1 of the zero-downtime procedure — answers
 * every read and update without error, and afterwards every secret holds its latest value.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { openSecretStore } from "../../src/index.js";
import { DIALECTS } from "../helpers/databases.js";
import { cliProcess } from "../helpers/cli.js";
import { withDatabase } from "../helpers/store.js";
import { assertEveryRowDecrypts, fill, keyringFor, passphraseFor } from "./helpers.js";

const ROWS = 2000;

for (const dialect of DIALECTS) {
  describe(`online rotation under a serving server on ${dialect.name}`, () => {
    it("every read and update succeeds while rows move from v1 to v2; no value is lost", () =>
      withDatabase(dialect, async (db) => {
        const setup = await openSecretStore({ uri: db.uri, keyring: await keyringFor(1) });
        const expected = await fill(setup, ROWS);
        const ids = (await setup.listSecretInfos()).secrets.map(
          (s) => [s.secretId, s.secretName] as const,
        );
        await setup.close();

        const server = await openSecretStore({ uri: db.uri, keyring: await keyringFor(2) });
        const dir = mkdtempSync(join(tmpdir(), "rotation-online-"));
        const newPassphraseFile = join(dir, "kek-v2");
        writeFileSync(newPassphraseFile, `${passphraseFor(2)}\n`, { mode: 0o600 });
        let finished = false;
        const rotation = cliProcess(
          [
            "crypto",
            "rotate-kek",
            "--online",
            "--yes",
            "--batch-size",
            "25",
            "--new-passphrase-file",
            newPassphraseFile,
          ],
          {
            MLFLOW_BACKEND_STORE_URI: db.uri,
            MLFLOW_CRYPTO_KEK_PASSPHRASE: passphraseFor(1),
            MLFLOW_CRYPTO_KEK_VERSION: "1",
          },
        ).finally(() => (finished = true));

        const errors: unknown[] = [];
        const seen = new Set<number>();
        let operations = 0;
        let updates = 0;
        try {
          for (let i = 0; !finished; i++) {
            // SQLite answers synchronously: let the event loop see the child's exit.
            await new Promise((resolve) => setImmediate(resolve));
            const [secretId, secretName] = ids[(i * 7919) % ids.length]!;
            try {
              const info = await server.getSecretInfo({ secretId });
              seen.add(info.kekVersion);
              assert.deepEqual(await server.getSecretValue({ secretId }), expected.get(secretName));
              if (i % 3 === 0) {
                const value = { api_key: `sk-updated-${i}-abcdefghijklmnop` };
                await server.updateSecret({ secretId, secretValue: value, updatedBy: "server" });
                expected.set(secretName, value);
                updates++;
              }
              operations++;
            } catch (err) {
              errors.push(err);
            }
          }
          const result = await rotation;
          assert.equal(result.code, 0, result.stderr);
          assert.match(result.stdout, /Successfully rotated \d+ encryption keys from KEK v1 to v2/);
          assert.deepEqual(errors, []);
          assert.ok(operations > 50 && updates > 10, `only ${operations} operations`);
          assert.ok(seen.has(1) && seen.has(2), "the server never saw both versions at once");
          // Every row decrypts to the server's latest value, all at the new version.
          assert.deepEqual(await assertEveryRowDecrypts(db, expected), { 2: ROWS });
          for (const [secretId, secretName] of ids.slice(0, 50)) {
            assert.deepEqual(await server.getSecretValue({ secretId }), expected.get(secretName));
          }
        } finally {
          await rotation;
          await server.close();
          rmSync(dir, { recursive: true, force: true });
        }
      }));
  });
}
