/**
 * `mlflow-secrets secrets create|get|list|update|delete|reveal`, directly on a database or
 * through a server.
 */
import type { Command } from "commander";
import { Option } from "commander";
import type { RestSecretInfo } from "../../rest/views.js";
import { usageError } from "../errors.js";
import { isInteractive, type CliIo } from "../io.js";
import {
  formatTime,
  parseOutputFormat,
  printJson,
  printRecord,
  printTable,
  type OutputFormat,
} from "../output.js";
import {
  DirectSecretsApi,
  RemoteSecretsApi,
  resolveTarget,
  type SecretsApi,
  type TargetOptions,
} from "../secrets-api.js";
import { parseAuthConfig, readSecretValue, type ValueOptions } from "../values.js";
import type { RegisterCommands } from "../io.js";

interface CommonOptions extends TargetOptions {
  output: OutputFormat;
}

/** Opens the API the options point at: a server when a tracking URI applies, else the database. */
async function openApi(options: CommonOptions, io: CliIo): Promise<SecretsApi> {
  const target = resolveTarget(options, io);
  if (target.mode === "server")
    return new RemoteSecretsApi(target.trackingUri, io, options.workspace);
  return DirectSecretsApi.open(target.uri, io, options.workspace);
}

function withCommon(command: Command): Command {
  return command
    .option(
      "--backend-store-uri <uri>",
      "database URI (direct mode); default MLFLOW_BACKEND_STORE_URI, else sqlite:///mlflow-secrets.db",
    )
    .option(
      "--tracking-uri <uri>",
      "an mlflow-secrets or MLflow server (http/https); default an http(s) MLFLOW_TRACKING_URI",
    )
    .option("--workspace <name>", "workspace (default 'default')")
    .addOption(
      new Option("--output <format>", "table or json")
        .default("table")
        .argParser(parseOutputFormat),
    );
}

function withValue(command: Command): Command {
  return command
    .option(
      "--value <KEY=VALUE...>",
      "a key and its value; repeatable (visible in the process list: prefer --value-stdin)",
    )
    .option("--value-json <json>", 'the whole value as a JSON object, e.g. {"api_key": "sk-..."}')
    .option(
      "--value-stdin",
      "read the value from stdin: a JSON object, or the text as the value of --key",
    )
    .option("--key <name>", "the key for a value read from stdin or the prompt", "api_key");
}

async function withApi<T>(
  options: CommonOptions,
  io: CliIo,
  fn: (api: SecretsApi) => Promise<T>,
): Promise<T> {
  const api = await openApi(options, io);
  try {
    return await fn(api);
  } finally {
    await api.close();
  }
}

function printSecret(io: CliIo, secret: RestSecretInfo): void {
  printRecord(io, [
    ["secret_id", secret.secret_id],
    ["secret_name", secret.secret_name],
    ["workspace", secret.workspace],
    ["provider", secret.provider],
    [
      "masked_values",
      Object.entries(secret.masked_values)
        .map(([k, v]) => `${k}=${v}`)
        .join(", "),
    ],
    ["auth_config", secret.auth_config_json],
    ["created_by", secret.created_by],
    ["created_at", formatTime(secret.created_at)],
    ["last_updated_by", secret.last_updated_by],
    ["last_updated_at", formatTime(secret.last_updated_at)],
  ]);
}

function emit(io: CliIo, format: OutputFormat, body: { secret: RestSecretInfo }): void {
  if (format === "json") printJson(io, body);
  else printSecret(io, body.secret);
}

