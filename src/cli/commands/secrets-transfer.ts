/**
 * `mlflow-secrets secrets export` and `secrets import`: secrets in and out of files — JSON,
 * dotenv, or an encrypted bundle for moving between installations without plaintext on disk —
 * directly on a database or through a server, with the same permissions and audit rows as one
 * secret at a time.
 */
import { statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { Option } from "commander";
import { readSecretFile } from "../../config.js";
import { sealSecretsBundle } from "../../crypto/bundle.js";
import { isPlainObject } from "../../crypto/python-json.js";
import {
  IMPORT_CONFLICT_POLICIES,
  type ImportConflictPolicy,
  type ImportItem,
} from "../../domain/secrets/transfer.js";
import { writeFileAtomic } from "../../client/files.js";
import { choiceParser } from "../choices.js";
import { CliExit, EXIT_FAILURE, usageError } from "../errors.js";
import { isInteractive, readAll, type CliIo, type RegisterCommands } from "../io.js";
import { parseOutputFormat, printJson, printTable, type OutputFormat } from "../output.js";
import {
  SECRET_FILE_FORMATS,
  SecretFileError,
  formatDotenvExport,
  formatJsonExport,
  parseBundleImport,
  parseDotenvImport,
  parseJsonImport,
  type LocatedEntry,
  type SecretFileFormat,
} from "../secret-files.js";
import { withTargetOptions, type TargetOptions } from "../secrets-api.js";
import { openTransferApi, type TransferApi } from "../transfer-api.js";

interface ExportOptions extends TargetOptions {
  format: SecretFileFormat;
  provider?: string;
  namePrefix?: string;
  file?: string;
  recipientPassphraseFile?: string;
  yes?: boolean;
}

interface ImportOptions extends TargetOptions {
  file: string;
  format?: SecretFileFormat;
  onConflict: ImportConflictPolicy;
  dryRun?: boolean;
  key: string;
  recipientPassphraseFile?: string;
  output: OutputFormat;
}

async function withTransferApi<T>(
  options: TargetOptions,
  io: CliIo,
  fn: (api: TransferApi) => Promise<T>,
): Promise<T> {
  const api = await openTransferApi(options, io);
  try {
    return await fn(api);
  } finally {
    await api.close();
  }
}

/** The bundle passphrase: the file, or (on a terminal) a hidden prompt, asked twice to encrypt. */
async function bundlePassphrase(
  options: { recipientPassphraseFile?: string },
  io: CliIo,
  confirm: boolean,
): Promise<string> {
  let passphrase: string;
  if (options.recipientPassphraseFile !== undefined) {
    passphrase = readSecretFile(options.recipientPassphraseFile, "--recipient-passphrase-file");
  } else if (isInteractive(io)) {
    passphrase = await io.prompts.password("Recipient passphrase (hidden)");
    if (confirm && (await io.prompts.password("Repeat it")) !== passphrase) {
      throw usageError("The passphrases do not match");
    }
  } else {
    throw usageError(
      "The bundle needs a passphrase: give --recipient-passphrase-file FILE (not on a terminal)",
    );
  }
  if (passphrase === "") throw usageError("The recipient passphrase must not be empty");
  return passphrase;
}

async function runExport(options: ExportOptions, io: CliIo): Promise<void> {
  const plaintext = options.format !== "bundle";
  if (plaintext && options.file === undefined && io.stdout.isTTY && !options.yes) {
    throw usageError(
      "Refusing to print plaintext secret values to a terminal: give --file FILE, pipe the output, or pass --yes",
    );
  }
  if (plaintext && options.recipientPassphraseFile !== undefined) {
    throw usageError("--recipient-passphrase-file goes with --format bundle");
  }
  const passphrase = plaintext ? undefined : await bundlePassphrase(options, io, true);
  const workspace = options.workspace ?? "default";
  const secrets = await withTransferApi(options, io, (api) =>
    api.exportSecrets({
      ...(options.provider !== undefined ? { provider: options.provider } : {}),
      ...(options.namePrefix !== undefined ? { namePrefix: options.namePrefix } : {}),
    }),
  );
  const content =
    options.format === "json"
      ? formatJsonExport(secrets, workspace)
      : options.format === "dotenv"
        ? formatDotenvExport(secrets, workspace)
        : `${JSON.stringify(await sealSecretsBundle(secrets, passphrase!), null, 2)}\n`;
  if (options.file !== undefined) {
    await writeFileAtomic(options.file, content);
    io.stderr.write(
      `Exported ${secrets.length} secret(s) to ${options.file} (mode 0600)` +
        (plaintext
          ? ": plaintext values, keep it private and delete it when done.\n"
          : ", encrypted for the recipient passphrase.\n"),
    );
  } else {
    io.stdout.write(content);
    io.stderr.write(`Exported ${secrets.length} secret(s).\n`);
  }
}

/** dotenv for `.env` files, a bundle when the JSON says so, else the JSON export. */
function inferFormat(file: string, text: string): SecretFileFormat {
  const name = basename(file);
  if (name === ".env" || name.startsWith(".env.") || name.endsWith(".env")) return "dotenv";
  try {
    const document: unknown = JSON.parse(text);
    if (isPlainObject(document) && document.format === "mlflow-secrets-bundle") return "bundle";
  } catch {
    // not JSON: reported by the JSON reader
  }
  return "json";
}

async function readInput(file: string, io: CliIo): Promise<string> {
  if (file === "-") return readAll(io.stdin);
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    throw new CliExit(
      EXIT_FAILURE,
      `Cannot read '${file}' (${(err as NodeJS.ErrnoException).code ?? "error"})`,
    );
  }
}

