/** Envelope encryption: round trips, tamper detection, errors. */
import assert from "node:assert/strict";
import { inspect } from "node:util";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  MlflowSecretsError,
  createAad,
  decryptSecret,
  decryptWithAesGcm,
  encryptSecret,
  encryptWithAesGcm,
  generateDek,
  rotateSecretEncryption,
  unwrapDek,
  wrapDek,
} from "../../src/index.js";
import { kekFor } from "../helpers/keks.js";

const ID = "s-0123456789abcdef0123456789abcdef";
const NAME = "openai-prod";
const DECRYPT_FAILURE =
  "Failed to decrypt secret. Check KEK passphrase, secret metadata, or database integrity.";

/** Flips bit `bit` of a copy of `bytes`. */
function flip(bytes: Uint8Array, bit: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[bit >> 3]! ^= 1 << (bit & 7);
  return copy;
}

/** Flips one bit of one UTF-16 unit of a string. */
function flipChar(text: string, bit: number): string {
  const index = (bit >> 4) % text.length;
  const unit = text.charCodeAt(index) ^ (1 << (bit & 15));
  return text.slice(0, index) + String.fromCharCode(unit) + text.slice(index + 1);
}

function assertLibraryError(fn: () => unknown, message?: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof MlflowSecretsError, `not a library error: ${String(err)}`);
    assert.equal(err.errorCode, "INVALID_PARAMETER_VALUE");
    if (message !== undefined) assert.equal(err.message, message);
    return true;
  });
}

