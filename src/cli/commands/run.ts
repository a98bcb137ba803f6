/**
 * `mlflow-secrets run --env VAR=secret:key … [--secret NAME] [--prefix P] -- CMD ARGS…`: starts a
 * command with secrets in its environment, the way `infisical run` and `doppler run` do, but from
 * MLflow's table with its permissions (USE on each secret, audited) — directly on the database or
 * through a server.
 *
 * Values never go on a command line (ours or the child's) and this process prints none of them.
 * Everything is fetched and checked before the child starts: a missing secret or key stops the
 * command naming it. The child gets this process's terminal (stdin, stdout, stderr); SIGINT,
 * SIGTERM, SIGHUP, SIGQUIT and SIGUSR2 sent to this process are passed on, and this process exits
 * with the child's code (128 + n when a signal ended it).
 */
import { spawn } from "node:child_process";
import { constants } from "node:os";
import type { Command } from "commander";
import {
  CRYPTO_KEK_PASSPHRASE_ENV_VAR,
  CRYPTO_KEK_PASSPHRASE_FILE_ENV_VAR,
  type Env,
} from "../../config.js";
import { CliExit, usageError } from "../errors.js";
import { envVarName } from "../secret-files.js";
import { withTargetOptions, type TargetOptions } from "../secrets-api.js";
import { MissingSecretsError, openTransferApi } from "../transfer-api.js";
import type { CliIo, RegisterCommands } from "../io.js";

/** Signals passed on to the child (SIGUSR1 belongs to Node's debugger). */
const FORWARDED: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR2"];
/**
 * Not handed to the child: the master key of the vault. In direct mode this process needs it to
 * decrypt; the command it starts never does.
 */
const WITHHELD = [CRYPTO_KEK_PASSPHRASE_ENV_VAR, CRYPTO_KEK_PASSPHRASE_FILE_ENV_VAR];
/** Shell conventions: found but not executable, and not found. */
const EXIT_CANNOT_EXECUTE = 126;
const EXIT_NOT_FOUND = 127;

interface RunOptions extends TargetOptions {
  env: string[];
  secret: string[];
  prefix: string;
}

/** `VAR=secret-name:key` (or `VAR=secret-name` for a secret with one key). */
interface Mapping {
  variable: string;
  secret: string;
  key: string | undefined;
}

const VARIABLE = /^[A-Za-z_][A-Za-z0-9_]*$/;

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function parseMapping(text: string): Mapping {
  const at = text.indexOf("=");
  const variable = text.slice(0, at);
  const source = text.slice(at + 1);
  if (at <= 0 || !VARIABLE.test(variable) || source === "") {
    throw usageError(
      `--env takes VAR=secret-name:key (VAR a variable name), got '${text.slice(0, 80)}'`,
    );
  }
  // The last ':' separates the key, so secret names may contain ':' when a key is given.
  const colon = source.lastIndexOf(":");
  return colon <= 0
    ? { variable, secret: source, key: undefined }
    : { variable, secret: source.slice(0, colon), key: source.slice(colon + 1) };
}

function keyOf(
  values: ReadonlyMap<string, Record<string, string>>,
  secret: string,
  key: string | undefined,
  variable: string,
): string {
  const value = values.get(secret)!;
  const keys = Object.keys(value);
  if (key === undefined) {
    if (keys.length === 1) return value[keys[0]!]!;
    throw new CliExit(
      1,
      `--env ${variable}=${secret}: the secret has ${keys.length} keys (${keys.join(", ")}); name one as ${secret}:KEY`,
    );
  }
  if (!Object.prototype.hasOwnProperty.call(value, key)) {
    throw new CliExit(1, `Secret '${secret}' has no key '${key}' (its keys: ${keys.join(", ")})`);
  }
  return value[key]!;
}

/** The child's environment: ours without the KEK passphrase, plus the secrets. */
function childEnvironment(env: Env, secrets: ReadonlyMap<string, string>): NodeJS.ProcessEnv {
  const child: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && !WITHHELD.includes(name)) child[name] = value;
  }
  for (const [name, value] of secrets) child[name] = value;
  return child;
}

