/** `mlflow-secrets login`: MLflow's `mlflow.login()` for Databricks, plus MLflow's own auth. */
import { Option, type Command } from "commander";
import type { LoginBackend } from "../../client/login.js";
import { isInteractive } from "../io.js";
import type { RegisterCommands } from "../io.js";

interface LoginFlags {
  backend: LoginBackend;
  profile?: string;
  interactive: boolean;
}

export const registerLoginCommands: RegisterCommands = (program: Command, io) => {
  program
    .command("login")
    .description(
      "Check the saved credentials and, when they do not work, ask for new ones, validate them and save them (mode 0600)",
    )
    .addOption(
      new Option("--backend <backend>", "where to log in")
        .choices(["databricks", "mlflow"] satisfies LoginBackend[])
        .default("databricks"),
    )
    .option(
      "--profile <name>",
      "the Databricks profile to write (default: DATABRICKS_CONFIG_PROFILE, else DEFAULT)",
    )
    .option("--no-interactive", "fail instead of asking when no valid credentials are found")
    .addHelpText(
      "after",
      [
        "",
        "Examples:",
        "  $ mlflow-secrets login                              # Databricks: a profile in ~/.databrickscfg",
        "  $ mlflow-secrets login --profile staging",
        "  $ mlflow-secrets login --backend mlflow             # [mlflow] in ~/.mlflow/credentials",
        "  $ mlflow-secrets login --no-interactive || exit 1   # in CI: only check",
        "",
      ].join("\n"),
    )
    .action(async (flags: LoginFlags) => {
      // The client is loaded by the commands that use it only.
      const { login } = await import("../../client/login.js");
      await login({
        backend: flags.backend,
        ...(flags.profile !== undefined ? { profile: flags.profile } : {}),
        // Without a terminal there is nobody to answer.
        interactive: flags.interactive && isInteractive(io),
        env: io.env,
        prompts: io.prompts,
        log: (line) => io.stderr.write(`${line}\n`),
      });
    });
};
