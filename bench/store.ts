/**
 * Store figures: creates/s (each its own transaction), value reads/s, and listing 10,000 secrets,
 * on SQLite (a temporary file) and on PostgreSQL when a URI is given.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { KekManager, Keyring, openSecretStore, type SecretStore } from "../src/index.js";
import { median } from "./harness.js";

export interface StoreFigures {
  creates_per_s: number;
  value_reads_per_s: number;
  list_10k_ms: number;
}

async function timeCreates(store: SecretStore, count: number, prefix: string): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    await store.createSecret({
      secretName: `${prefix}-${i}`,
      secretValue: { api_key: `sk-proj-${i.toString().padStart(32, "0")}` },
      provider: "openai",
    });
  }
  return Math.round(count / ((performance.now() - t0) / 1000));
}

async function timeReads(store: SecretStore, ids: string[], seconds: number): Promise<number> {
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    for (let i = 0; i < 200; i++)
      await store.getSecretValue({ secretId: ids[(n + i) % ids.length]! });
    n += 200;
  }
  return Math.round(n / ((performance.now() - t0) / 1000));
}

async function fillTo(store: SecretStore, total: number): Promise<void> {
  let existing = (await store.listSecretInfos()).secrets.length;
  while (existing < total) {
    const batch = Math.min(1000, total - existing);
    const start = existing;
    await store.transaction(async (tx) => {
      for (let i = 0; i < batch; i++) {
        await tx.createSecret({
          secretName: `bench-fill-${start + i}`,
          secretValue: { api_key: `sk-fill-${start + i}-abcdefgh` },
          provider: "openai",
        });
      }
    });
    existing += batch;
  }
}

export async function benchStore(uri: string, seconds: number): Promise<StoreFigures> {
  const keyring = Keyring.of(
    await KekManager.create({ passphrase: "bench passphrase", kekVersion: 1 }),
  );
  const store = await openSecretStore({ uri, keyring });
  try {
    // Steady state: a warm-up grows SQLite's write-ahead log to its working size (it is then
    // reused), as on any server that has run for a while; then the timed run.
    await timeCreates(store, 2000, "bench-warmup");
    const creates = await timeCreates(store, 3000, "bench-create");
    const ids = (await store.listSecretInfos()).secrets.map((s) => s.secretId);
    const reads = await timeReads(store, ids, seconds);
    await fillTo(store, 10_000);
    const lists: number[] = [];
    for (let i = 0; i < 7; i++) {
      const t0 = performance.now();
      const { secrets } = await store.listSecretInfos();
      lists.push(performance.now() - t0);
      if (secrets.length !== 10_000)
        throw new Error(`listed ${secrets.length} secrets, expected 10000`);
    }
    return {
      creates_per_s: creates,
      value_reads_per_s: reads,
      list_10k_ms: Math.round(median(lists.slice(2)) * 10) / 10,
    };
  } finally {
    await store.close();
  }
}

export async function benchSqlite(seconds: number): Promise<StoreFigures> {
  const dir = mkdtempSync(join(tmpdir(), "bench-store-"));
  try {
    return await benchStore(`sqlite:///${join(dir, "bench.db")}`, seconds);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** On a fresh schema of the given PostgreSQL database, dropped afterwards. */
export async function benchPostgres(baseUri: string, seconds: number): Promise<StoreFigures> {
  const schema = `bench_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: baseUri });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  try {
    const url = new URL(baseUri);
    url.searchParams.set("options", `-c search_path=${schema}`);
    return await benchStore(url.toString(), seconds);
  } finally {
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
  }
}
