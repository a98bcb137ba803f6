/** Filling a database with valid secrets fast (batched multi-row inserts, not one create per row). */
import { randomUUID } from "node:crypto";
import { encryptPlaintext } from "../src/crypto/internal.js";
import { KekManager, Keyring, openSecretStore, pythonJsonDumps } from "../src/index.js";

/**
 * Inserts `count` secrets encrypted with the KEK of `passphrase` (version 1), 250 rows per
 * statement, 20,000 per transaction; returns the seconds it took.
 */
export async function fillSecrets(uri: string, count: number, passphrase: string): Promise<number> {
  const t0 = performance.now();
  const kek = await KekManager.create({ passphrase, kekVersion: 1 });
  const store = await openSecretStore({ uri, keyring: Keyring.of(kek) });
  const perStatement = 250;
  const columns =
    "secret_id, secret_name, encrypted_value, wrapped_dek, kek_version, masked_value, provider, created_at, last_updated_at, workspace";
  const tuple = `(${columns
    .split(",")
    .map(() => "?")
    .join(", ")})`;
  try {
    for (let done = 0; done < count;) {
      const end = Math.min(count, done + 20_000);
      await store.transaction(async (tx) => {
        for (let i = done; i < end; i += perStatement) {
          const n = Math.min(perStatement, end - i);
          const params: (string | number | Buffer)[] = [];
          const now = Date.now();
          for (let j = i; j < i + n; j++) {
            const secretId = `s-${randomUUID().replaceAll("-", "")}`;
            const secretName = `secret-${String(j).padStart(7, "0")}`;
            const apiKey = `sk-${j.toString(16).padStart(32, "0")}`;
            const plaintext = Buffer.from(pythonJsonDumps({ api_key: apiKey }), "utf8");
            const sealed = encryptPlaintext(plaintext, kek, secretId, secretName);
            params.push(
              secretId,
              secretName,
              sealed.encryptedValue,
              sealed.wrappedDek,
              1,
              pythonJsonDumps({ api_key: `sk-...${apiKey.slice(-4)}` }),
              "openai",
              now,
              now,
              "default",
            );
          }
          await tx.executor.run(
            `INSERT INTO secrets (${columns}) VALUES ${Array.from({ length: n }, () => tuple).join(", ")}`,
            params,
          );
        }
      });
      done = end;
    }
  } finally {
    await store.close();
  }
  return Math.round((performance.now() - t0) / 100) / 10;
}
