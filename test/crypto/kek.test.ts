/** KEK derivation, versions, the environment and the default passphrase. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  DEFAULT_KEK_PASSPHRASE,
  KekManager,
  MLFLOW_KEK_SALT,
  PBKDF2_ITERATIONS,
  Keyring,
  deriveKek,
} from "../../src/index.js";

/** The current KEK as the environment configures it (the keyring applies MLflow's variables). */
async function fromEnv(env: Record<string, string>): Promise<KekManager> {
  return (await Keyring.fromEnv(env)).current;
}
import { vectors } from "../helpers/vectors.js";

const V1 = vectors.kek[0]!; // "correct horse battery staple", v1
const V2 = vectors.kek[1]!;

describe("KEK", () => {
  it("has MLflow's constants", () => {
    assert.equal(DEFAULT_KEK_PASSPHRASE, "mlflow-default-kek-passphrase-for-development-only");
    assert.equal(MLFLOW_KEK_SALT, "mlflow-secrets-kek-v1-2025");
    assert.equal(PBKDF2_ITERATIONS, 600_000);
  });

  it("reads the passphrase and version from MLflow's variables in the keyring, never in crypto", async () => {
    const env = { MLFLOW_CRYPTO_KEK_PASSPHRASE: V2.passphrase, MLFLOW_CRYPTO_KEK_VERSION: "2" };
    const configured = await fromEnv(env);
    assert.equal(configured.kekVersion, 2);
    assert.equal(configured.getKek().toString("hex"), V2.kek_hex);
    assert.equal(configured.usingDefaultPassphrase, false);
    const defaulted = await fromEnv({ MLFLOW_CRYPTO_KEK_PASSPHRASE: V1.passphrase });
    assert.equal(defaulted.kekVersion, 1);
    assert.equal(defaulted.getKek().toString("hex"), V1.kek_hex);
    // KekManager.create takes its inputs as given: version 1 and the default passphrase when
    // omitted, whatever the environment says.
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      const explicit = await KekManager.create({ passphrase: V1.passphrase });
      assert.equal(explicit.kekVersion, 1);
      assert.equal(explicit.getKek().toString("hex"), V1.kek_hex);
    } finally {
      for (const key of Object.keys(env)) {
        if (saved[key] === undefined) delete process.env[key];
        else process.env[key] = saved[key];
      }
    }
  });

  it("never picks a KEK silently: a passphrase is required, the default only when asked for", async () => {
    await assert.rejects(
      KekManager.create(undefined as unknown as { passphrase: string }),
      (err: Error & { errorCode?: string }) =>
        err.errorCode === "INVALID_PARAMETER_VALUE" && /Keyring\.fromEnv/.test(err.message),
    );
    await assert.rejects(KekManager.create({} as { passphrase: string }), {
      errorCode: "INVALID_PARAMETER_VALUE",
    });
    const explicitDefault = await KekManager.create({ passphrase: DEFAULT_KEK_PASSPHRASE });
    const empty = await KekManager.create({ passphrase: "" });
    assert.ok(explicitDefault.usingDefaultPassphrase && empty.usingDefaultPassphrase);
    assert.ok(explicitDefault.getKek().equals(empty.getKek()));
  });

  it("reads the passphrase from MLFLOW_CRYPTO_KEK_PASSPHRASE_FILE, trailing newline stripped", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kek-"));
    const file = join(dir, "passphrase");
    writeFileSync(file, `${V1.passphrase}\n`, { mode: 0o600 });
    const kek = await fromEnv({ MLFLOW_CRYPTO_KEK_PASSPHRASE_FILE: file });
    assert.equal(kek.getKek().toString("hex"), V1.kek_hex);
    await assert.rejects(
      fromEnv({ MLFLOW_CRYPTO_KEK_PASSPHRASE_FILE: file, MLFLOW_CRYPTO_KEK_PASSPHRASE: "x" }),
      { errorCode: "INVALID_PARAMETER_VALUE" },
    );
    await assert.rejects(
      fromEnv({ MLFLOW_CRYPTO_KEK_PASSPHRASE_FILE: join(dir, "missing") }),
      (err: Error) =>
        err.message.includes("MLFLOW_CRYPTO_KEK_PASSPHRASE_FILE") && err.message.includes("ENOENT"),
    );
  });

  it("accepts versions 0 … 4294967295 and folds them into the salt", async () => {
    const [k0, kMax] = await Promise.all([deriveKek("p", 0), deriveKek("p", 4294967295)]);
    assert.equal(k0.length, 32);
    assert.notDeepEqual(k0, kMax);
    const env = { MLFLOW_CRYPTO_KEK_PASSPHRASE: "p", MLFLOW_CRYPTO_KEK_VERSION: " 4294967295 " };
    assert.equal((await fromEnv(env)).kekVersion, 4294967295);
  });

  it("rejects out-of-range or non-integer versions, naming the argument or variable", async () => {
    for (const bad of [-1, 4294967296, 1.5, NaN, Infinity, "1" as unknown as number]) {
      await assert.rejects(
        deriveKek("p", bad),
        (err: Error & { errorCode?: string }) =>
          err.errorCode === "INVALID_PARAMETER_VALUE" &&
          err.message.startsWith("kekVersion must be an integer"),
      );
      await assert.rejects(KekManager.create({ passphrase: "p", kekVersion: bad }), {
        errorCode: "INVALID_PARAMETER_VALUE",
      });
    }
    for (const bad of ["-1", "4294967296", "1.0", "abc", "0x10", "1e3", " "]) {
      await assert.rejects(
        fromEnv({ MLFLOW_CRYPTO_KEK_PASSPHRASE: "p", MLFLOW_CRYPTO_KEK_VERSION: bad }),
        (err: Error & { errorCode?: string }) =>
          err.errorCode === "INVALID_PARAMETER_VALUE" &&
          err.message.startsWith("MLFLOW_CRYPTO_KEK_VERSION must be an integer"),
        `version '${bad}'`,
      );
    }
  });

  it("derives without blocking the event loop", async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    await deriveKek("non-blocking", 1);
    clearInterval(timer);
    assert.ok(ticks >= 5, `event loop ran only ${ticks} times during derivation`);
  });

  it("uses the default passphrase when unset or empty, warning once per process", () => {
    const script = `
      import { KekManager, Keyring } from "./src/index.ts";
      const warnings = [];
      process.on("warning", (w) => warnings.push(w.code));
      const a = (await Keyring.fromEnv({})).current;
      const b = (await Keyring.fromEnv({ MLFLOW_CRYPTO_KEK_PASSPHRASE: "" })).current;
      const c = await KekManager.create({ passphrase: "" });
      const d = await KekManager.create({ passphrase: "set" });
      await new Promise((r) => setImmediate(r));
      console.log(JSON.stringify({ flags: [a, b, c, d].map((k) => k.usingDefaultPassphrase), same: a.getKek().equals(c.getKek()), warnings }));
    `;
    const result = spawnSync(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", script],
      {
        encoding: "utf8",
        env: { ...process.env, MLFLOW_CRYPTO_KEK_PASSPHRASE: "" },
      },
    );
    assert.equal(result.status, 0, result.stderr);
    const out = JSON.parse(result.stdout) as {
      flags: boolean[];
      same: boolean;
      warnings: string[];
    };
    assert.deepEqual(out.flags, [true, true, true, false]);
    assert.ok(out.same);
    assert.deepEqual(out.warnings, ["MLFLOW_SECRETS_DEFAULT_KEK_PASSPHRASE"]);
    assert.equal(result.stderr.match(/SECURITY RISK/g)?.length, 1);
  });
});
