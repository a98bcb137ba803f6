/**
 * The one way a change to a secret (or a value read) runs: in one transaction, after checking
 * the caller's permission on the requested id — so nothing is read or decrypted for a caller who
 * may not — with its audit row written in that transaction. A refusal rolls back and records a
 * `denied` row on its own; a missing secret is 404 whoever asks.
 */
import type { SqlExecutor } from "../../store/dialect.js";
import type { SecretInfo, SecretStore, SecretTransaction } from "../../store/index.js";
import { insertAuditEvent, type AuditAction } from "../audit/data.js";
import { findGrant } from "../permissions/data.js";
import {
  effectivePermission,
  permits,
  type PermissionName,
  type Principal,
} from "../permissions/model.js";
import {
  actorOf,
  databaseOf,
  permissionDenied,
  recordDenied,
  type CallContext,
} from "../context.js";

interface SecretGuard {
  /** The permission a principal has on a secret id (explicit grant, else the default). */
  permissionOn: (
    db: SqlExecutor,
    principal: Principal,
    secretId: string,
  ) => Promise<PermissionName>;
  /** Runs `work` as described above; `details` go into the audit row. */
  guarded: <T>(
    ctx: CallContext,
    action: AuditAction,
    secretId: string,
    needed: PermissionName,
    work: (tx: SecretTransaction) => Promise<{ info: SecretInfo; result: T }>,
    details?: Readonly<Record<string, string | number | boolean>>,
  ) => Promise<T>;
}

export function createSecretGuard(deps: {
  store: SecretStore;
  defaultPermission: PermissionName;
}): SecretGuard {
  const { store, defaultPermission } = deps;
  const database = databaseOf(store);

  const permissionOn: SecretGuard["permissionOn"] = async (db, principal, secretId) => {
    if (principal.isAdmin) return "MANAGE";
    const grant = await findGrant(db, secretId, principal.userId);
    return effectivePermission(principal, grant?.permission, defaultPermission);
  };

  return {
    permissionOn,
    async guarded(ctx, action, secretId, needed, work, details) {
      let refused: SecretInfo | undefined;
      try {
        return await store.transaction(async (tx) => {
          if (!permits(await permissionOn(tx.executor, ctx.principal, secretId), needed)) {
            refused = await tx.getSecretInfo({ secretId, workspace: ctx.workspace });
            throw permissionDenied(
              `Permission denied: ${needed} permission on secret '${refused.secretId}' is required`,
            );
          }
          const { info, result } = await work(tx);
          await insertAuditEvent(tx.executor, {
            ...actorOf(ctx),
            action,
            outcome: "success",
            secretId: info.secretId,
            secretName: info.secretName,
            workspace: info.workspace,
            details,
          });
          return result;
        });
      } catch (err) {
        if (refused !== undefined) {
          await recordDenied(database, ctx, {
            action,
            secretId: refused.secretId,
            secretName: refused.secretName,
            workspace: refused.workspace,
            details,
          });
        }
        throw err;
      }
    },
  };
}
