/** Shared by the rotation tests: filling a database, and checking every row against its KEK. */
import assert from "node:assert/strict";
import { Keyring, decryptSecret, type KekManager, type SecretStore } from "../../src/index.js";
import type { TestDatabase } from "../helpers/databases.js";
import { kekFor } from "../helpers/keks.js";

/** The passphrase of each KEK version in these tests. */
export const passphraseFor = (version: number): string => `rotation test passphrase v${version}`;

export const kek = (version: number): Promise<KekManager> =>
  kekFor(passphraseFor(version), version);

/** A keyring whose current KEK is `current`, with every older version down to 1. */
export async function keyringFor(current: number): Promise<Keyring> {
  const older = await Promise.all(Array.from({ length: current - 1 }, (_, i) => kek(i + 1)));
  return Keyring.of(await kek(current), older);
}

/** Creates `count` secrets (in one transaction); returns name → value. */
export async function fill(
  store: SecretStore,
  count: number,
  prefix = "secret",
): Promise<Map<string, Record<string, string>>> {
  const expected = new Map<string, Record<string, string>>();
  await store.transaction(async (tx) => {
    for (let i = 0; i < count; i++) {
      const name = `${prefix}-${String(i).padStart(5, "0")}`;
      const value = { api_key: `sk-${prefix}-${i}-0123456789abcdef` };
      await tx.createSecret({ secretName: name, secretValue: value, provider: "openai" });
      expected.set(name, value);
    }
  });
  return expected;
}

interface RawRow {
  secret_id: string;
  secret_name: string;
  encrypted_value: Buffer;
  wrapped_dek: Buffer;
  kek_version: number;
}

/** Every row, straight from the database (no store), ordered by name. */
export async function rawRows(db: TestDatabase): Promise<RawRow[]> {
  const rows = await db.query<RawRow>(
    "SELECT secret_id, secret_name, encrypted_value, wrapped_dek, kek_version FROM secrets ORDER BY secret_id",
  );
  return rows.map((r) => ({
    ...r,
    kek_version: Number(r.kek_version),
    encrypted_value: Buffer.from(r.encrypted_value),
    wrapped_dek: Buffer.from(r.wrapped_dek),
  }));
}

/** Rows per kek_version. */
export function versionCounts(rows: readonly RawRow[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const row of rows) counts[row.kek_version] = (counts[row.kek_version] ?? 0) + 1;
  return counts;
}

/**
 * The guarantee: every row decrypts, with the KEK of the version it records, to the value it
 * should hold. Returns the rows per version.
 */
export async function assertEveryRowDecrypts(
  db: TestDatabase,
  expected: ReadonlyMap<string, Record<string, string>>,
): Promise<Record<number, number>> {
  const rows = await rawRows(db);
  assert.equal(rows.length, expected.size, "rows lost or added");
  for (const row of rows) {
    const value = decryptSecret(
      row.encrypted_value,
      row.wrapped_dek,
      await kek(row.kek_version),
      row.secret_id,
      row.secret_name,
    );
    assert.deepEqual(
      value,
      expected.get(row.secret_name),
      `${row.secret_name} at v${row.kek_version}`,
    );
  }
  return versionCounts(rows);
}
