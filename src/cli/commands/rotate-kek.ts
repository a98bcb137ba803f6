/**
 * `mlflow-secrets crypto rotate-kek`: MLflow's `mlflow crypto rotate-kek` (options, environment,
 * prompts and messages), plus `--new-passphrase-file`, `--online`, `--batch-size` and `--dry-run`.
 */
import type { SingleBar } from "cli-progress";
import { Option, type Command } from "commander";
import {
  CRYPTO_KEK_PASSPHRASE_ENV_VAR,
  CRYPTO_KEK_VERSION_ENV_VAR,
  readKekPassphrase,
  readKekVersion,
  readSecretFile,
} from "../../config.js";
import { KekManager, validateKekVersion } from "../../crypto/index.js";
import {
  DEFAULT_BATCH_SIZE,
  KekRotationError,
  MAX_BATCH_SIZE,
  rotateKek,
  type RotateKekResult,
  type RotationProgress,
} from "../../rotation/index.js";
import { Keyring, openSecretStore, type SecretStore } from "../../store/index.js";
import { CliExit, EXIT_FAILURE, usageError } from "../errors.js";
import { isInteractive, type CliIo } from "../io.js";
import { cryptoGroup } from "./crypto.js";
import type { RegisterCommands } from "../io.js";

interface RotateKekOptions {
  newPassphrase?: string;
  newPassphraseFile?: string;
  backendStoreUri?: string;
  yes?: boolean;
  online?: boolean;
  batchSize: number;
  dryRun?: boolean;
}

const RULE = "=".repeat(80);

function parseBatchSize(value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_BATCH_SIZE) {
    throw usageError(
      `--batch-size must be an integer between 1 and ${MAX_BATCH_SIZE}, got '${value}'`,
    );
  }
  return n;
}

/** MLflow's message when the old passphrase is missing (with our command in the example). */
const MISSING_OLD_PASSPHRASE =
  `${CRYPTO_KEK_PASSPHRASE_ENV_VAR} environment variable must be set to the current (old) ` +
  "passphrase before running KEK rotation.\n\n" +
  "Example:\n" +
  `  export ${CRYPTO_KEK_PASSPHRASE_ENV_VAR}='current-passphrase'\n` +
  `  export ${CRYPTO_KEK_VERSION_ENV_VAR}='1'\n` +
  "  mlflow-secrets crypto rotate-kek --new-passphrase-file /path/to/new-passphrase";

/** The new passphrase: the flag, the file, or a hidden prompt asked twice (terminal only). */
async function newPassphrase(options: RotateKekOptions, io: CliIo): Promise<string> {
  let passphrase: string;
  if (options.newPassphrase !== undefined) {
    io.stderr.write(
      "Note: --new-passphrase is visible in the process list; prefer --new-passphrase-file or the prompt.\n",
    );
    passphrase = options.newPassphrase;
  } else if (options.newPassphraseFile !== undefined) {
    passphrase = readSecretFile(options.newPassphraseFile, "--new-passphrase-file");
  } else {
    passphrase = await io.prompts.password("New passphrase");
    const again = await io.prompts.password("Repeat for confirmation");
    if (passphrase !== again)
      throw new CliExit(EXIT_FAILURE, "The two entered values do not match.");
  }
  if (passphrase === "") throw new CliExit(EXIT_FAILURE, "The new passphrase must not be empty.");
  return passphrase;
}

function printWarning(io: CliIo, oldVersion: number, newVersion: number, online: boolean): void {
  io.stderr.write(
    "\n⚠️  WARNING: KEK Rotation Operation\n\n" +
      "This operation will:\n" +
      "  - Re-wrap all encryption DEKs with a new KEK\n" +
      `  - Update all encrypted data from kek_version ${oldVersion} to ${newVersion}\n` +
      "  - Require updating BOTH environment variables after completion:\n" +
      `    * ${CRYPTO_KEK_PASSPHRASE_ENV_VAR}='<new-passphrase>'\n` +
      `    * ${CRYPTO_KEK_VERSION_ENV_VAR}='${newVersion}'\n\n` +
      (online
        ? `IMPORTANT (--online): every server must already run with the new passphrase as ${CRYPTO_KEK_PASSPHRASE_ENV_VAR} ` +
          `(${CRYPTO_KEK_VERSION_ENV_VAR}='${newVersion}') and the old one in MLFLOW_SECRETS_KEYRING_FILE.\n`
        : "IMPORTANT: Ensure the MLflow server is shut down before proceeding.\n") +
      "NOTE: Ensure --backend-store-uri or MLFLOW_BACKEND_STORE_URI is set to your tracking server's database URI.\n\n",
  );
}