function warnIfReadableByOthers(file: string, io: CliIo): void {
  if (file === "-") return;
  try {
    if ((statSync(file).mode & 0o077) !== 0) {
      io.stderr.write(
        `Warning: ${file} holds plaintext secret values and can be read by group or others (chmod 600, and delete it once imported).\n`,
      );
    }
  } catch {
    // read errors are reported when reading it
  }
}

const ACTION_WORDS: Readonly<Record<ImportItem["action"], string>> = {
  create: "created",
  update: "updated",
  unchanged: "unchanged",
  skip: "skipped (exists)",
  conflict: "conflict",
};

async function runImport(options: ImportOptions, io: CliIo): Promise<void> {
  const text = await readInput(options.file, io);
  const format = options.format ?? inferFormat(options.file, text);
  if (format !== "bundle") warnIfReadableByOthers(options.file, io);
  let entries: LocatedEntry[];
  try {
    entries =
      format === "json"
        ? parseJsonImport(text)
        : format === "dotenv"
          ? parseDotenvImport(text, options.key)
          : await parseBundleImport(text, await bundlePassphrase(options, io, false));
  } catch (err) {
    if (err instanceof SecretFileError) {
      for (const p of err.problems) io.stderr.write(`${options.file}: ${p.where}: ${p.problem}\n`);
    }
    throw err;
  }
  const plan = await withTransferApi(options, io, (api) =>
    api.importSecrets(
      entries.map((e) => e.entry),
      { onConflict: options.onConflict, dryRun: options.dryRun ?? false },
    ),
  );
  if (options.output === "json") {
    printJson(io, {
      dry_run: options.dryRun ?? false,
      secrets: plan.map((p) => ({
        name: p.name,
        action: p.action,
        ...(p.secretId ? { secret_id: p.secretId } : {}),
      })),
    });
    return;
  }
  if (plan.length > 0) {
    printTable(
      io,
      ["NAME", options.dryRun ? "WOULD BE" : "RESULT", "SECRET_ID"],
      plan.map((p) => [p.name, ACTION_WORDS[p.action], p.secretId ?? ""]),
    );
  }
  const count = (action: ImportItem["action"]) => plan.filter((p) => p.action === action).length;
  io.stderr.write(
    `${options.dryRun ? "Dry run, nothing written: " : ""}${count("create")} created, ${count("update")} updated, ` +
      `${count("unchanged")} unchanged, ${count("skip")} skipped.\n`,
  );
}

export const registerSecretsTransferCommands: RegisterCommands = (program, io) => {
  const secrets =
    program.commands.find((c) => c.name() === "secrets") ?? program.command("secrets");

  withTargetOptions(secrets.command("export"))
    .description(
      "write secrets with their values to a file: JSON, dotenv, or an encrypted bundle (needs USE on each; audited per secret)",
    )
    .addOption(
      new Option("--format <format>", "json, dotenv or bundle")
        .default("json")
        .argParser(choiceParser("--format", SECRET_FILE_FORMATS)),
    )
    .option("--provider <provider>", "only this provider's secrets")
    .option("--name-prefix <prefix>", "only secrets whose name starts with this")
    .option("--file <file>", "write here (mode 0600, atomically) instead of stdout")
    .option(
      "--recipient-passphrase-file <file>",
      "bundle: a file holding the passphrase the recipient will import with",
    )
    .option("-y, --yes", "print plaintext values even when stdout is a terminal")
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  $ mlflow-secrets secrets export --format json --file secrets.json\n" +
        "  $ mlflow-secrets secrets export --format dotenv --provider openai > .env\n" +
        "  $ mlflow-secrets secrets export --format bundle --recipient-passphrase-file pass.txt --file move.bundle.json\n",
    )
    .action((options: ExportOptions) => runExport(options, io));

  withTargetOptions(secrets.command("import"))
    .description(
      "create (or update) secrets from a file: the whole file is checked first, then written in batches",
    )
    .requiredOption("--file <file>", "the file to read ('-' for stdin)")
    .addOption(
      new Option(
        "--format <format>",
        "json, dotenv or bundle (default: dotenv for .env files, else from the content)",
      ).argParser(choiceParser("--format", SECRET_FILE_FORMATS)),
    )
    .addOption(
      new Option(
        "--on-conflict <policy>",
        "a secret of the same name exists: fail (before writing anything), skip or update",
      )
        .default("fail")
        .argParser(choiceParser("--on-conflict", IMPORT_CONFLICT_POLICIES)),
    )
    .option("--dry-run", "check the file and report what would happen; write nothing")
    .option(
      "--key <name>",
      "dotenv: the key for a plain NAME=value line (the secret is named NAME)",
      "api_key",
    )
    .option(
      "--recipient-passphrase-file <file>",
      "bundle: a file holding the passphrase it was made for",
    )
    .addOption(
      new Option("--output <format>", "table or json")
        .default("table")
        .argParser(parseOutputFormat),
    )
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  $ mlflow-secrets secrets import --file secrets.json --on-conflict skip\n" +
        "  $ mlflow-secrets secrets import --file .env --dry-run\n" +
        "  $ mlflow-secrets secrets import --file move.bundle.json --recipient-passphrase-file pass.txt\n",
    )
    .action((options: ImportOptions) => runImport(options, io));
};
