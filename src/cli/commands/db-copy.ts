/**
 * `mlflow-secrets db copy --to URI`: every secret (and this package's users, tokens, grants and
 * audit log) from the usual database into another, byte for byte, then read back and decrypted
 * there. Resumable: stopped by Ctrl-C or a crash, the same command finishes the job.
 */
import type { SingleBar } from "cli-progress";
import { Option, type Command } from "commander";
import { copyDatabase, type CopyDatabaseResult } from "../../domain/copy.js";
import {
  CONFLICT_POLICIES,
  CopyConflictError,
  CopyInterruptedError,
  type ConflictPolicy,
  type CopyConflict,
  type CopyProgress,
  type RowLabel,
} from "../../store/copy.js";
import { choiceParser, integerParser } from "../choices.js";
import { CliExit, EXIT_FAILURE } from "../errors.js";
import { parseOutputFormat, printJson, printTable, type OutputFormat } from "../output.js";
import type { CliIo, RegisterCommands } from "../io.js";

/** Exit code after Ctrl-C (128 + SIGINT), as shells report it. */
const EXIT_INTERRUPTED = 130;
const MAX_BATCH_SIZE = 50_000;

interface CopyOptions {
  to: string;
  backendStoreUri?: string;
  onConflict: ConflictPolicy;
  dryRun?: boolean;
  only?: "secrets";
  batchSize: number;
  output: OutputFormat;
}

function describeRow(row: RowLabel): string {
  return Object.entries(row)
    .map(([column, value]) => `${column}=${Buffer.isBuffer(value) ? "<bytes>" : String(value)}`)
    .join(" ");
}

const PHASES: Readonly<Record<CopyProgress["phase"], string>> = {
  check: "Checking ",
  copy: "Copying  ",
  verify: "Verifying",
};

/** A progress bar per phase on a terminal; nothing otherwise (the summary follows at the end). */
function progressReporter(
  io: CliIo,
  Bar: typeof SingleBar | undefined,
): { update: (p: CopyProgress) => void; stop: () => void } {
  if (Bar === undefined) return { update: () => undefined, stop: () => undefined };
  let bar: SingleBar | undefined;
  let phase: CopyProgress["phase"] | undefined;
  let started = 0;
  return {
    update(p) {
      if (p.phase !== phase) {
        bar?.stop();
        phase = p.phase;
        started = performance.now();
        bar = new Bar({
          format: `${PHASES[p.phase]} |{bar}| {percentage}% | {value}/{total} rows | {speed} rows/s | {table}`,
          stream: io.stderr as unknown as NodeJS.WritableStream,
          hideCursor: true,
          etaBuffer: 20,
        });
        bar.start(p.total, 0, { speed: 0, table: p.table });
      }
      const seconds = (performance.now() - started) / 1000;
      bar!.update(Math.min(p.done, p.total), {
        speed: seconds > 0 ? Math.round(p.done / seconds) : 0,
        table: p.table,
      });
    },
    stop: () => bar?.stop(),
  };
}

function printSummary(io: CliIo, result: CopyDatabaseResult): void {
  const into = result.destinationMlflowManaged
    ? " (a database MLflow manages: its secrets table is used as it is)"
    : "";
  io.stdout.write(
    `${result.dryRun ? "Dry run: nothing was written. " : ""}${result.from} → ${result.to}${into}\n\n`,
  );
  const rows = result.tables.map((t) => [
    t.table,
    t.missingInSource ? "—" : String(t.sourceRows),
    String(t.inserted),
    String(t.identical),
    String(t.overwritten),
    String(t.skipped),
    result.dryRun ? "—" : String(t.verified),
    String(t.destinationRows),
  ]);
  printTable(
    io,
    [
      "TABLE",
      "SOURCE",
      result.dryRun ? "TO COPY" : "COPIED",
      "ALREADY THERE",
      "OVERWRITTEN",
      "SKIPPED",
      "VERIFIED",
      result.dryRun ? "DESTINATION" : "DESTINATION NOW",
    ],
    rows,
  );
  if (result.conflictCount > 0) {
    const verb = result.dryRun
      ? { fail: "would stop the copy", skip: "would be skipped", overwrite: "would be replaced" }
      : { fail: "stopped the copy", skip: "were skipped", overwrite: "were replaced" };
    io.stdout.write(
      `\n${result.conflictCount} conflicting row(s) ${verb[result.onConflict]} (--on-conflict ${result.onConflict}):\n`,
    );
    printConflicts(io, result);
  }
  const rowsCopied = result.tables.reduce((n, t) => n + t.inserted + t.overwritten, 0);
  if (result.dryRun) {
    io.stdout.write(`\n${rowsCopied} row(s) would be written.\n`);
    return;
  }
  const secrets = result.tables.find((t) => t.table === "secrets");
  const rate = result.seconds > 0 ? Math.round(rowsCopied / result.seconds) : rowsCopied;
  if (result.failureCount === 0) {
    io.stdout.write(
      `\n✓ ${rowsCopied} row(s) written in ${result.seconds} s, with the check and read-back (${rate} rows/s overall). Every source row is at the ` +
        `destination byte for byte${secrets ? `, and all ${secrets.verified} secret(s) there decrypt with the keyring` : ""}.\n`,
    );
  }
}