function printBanner(io: CliIo, result: RotateKekResult): void {
  const word = result.rotated === 1 ? "key" : "keys";
  io.stdout.write(
    `\n✓ Successfully rotated ${result.rotated} encryption ${word} from KEK v${result.oldVersion} to v${result.newVersion}\n\n` +
      `${RULE}\nCRITICAL: Update BOTH environment variables in your deployment config:\n${RULE}\n` +
      `\n  ${CRYPTO_KEK_PASSPHRASE_ENV_VAR}='<new-passphrase>'\n` +
      `  ${CRYPTO_KEK_VERSION_ENV_VAR}='${result.newVersion}'\n` +
      "\nFailure to update BOTH variables will cause decryption failures!\n\n",
  );
  if (result.mode === "online") {
    io.stdout.write(
      `No secret is stored with kek_version ${result.oldVersion} any more: once every server runs with ` +
        `the new passphrase, KEK v${result.oldVersion} can be removed from MLFLOW_SECRETS_KEYRING_FILE.\n`,
    );
  }
}

/** A progress bar on a terminal; nothing otherwise (a plain summary follows at the end). */
function progressReporter(
  io: CliIo,
  Bar: typeof SingleBar | undefined,
  total: number,
  label: string,
): { update: (p: RotationProgress) => void; stop: () => void } {
  if (Bar === undefined) return { update: () => undefined, stop: () => undefined };
  const bar = new Bar({
    format: `${label} |{bar}| {percentage}% | {value}/{total} rows | {speed} rows/s | ETA {eta_formatted}`,
    stream: io.stderr as unknown as NodeJS.WritableStream,
    hideCursor: true,
    etaBuffer: 20,
  });
  const started = performance.now();
  bar.start(total, 0, { speed: 0 });
  return {
    update: (p) => {
      const seconds = (performance.now() - started) / 1000;
      bar.update(Math.min(p.done, total), {
        speed: seconds > 0 ? Math.round(p.done / seconds) : 0,
      });
    },
    stop: () => bar.stop(),
  };
}

function summary(result: RotateKekResult): string {
  const rate = result.seconds > 0 ? Math.round(result.rotated / result.seconds) : result.rotated;
  const skipped =
    result.skipped > 0 ? `, ${result.skipped} left alone (changed by a server meanwhile)` : "";
  return `${result.dryRun ? "Checked" : "Rotated"} ${result.rotated} of ${result.total} secret(s) in ${result.seconds} s (${rate} rows/s, ${result.dryRun ? "dry run" : result.mode}${skipped}).\n`;
}

async function run(options: RotateKekOptions, io: CliIo): Promise<void> {
  if (options.newPassphrase !== undefined && options.newPassphraseFile !== undefined) {
    throw usageError("Give only one of --new-passphrase and --new-passphrase-file");
  }
  const oldPassphrase = readKekPassphrase(io.env);
  if (!oldPassphrase) throw new CliExit(EXIT_FAILURE, MISSING_OLD_PASSPHRASE);
  const oldVersion = readKekVersion(io.env);
  const newVersion = validateKekVersion(oldVersion + 1, "The new KEK version");
  const interactive = isInteractive(io);
  const promptsNeeded =
    options.newPassphrase === undefined && options.newPassphraseFile === undefined;
  if (!interactive && promptsNeeded) {
    throw new CliExit(
      EXIT_FAILURE,
      "No new passphrase: not on a terminal, so give --new-passphrase-file FILE (or --new-passphrase).",
    );
  }
  const confirmNeeded = !options.yes && !options.dryRun;
  if (!interactive && confirmNeeded) {
    throw new CliExit(
      EXIT_FAILURE,
      "Refusing to rotate without confirmation: not on a terminal, so pass --yes.",
    );
  }
  const passphrase = await newPassphrase(options, io);
  if (passphrase === oldPassphrase) {
    throw new CliExit(
      EXIT_FAILURE,
      `The new passphrase is the same as the old one (${CRYPTO_KEK_PASSPHRASE_ENV_VAR}): choose a different passphrase.`,
    );
  }
  if (confirmNeeded) {
    printWarning(io, oldVersion, newVersion, options.online ?? false);
    if (!(await io.prompts.confirm("Continue with KEK rotation?", false))) {
      io.stderr.write("KEK rotation cancelled.\n");
      return;
    }
  }

  io.stdout.write(`Creating KEK managers (v${oldVersion} -> v${newVersion})...\n`);
  let oldKek: KekManager;
  let newKek: KekManager;
  try {
    [oldKek, newKek] = await Promise.all([
      KekManager.create({ passphrase: oldPassphrase, kekVersion: oldVersion }),
      KekManager.create({ passphrase, kekVersion: newVersion }),
    ]);
  } catch (err) {
    throw new CliExit(EXIT_FAILURE, `Failed to create KEK managers: ${(err as Error).message}`);
  }

  io.stdout.write("Connecting to backend store...\n");
  let store: SecretStore;
  try {
    store = await openSecretStore({
      ...(options.backendStoreUri ? { uri: options.backendStoreUri } : {}),
      env: io.env,
      keyring: Keyring.of(newKek, [oldKek]),
      verifyKeyring: false,
    });
  } catch (err) {
    throw new CliExit(
      EXIT_FAILURE,
      `Failed to connect to backend store: ${(err as Error).message}`,
    );
  }

  try {
    io.stdout.write("Retrieving encrypted keys to rotate...\n");
    let progress: ReturnType<typeof progressReporter> | undefined;
    // The progress-bar library is loaded only when there is a terminal to draw on.
    const Bar = io.stderr.isTTY ? (await import("cli-progress")).SingleBar : undefined;
    let result: RotateKekResult;
    try {
      result = await rotateKek({
        store,
        oldKek,
        newKek,
        mode: options.online ? "online" : "offline",
        batchSize: options.batchSize,
        dryRun: options.dryRun ?? false,
        onStart: (total) => {
          if (total === 0) return;
          io.stdout.write(`Found ${total} secrets to rotate.\n\n`);
          progress = progressReporter(
            io,
            Bar,
            total,
            options.dryRun ? "Checking secrets" : "Rotating secrets",
          );
        },
        onProgress: (p) => progress?.update(p),
      });
    } catch (err) {
      progress?.stop();
      if (err instanceof KekRotationError) {
        const cause = err.cause instanceof Error ? err.cause.message : "";
        io.stderr.write(`\n✗ Failed to rotate secret '${err.secretName}': ${cause}\n`);
        throw new CliExit(EXIT_FAILURE, err.message);
      }
      throw err;
    }
    if (result.total === 0) {
      io.stderr.write(`✓ No secrets found with kek_version=${oldVersion}. Nothing to rotate.\n`);
      return;
    }
    progress?.stop();
    io.stderr.write(summary(result));
    if (result.dryRun) {
      reportDryRun(io, result);
      return;
    }
    if (result.remaining > 0) {
      throw new CliExit(
        EXIT_FAILURE,
        `${result.remaining} secret(s) are still stored with kek_version ${oldVersion} (a server still ` +
          "using the old KEK re-encrypted them while the rotation ran). Run the command again to finish.",
      );
    }
    printBanner(io, result);
  } finally {
    await store.close();
  }
}

