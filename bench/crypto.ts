/**
 * Crypto figures: KEK derivation ms and encryptSecret / decryptSecret / rotateSecretEncryption
 * operations per second on one core, for a 40-byte API key (the reference benchmark's workload).
 */
import { KekManager, decryptSecret, encryptSecret, rotateSecretEncryption } from "../src/index.js";
import { median, rate } from "./harness.js";

const VALUE = "sk-proj-" + "a".repeat(32); // 40 bytes
const SECRET_ID = "s-0123456789abcdef0123456789abcdef";
const SECRET_NAME = "openai-prod";

export interface CryptoFigures {
  kek_derivation_ms: number;
  encrypt_secret_per_s: number;
  decrypt_secret_per_s: number;
  rotate_secret_per_s: number;
}

export async function benchCrypto(seconds: number): Promise<CryptoFigures> {
  const derivations: number[] = [];
  let old: KekManager | undefined;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    old = await KekManager.create({ passphrase: "old passphrase", kekVersion: 1 });
    derivations.push(performance.now() - t0);
  }
  const oldKek = old!;
  const newKek = await KekManager.create({ passphrase: "new passphrase", kekVersion: 2 });
  const sealed = encryptSecret(VALUE, oldKek, SECRET_ID, SECRET_NAME);
  return {
    kek_derivation_ms: Math.round(median(derivations) * 10) / 10,
    encrypt_secret_per_s: rate(seconds, () => encryptSecret(VALUE, oldKek, SECRET_ID, SECRET_NAME)),
    decrypt_secret_per_s: rate(seconds, () =>
      decryptSecret(sealed.encryptedValue, sealed.wrappedDek, oldKek, SECRET_ID, SECRET_NAME),
    ),
    rotate_secret_per_s: rate(seconds, () =>
      rotateSecretEncryption(sealed.encryptedValue, sealed.wrappedDek, oldKek, newKek),
    ),
  };
}
