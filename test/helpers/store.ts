/** Opens a store on a fresh database of one dialect, and always cleans up. */
import {
  Keyring,
  openSecretStore,
  type OpenSecretStoreOptions,
  type SecretStore,
} from "../../src/index.js";
import type { DialectUnderTest, TestDatabase } from "./databases.js";
import { kekFor } from "./keks.js";

export const PASSPHRASE = "store test passphrase";

export async function testKeyring(currentVersion = 1, older: number[] = []): Promise<Keyring> {
  const current = await kekFor(PASSPHRASE, currentVersion);
  return Keyring.of(current, await Promise.all(older.map((v) => kekFor(PASSPHRASE, v))));
}

/** Runs `fn` with a store on a fresh database; drops the database afterwards. */
export async function withStore(
  dialect: DialectUnderTest,
  fn: (store: SecretStore, db: TestDatabase) => Promise<void>,
  options: Omit<OpenSecretStoreOptions, "uri"> = {},
): Promise<void> {
  const db = await dialect.create();
  try {
    const store = await openSecretStore({ keyring: await testKeyring(), ...options, uri: db.uri });
    try {
      await fn(store, db);
    } finally {
      await store.close();
    }
  } finally {
    await db.drop();
  }
}

/** Runs `fn` with a fresh database and no store. */
export async function withDatabase(
  dialect: DialectUnderTest,
  fn: (db: TestDatabase) => Promise<void>,
): Promise<void> {
  const db = await dialect.create();
  try {
    await fn(db);
  } finally {
    await db.drop();
  }
}
