/** Every known-answer vector made with MLflow's Python implementation. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  KekManager,
  decryptSecret,
  decryptWithAesGcm,
  deriveKek,
  encryptSecret,
  encryptWithAesGcm,
  maskSecretValue,
  rotateSecretEncryption,
} from "../../src/index.js";
import { b64, vectors } from "../helpers/vectors.js";

describe("MLflow known-answer vectors", () => {
  describe("KEK derivation", () => {
    for (const v of vectors.kek) {
      it(`passphrase '${v.passphrase}' v${v.kek_version}`, async () => {
        // An empty passphrase means MLflow's default one, as in KEKManager.
        const kek = await KekManager.create({
          passphrase: v.passphrase,
          kekVersion: v.kek_version,
        });
        assert.equal(kek.getKek().toString("hex"), v.kek_hex);
        assert.equal(kek.kekVersion, v.kek_version);
        assert.equal(kek.usingDefaultPassphrase, v.passphrase === "");
        if (v.passphrase !== "") {
          assert.equal((await deriveKek(v.passphrase, v.kek_version)).toString("hex"), v.kek_hex);
        }
      });
    }
  });

  describe("raw AES-GCM with fixed nonces", () => {
    vectors.aesgcm.forEach((v, i) => {
      it(`vector ${i}: ${b64(v.plaintext_b64).length}-byte plaintext, ${v.aad_b64 ? "with" : "no"} AAD`, () => {
        const key = b64(v.key_b64);
        const aad = v.aad_b64 === null ? undefined : b64(v.aad_b64);
        const { nonce, ciphertext } = encryptWithAesGcm(b64(v.plaintext_b64), key, {
          nonce: b64(v.nonce_b64),
          ...(aad ? { aad } : {}),
        });
        assert.equal(Buffer.concat([nonce, ciphertext]).toString("base64"), v.ciphertext_b64);
        assert.deepEqual(decryptWithAesGcm(b64(v.ciphertext_b64), key, aad), b64(v.plaintext_b64));
      });
    });
  });

  describe("masks", () => {
    for (const v of vectors.mask) {
      it(`${JSON.stringify(v.input)} → ${v.masked}`, () => {
        assert.equal(maskSecretValue(v.input), v.masked);
      });
    }
  });

  describe("secrets MLflow encrypted", () => {
    for (const v of vectors.secrets) {
      it(`decrypts ${v.secret_id} (${v.secret_name})`, async () => {
        const kek = await KekManager.create({
          passphrase: v.passphrase,
          kekVersion: v.kek_version,
        });
        const value = decryptSecret(
          b64(v.encrypted_value_b64),
          b64(v.wrapped_dek_b64),
          kek,
          v.secret_id,
          v.secret_name,
        );
        assert.deepEqual(value, v.mlflow_python_decrypts_to);
        assert.deepEqual(value, v.value);
      });
    }

    it("re-encrypts each value so that it decrypts again (fresh nonce and DEK)", async () => {
      const v = vectors.secrets[0]!;
      const kek = await KekManager.create({ passphrase: v.passphrase, kekVersion: v.kek_version });
      for (const s of vectors.secrets) {
        const sealed = encryptSecret(s.value as string, kek, s.secret_id, s.secret_name);
        assert.equal(sealed.kekVersion, v.kek_version);
        assert.notEqual(sealed.encryptedValue.toString("base64"), s.encrypted_value_b64);
        assert.deepEqual(
          decryptSecret(sealed.encryptedValue, sealed.wrappedDek, kek, s.secret_id, s.secret_name),
          s.value,
        );
      }
    });
  });

  describe("rotated secrets", () => {
    for (const v of vectors.rotation) {
      it(`${v.secret_id}: MLflow's rotated row decrypts with the new KEK only`, async () => {
        const oldKek = await KekManager.create({
          passphrase: v.old_passphrase,
          kekVersion: v.old_kek_version,
        });
        const newKek = await KekManager.create({
          passphrase: v.new_passphrase,
          kekVersion: v.new_kek_version,
        });
        const ev = b64(v.encrypted_value_b64);
        const wd = b64(v.wrapped_dek_b64);
        assert.deepEqual(decryptSecret(ev, wd, newKek, v.secret_id, v.secret_name), v.value);
        assert.throws(() => decryptSecret(ev, wd, oldKek, v.secret_id, v.secret_name), {
          errorCode: "INVALID_PARAMETER_VALUE",
        });
      });
    }

    it("our rotation of MLflow's rows matches MLflow's: same value ciphertext, new wrapped DEK", async () => {
      const r = vectors.rotation[0]!;
      const oldKek = await KekManager.create({
        passphrase: r.old_passphrase,
        kekVersion: r.old_kek_version,
      });
      const newKek = await KekManager.create({
        passphrase: r.new_passphrase,
        kekVersion: r.new_kek_version,
      });
      for (const s of vectors.secrets) {
        const ev = b64(s.encrypted_value_b64);
        const wd = b64(s.wrapped_dek_b64);
        const rotated = rotateSecretEncryption(ev, wd, oldKek, newKek);
        assert.ok(rotated.encryptedValue.equals(ev));
        assert.equal(rotated.wrappedDek.length, 60);
        assert.ok(!rotated.wrappedDek.equals(wd));
        assert.deepEqual(
          decryptSecret(
            rotated.encryptedValue,
            rotated.wrappedDek,
            newKek,
            s.secret_id,
            s.secret_name,
          ),
          s.value,
        );
        const mlflowRotated = vectors.rotation.find((x) => x.secret_id === s.secret_id)!;
        assert.equal(mlflowRotated.encrypted_value_b64, s.encrypted_value_b64);
      }
    });
  });
});
