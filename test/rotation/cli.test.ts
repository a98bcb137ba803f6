/** `mlflow-secrets crypto rotate-kek` and the rotation progress in `crypto status`. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { openSecretStore } from "../../src/index.js";
import { DIALECTS } from "../helpers/databases.js";
import { cli } from "../helpers/cli.js";
import { withDatabase } from "../helpers/store.js";
import {
  assertEveryRowDecrypts,
  fill,
  keyringFor,
  passphraseFor,
  rawRows,
  versionCounts,
} from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "rotation-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function passphraseFile(version: number): string {
  const path = join(dir, `kek-v${version}`);
  writeFileSync(path, `${passphraseFor(version)}\n`, { mode: 0o600 });
  return path;
}

/** The environment of an operator about to rotate from `version`. */
function envFor(uri: string, version = 1): Record<string, string> {
  return {
    MLFLOW_BACKEND_STORE_URI: uri,
    MLFLOW_CRYPTO_KEK_PASSPHRASE: passphraseFor(version),
    MLFLOW_CRYPTO_KEK_VERSION: String(version),
  };
}

async function seeded(uri: string, count: number): Promise<Map<string, Record<string, string>>> {
  const store = await openSecretStore({ uri, keyring: await keyringFor(1) });
  try {
    return await fill(store, count);
  } finally {
    await store.close();
  }
}

const BANNER =
  "=".repeat(80) +
  "\nCRITICAL: Update BOTH environment variables in your deployment config:\n" +
  "=".repeat(80) +
  "\n\n  MLFLOW_CRYPTO_KEK_PASSPHRASE='<new-passphrase>'\n  MLFLOW_CRYPTO_KEK_VERSION='2'\n" +
  "\nFailure to update BOTH variables will cause decryption failures!\n";

describe("crypto rotate-kek: arguments and environment", () => {
  it("without MLFLOW_CRYPTO_KEK_PASSPHRASE fails with MLflow's message", async () => {
    const result = await cli(["crypto", "rotate-kek", "--yes", "--new-passphrase", "x"], {
      env: { MLFLOW_BACKEND_STORE_URI: `sqlite:///${join(dir, "none.db")}` },
    });
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /^Error: MLFLOW_CRYPTO_KEK_PASSPHRASE environment variable must be set to the current \(old\) passphrase before running KEK rotation\.\n\nExample:\n {2}export MLFLOW_CRYPTO_KEK_PASSPHRASE='current-passphrase'\n/,
    );
  });

  it("usage errors exit 2: both passphrase sources, a bad batch size", async () => {
    const env = envFor(`sqlite:///${join(dir, "usage.db")}`);
    const both = await cli(
      ["crypto", "rotate-kek", "--new-passphrase", "a", "--new-passphrase-file", "f", "--yes"],
      { env },
    );
    assert.equal(both.code, 2);
    assert.match(both.stderr, /only one of --new-passphrase and --new-passphrase-file/);
    for (const bad of ["0", "abc", "50001"]) {
      const result = await cli(["crypto", "rotate-kek", "--batch-size", bad], { env });
      assert.equal(result.code, 2, bad);
      assert.match(result.stderr, /--batch-size must be an integer between 1 and 50000/);
    }
  });

  it("help names every option and shows an example", async () => {
    const help = await cli(["crypto", "rotate-kek", "--help"]);
    assert.equal(help.code, 0);
    for (const option of [
      "--new-passphrase",
      "--new-passphrase-file",
      "--backend-store-uri",
      "--yes",
      "--online",
      "--batch-size",
      "--dry-run",
      "Example:",
    ]) {
      assert.ok(help.stdout.includes(option), option);
    }
  });
});

