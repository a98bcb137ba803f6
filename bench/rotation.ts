/**
 * `npm run bench:rotation -- --rows N [--uri URI] [--mode offline|online] [--batch-size B]
 *                             [--runs R] [--no-reference]`
 *
 * Fills a database with N valid secrets (batched multi-row inserts, not one create per row), then
 * times KEK rotations, each in a child process of its own so that its peak RSS is the rotation's
 * alone. Runs chain versions (v1→v2, v2→v3, …) on the same rows; medians are reported.
 *
 * The rotations run the built package (`dist/`, rebuilt first), as the installed CLI does.
 * On SQLite (the default: a temporary file) the Python reference (MLflow's algorithm,
 * `mlflow_store_ref.py rotate`) rotates a copy of the same file, so both work on identical data
 * on the same machine. With a PostgreSQL URI the bench works in a fresh schema and drops it.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import pg from "pg";
import { fillSecrets } from "./fill.js";
import { median } from "./harness.js";
import { REFERENCE_DIR } from "./reference.js";

const { values } = parseArgs({
  options: {
    rows: { type: "string", default: "100000" },
    uri: { type: "string" },
    mode: { type: "string", default: "offline" },
    "batch-size": { type: "string", default: "2000" },
    runs: { type: "string", default: "3" },
    "no-reference": { type: "boolean", default: false },
  },
});
const rows = Number(values.rows);
const runs = Number(values.runs);
const mode = values.mode;
const batchSize = Number(values["batch-size"]);
const REPO_ROOT = fileURLToPath(new URL("../", import.meta.url));
const PASSPHRASES = ["bench old passphrase", "bench passphrase 2", "bench passphrase 3", "bench 4"];
const passphrase = (version: number) => PASSPHRASES[version - 1] ?? `bench passphrase ${version}`;

/** Fills the database with `count` secrets under KEK v1. */
function fill(uri: string, count: number): Promise<number> {
  return fillSecrets(uri, count, passphrase(1));
}

interface RunFigures {
  rotated: number;
  seconds: number;
  rotation_seconds?: number;
  max_rss_mb: number;
}

function lastJsonLine(text: string): RunFigures {
  return JSON.parse(text.trim().split("\n").pop()!) as RunFigures;
}

function runOurs(uri: string, oldVersion: number): RunFigures {
  const child = spawnSync(
    process.execPath,
    [
      "bench/rotation-child.mjs",
      uri,
      passphrase(oldVersion),
      String(oldVersion),
      passphrase(oldVersion + 1),
      mode,
      String(batchSize),
    ],
    { cwd: REPO_ROOT, encoding: "utf8" },
  );
  if (child.status !== 0) throw new Error(`rotation failed: ${child.stderr}`);
  return lastJsonLine(child.stdout);
}

function runReference(path: string, oldVersion: number): RunFigures | undefined {
  const script = join(REFERENCE_DIR, "mlflow_store_ref.py");
  if (!existsSync(script)) return undefined;
  const child = spawnSync("python3", [script, "rotate", path, passphrase(oldVersion + 1)], {
    encoding: "utf8",
    env: {
      ...process.env,
      MLFLOW_CRYPTO_KEK_PASSPHRASE: passphrase(oldVersion),
      MLFLOW_CRYPTO_KEK_VERSION: String(oldVersion),
    },
  });
  if (child.status !== 0) throw new Error(`reference rotation failed: ${child.stderr}`);
  return lastJsonLine(child.stdout);
}

const summary = (figures: RunFigures[]) => {
  const seconds = median(figures.map((f) => f.seconds));
  return {
    runs: figures,
    median_seconds: seconds,
    rows_per_s: Math.round(rows / seconds),
    peak_rss_mb: Math.max(...figures.map((f) => f.max_rss_mb)),
  };
};

async function benchSqlite(): Promise<unknown> {
  const dir = mkdtempSync(join(tmpdir(), "bench-rotation-"));
  try {
    const path = join(dir, "ours.db");
    const uri = `sqlite:///${path}`;
    const fillSeconds = await fill(uri, rows);
    const referencePath = join(dir, "reference.db");
    const withReference = !values["no-reference"];
    if (withReference) copyFileSync(path, referencePath);
    const ours: RunFigures[] = [];
    const reference: RunFigures[] = [];
    for (let run = 0; run < runs; run++) {
      ours.push(runOurs(uri, run + 1));
      if (withReference) {
        const figures = runReference(referencePath, run + 1);
        if (figures) reference.push(figures);
      }
    }
    const oursSummary = summary(ours);
    const referenceSummary = reference.length > 0 ? summary(reference) : undefined;
    return {
      dialect: "sqlite",
      rows,
      mode,
      batch_size: batchSize,
      database_mb: Math.round(statSync(path).size / 1e6),
      fill_seconds: fillSeconds,
      ours: oursSummary,
      python_reference:
        referenceSummary ??
        (withReference ? "not run (python3 or the reference missing)" : "skipped"),
      speedup_vs_reference:
        referenceSummary &&
        Math.round((referenceSummary.median_seconds / oursSummary.median_seconds) * 100) / 100,
      targets: { speedup_at_least: 3, peak_rss_mb_at_most: 150 },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchPostgres(baseUri: string): Promise<unknown> {
  const schema = `bench_rotation_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: baseUri });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  try {
    const url = new URL(baseUri);
    url.searchParams.set("options", `-c search_path=${schema}`);
    const uri = url.toString();
    const fillSeconds = await fill(uri, rows);
    await admin.query(`VACUUM ANALYZE ${schema}.secrets`);
    const ours: RunFigures[] = [];
    for (let run = 0; run < runs; run++) {
      ours.push(runOurs(uri, run + 1));
      // Each run leaves a dead row version per row; vacuum between runs as autovacuum would.
      await admin.query(`VACUUM ${schema}.secrets`);
    }
    return {
      dialect: "postgresql",
      rows,
      mode,
      batch_size: batchSize,
      fill_seconds: fillSeconds,
      ours: summary(ours),
    };
  } finally {
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
  }
}

// The rotation runs from the built package, as the installed CLI does (tsx alone adds ~50 MB of
// RSS to a process and ~35 MB to each worker thread).
const build = spawnSync(
  process.execPath,
  [join(REPO_ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"],
  { cwd: REPO_ROOT, encoding: "utf8" },
);
if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}${build.stderr}`);

const report = values.uri?.startsWith("postgres")
  ? await benchPostgres(values.uri)
  : values.uri
    ? (() => {
        throw new Error("--uri: the benchmark runs on SQLite (default) or PostgreSQL");
      })()
    : await benchSqlite();
console.log(JSON.stringify(report, null, 2));
