/**
 * First start: with no users at all, create the admin. Without a configured password a strong
 * one is generated, handed to `announce` once (the CLI prints it on stderr) and only its hash is
 * stored. Safe when several servers start at once: only the process whose insert commits
 * announces anything.
 */
import { randomBytes } from "node:crypto";
import type { SecretStore } from "../../store/index.js";
import type { PasswordHasher } from "./passwords.js";
import { insertAuditEvent } from "../audit/data.js";
import { countUsers, insertUser } from "./data.js";
import { checkPassword, checkUsername } from "./service.js";

interface BootstrapOptions {
  adminUsername: string;
  adminPassword: string | undefined;
  hasher: PasswordHasher;
  /** Receives a generated password, once. */
  announce: (username: string, password: string) => void;
}

/** Creates the first admin if there are no users; returns whether it did. */
export async function bootstrapAdmin(
  store: SecretStore,
  options: BootstrapOptions,
): Promise<boolean> {
  if ((await countUsers(store.dialect)).users > 0) return false;
  const username = checkUsername(options.adminUsername, "MLFLOW_SECRETS_ADMIN_USERNAME");
  const generated = options.adminPassword === undefined;
  const password = options.adminPassword ?? randomBytes(18).toString("base64url");
  const passwordHash = await options.hasher.hash(generated ? password : checkPassword(password));
  try {
    const created = await store.transaction(async (tx) => {
      if ((await countUsers(tx.executor)).users > 0) return false;
      await insertUser(tx.executor, { username, passwordHash, isAdmin: true });
      await insertAuditEvent(tx.executor, {
        username: "system",
        action: "user.create",
        outcome: "success",
        details: { target: username, is_admin: true, reason: "first start" },
      });
      return true;
    });
    if (created && generated) options.announce(username, password);
    return created;
  } catch (err) {
    // Another server created the first admin at the same moment.
    if (store.dialect.isUniqueViolation(err)) return false;
    throw err;
  }
}
