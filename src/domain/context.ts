/** What every service call carries: who asks, from where, in which request and workspace. */
import type { SqlExecutor } from "../store/dialect.js";
import type { SecretStore } from "../store/index.js";
import { MlflowSecretsError } from "../errors.js";
import { insertAuditEvent, type AuditActor, type AuditEventInput } from "./audit/data.js";
import type { Principal } from "./permissions/model.js";

export interface CallContext {
  principal: Principal;
  remoteAddress?: string | undefined;
  requestId?: string | undefined;
  /** The `X-MLFLOW-WORKSPACE` header; undefined = `default`. */
  workspace?: string | undefined;
}

/** The audit row's actor columns for a call. */
export function actorOf(ctx: CallContext): AuditActor {
  return {
    username: ctx.principal.username,
    remoteAddress: ctx.remoteAddress,
    requestId: ctx.requestId,
  };
}

/** The server's own tables: reads outside a transaction, writes inside one. */
export interface Database {
  readonly reader: SqlExecutor;
  transaction<T>(fn: (db: SqlExecutor) => Promise<T>): Promise<T>;
}

/** The server tables of a store's database, in the store's transactions. */
export function databaseOf(store: SecretStore): Database {
  return {
    reader: store.dialect,
    transaction: (fn) => store.transaction((tx) => fn(tx.executor)),
  };
}

export function permissionDenied(message: string): MlflowSecretsError {
  return new MlflowSecretsError(message, "PERMISSION_DENIED");
}

export function requireAdmin(ctx: CallContext, what: string): void {
  if (!ctx.principal.isAdmin) throw permissionDenied(`Permission denied: only admins may ${what}`);
}

export function notFound(message: string): MlflowSecretsError {
  return new MlflowSecretsError(message, "RESOURCE_DOES_NOT_EXIST");
}

/** Writes a `denied` audit row for a refused call, in its own transaction. */
export function recordDenied(
  database: Database,
  ctx: CallContext,
  event: Omit<AuditEventInput, "outcome" | keyof AuditActor>,
): Promise<void> {
  return database.transaction((db) =>
    insertAuditEvent(db, { ...actorOf(ctx), ...event, outcome: "denied" }),
  );
}

/** Refuses a change to non-admins, recording the refusal. */
export async function requireAdminToChange(
  database: Database,
  ctx: CallContext,
  event: Omit<AuditEventInput, "outcome" | keyof AuditActor>,
  what: string,
): Promise<void> {
  if (ctx.principal.isAdmin) return;
  await recordDenied(database, ctx, event);
  throw permissionDenied(`Permission denied: only admins may ${what}`);
}
