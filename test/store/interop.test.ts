/** Interoperability with MLflow both ways, on SQLite files the Python reference reads and writes. */
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Keyring, openSecretStore } from "../../src/index.js";
import { kekFor } from "../helpers/keks.js";
import { hasReference, referenceDir } from "../helpers/python.js";
import { spawnSync } from "node:child_process";

interface Fixture {
  passphrase: string;
  kek_version: number;
  secrets: {
    secret_id: string;
    secret_name: string;
    kek_version: number;
    value: Record<string, string>;
  }[];
}

const fixture = JSON.parse(
  readFileSync(new URL("../fixtures/mlflow-reference.json", import.meta.url), "utf8"),
) as Fixture;

function copyOfReferenceDb(): string {
  const dir = mkdtempSync(join(tmpdir(), "interop-"));
  const path = join(dir, "mlflow.db");
  copyFileSync(new URL("../fixtures/mlflow-reference.db", import.meta.url), path);
  return path;
}

function runReference(script: string, args: string[], env: Record<string, string>) {
  return spawnSync("python3", [join(referenceDir, script), ...args], {
    encoding: "utf8",
    env: { ...process.env, ...env },
  });
}

describe("interoperability with MLflow", () => {
  it("lists, reads and decrypts a database MLflow's store wrote", async () => {
    const path = copyOfReferenceDb();
    const keyring = Keyring.of(await kekFor(fixture.passphrase, fixture.kek_version));
    const store = await openSecretStore({ uri: `sqlite:///${path}`, keyring });
    try {
      const listed = (await store.listSecretInfos()).secrets;
      assert.deepEqual(
        listed.map((s) => s.secretName),
        fixture.secrets.map((s) => s.secret_name).sort(),
      );
      for (const expected of fixture.secrets) {
        const info = await store.getSecretInfo({ secretName: expected.secret_name });
        assert.equal(info.secretId, expected.secret_id);
        assert.deepEqual(Object.keys(info.maskedValues), Object.keys(expected.value));
        assert.deepEqual(
          await store.getSecretValue({ secretId: expected.secret_id }),
          expected.value,
        );
      }
      const bedrock = await store.getSecretInfo({ secretName: "bedrock" });
      assert.deepEqual(bedrock.maskedValues, {
        aws_access_key_id: "AKI...MPLE",
        aws_secret_access_key: "wJa...EKEY",
        aws_region: "us-...st-1",
      });
      assert.equal(bedrock.provider, "bedrock");
      // MLflow can still read its rows after we updated one of them.
      await store.updateSecret({
        secretId: bedrock.secretId,
        secretValue: {
          aws_access_key_id: "AKIA-NEW-0000000000",
          aws_secret_access_key: "secret-new-0000000000",
        },
      });
    } finally {
      await store.close();
    }
    if (hasReference) {
      const result = runReference("mlflow_store_ref.py", ["decrypt", path], {
        MLFLOW_CRYPTO_KEK_PASSPHRASE: fixture.passphrase,
      });
      const rows = result.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { secret_name: string; value?: unknown; error?: string });
      assert.deepEqual(rows.find((r) => r.secret_name === "bedrock")?.value, {
        aws_access_key_id: "AKIA-NEW-0000000000",
        aws_secret_access_key: "secret-new-0000000000",
      });
      assert.ok(
        rows.every((r) => r.error === undefined),
        result.stdout,
      );
    }
  });

  it(
    "writes databases that MLflow's implementation decrypts (verify_db.py)",
    { skip: !hasReference && "python3 or ../shared/reference missing" },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "verify-"));
      const path = join(dir, "ours.db");
      const uri = `sqlite:///${path}`;
      const v1 = await openSecretStore({
        uri,
        keyring: Keyring.of(await kekFor("verify passphrase one", 1)),
      });
      const first = await v1.createSecret({
        secretName: "openai",
        secretValue: { api_key: "sk-proj-1234567890abcdef" },
        provider: "openai",
      });
      await v1.createSecret({
        secretName: "unicode ключ 🔑",
        secretValue: { api_key: "密钥-🔐-value-long-enough", clé: "é", empty: "" },
      });
      await v1.createSecret({
        secretName: "aws",
        secretValue: {
          aws_access_key_id: "AKIAIOSFODNN7EXAMPLE",
          aws_secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        },
        workspace: "team-a",
      });
      await v1.close();
      const v2 = await openSecretStore({
        uri,
        keyring: Keyring.of(await kekFor("verify passphrase two", 2), [
          await kekFor("verify passphrase one", 1),
        ]),
      });
      await v2.updateSecret({
        secretId: first.secretId,
        secretValue: { api_key: "sk-proj-updated-0987654321" },
      });
      await v2.createSecret({
        secretName: "ghp",
        secretValue: { token: "ghp_abcdefghijklmnopqrstuvwxyz" },
      });
      await v2.close();

      const keyringFile = join(dir, "keyring.json");
      writeFileSync(
        keyringFile,
        JSON.stringify({ keks: [{ version: 1, passphrase: "verify passphrase one" }] }),
        { mode: 0o600 },
      );
      const result = runReference("verify_db.py", [path, "--keyring", keyringFile], {
        MLFLOW_CRYPTO_KEK_PASSPHRASE: "verify passphrase two",
        MLFLOW_CRYPTO_KEK_VERSION: "2",
      });
      assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
      const summary = JSON.parse(result.stdout) as { rows: number; ok: number };
      assert.deepEqual(summary, { rows: 4, ok: 4, failed: [] });

      // And the check really checks: a wrong passphrase fails every row at that version.
      const wrong = runReference("verify_db.py", [path, "--keyring", keyringFile], {
        MLFLOW_CRYPTO_KEK_PASSPHRASE: "not it",
        MLFLOW_CRYPTO_KEK_VERSION: "2",
      });
      assert.equal(wrong.status, 1);
    },
  );
});