for (const dialect of DIALECTS) {
  describe(`crypto rotate-kek on ${dialect.name}`, () => {
    it("offline: rotates, prints MLflow's lines and banner; a re-run has nothing to rotate", () =>
      withDatabase(dialect, async (db) => {
        const expected = await seeded(db.uri, 5);
        const env = envFor(db.uri);
        const result = await cli(
          ["crypto", "rotate-kek", "--yes", "--new-passphrase-file", passphraseFile(2)],
          { env },
        );
        assert.equal(result.code, 0, result.stderr);
        assert.ok(
          result.stdout.startsWith(
            "Creating KEK managers (v1 -> v2)...\nConnecting to backend store...\nRetrieving encrypted keys to rotate...\nFound 5 secrets to rotate.\n",
          ),
          result.stdout,
        );
        assert.ok(
          result.stdout.includes(
            `✓ Successfully rotated 5 encryption keys from KEK v1 to v2\n\n${BANNER}`,
          ),
        );
        assert.match(
          result.stderr,
          /^Rotated 5 of 5 secret\(s\) in [\d.]+ s \(\d+ rows\/s, offline\)\.$/m,
        );
        assert.ok(!result.stderr.includes("|"), "no progress bar when stderr is not a terminal");
        assert.deepEqual(await assertEveryRowDecrypts(db, expected), { 2: 5 });

        const again = await cli(
          ["crypto", "rotate-kek", "--yes", "--new-passphrase-file", passphraseFile(2)],
          { env },
        );
        assert.equal(again.code, 0, again.stderr);
        assert.ok(
          again.stderr.includes("✓ No secrets found with kek_version=1. Nothing to rotate.\n"),
        );
        assert.deepEqual(await assertEveryRowDecrypts(db, expected), { 2: 5 });
      }));

    it("online, on a terminal: hidden prompt twice, MLflow's warning and question, a progress bar, '1 encryption key'", () =>
      withDatabase(dialect, async (db) => {
        const expected = await seeded(db.uri, 1);
        const result = await cli(["crypto", "rotate-kek", "--online", "--batch-size", "1"], {
          env: envFor(db.uri),
          tty: true,
          answers: [passphraseFor(2), passphraseFor(2), true],
        });
        assert.equal(result.code, 0, result.stderr);
        assert.deepEqual(result.prompts, [
          "New passphrase",
          "Repeat for confirmation",
          "Continue with KEK rotation?",
        ]);
        assert.ok(result.stderr.includes("⚠️  WARNING: KEK Rotation Operation"));
        assert.ok(result.stderr.includes("  - Update all encrypted data from kek_version 1 to 2"));
        assert.ok(result.stderr.includes("IMPORTANT (--online)"));
        assert.match(result.stderr, /Rotating secrets \|.*\| 100% \| 1\/1 rows/);
        assert.ok(
          result.stdout.includes("✓ Successfully rotated 1 encryption key from KEK v1 to v2"),
        );
        assert.ok(result.stdout.includes("KEK v1 can be removed from MLFLOW_SECRETS_KEYRING_FILE"));
        assert.ok(
          !result.stdout.includes(passphraseFor(2)) && !result.stderr.includes(passphraseFor(2)),
        );
        assert.deepEqual(await assertEveryRowDecrypts(db, expected), { 2: 1 });
      }));

    it("answering no cancels (exit 0); mismatched entries fail; nothing is written", () =>
      withDatabase(dialect, async (db) => {
        await seeded(db.uri, 3);
        const before = await rawRows(db);
        const no = await cli(["crypto", "rotate-kek"], {
          env: envFor(db.uri),
          tty: true,
          answers: [passphraseFor(2), passphraseFor(2), false],
        });
        assert.equal(no.code, 0);
        assert.equal(no.prompts.at(-1), "Continue with KEK rotation?");
        assert.ok(no.stderr.includes("⚠️  WARNING: KEK Rotation Operation"));
        assert.ok(
          no.stderr.includes("IMPORTANT: Ensure the MLflow server is shut down before proceeding."),
        );
        assert.ok(no.stderr.endsWith("KEK rotation cancelled.\n"));
        const mismatch = await cli(["crypto", "rotate-kek"], {
          env: envFor(db.uri),
          tty: true,
          answers: ["one", "two"],
        });
        assert.equal(mismatch.code, 1);
        assert.match(mismatch.stderr, /The two entered values do not match/);
        assert.deepEqual(await rawRows(db), before);
      }));

    it("refuses, before writing anything: no terminal without --yes, no new passphrase off a terminal, new = old, a wrong old passphrase", () =>
      withDatabase(dialect, async (db) => {
        await seeded(db.uri, 3);
        const before = await rawRows(db);
        const env = envFor(db.uri);
        const noYes = await cli(
          ["crypto", "rotate-kek", "--new-passphrase-file", passphraseFile(2)],
          {
            env,
          },
        );
        assert.equal(noYes.code, 1);
        assert.match(noYes.stderr, /not on a terminal, so pass --yes/);

        const noPassphrase = await cli(["crypto", "rotate-kek", "--yes"], { env });
        assert.equal(noPassphrase.code, 1);
        assert.match(noPassphrase.stderr, /No new passphrase: not on a terminal/);

        const same = await cli(
          ["crypto", "rotate-kek", "--yes", "--new-passphrase-file", passphraseFile(1)],
          { env },
        );
        assert.equal(same.code, 1);
        assert.match(same.stderr, /The new passphrase is the same as the old one/);

        const wrongOld = await cli(
          ["crypto", "rotate-kek", "--yes", "--new-passphrase-file", passphraseFile(2)],
          { env: { ...env, MLFLOW_CRYPTO_KEK_PASSPHRASE: "not the old passphrase" } },
        );
        assert.equal(wrongOld.code, 1);
        assert.match(
          wrongOld.stderr,
          /Error: The old passphrase does not decrypt the secrets stored with kek_version 1: check MLFLOW_CRYPTO_KEK_PASSPHRASE/,
        );
        assert.ok(!wrongOld.stderr.includes("not the old passphrase"));
        assert.deepEqual(await rawRows(db), before);
      }));

    it("dry run changes nothing and needs no --yes; a failing DEK makes it exit 1 and aborts a real run", () =>
      withDatabase(dialect, async (db) => {
        await seeded(db.uri, 4);
        const env = envFor(db.uri);
        const dry = await cli(
          ["crypto", "rotate-kek", "--dry-run", "--new-passphrase-file", passphraseFile(2)],
          { env },
        );
        assert.equal(dry.code, 0, dry.stderr);
        assert.ok(
          dry.stdout.includes(
            "Dry run: 4 of 4 secret(s) at kek_version 1 would be rotated to v2; nothing was changed.",
          ),
        );
        assert.deepEqual(versionCounts(await rawRows(db)), { 1: 4 });

        const [victim] = await db.query<{ secret_id: string; wrapped_dek: Buffer }>(
          "SELECT secret_id, wrapped_dek FROM secrets WHERE secret_name = ?",
          ["secret-00002"],
        );
        const tampered = Buffer.from(victim!.wrapped_dek);
        tampered[20] = tampered[20]! ^ 0x80;
        await db.query("UPDATE secrets SET wrapped_dek = ? WHERE secret_id = ?", [
          tampered,
          victim!.secret_id,
        ]);
        const before = await rawRows(db);
        const dryBad = await cli(
          ["crypto", "rotate-kek", "--dry-run", "--new-passphrase-file", passphraseFile(2)],
          { env },
        );
        assert.equal(dryBad.code, 1);
        assert.ok(
          dryBad.stdout.includes(
            `1 secret(s) would fail:\n  ✗ secret-00002 (${victim!.secret_id}):`,
          ),
        );

        const real = await cli(
          ["crypto", "rotate-kek", "--yes", "--new-passphrase-file", passphraseFile(2)],
          { env },
        );
        assert.equal(real.code, 1);
        assert.ok(
          real.stderr.includes(
            "✗ Failed to rotate secret 'secret-00002': Failed to rotate secret encryption. Check old KEK passphrase or database integrity.\n",
          ),
        );
        assert.ok(
          real.stderr.includes(
            `Error: KEK rotation failed at secret 'secret-00002' (${victim!.secret_id}). No changes were made. Fix the issue and re-run the command.\n`,
          ),
        );
        assert.deepEqual(await rawRows(db), before);
      }));

    it("crypto status shows the rotation's progress", () =>
      withDatabase(dialect, async (db) => {
        await seeded(db.uri, 6);
        // Half-way through an online rotation: two rows re-wrapped to v2.
        const store = await openSecretStore({ uri: db.uri, keyring: await keyringFor(2) });
        await fill(store, 2, "new");
        await store.close();
        const keyringFile = join(dir, `keyring-${dialect.name}.json`);
        writeFileSync(
          keyringFile,
          JSON.stringify({ keks: [{ version: 1, passphrase: passphraseFor(1) }] }),
          { mode: 0o600 },
        );
        const env = { ...envFor(db.uri, 2), MLFLOW_SECRETS_KEYRING_FILE: keyringFile };
        const json = await cli(["crypto", "status", "--output", "json"], { env });
        assert.equal(json.code, 0, json.stderr);
        assert.deepEqual((JSON.parse(json.stdout) as { rotation: unknown }).rotation, {
          target_kek_version: 2,
          rows_at_target: 2,
          rows_total: 8,
          rows_remaining: 6,
          complete: false,
        });
        const table = await cli(["crypto", "status"], { env });
        assert.ok(
          table.stdout.includes(
            "Rotation to v2: 2 of 8 secret(s) (25%) at the current version; 6 still at older versions (v1: 6).",
          ),
          table.stdout,
        );
        const rotated = await cli(
          ["crypto", "rotate-kek", "--online", "--yes", "--new-passphrase-file", passphraseFile(2)],
          { env: envFor(db.uri) },
        );
        assert.equal(rotated.code, 0, rotated.stderr);
        const done = await cli(["crypto", "status", "--output", "json"], { env });
        assert.equal(
          (JSON.parse(done.stdout) as { rotation: { complete: boolean } }).rotation.complete,
          true,
        );
      }));
  });
}
