/** `mlflow-secrets tokens create|list|revoke`, on the database. */
import { tokenJson } from "../../rest/views.js";
import { withAdmin, withAdminOptions, type AdminOptions } from "../admin.js";
import { formatTime, printJson, printTable } from "../output.js";
import type { RegisterCommands } from "../io.js";

export const registerTokensCommands: RegisterCommands = (program, io) => {
  const tokens = program
    .command("tokens")
    .description("API tokens for services (directly on the database)");

  withAdminOptions(tokens.command("create"))
    .description("create an API token for a user; the token is printed once")
    .requiredOption("--username <name>", "the user the token acts as")
    .requiredOption("--name <name>", "what the token is for, e.g. gateway-prod")
    .addHelpText(
      "after",
      "\nExample:\n  $ mlflow-secrets tokens create --username gateway --name gateway-prod --output json\n",
    )
    .action(async (options: AdminOptions & { username: string; name: string }) => {
      const created = await withAdmin(options, io, ({ ctx, tokens }) =>
        tokens.create(ctx, { name: options.name, username: options.username }),
      );
      if (options.output === "json") {
        return printJson(io, { token_id: created.tokenId, token: created.token });
      }
      io.stdout.write(`${created.token}\n`);
      io.stderr.write(
        `Token ${created.tokenId} for '${options.username}'. It is shown only this once: store it now.\n`,
      );
    });

  withAdminOptions(tokens.command("list"))
    .description("list tokens (never their values)")
    .option("--username <name>", "only this user's tokens")
    .addHelpText("after", "\nExample:\n  $ mlflow-secrets tokens list --username gateway\n")
    .action(async (options: AdminOptions & { username?: string }) => {
      const list = await withAdmin(options, io, ({ ctx, tokens }) =>
        tokens.list(ctx, { username: options.username }),
      );
      if (options.output === "json") return printJson(io, { tokens: list.map(tokenJson) });
      printTable(
        io,
        ["TOKEN_ID", "NAME", "USERNAME", "CREATED"],
        list.map((t) => [t.tokenId, t.name, t.username, formatTime(t.createdAt)]),
      );
    });

  withAdminOptions(tokens.command("revoke"))
    .description("revoke a token: it stops working at once, on every server")
    .requiredOption("--token-id <id>", "the token's id (t-…)")
    .addHelpText("after", "\nExample:\n  $ mlflow-secrets tokens revoke --token-id t-0123…\n")
    .action(async (options: AdminOptions & { tokenId: string }) => {
      await withAdmin(options, io, ({ ctx, tokens }) =>
        tokens.revoke(ctx, { tokenId: options.tokenId }),
      );
      if (options.output === "json") printJson(io, {});
      else io.stdout.write(`Revoked token ${options.tokenId}\n`);
    });
};
