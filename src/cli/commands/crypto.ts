/** `mlflow-secrets crypto status [--verify]` (and, from the rotation module, `crypto rotate-kek`). */
import { Option, type Command } from "commander";
import { cryptoStatus } from "../../rest/crypto-status.js";
import { openSecretStore } from "../../store/index.js";
import { CliExit, EXIT_FAILURE } from "../errors.js";
import { parseOutputFormat, printJson, printTable, type OutputFormat } from "../output.js";
import type { RegisterCommands } from "../io.js";

/** The `crypto` group, shared with the rotation command. */
export function cryptoGroup(program: Command): Command {
  return (
    program.commands.find((c) => c.name() === "crypto") ??
    program
      .command("crypto")
      .description("Commands for managing MLflow's cryptographic passphrase.")
  );
}

export const registerCryptoCommands: RegisterCommands = (program, io) => {
  cryptoGroup(program)
    .command("status")
    .description("rows per KEK version, the configured keyring, and what it cannot decrypt")
    .option(
      "--backend-store-uri <uri>",
      "database URI; default MLFLOW_BACKEND_STORE_URI, else sqlite:///mlflow-secrets.db",
    )
    .option("--verify", "unwrap every data key and list the secrets that fail (exit 1 if any)")
    .addOption(
      new Option("--output <format>", "table or json")
        .default("table")
        .argParser(parseOutputFormat),
    )
    .addHelpText(
      "after",
      "\nExample:\n  $ MLFLOW_SECRETS_KEYRING_FILE=keyring.json mlflow-secrets crypto status --verify\n",
    )
    .action(
      async (options: { backendStoreUri?: string; verify?: boolean; output: OutputFormat }) => {
        const store = await openSecretStore({
          ...(options.backendStoreUri ? { uri: options.backendStoreUri } : {}),
          env: io.env,
          verifyKeyring: false,
        });
        try {
          const status = await cryptoStatus(store, { verify: options.verify === true });
          const { rotation, failures } = status;
          const current = status.current_kek_version;
          if (options.output === "json") {
            printJson(io, status);
          } else {
            io.stdout.write(
              `Current KEK version: ${status.current_kek_version}${status.using_default_passphrase ? " (default passphrase!)" : ""}\n` +
                `Keyring versions:    ${status.keyring_versions.join(", ")}\n\n`,
            );
            if (status.kek_versions.length === 0) io.stdout.write("No secrets stored.\n");
            else
              printTable(
                io,
                ["KEK_VERSION", "ROWS", "IN_KEYRING", "READABLE"],
                status.kek_versions.map((v) => [
                  String(v.kek_version),
                  String(v.rows),
                  v.in_keyring ? "yes" : "no",
                  v.readable ? "yes" : `no (${v.problem})`,
                ]),
              );
            if (rotation.rows_remaining > 0) {
              const older = status.kek_versions
                .filter((v) => v.kek_version !== current)
                .map((v) => `v${v.kek_version}: ${v.rows}`)
                .join(", ");
              const percent =
                Math.floor((rotation.rows_at_target / rotation.rows_total) * 1000) / 10;
              io.stdout.write(
                `\nRotation to v${current}: ${rotation.rows_at_target} of ${rotation.rows_total} secret(s) (${percent}%) at the current version; ` +
                  `${rotation.rows_remaining} still at older versions (${older}). Keep their KEKs in the keyring until none are left.\n`,
              );
            } else if (rotation.rows_total > 0) {
              io.stdout.write(
                `\nEvery secret is at the current kek_version ${current}: older KEKs can be dropped from the keyring.\n`,
              );
            }
            if (failures) {
              io.stdout.write(
                failures.length === 0
                  ? `\nVerified: every data key unwraps.\n`
                  : `\n${failures.length} secret(s) fail:\n${failures.map((f) => `  ${f.secret_name} (${f.secret_id}), kek_version ${f.kek_version}: ${f.problem}`).join("\n")}\n`,
              );
            }
          }
          if (failures && failures.length > 0) throw new CliExit(EXIT_FAILURE);
        } finally {
          await store.close();
        }
      },
    );
};