function printConflicts(
  io: CliIo,
  result: { conflicts: readonly CopyConflict[]; conflictCount: number },
): void {
  for (const c of result.conflicts) {
    io.stdout.write(`  ✗ ${c.table}: ${describeRow(c.row)} — ${c.reason}\n`);
  }
  if (result.conflictCount > result.conflicts.length) {
    io.stdout.write(`  … and ${result.conflictCount - result.conflicts.length} more\n`);
  }
}

async function run(options: CopyOptions, io: CliIo): Promise<void> {
  const controller = new AbortController();
  // Ctrl-C finishes the batch in flight (a batch is one transaction) and stops; a second one
  // kills the process as usual — either way nothing is half-written, and a re-run resumes.
  const onInterrupt = () => {
    io.stderr.write("\nStopping after the batch in flight (Ctrl-C again to stop at once)…\n");
    controller.abort();
  };
  process.once("SIGINT", onInterrupt);
  // The progress-bar library is loaded only when there is a terminal to draw on.
  const Bar = io.stderr.isTTY ? (await import("cli-progress")).SingleBar : undefined;
  const progress = progressReporter(io, Bar);
  let result: CopyDatabaseResult;
  try {
    result = await copyDatabase({
      from: options.backendStoreUri,
      to: options.to,
      env: io.env,
      onConflict: options.onConflict,
      dryRun: options.dryRun ?? false,
      only: options.only,
      batchSize: options.batchSize,
      onProgress: (p) => progress.update(p),
      signal: controller.signal,
    });
  } catch (err) {
    progress.stop();
    if (err instanceof CopyConflictError) {
      if (options.output === "json") {
        printJson(io, {
          conflicts: err.conflicts,
          conflict_count: err.conflictCount,
          written: err.written,
        });
      } else {
        io.stdout.write(
          `${err.conflictCount} row(s) at the destination conflict with the source:\n`,
        );
        printConflicts(io, err);
      }
      throw new CliExit(
        EXIT_FAILURE,
        `${err.message}. Run again with --on-conflict skip (keep the destination's rows) or overwrite (replace them with the source's).`,
      );
    }
    if (err instanceof CopyInterruptedError) throw new CliExit(EXIT_INTERRUPTED, err.message);
    throw err;
  } finally {
    process.removeListener("SIGINT", onInterrupt);
  }
  progress.stop();
  if (options.output === "json") printJson(io, result);
  else printSummary(io, result);
  if (result.failureCount > 0) {
    if (options.output !== "json") {
      io.stdout.write(`\n${result.failureCount} row(s) failed verification at the destination:\n`);
      for (const f of result.failures) {
        io.stdout.write(`  ✗ ${f.table}: ${describeRow(f.row)} — ${f.problem}\n`);
      }
      if (result.failureCount > result.failures.length) {
        io.stdout.write(`  … and ${result.failureCount - result.failures.length} more\n`);
      }
    }
    throw new CliExit(
      EXIT_FAILURE,
      `The copy is not verified: ${result.failureCount} row(s) are not as they should be at the destination ` +
        "(was the source changed during the copy? run the command again)",
    );
  }
}

export const registerDbCopyCommand: RegisterCommands = (program: Command, io: CliIo) => {
  const db = program.commands.find((c) => c.name() === "db") ?? program.command("db");
  db.command("copy")
    .description(
      "copy every secret (and mlflow-secrets' users, tokens, grants and audit log) into another database, byte for byte; resumable",
    )
    .requiredOption("--to <uri>", "the destination database URI (may be a database MLflow manages)")
    .option(
      "--backend-store-uri <uri>",
      "the source database; default MLFLOW_BACKEND_STORE_URI, else sqlite:///mlflow-secrets.db",
    )
    .addOption(
      new Option(
        "--on-conflict <policy>",
        "a destination row with the same key and other content: fail (checked before writing), skip or overwrite",
      )
        .default("fail")
        .argParser(choiceParser("--on-conflict", CONFLICT_POLICIES)),
    )
    .option("--dry-run", "report what would be copied and what conflicts; write nothing")
    .addOption(
      new Option("--only <what>", "copy only MLflow's secrets table").argParser(
        choiceParser("--only", ["secrets"] as const),
      ),
    )
    .addOption(
      new Option("--batch-size <n>", "rows per batch (one transaction each)")
        .default(1000)
        .argParser(integerParser("--batch-size", 1, MAX_BATCH_SIZE)),
    )
    .addOption(
      new Option("--output <format>", "table or json")
        .default("table")
        .argParser(parseOutputFormat),
    )
    .addHelpText(
      "after",
      "\nThe KEK passphrase (and MLFLOW_SECRETS_KEYRING_FILE for older versions) must open every secret: " +
        "they are decrypted at the destination to verify the copy.\n\n" +
        "Example:\n  $ mlflow-secrets db copy --backend-store-uri sqlite:///mlflow-secrets.db --to postgresql://mlflow@db/mlflow\n",
    )
    .action((options: CopyOptions) => run(options, io));
};
