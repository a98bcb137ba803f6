/**
 * Crash safety: a rotating process killed with SIGKILL at many points, offline and online, on
 * every dialect. After each kill every row must decrypt with the KEK of the version it records;
 * offline must leave every row at the old version (or, killed after its commit, all at the new);
 * a re-run must finish the job. Kills chain versions (v1→v2 killed, re-run; v2→v3 killed, …) so
 * one small database serves every point.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, it } from "node:test";
import { openSecretStore, rotateKek, type RotationMode } from "../../src/index.js";
import { DIALECTS } from "../helpers/databases.js";
import { REPO_ROOT } from "../helpers/cli.js";
import { withDatabase } from "../helpers/store.js";
import { assertEveryRowDecrypts, fill, kek, keyringFor } from "./helpers.js";

const ROWS = 1500;
const BATCH = 100;

interface KillPoint {
  /** Kill once the child has written this many batches and paused (deterministic), … */
  pauseAfter?: number;
  /** … or this many milliseconds after it started rotating (wherever it is then). */
  afterMs?: number;
  /** Re-wrap in a worker thread. */
  parallel: boolean;
}

const POINTS: readonly KillPoint[] = [
  { pauseAfter: 1, parallel: false },
  { pauseAfter: 8, parallel: true },
  { pauseAfter: 14, parallel: false },
  { afterMs: 0, parallel: true },
  { afterMs: 25, parallel: false },
  { afterMs: 60, parallel: true },
];

/** Starts the child, kills it at the point, and reports how far it got. */
function rotateAndKill(
  uri: string,
  mode: RotationMode,
  oldVersion: number,
  point: KillPoint,
): Promise<{ finished: boolean; signal: NodeJS.Signals | null; lines: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "test/rotation/fixtures/rotate-child.ts",
        uri,
        mode,
        String(oldVersion),
        String(BATCH),
        point.parallel ? "1" : "0",
        String(point.pauseAfter ?? 0),
      ],
      { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    const lines: string[] = [];
    let stderr = "";
    let buffered = "";
    const kill = () => child.kill("SIGKILL");
    child.stdout.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const parts = buffered.split("\n");
      buffered = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        if (line === "started" && point.afterMs !== undefined) setTimeout(kill, point.afterMs);
        if (line === "paused") kill();
      }
    });
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (signal === null && code !== 0) reject(new Error(`child failed (${code}): ${stderr}`));
      else resolve({ finished: lines.includes("done"), signal, lines });
    });
  });
}

for (const dialect of DIALECTS) {
  describe(`SIGKILL during rotation on ${dialect.name}`, () => {
    for (const mode of ["offline", "online"] as const) {
      it(`${mode}: no secret is lost at any of ${POINTS.length} kill points, and a re-run completes`, () =>
        withDatabase(dialect, async (db) => {
          const store = await openSecretStore({ uri: db.uri, keyring: await keyringFor(1) });
          const expected = await fill(store, ROWS);
          await store.close();
          let version = 1;
          let killedMidway = 0;
          for (const point of POINTS) {
            const run = await rotateAndKill(db.uri, mode, version, point);
            const counts = await assertEveryRowDecrypts(db, expected);
            const rotated = counts[version + 1] ?? 0;
            const where = `${JSON.stringify(point)} → ${JSON.stringify(counts)}`;
            if (run.finished) {
              assert.deepEqual(counts, { [version + 1]: ROWS }, where);
            } else if (mode === "offline") {
              assert.equal(run.signal, "SIGKILL");
              // All or nothing: the transaction either committed or left every row as it was.
              assert.ok(rotated === 0 || rotated === ROWS, where);
              if (rotated === 0) killedMidway++;
            } else {
              assert.equal(run.signal, "SIGKILL");
              assert.equal((counts[version] ?? 0) + rotated, ROWS, where);
              if (point.pauseAfter !== undefined)
                assert.equal(rotated, point.pauseAfter * BATCH, where);
              if (rotated > 0 && rotated < ROWS) killedMidway++;
            }
            // A re-run finishes the job.
            const rerun = await rotateKek({
              uri: db.uri,
              oldKek: await kek(version),
              newKek: await kek(version + 1),
              mode,
            });
            assert.equal(rerun.remaining, 0);
            assert.deepEqual(await assertEveryRowDecrypts(db, expected), { [version + 1]: ROWS });
            version++;
          }
          // The paused points at least were killed in the middle of the rotation.
          assert.ok(killedMidway >= 3, `only ${killedMidway} kills landed mid-rotation`);
        }));
    }
  });
}