export const registerSecretsCommands: RegisterCommands = (program, io) => {
  const secrets = program
    .command("secrets")
    .description(
      "create, read, update and delete secrets (directly on a database or through a server)",
    );

  withValue(withCommon(secrets.command("create")))
    .description("create a secret")
    .requiredOption(
      "--name <name>",
      "the secret's name (unique per workspace; it can never change)",
    )
    .option("--provider <provider>", "openai, anthropic, bedrock, …")
    .option("--auth-config <json>", "non-secret settings as a JSON object (stored in plaintext)")
    .addHelpText(
      "after",
      '\nExample:\n  $ printf %s "$OPENAI_API_KEY" | mlflow-secrets secrets create --name openai-prod --provider openai --value-stdin\n',
    )
    .action(
      async (
        options: CommonOptions &
          ValueOptions & { name: string; provider?: string; authConfig?: string },
      ) => {
        const authConfig = parseAuthConfig(options.authConfig);
        const value = (await readSecretValue(options, io, true))!;
        const body = await withApi(options, io, (api) =>
          api.create({
            secret_name: options.name,
            secret_value: value,
            ...(options.provider !== undefined ? { provider: options.provider } : {}),
            ...(authConfig !== undefined ? { auth_config: authConfig } : {}),
          }),
        );
        emit(io, options.output, body);
      },
    );

  withCommon(secrets.command("get"))
    .description("show a secret's metadata (never its value)")
    .option("--id <id>", "the secret's id")
    .option("--name <name>", "the secret's name")
    .addHelpText(
      "after",
      "\nExample:\n  $ mlflow-secrets secrets get --name openai-prod --output json\n",
    )
    .action(async (options: CommonOptions & { id?: string; name?: string }) => {
      if ((options.id === undefined) === (options.name === undefined)) {
        throw usageError("Give exactly one of --id and --name");
      }
      const body = await withApi(options, io, (api) =>
        api.get(
          options.id !== undefined ? { secret_id: options.id } : { secret_name: options.name! },
        ),
      );
      emit(io, options.output, body);
    });

  withCommon(secrets.command("list"))
    .description("list secrets by name")
    .option("--provider <provider>", "only this provider")
    .addHelpText("after", "\nExample:\n  $ mlflow-secrets secrets list --provider openai\n")
    .action(async (options: CommonOptions & { provider?: string }) => {
      const body = await withApi(options, io, (api) =>
        api.list(options.provider !== undefined ? { provider: options.provider } : {}),
      );
      if (options.output === "json") return printJson(io, body);
      printTable(
        io,
        ["SECRET_ID", "NAME", "PROVIDER", "MASKED", "UPDATED"],
        body.secrets.map((s) => [
          s.secret_id,
          s.secret_name,
          s.provider ?? "",
          Object.entries(s.masked_values)
            .map(([k, v]) => `${k}=${v}`)
            .join(", "),
          formatTime(s.last_updated_at),
        ]),
      );
    });

  withValue(withCommon(secrets.command("update")))
    .description("replace a secret's value (new data key, current KEK) and/or its auth config")
    .requiredOption("--id <id>", "the secret's id")
    .option("--auth-config <json>", "replace the auth config ({} clears it)")
    .addHelpText(
      "after",
      '\nExample:\n  $ printf %s "$NEW_KEY" | mlflow-secrets secrets update --id s-0123… --value-stdin\n',
    )
    .action(async (options: CommonOptions & ValueOptions & { id: string; authConfig?: string }) => {
      const authConfig = parseAuthConfig(options.authConfig);
      const value = await readSecretValue(options, io, authConfig === undefined);
      const body = await withApi(options, io, (api) =>
        api.update({
          secret_id: options.id,
          ...(value !== undefined ? { secret_value: value } : {}),
          ...(authConfig !== undefined ? { auth_config: authConfig } : {}),
        }),
      );
      emit(io, options.output, body);
    });

  withCommon(secrets.command("delete"))
    .description("delete a secret for good")
    .requiredOption("--id <id>", "the secret's id")
    .option("-y, --yes", "do not ask for confirmation")
    .addHelpText("after", "\nExample:\n  $ mlflow-secrets secrets delete --id s-0123… --yes\n")
    .action(async (options: CommonOptions & { id: string; yes?: boolean }) => {
      if (!options.yes) {
        if (!isInteractive(io))
          throw usageError("Refusing to delete without --yes when not on a terminal");
        if (
          !(await io.prompts.confirm(`Delete secret ${options.id}? This cannot be undone.`, false))
        ) {
          io.stderr.write("Not deleted.\n");
          return;
        }
      }
      const body = await withApi(options, io, (api) => api.delete({ secret_id: options.id }));
      if (options.output === "json") printJson(io, body);
      else io.stdout.write(`Deleted secret ${options.id}\n`);
    });

  withCommon(secrets.command("reveal"))
    .description(
      "print a secret's decrypted value (needs USE permission through a server; audited)",
    )
    .requiredOption("--id <id>", "the secret's id")
    .addHelpText(
      "after",
      "\nExample:\n  $ mlflow-secrets secrets reveal --id s-0123… --output json | jq -r .secret_value.api_key\n",
    )
    .action(async (options: CommonOptions & { id: string }) => {
      const body = await withApi(options, io, (api) => api.reveal({ secret_id: options.id }));
      if (options.output === "json") return printJson(io, body);
      for (const [key, value] of Object.entries(body.secret_value))
        io.stdout.write(`${key}=${value}\n`);
    });
};
