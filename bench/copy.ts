/**
 * `db copy` figures: a SQLite file filled with N secrets (default 200,000) copied into a fresh
 * PostgreSQL schema by the built CLI (`dist/`, as installed), in a process of its own whose peak
 * RSS is recorded; rows/s end to end (start-up, KEK derivation, copy, read-back and decryption of
 * every row) and as the command reports it (copy and verification).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { fillSecrets } from "./fill.js";

const REPO_ROOT = fileURLToPath(new URL("../", import.meta.url));
const PASSPHRASE = "bench copy passphrase";

export interface CopyFigures {
  rows: number;
  source_mb: number;
  fill_seconds: number;
  /** The whole command, as a user waits for it. */
  seconds: number;
  rows_per_s: number;
  /** The copy and its read-back as the command reports them (without start-up). */
  command_reported_seconds: number;
  command_reported_rows_per_s: number;
  peak_rss_mb: number;
}

/** Builds dist/ (the copy runs the built CLI, as installed). */
export function buildDist(): void {
  const build = spawnSync(
    process.execPath,
    [join(REPO_ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"],
    { cwd: REPO_ROOT, encoding: "utf8" },
  );
  if (build.status !== 0) throw new Error(`build failed:\n${build.stdout}${build.stderr}`);
}

export async function benchCopy(postgresUri: string, rows: number): Promise<CopyFigures> {
  const dir = mkdtempSync(join(tmpdir(), "bench-copy-"));
  const schema = `bench_copy_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: postgresUri });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  try {
    const path = join(dir, "source.db");
    const fillSeconds = await fillSecrets(`sqlite:///${path}`, rows, PASSPHRASE);
    const url = new URL(postgresUri);
    url.searchParams.set("options", `-c search_path=${schema}`);
    const rssFile = join(dir, "rss");
    const t0 = performance.now();
    const run = spawnSync(
      process.execPath,
      [
        "--import",
        "./bench/max-rss.mjs",
        "dist/cli/main.js",
        "db",
        "copy",
        "--backend-store-uri",
        `sqlite:///${path}`,
        "--to",
        url.toString(),
      ],
      {
        cwd: REPO_ROOT,
        encoding: "utf8",
        env: {
          PATH: process.env.PATH ?? "",
          HOME: process.env.HOME ?? "/tmp",
          MLFLOW_CRYPTO_KEK_PASSPHRASE: PASSPHRASE,
          BENCH_MAX_RSS_FILE: rssFile,
        },
      },
    );
    const seconds = (performance.now() - t0) / 1000;
    if (run.status !== 0)
      throw new Error(`db copy failed (${run.status}):\n${run.stdout}${run.stderr}`);
    const reported = /✓ (\d+) row\(s\) written in ([\d.]+) s/.exec(run.stdout);
    if (!reported || Number(reported[1]) !== rows) {
      throw new Error(`db copy did not report ${rows} rows written:\n${run.stdout}`);
    }
    const copied = await admin.query<{ n: string }>(`SELECT COUNT(*) AS n FROM ${schema}.secrets`);
    if (Number(copied.rows[0]!.n) !== rows) throw new Error(`${copied.rows[0]!.n} rows copied`);
    const reportedSeconds = Number(reported[2]);
    return {
      rows,
      source_mb: Math.round(statSync(path).size / 1e6),
      fill_seconds: fillSeconds,
      seconds: Math.round(seconds * 100) / 100,
      rows_per_s: Math.round(rows / seconds),
      command_reported_seconds: reportedSeconds,
      command_reported_rows_per_s: Math.round(rows / reportedSeconds),
      peak_rss_mb: Number(readFileSync(rssFile, "utf8")),
    };
  } finally {
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  }
}
