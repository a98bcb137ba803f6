/** Every command group registers itself here; run.ts stays free of command details. */
import type { Command } from "commander";
import type { CliIo, RegisterCommands } from "../io.js";
import { registerCryptoCommands } from "./crypto.js";
import { registerDbCommands } from "./db.js";
import { registerDbCopyCommand } from "./db-copy.js";
import { registerAuditCommands } from "./audit.js";
import { registerPermissionsCommands } from "./permissions.js";
import { registerRotateKekCommand } from "./rotate-kek.js";
import { registerRunCommand } from "./run.js";
import { registerSecretsCommands } from "./secrets.js";
import { registerSecretsTransferCommands } from "./secrets-transfer.js";
import { registerCredsCommands } from "./creds.js";
import { registerLoginCommands } from "./login.js";
import { registerServerCommands } from "./server.js";
import { registerTokensCommands } from "./tokens.js";
import { registerUsersCommands } from "./users.js";

const groups: RegisterCommands[] = [
  registerSecretsCommands,
  registerSecretsTransferCommands,
  registerDbCommands,
  registerDbCopyCommand,
  registerCryptoCommands,
  registerLoginCommands,
  registerCredsCommands,
  registerServerCommands,
  registerUsersCommands,
  registerTokensCommands,
  registerPermissionsCommands,
  registerAuditCommands,
  registerRotateKekCommand,
  registerRunCommand,
];

export function registerCommands(program: Command, io: CliIo): void {
  for (const register of groups) register(program, io);
}
