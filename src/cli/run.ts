/**
 * The CLI's composition root: argv → commander → a command function. Errors become one line on
 * stderr and an exit code; a stack trace only with MLFLOW_SECRETS_DEBUG=1.
 */
import { Command, CommanderError } from "commander";
import { readDebug } from "../config.js";
import { VERSION } from "../version.js";
import { registerCommands } from "./commands/index.js";
import { CliExit, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from "./errors.js";
import type { CliIo } from "./io.js";

/** Builds the program; each command module registers itself with the shared io. */
function buildProgram(io: CliIo): Command {
  const program = new Command("mlflow-secrets")
    .description(
      "MLflow's security layer: an envelope-encrypted vault for LLM provider keys, and MLflow client credentials.",
    )
    .version(VERSION, "-V, --version", "print the version")
    .helpOption("-h, --help", "show help")
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: (text, write) =>
        write(text.startsWith("error:") ? `Error: ${text.slice(7)}` : text),
    });
  registerCommands(program, io);
  program.addHelpText(
    "after",
    "\nExample:\n  $ MLFLOW_CRYPTO_KEK_PASSPHRASE=... mlflow-secrets server --port 5050\n",
  );
  return program;
}

/** Runs the CLI and returns the exit code (main is the only caller of process.exit). */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return EXIT_OK;
  } catch (err) {
    return reportError(err, io);
  }
}

function reportError(err: unknown, io: CliIo): number {
  if (err instanceof CommanderError) {
    // Commander has already printed help, the version or the usage message.
    if (
      err.code === "commander.helpDisplayed" ||
      err.code === "commander.version" ||
      err.code === "commander.help"
    ) {
      return EXIT_OK;
    }
    return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  }
  if (err instanceof CliExit) {
    if (err.message) io.stderr.write(`Error: ${err.message}\n`);
    return err.exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  io.stderr.write(`Error: ${message}\n`);
  if (readDebug(io.env) && err instanceof Error && err.stack) {
    io.stderr.write(`${err.stack}\n`);
  }
  return EXIT_FAILURE;
}
