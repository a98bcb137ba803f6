/** `mlflow-secrets users create|get|list|update-password|update-admin|delete`, on the database. */
import { parseBoolean } from "../../config.js";
import { userJson } from "../../rest/views.js";
import { withAdmin, withAdminOptions, readPassword, type AdminOptions } from "../admin.js";
import { usageError } from "../errors.js";
import { isInteractive } from "../io.js";
import { printJson, printRecord, printTable } from "../output.js";
import type { RegisterCommands } from "../io.js";

interface UserOptions extends AdminOptions {
  username: string;
  passwordStdin?: boolean;
}

function parseAdminFlag(value: string): boolean {
  try {
    return parseBoolean(value, "--is-admin");
  } catch (err) {
    throw usageError((err as Error).message);
  }
}

export const registerUsersCommands: RegisterCommands = (program, io) => {
  const users = program
    .command("users")
    .description("manage the server's users (directly on the database)");

  withAdminOptions(users.command("create"))
    .description("create a user (password from a hidden prompt or --password-stdin)")
    .requiredOption("--username <name>", "the new user's name")
    .option("--admin", "make the user an admin")
    .option("--password-stdin", "read the password from stdin")
    .addHelpText(
      "after",
      '\nExample:\n  $ printf %s "$ALICE_PASSWORD" | mlflow-secrets users create --username alice --password-stdin\n',
    )
    .action(async (options: UserOptions & { admin?: boolean }) => {
      const password = await readPassword(options, io, `Password for '${options.username}'`);
      const user = await withAdmin(options, io, ({ ctx, users }) =>
        users.create(ctx, {
          username: options.username,
          password,
          isAdmin: options.admin ?? false,
        }),
      );
      if (options.output === "json") printJson(io, { user: userJson(user) });
      else
        io.stdout.write(
          `Created ${user.isAdmin ? "admin" : "user"} '${user.username}' (${user.userId})\n`,
        );
    });

  withAdminOptions(users.command("get"))
    .description("show a user and their explicit secret permissions")
    .requiredOption("--username <name>", "the user's name")
    .addHelpText(
      "after",
      "\nExample:\n  $ mlflow-secrets users get --username alice --output json\n",
    )
    .action(async (options: UserOptions) => {
      const user = await withAdmin(options, io, ({ ctx, users }) =>
        users.get(ctx, options.username),
      );
      if (options.output === "json") return printJson(io, { user: userJson(user) });
      printRecord(io, [
        ["id", user.userId],
        ["username", user.username],
        ["is_admin", String(user.isAdmin)],
        [
          "permissions",
          (user.secretPermissions ?? []).map((p) => `${p.secretId}=${p.permission}`).join(", ") ||
            "(none)",
        ],
      ]);
    });

  withAdminOptions(users.command("list"))
    .description("list users")
    .addHelpText("after", "\nExample:\n  $ mlflow-secrets users list\n")
    .action(async (options: AdminOptions) => {
      const list = await withAdmin(options, io, ({ ctx, users }) => users.list(ctx));
      if (options.output === "json") return printJson(io, { users: list.map(userJson) });
      printTable(
        io,
        ["USER_ID", "USERNAME", "ADMIN"],
        list.map((u) => [u.userId, u.username, u.isAdmin ? "yes" : "no"]),
      );
    });

  withAdminOptions(users.command("update-password"))
    .description("set a user's password (hidden prompt or --password-stdin)")
    .requiredOption("--username <name>", "the user's name")
    .option("--password-stdin", "read the new password from stdin")
    .addHelpText("after", "\nExample:\n  $ mlflow-secrets users update-password --username admin\n")
    .action(async (options: UserOptions) => {
      const password = await readPassword(options, io, `New password for '${options.username}'`);
      await withAdmin(options, io, ({ ctx, users }) =>
        users.updatePassword(ctx, { username: options.username, password }),
      );
      if (options.output === "json") printJson(io, {});
      else io.stdout.write(`Updated the password of '${options.username}'\n`);
    });

  withAdminOptions(users.command("update-admin"))
    .description("grant or remove admin rights")
    .requiredOption("--username <name>", "the user's name")
    .requiredOption("--is-admin <true|false>", "the new admin status", parseAdminFlag)
    .addHelpText(
      "after",
      "\nExample:\n  $ mlflow-secrets users update-admin --username alice --is-admin true\n",
    )
    .action(async (options: UserOptions & { isAdmin: boolean }) => {
      await withAdmin(options, io, ({ ctx, users }) =>
        users.updateAdmin(ctx, { username: options.username, isAdmin: options.isAdmin }),
      );
      if (options.output === "json") printJson(io, {});
      else
        io.stdout.write(
          `'${options.username}' is ${options.isAdmin ? "now" : "no longer"} an admin\n`,
        );
    });

  withAdminOptions(users.command("delete"))
    .description("delete a user with their tokens and permissions")
    .requiredOption("--username <name>", "the user's name")
    .option("-y, --yes", "do not ask for confirmation")
    .addHelpText("after", "\nExample:\n  $ mlflow-secrets users delete --username bob --yes\n")
    .action(async (options: UserOptions & { yes?: boolean }) => {
      if (!options.yes) {
        if (!isInteractive(io))
          throw usageError("Refusing to delete without --yes when not on a terminal");
        if (!(await io.prompts.confirm(`Delete user '${options.username}'?`, false))) {
          io.stderr.write("Not deleted.\n");
          return;
        }
      }
      await withAdmin(options, io, ({ ctx, users }) => users.delete(ctx, options.username));
      if (options.output === "json") printJson(io, {});
      else io.stdout.write(`Deleted user '${options.username}'\n`);
    });
};
