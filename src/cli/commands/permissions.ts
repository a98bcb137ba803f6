/** `mlflow-secrets permissions grant|get|update|revoke`, on the database. */
import { PERMISSION_NAMES } from "../../domain/permissions/model.js";
import { grantJson } from "../../rest/views.js";
import { withAdmin, withAdminOptions, type AdminOptions } from "../admin.js";
import { printJson, printRecord } from "../output.js";
import type { RegisterCommands } from "../io.js";

interface GrantOptions extends AdminOptions {
  secretId: string;
  username: string;
  permission?: string;
}

export const registerPermissionsCommands: RegisterCommands = (program, io) => {
  const permissions = program
    .command("permissions")
    .description(
      `per-secret permissions: ${PERMISSION_NAMES.join(" < ")} (directly on the database)`,
    );

  const target = (name: string, description: string, permission: boolean) => {
    const command = withAdminOptions(permissions.command(name), { workspace: true })
      .description(description)
      .requiredOption("--secret-id <id>", "the secret's id (s-…)")
      .requiredOption("--username <name>", "the user");
    if (permission) {
      command.requiredOption("--permission <name>", PERMISSION_NAMES.join(", "));
    }
    return command;
  };

  target("grant", "give a user a permission on a secret", true)
    .addHelpText(
      "after",
      "\nExample:\n  $ mlflow-secrets permissions grant --secret-id s-0123… --username gateway --permission USE\n",
    )
    .action(async (options: GrantOptions) => {
      const grant = await withAdmin(options, io, ({ ctx, permissions }) =>
        permissions.create(ctx, {
          secretId: options.secretId,
          username: options.username,
          permission: options.permission,
        }),
      );
      if (options.output === "json") return printJson(io, { secret_permission: grantJson(grant) });
      io.stdout.write(`Granted ${grant.permission} on ${grant.secretId} to '${grant.username}'\n`);
    });

  target("get", "show a user's explicit permission on a secret", false)
    .addHelpText(
      "after",
      "\nExample:\n  $ mlflow-secrets permissions get --secret-id s-0123… --username gateway\n",
    )
    .action(async (options: GrantOptions) => {
      const grant = await withAdmin(options, io, ({ ctx, permissions }) =>
        permissions.get(ctx, { secretId: options.secretId, username: options.username }),
      );
      if (options.output === "json") return printJson(io, { secret_permission: grantJson(grant) });
      printRecord(io, [
        ["secret_id", grant.secretId],
        ["username", grant.username],
        ["permission", grant.permission],
      ]);
    });

  target("update", "change a user's permission on a secret", true)
    .addHelpText(
      "after",
      "\nExample:\n  $ mlflow-secrets permissions update --secret-id s-0123… --username gateway --permission READ\n",
    )
    .action(async (options: GrantOptions) => {
      await withAdmin(options, io, ({ ctx, permissions }) =>
        permissions.update(ctx, {
          secretId: options.secretId,
          username: options.username,
          permission: options.permission,
        }),
      );
      if (options.output === "json") printJson(io, {});
      else
        io.stdout.write(
          `Set ${options.username}'s permission on ${options.secretId} to ${options.permission!.toUpperCase()}\n`,
        );
    });

  target("revoke", "remove a user's explicit permission (the default applies again)", false)
    .addHelpText(
      "after",
      "\nExample:\n  $ mlflow-secrets permissions revoke --secret-id s-0123… --username gateway\n",
    )
    .action(async (options: GrantOptions) => {
      await withAdmin(options, io, ({ ctx, permissions }) =>
        permissions.delete(ctx, { secretId: options.secretId, username: options.username }),
      );
      if (options.output === "json") printJson(io, {});
      else io.stdout.write(`Revoked ${options.username}'s permission on ${options.secretId}\n`);
    });
};
