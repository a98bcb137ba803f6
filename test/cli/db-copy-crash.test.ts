/**
 * `db copy` killed mid-way (SIGKILL: no cleanup at all) or stopped with Ctrl-C, then run again:
 * the second run completes, and the destination holds every row, byte for byte.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { describe, it } from "node:test";
import { REPO_ROOT } from "../helpers/cli.js";
import { dumpTable, fillSecrets, keyringEnv } from "../helpers/copy.js";
import { DIALECTS, type TestDatabase } from "../helpers/databases.js";
import { withDatabase } from "../helpers/store.js";

const ROWS = 12_000;
const BATCH = 50;
const sqlite = DIALECTS.find((d) => d.name === "sqlite")!;

interface Run {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output: () => string;
}

function startCopy(from: string, to: string): Run {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      "src/cli/main.ts",
      "db",
      "copy",
      "--backend-store-uri",
      from,
      "--to",
      to,
      "--only",
      "secrets",
      "--batch-size",
      String(BATCH),
    ],
    {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...keyringEnv() },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, exited, output: () => output };
}

async function countOrZero(db: TestDatabase): Promise<number> {
  try {
    const [row] = await db.query<{ n: number | string }>("SELECT COUNT(*) AS n FROM secrets");
    return Number(row!.n);
  } catch {
    return 0; // the table is not there yet
  }
}

/** Waits until the destination holds at least `rows` rows (the copy is under way). */
async function waitForRows(db: TestDatabase, rows: number, run: Run): Promise<void> {
  const deadline = Date.now() + 120_000;
  while ((await countOrZero(db)) < rows) {
    if (run.child.exitCode !== null) throw new Error(`the copy ended early:\n${run.output()}`);
    if (Date.now() > deadline) throw new Error(`the copy did not start:\n${run.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

for (const dialect of DIALECTS) {
  describe(`db copy after a crash (sqlite → ${dialect.name})`, () => {
    it("SIGKILL mid-way, then the same command completes: counts and bytes match", () =>
      withDatabase(sqlite, (source) =>
        withDatabase(dialect, async (destination) => {
          await fillSecrets(source.uri, ROWS);
          const first = startCopy(source.uri, destination.uri);
          await waitForRows(destination, 10 * BATCH, first);
          first.child.kill("SIGKILL");
          assert.equal((await first.exited).signal, "SIGKILL");
          const partial = await countOrZero(destination);
          assert.ok(partial > 0 && partial < ROWS, `killed after ${partial} of ${ROWS} rows`);
          // Each batch is one transaction: nothing half-written.
          assert.equal(partial % BATCH, 0);

          const second = startCopy(source.uri, destination.uri);
          const { code } = await second.exited;
          assert.equal(code, 0, second.output());
          assert.match(second.output(), new RegExp(`✓ ${ROWS - partial} row\\(s\\) written`));
          assert.equal(await countOrZero(destination), ROWS);
          assert.deepEqual(
            await dumpTable(destination, "secrets", "secret_id"),
            await dumpTable(source, "secrets", "secret_id"),
          );
        }),
      ));
  });
}

describe("db copy stopped with Ctrl-C", () => {
  it("finishes the batch in flight, exits 130 saying how to resume, and resumes", () =>
    withDatabase(sqlite, (source) =>
      withDatabase(sqlite, async (destination) => {
        await fillSecrets(source.uri, ROWS);
        const first = startCopy(source.uri, destination.uri);
        await waitForRows(destination, 10 * BATCH, first);
        first.child.kill("SIGINT");
        const { code } = await first.exited;
        assert.equal(code, 130, first.output());
        assert.match(
          first.output(),
          /Stopped after \d+ row\(s\) were written; run the same command again/,
        );
        const partial = await countOrZero(destination);
        assert.ok(partial > 0 && partial < ROWS && partial % BATCH === 0, String(partial));

        const second = startCopy(source.uri, destination.uri);
        assert.equal((await second.exited).code, 0, second.output());
        assert.deepEqual(
          await dumpTable(destination, "secrets", "secret_id"),
          await dumpTable(source, "secrets", "secret_id"),
        );
      }),
    ));
});
