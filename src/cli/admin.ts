/**
 * What the `users`, `tokens`, `permissions` and `audit` commands share: they work directly on
 * the database (like `db` and `crypto`), through the server's own services, as an admin named
 * `cli:<os user>` — so their changes are audited like the API's.
 */
import { userInfo } from "node:os";
import { Option, type Command } from "commander";
import { createPasswordHasher } from "../domain/users/passwords.js";
import { createAuditService, type AuditService } from "../domain/audit/service.js";
import { databaseOf, type CallContext } from "../domain/context.js";
import {
  createPermissionsService,
  type PermissionsService,
} from "../domain/permissions/service.js";
import { createTokensService, type TokensService } from "../domain/tokens/service.js";
import { createUsersService, type UsersService } from "../domain/users/service.js";
import { readServerSettings } from "./settings.js";
import { DOMAIN_MIGRATIONS } from "../domain/schema.js";
import { openSecretStore } from "../store/index.js";
import { usageError } from "./errors.js";
import { isInteractive, readAll, type CliIo } from "./io.js";
import { parseOutputFormat, type OutputFormat } from "./output.js";

export interface AdminOptions {
  backendStoreUri?: string;
  workspace?: string;
  output: OutputFormat;
}

interface AdminServices {
  ctx: CallContext;
  users: UsersService;
  tokens: TokensService;
  permissions: PermissionsService;
  audit: AuditService;
}

/** Adds `--backend-store-uri` and `--output` (and `--workspace` when asked). */
export function withAdminOptions(command: Command, options: { workspace?: boolean } = {}): Command {
  command.option(
    "--backend-store-uri <uri>",
    "database URI; default MLFLOW_BACKEND_STORE_URI, else sqlite:///mlflow-secrets.db",
  );
  if (options.workspace) command.option("--workspace <name>", "workspace (default 'default')");
  return command.addOption(
    new Option("--output <format>", "table or json").default("table").argParser(parseOutputFormat),
  );
}

/** The caller of a direct-database command: an admin named `cli:<os user>`, audited as such. */
export function cliContext(workspace?: string): CallContext {
  return {
    principal: { userId: "", username: cliUsername(), isAdmin: true, via: "cli" },
    workspace: workspace ?? "default",
  };
}

function cliUsername(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return "cli";
  }
}

/** Opens the database, runs `fn` with the services, closes it. */
export async function withAdmin<T>(
  options: AdminOptions,
  io: CliIo,
  fn: (services: AdminServices) => Promise<T>,
): Promise<T> {
  const settings = readServerSettings(io.env);
  // Nothing here decrypts: a wrong KEK must not stop user administration.
  const store = await openSecretStore({
    ...(options.backendStoreUri ? { uri: options.backendStoreUri } : {}),
    env: io.env,
    verifyKeyring: false,
    migrations: DOMAIN_MIGRATIONS,
  });
  try {
    const database = databaseOf(store);
    return await fn({
      ctx: cliContext(options.workspace),
      users: createUsersService({
        database,
        dialect: store.dialect,
        hasher: createPasswordHasher(),
      }),
      tokens: createTokensService({ database }),
      permissions: createPermissionsService({
        store,
        dialect: store.dialect,
        defaultPermission: settings.defaultPermission,
      }),
      audit: createAuditService({ database }),
    });
  } finally {
    await store.close();
  }
}

/**
 * A password from stdin (`--password-stdin`, trailing newline stripped) or, on a terminal, a
 * hidden prompt asked twice. Never from a flag: flags show up in the process list.
 */
export async function readPassword(
  options: { passwordStdin?: boolean },
  io: CliIo,
  what: string,
): Promise<string> {
  if (options.passwordStdin) return (await readAll(io.stdin)).replace(/\r?\n$/, "");
  if (!isInteractive(io)) {
    throw usageError("No password given: use --password-stdin when not on a terminal");
  }
  const first = await io.prompts.password(`${what} (hidden)`);
  const second = await io.prompts.password("Repeat it");
  if (first !== second) throw usageError("The passwords do not match");
  return first;
}