function reportDryRun(io: CliIo, result: RotateKekResult): void {
  io.stdout.write(
    `Dry run: ${result.rotated} of ${result.total} secret(s) at kek_version ${result.oldVersion} would be rotated to v${result.newVersion}; nothing was changed.\n`,
  );
  if (result.failureCount === 0) return;
  const listed = result.failures
    .map((f) => `  ✗ ${f.secretName} (${f.secretId}): ${f.problem}\n`)
    .join("");
  const more =
    result.failureCount > result.failures.length
      ? `  … and ${result.failureCount - result.failures.length} more\n`
      : "";
  io.stdout.write(`${result.failureCount} secret(s) would fail:\n${listed}${more}`);
  throw new CliExit(EXIT_FAILURE);
}

export const registerRotateKekCommand: RegisterCommands = (program: Command, io: CliIo) => {
  cryptoGroup(program)
    .command("rotate-kek")
    .description("Rotate the KEK passphrase that is used for encryption and decryption.")
    .option(
      "--new-passphrase <passphrase>",
      "the new KEK passphrase (visible in the process list: prefer --new-passphrase-file or the prompt)",
    )
    .option(
      "--new-passphrase-file <file>",
      "a file holding the new passphrase (trailing newline stripped)",
    )
    .option(
      "--backend-store-uri <uri>",
      "database URI; default MLFLOW_BACKEND_STORE_URI, else sqlite:///mlflow-secrets.db",
    )
    .option("-y, --yes", "skip the confirmation prompt")
    .option(
      "--online",
      "rotate while servers keep serving: a transaction per batch, resumable (servers need both KEKs)",
    )
    .addOption(
      new Option("--batch-size <n>", `rows per batch (1 … ${MAX_BATCH_SIZE})`)
        .default(DEFAULT_BATCH_SIZE)
        .argParser(parseBatchSize),
    )
    .option("--dry-run", "check that every DEK at the old version unwraps; change nothing")
    .addHelpText(
      "after",
      "\nThe old passphrase and version come from MLFLOW_CRYPTO_KEK_PASSPHRASE (or _FILE) and\n" +
        "MLFLOW_CRYPTO_KEK_VERSION (default 1); the new version is the old one + 1.\n" +
        "\nExample:\n" +
        "  $ export MLFLOW_CRYPTO_KEK_PASSPHRASE='old-passphrase' MLFLOW_CRYPTO_KEK_VERSION=1\n" +
        "  $ mlflow-secrets crypto rotate-kek --new-passphrase-file /run/secrets/kek-v2 --yes\n",
    )
    .action((options: RotateKekOptions) => run(options, io));
};