describe("envelope encryption", () => {
  it("round-trips random strings and objects", async () => {
    const kek = await kekFor("round trip");
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: "binary" }),
          fc.dictionary(
            fc.string({ unit: "binary", maxLength: 10 }),
            fc.jsonValue({ maxDepth: 3 }),
          ),
        ),
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.string({ unit: "binary", minLength: 1, maxLength: 40 }),
        (value, secretId, secretName) => {
          const sealed = encryptSecret(value, kek, secretId, secretName);
          const plain = decryptSecret(
            sealed.encryptedValue,
            sealed.wrappedDek,
            kek,
            secretId,
            secretName,
          );
          if (typeof value === "string") {
            // A string that is itself a JSON object text comes back as that object.
            if (typeof plain === "string") assert.equal(plain, value);
            else assert.deepEqual(plain, JSON.parse(value));
          } else {
            assert.deepEqual(plain, JSON.parse(JSON.stringify(value)));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("returns a string secret that looks like JSON as the string (MLflow would return 12345678)", async () => {
    const kek = await kekFor("round trip");
    for (const value of ["12345678", "true", "null", '"quoted"', "[1,2]", "{not json"]) {
      const sealed = encryptSecret(value, kek, ID, NAME);
      assert.equal(decryptSecret(sealed.encryptedValue, sealed.wrappedDek, kek, ID, NAME), value);
    }
  });

  it("lays out MLflow's byte formats: 28 + n bytes of value, 60-byte wrapped DEK", async () => {
    const kek = await kekFor("layout", 7);
    const value = "sk-proj-" + "a".repeat(32);
    const sealed = encryptSecret(value, kek, ID, NAME);
    assert.equal(sealed.encryptedValue.length, 28 + 40);
    assert.equal(sealed.wrappedDek.length, 60);
    assert.equal(sealed.kekVersion, 7);
    const dek = unwrapDek(sealed.wrappedDek, kek.getKek());
    assert.equal(dek.length, 32);
    assert.equal(
      decryptWithAesGcm(sealed.encryptedValue, dek, createAad(ID, NAME)).toString(),
      value,
    );
    // Objects are sorted as json.dumps(sort_keys=True).
    const obj = encryptSecret({ b: "2", a: "é" }, kek, ID, NAME);
    const objDek = unwrapDek(obj.wrappedDek, kek.getKek());
    assert.equal(
      decryptWithAesGcm(obj.encryptedValue, objDek, createAad(ID, NAME)).toString(),
      '{"a": "\\u00e9", "b": "2"}',
    );
  });

  it("uses a fresh DEK and fresh nonces for every encryption", async () => {
    const kek = await kekFor("fresh");
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const sealed = encryptSecret("same value", kek, ID, NAME);
      const dek = unwrapDek(sealed.wrappedDek, kek.getKek()).toString("hex");
      for (const item of [
        dek,
        sealed.encryptedValue.subarray(0, 12).toString("hex"),
        sealed.wrappedDek.subarray(0, 12).toString("hex"),
      ]) {
        assert.ok(!seen.has(item), "a DEK or nonce repeated");
        seen.add(item);
      }
    }
  });

  it("detects any single flipped bit in encrypted_value, wrapped_dek, the id or the name", async () => {
    const kek = await kekFor("tamper");
    fc.assert(
      fc.property(
        fc.string({ unit: "binary", maxLength: 64 }),
        fc.nat(),
        fc.constantFrom("encryptedValue", "wrappedDek", "secretId", "secretName"),
        (value, rawBit, target) => {
          const sealed = encryptSecret(value, kek, ID, NAME);
          let { encryptedValue, wrappedDek } = sealed;
          let secretId = ID;
          let secretName = NAME;
          if (target === "encryptedValue")
            encryptedValue = flip(encryptedValue, rawBit % (encryptedValue.length * 8));
          if (target === "wrappedDek")
            wrappedDek = flip(wrappedDek, rawBit % (wrappedDek.length * 8));
          if (target === "secretId") secretId = flipChar(ID, rawBit);
          if (target === "secretName") secretName = flipChar(NAME, rawBit);
          assertLibraryError(
            () => decryptSecret(encryptedValue, wrappedDek, kek, secretId, secretName),
            DECRYPT_FAILURE,
          );
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("fails with MLflow's message under a wrong KEK, and the longer one on the default passphrase", async () => {
    const right = await kekFor("right");
    const wrong = await kekFor("wrong");
    const fallback = await kekFor("");
    const sealed = encryptSecret("sk-abc", right, ID, NAME);
    assertLibraryError(
      () => decryptSecret(sealed.encryptedValue, sealed.wrappedDek, wrong, ID, NAME),
      DECRYPT_FAILURE,
    );
    assert.throws(
      () => decryptSecret(sealed.encryptedValue, sealed.wrappedDek, fallback, ID, NAME),
      (err: MlflowSecretsError) =>
        err.message.includes("The server is using the default KEK passphrase") &&
        err.message.includes("export MLFLOW_CRYPTO_KEK_PASSPHRASE='your-original-passphrase'") &&
        err.errorCode === "INVALID_PARAMETER_VALUE",
    );
  });

  it("never puts plaintext or key material into an error", async () => {
    const kek = await kekFor("leak check");
    const value = "sk-SECRET-VALUE-1234567890";
    const sealed = encryptSecret(value, kek, ID, NAME);
    const other = await kekFor("other");
    try {
      decryptSecret(sealed.encryptedValue, sealed.wrappedDek, other, ID, NAME);
      assert.fail("decrypted with the wrong KEK");
    } catch (err) {
      const dump = inspect(err, { depth: 10, showHidden: true }) + JSON.stringify(err);
      for (const secret of [
        value,
        kek.getKek().toString("hex"),
        kek.getKek().toString("base64"),
        other.getKek().toString("hex"),
      ]) {
        assert.ok(!dump.includes(secret));
      }
    }
    assert.ok(!inspect(kek).includes(kek.getKek().toString("hex")));
    assert.equal(JSON.stringify(kek), '{"kekVersion":1,"usingDefaultPassphrase":false}');
  });

  it("rotates: same value ciphertext, new wrapped DEK that only the new KEK opens", async () => {
    const oldKek = await kekFor("old", 1);
    const newKek = await kekFor("new", 2);
    const sealed = encryptSecret({ api_key: "sk-1" }, oldKek, ID, NAME);
    const rotated = rotateSecretEncryption(
      sealed.encryptedValue,
      sealed.wrappedDek,
      oldKek,
      newKek,
    );
    assert.ok(rotated.encryptedValue.equals(sealed.encryptedValue));
    assert.ok(!rotated.wrappedDek.equals(sealed.wrappedDek));
    assert.deepEqual(decryptSecret(rotated.encryptedValue, rotated.wrappedDek, newKek, ID, NAME), {
      api_key: "sk-1",
    });
    assertLibraryError(() =>
      decryptSecret(rotated.encryptedValue, rotated.wrappedDek, oldKek, ID, NAME),
    );
    assertLibraryError(
      () => rotateSecretEncryption(sealed.encryptedValue, sealed.wrappedDek, newKek, oldKek),
      "Failed to rotate secret encryption. Check old KEK passphrase or database integrity.",
    );
  });

  it("rejects values that are neither strings nor objects", async () => {
    const kek = await kekFor("types");
    for (const bad of [42, null, undefined, true, ["a"], new Date(0), Buffer.from("x")]) {
      assertLibraryError(() => encryptSecret(bad as never, kek, ID, NAME));
    }
    assertLibraryError(() => encryptSecret("x", {} as never, ID, NAME));
  });
});

describe("AES-GCM and DEK wrapping", () => {
  const key = Buffer.alloc(32, 7);

  it("rejects keys that are not 32 bytes, with MLflow's message", () => {
    for (const bad of [Buffer.from("short"), Buffer.alloc(0), Buffer.alloc(16), Buffer.alloc(33)]) {
      const message = `Key must be 32 bytes (256 bits), got ${bad.length}`;
      assertLibraryError(() => encryptWithAesGcm(Buffer.from("x"), bad), message);
      assertLibraryError(() => decryptWithAesGcm(Buffer.alloc(40), bad), message);
      assertLibraryError(() => wrapDek(generateDek(), bad), message);
      assertLibraryError(() => unwrapDek(Buffer.alloc(60), bad), message);
    }
    assertLibraryError(() => encryptWithAesGcm(Buffer.from("x"), "k".repeat(32) as never));
  });

  it("rejects data shorter than a nonce, and nonces that are not 12 bytes", () => {
    for (const n of [0, 1, 11]) {
      assertLibraryError(
        () => decryptWithAesGcm(Buffer.alloc(n), key),
        "Ciphertext too short (must be at least 12 bytes)",
      );
      assertLibraryError(
        () => unwrapDek(Buffer.alloc(n), key),
        "Ciphertext too short (must be at least 12 bytes)",
      );
    }
    for (const n of [12, 20, 27]) {
      assertLibraryError(
        () => decryptWithAesGcm(Buffer.alloc(n), key),
        "AES-GCM decryption failed: authentication tag verification failed. This indicates wrong key, AAD mismatch, or data tampering.",
      );
    }
    for (const n of [0, 5, 8, 16]) {
      assertLibraryError(() =>
        encryptWithAesGcm(Buffer.from("x"), key, { nonce: Buffer.alloc(n) }),
      );
    }
  });

  it("detects wrong AAD, missing AAD, wrong key and flipped bits", () => {
    const aad = Buffer.from("id|name");
    const { nonce, ciphertext } = encryptWithAesGcm(Buffer.from("payload"), key, { aad });
    const data = Buffer.concat([nonce, ciphertext]);
    const tagFailure =
      "AES-GCM decryption failed: authentication tag verification failed. This indicates wrong key, AAD mismatch, or data tampering.";
    assert.equal(decryptWithAesGcm(data, key, aad).toString(), "payload");
    assertLibraryError(() => decryptWithAesGcm(data, key), tagFailure);
    assertLibraryError(() => decryptWithAesGcm(data, key, Buffer.from("id|other")), tagFailure);
    assertLibraryError(() => decryptWithAesGcm(data, Buffer.alloc(32, 8), aad), tagFailure);
    for (let bit = 0; bit < data.length * 8; bit++) {
      assertLibraryError(() => decryptWithAesGcm(flip(data, bit), key, aad), tagFailure);
    }
  });

  it("wraps and unwraps DEKs; a wrong KEK gives MLflow's unwrap error", () => {
    const dek = generateDek();
    const wrapped = wrapDek(dek, key);
    assert.equal(wrapped.length, 60);
    assert.ok(unwrapDek(wrapped, key).equals(dek));
    assertLibraryError(
      () => unwrapDek(wrapped, Buffer.alloc(32, 9)),
      "Failed to unwrap DEK: incorrect KEK or corrupted wrapped DEK.",
    );
  });
});