/** Runs the child and resolves with the exit code this process should end with. */
function runChild(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: "inherit", env });
    const forward = (signal: NodeJS.Signals) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    };
    for (const signal of FORWARDED) process.on(signal, forward);
    const done = () => {
      for (const signal of FORWARDED) process.removeListener(signal, forward);
    };
    child.once("error", (err: NodeJS.ErrnoException) => {
      done();
      if (err.code === "ENOENT") {
        reject(new CliExit(EXIT_NOT_FOUND, `Cannot run '${command}': command not found`));
      } else if (err.code === "EACCES") {
        reject(new CliExit(EXIT_CANNOT_EXECUTE, `Cannot run '${command}': permission denied`));
      } else {
        reject(
          new CliExit(EXIT_CANNOT_EXECUTE, `Cannot run '${command}': ${err.code ?? err.message}`),
        );
      }
    });
    child.once("exit", (code, signal) => {
      done();
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 0));
    });
  });
}

async function run(command: string[], options: RunOptions, io: CliIo): Promise<void> {
  const mappings = options.env.map(parseMapping);
  if (mappings.length === 0 && options.secret.length === 0) {
    throw usageError("Give at least one --env VAR=secret-name:key or --secret NAME");
  }
  if (options.prefix !== "" && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(options.prefix)) {
    throw usageError(
      `--prefix must be a variable-name prefix (letters, digits, _), got '${options.prefix}'`,
    );
  }
  const [program, ...args] = command;
  const names = [...mappings.map((m) => m.secret), ...options.secret];
  const api = await openTransferApi(options, io);
  let values: Map<string, Record<string, string>>;
  try {
    values = await api.values(names);
  } catch (err) {
    if (err instanceof MissingSecretsError) {
      throw new CliExit(1, `${err.message}: nothing was run`);
    }
    throw err;
  } finally {
    await api.close();
  }
  const secrets = new Map<string, string>();
  const from = new Map<string, string>();
  const set = (variable: string, value: string, source: string) => {
    const earlier = from.get(variable);
    if (earlier !== undefined) {
      throw usageError(`${variable} would be set twice (by ${earlier} and by ${source})`);
    }
    from.set(variable, source);
    secrets.set(variable, value);
  };
  for (const name of options.secret) {
    for (const [key, value] of Object.entries(values.get(name)!)) {
      set(envVarName(`${options.prefix}${key}`), value, `--secret ${name}`);
    }
  }
  for (const m of mappings) {
    set(m.variable, keyOf(values, m.secret, m.key, m.variable), `--env ${m.variable}`);
  }
  const code = await runChild(program!, args, childEnvironment(io.env, secrets));
  if (code !== 0) throw new CliExit(code);
}

export const registerRunCommand: RegisterCommands = (program: Command, io: CliIo) => {
  withTargetOptions(program.command("run"))
    .description(
      "run a command with secrets in its environment (needs USE on each secret; audited)",
    )
    .argument("<command...>", "the command and its arguments, after --")
    .option(
      "--env <VAR=secret:key>",
      "set VAR to a key of a secret (repeatable; the key may be left out for a secret with one key)",
      collect,
      [],
    )
    .option(
      "--secret <name>",
      "set every key of a secret as an upper-case variable (repeatable)",
      collect,
      [],
    )
    .option("--prefix <prefix>", "put this before the variables of --secret", "")
    .addHelpText(
      "after",
      "\nThe command gets this terminal; its exit code is this command's (128 + n for signal n).\n" +
        `${CRYPTO_KEK_PASSPHRASE_ENV_VAR} and ${CRYPTO_KEK_PASSPHRASE_FILE_ENV_VAR} are not passed on.\n\n` +
        "Examples:\n" +
        "  $ mlflow-secrets run --env OPENAI_API_KEY=openai-prod:api_key -- python app.py\n" +
        "  $ mlflow-secrets run --secret bedrock -- aws s3 ls   # AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY\n",
    )
    .action((command: string[], options: RunOptions) => run(command, options, io));
};
