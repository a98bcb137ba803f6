/** The encrypted bundle: round trips, and every alteration refused. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  BundleError,
  openSecretsBundle,
  sealSecretsBundle,
  type BundleSecret,
  type SecretsBundle,
} from "../../src/crypto/bundle.js";
import { decryptPlaintext } from "../../src/crypto/internal.js";
import { kekManagerFromKeyBytes } from "../../src/crypto/kek.js";
import { pbkdf2Sync } from "node:crypto";

const FAST = { iterations: 100_000 };
const PASS = "recipient passphrase";

const secret = fc.record({
  name: fc.string({ minLength: 1, maxLength: 40 }),
  value: fc
    .dictionary(
      fc.string({ minLength: 1, maxLength: 10 }),
      fc.string({ unit: "binary", maxLength: 30 }),
      {
        minKeys: 1,
        maxKeys: 3,
      },
    )
    .map((d) => ({ ...d })),
  provider: fc.option(fc.string({ maxLength: 10 }), { nil: null }),
  authConfig: fc.option(
    fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 })).map((d) => ({ ...d })),
    { nil: null },
  ),
});

describe("secrets bundle", () => {
  it("opens to exactly what was sealed", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(secret, { maxLength: 4 }), async (secrets) => {
        const bundle = await sealSecretsBundle(secrets, PASS, FAST);
        // What is written is JSON: the round trip goes through text.
        const opened = await openSecretsBundle(JSON.parse(JSON.stringify(bundle)), PASS);
        assert.deepEqual(opened, JSON.parse(JSON.stringify(secrets)));
      }),
      { numRuns: 8 },
    );
  });

  it("is this package's envelope: PBKDF2 KEK, a wrapped DEK per entry, AES-GCM with the entry's AAD", async () => {
    const bundle = await sealSecretsBundle(
      [
        {
          name: "openai",
          value: { api_key: "sk-1" },
          provider: "openai",
          authConfig: { api_base: "https://x" },
        },
      ],
      PASS,
      FAST,
    );
    const key = pbkdf2Sync(
      PASS,
      Buffer.from(bundle.kdf.salt, "base64"),
      bundle.kdf.iterations,
      32,
      "sha256",
    );
    const entry = bundle.secrets[0]!;
    assert.equal(Buffer.from(entry.wrapped_dek, "base64").length, 60);
    const plaintext = decryptPlaintext(
      Buffer.from(entry.encrypted_value, "base64"),
      Buffer.from(entry.wrapped_dek, "base64"),
      kekManagerFromKeyBytes(key, 1),
      `mlflow-secrets-bundle-v1/${bundle.bundle_id}/0/1`,
      '["openai", "openai", {"api_base": "https://x"}]',
    );
    assert.equal(plaintext.toString("utf8"), '{"api_key": "sk-1"}');
  });

  it("refuses a wrong passphrase, altered metadata, moved entries, another bundle's entry, and a malformed file", async () => {
    const secrets: BundleSecret[] = [
      {
        name: "a",
        value: { api_key: "sk-a" },
        provider: "openai",
        authConfig: { api_base: "https://a" },
      },
      { name: "b", value: { api_key: "sk-b" }, provider: null, authConfig: null },
    ];
    const bundle = await sealSecretsBundle(secrets, PASS, FAST);
    const other = await sealSecretsBundle(secrets, PASS, FAST);
    const refuses = async (doc: unknown, pattern: RegExp, passphrase = PASS) =>
      assert.rejects(openSecretsBundle(doc, passphrase), (err: Error) => {
        assert.ok(err instanceof BundleError);
        assert.match(err.message + JSON.stringify(err.problems), pattern);
        assert.ok(!err.message.includes("sk-a") && !err.message.includes(PASS));
        return true;
      });
    const clone = (): SecretsBundle => structuredClone(bundle);
    await refuses(bundle, /does not open with this passphrase/, "wrong passphrase");
    const altered = clone();
    altered.secrets[0]!.auth_config = { api_base: "https://attacker" };
    await refuses(altered, /1 of 2 bundle entries do not open/);
    const renamed = clone();
    renamed.secrets[1]!.name = "c";
    await refuses(renamed, /"index":1/);
    const swapped = clone();
    swapped.secrets.reverse();
    await refuses(swapped, /does not open with this passphrase \(or every entry was altered\)/);
    const mixed = clone();
    mixed.secrets[1] = other.secrets[1]!;
    await refuses(mixed, /"index":1/);
    const cut = clone();
    cut.secrets.pop();
    await refuses(cut, /every entry was altered/);
    const weak = clone();
    weak.kdf.iterations = 1000;
    await refuses(weak, /"kdf" must be/);
    const broken = clone() as unknown as { secrets: unknown[] };
    broken.secrets.push({ name: 3, wrapped_dek: "!!" });
    await refuses(broken, /malformed.*"index":2/);
    await refuses({ format: "something-else" }, /Not a secrets bundle/);
  });
});
