/** `mlflow-secrets creds show`: which credentials a request would use, secrets masked. */
import type { Command } from "commander";
import { readEnvString, TRACKING_URI_ENV_VAR } from "../../config.js";
import { usageError } from "../errors.js";
import type { RegisterCommands } from "../io.js";

export const registerCredsCommands: RegisterCommands = (program: Command, io) => {
  const creds = program
    .command("creds")
    .description("Inspect MLflow client credentials")
    .addHelpText(
      "after",
      "\nExample:\n  $ mlflow-secrets creds show --tracking-uri https://mlflow.example.com\n",
    );
  creds
    .command("show")
    .description(
      "Show the auth mode a request to the tracking server would use and where each field comes from (secrets masked; nothing is sent)",
    )
    .option("--tracking-uri <uri>", `the tracking server (default: ${TRACKING_URI_ENV_VAR})`)
    .addHelpText(
      "after",
      [
        "",
        "Examples:",
        "  $ mlflow-secrets creds show --tracking-uri https://mlflow.example.com",
        "  $ MLFLOW_TRACKING_URI=databricks://staging mlflow-secrets creds show",
        "",
      ].join("\n"),
    )
    .action(async (flags: { trackingUri?: string }) => {
      const trackingUri = flags.trackingUri ?? readEnvString(io.env, TRACKING_URI_ENV_VAR);
      if (trackingUri === undefined) {
        throw usageError(`Pass --tracking-uri or set ${TRACKING_URI_ENV_VAR}`);
      }
      // The client is loaded by the commands that use it only.
      const { describeHostCreds, formatCredsReport } = await import("../../client/show.js");
      io.stdout.write(formatCredsReport(await describeHostCreds(trackingUri, { env: io.env })));
    });
};
