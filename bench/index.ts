/**
 * `npm run bench`: crypto figures, next to the Python reference run right before on the same
 * machine (when ../shared/reference is present), store figures on SQLite (and PostgreSQL when
 * a URI is given), and `db copy` of 200,000 rows from SQLite into PostgreSQL (with a URI),
 * printed as JSON.
 *
 *   npm run bench [-- --seconds 2] [--postgres-uri postgresql://…] [--copy-rows N]
 */
import { parseArgs } from "node:util";
import { benchCopy, buildDist } from "./copy.js";
import { benchCrypto } from "./crypto.js";
import { runReference } from "./reference.js";
import { benchPostgres, benchSqlite } from "./store.js";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "2" },
    "postgres-uri": { type: "string" },
    "copy-rows": { type: "string", default: "200000" },
  },
});
const seconds = Number(values.seconds);
const postgresUri =
  values["postgres-uri"] ??
  process.env.MLFLOW_SECRETS_BENCH_POSTGRES_URI ??
  process.env.MLFLOW_SECRETS_TEST_POSTGRES_URI;

const reference = runReference("bench_reference.py", ["--seconds", String(seconds)]);
const crypto = await benchCrypto(seconds);

const ratio = (ours: number, theirs: number | string | undefined): number | undefined =>
  typeof theirs === "number" ? Math.round((ours / theirs) * 100) / 100 : undefined;

const sqlite = await benchSqlite(seconds);
const postgres = postgresUri ? await benchPostgres(postgresUri, seconds) : undefined;
// `db copy` runs the built CLI in a process of its own (its peak RSS is the command's alone).
if (postgresUri) buildDist();
const copy = postgresUri ? await benchCopy(postgresUri, Number(values["copy-rows"])) : undefined;
const storeTargets = { creates_per_s: 3000, value_reads_per_s: 20000, list_10k_ms_below: 150 };

const report = {
  machine: { node: process.version, cpus: (await import("node:os")).availableParallelism() },
  crypto: {
    ...crypto,
    python_reference: reference ?? "not run (python3 or ../shared/reference missing)",
    ratio_vs_reference: reference && {
      encrypt: ratio(crypto.encrypt_secret_per_s, reference.encrypt_secret_per_s),
      decrypt: ratio(crypto.decrypt_secret_per_s, reference.decrypt_secret_per_s),
      rotate: ratio(crypto.rotate_secret_per_s, reference.rotate_secret_per_s),
      target: 1.5,
    },
  },
  store: {
    sqlite,
    postgresql: postgres ?? "not run (set MLFLOW_SECRETS_BENCH_POSTGRES_URI or --postgres-uri)",
    targets_sqlite: storeTargets,
  },
  db_copy_sqlite_to_postgresql:
    copy ?? "not run (set MLFLOW_SECRETS_BENCH_POSTGRES_URI or --postgres-uri)",
};
console.log(JSON.stringify(report, null, 2));
