/**
 * The domain's tables (users, API tokens, per-secret grants, the audit log, console sessions) as
 * migrations of the store's runner. Each table's definition lives next to its data access; this
 * file only orders them. Version numbers are shared with the store's migrations (`LATEST_SCHEMA_VERSION`).
 */
import { ensureMigrations, type Migration } from "../store/migrations.js";
import type { SecretStore } from "../store/secret-store.js";
import { auditLogTable } from "./audit/schema.js";
import { permissionsTable } from "./permissions/schema.js";
import { sessionsTable } from "./sessions/schema.js";
import { tokensTable } from "./tokens/schema.js";
import { usersTable } from "./users/schema.js";

export const DOMAIN_MIGRATIONS: readonly Migration[] = [
  {
    version: 2,
    name: "The server's users, API tokens, per-secret permissions and audit log",
    async up({ tx, sql }) {
      for (const table of [usersTable, tokensTable, permissionsTable, auditLogTable]) {
        await tx.exec(sql.createTable(table(sql)));
      }
    },
  },
  {
    version: 3,
    name: "The console's sessions",
    async up({ tx, sql }) {
      await tx.exec(sql.createTable(sessionsTable(sql)));
    },
  },
];

/**
 * Creates the domain's tables on a store opened without them (idempotent, under the migration
 * lock). Openers that know they need them pass `DOMAIN_MIGRATIONS` to `openSecretStore` instead.
 */
export async function ensureDomainSchema(store: SecretStore): Promise<void> {
  await ensureMigrations(store, DOMAIN_MIGRATIONS);
}
