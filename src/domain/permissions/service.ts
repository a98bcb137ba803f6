/**
 * Grants on a secret (`/mlflow/gateway/secrets/permissions/*`): creating, changing and removing
 * them needs MANAGE on the secret (or admin); reading one's own grant needs nothing more.
 */
import { MlflowSecretsError } from "../../errors.js";
import type { Dialect, SqlExecutor } from "../../store/dialect.js";
import type { SecretStore } from "../../store/index.js";
import type { AuditAction } from "../audit/data.js";
import {
  deleteGrant,
  findGrant,
  grantsOnSecret,
  insertGrant,
  updateGrant,
  type SecretGrant,
} from "./data.js";
import { findUserByName } from "../users/data.js";
import { permits, toPermissionName, type PermissionName } from "./model.js";
import { databaseOf, notFound, permissionDenied, type CallContext } from "../context.js";
import { createSecretGuard } from "../secrets/guard.js";
import { checkUsername } from "../users/service.js";

export interface GrantRequest {
  secretId: string;
  username: string;
}

export interface PermissionsService {
  create(ctx: CallContext, request: GrantRequest & { permission: unknown }): Promise<SecretGrant>;
  get(ctx: CallContext, request: GrantRequest): Promise<SecretGrant>;
  /** Every explicit grant on a secret (MANAGE on it, or admin). */
  list(ctx: CallContext, request: { secretId: string }): Promise<SecretGrant[]>;
  update(ctx: CallContext, request: GrantRequest & { permission: unknown }): Promise<SecretGrant>;
  delete(ctx: CallContext, request: GrantRequest): Promise<void>;
}

interface PermissionsServiceDeps {
  store: SecretStore;
  dialect: Pick<Dialect, "isUniqueViolation">;
  defaultPermission: PermissionName;
}

/** Builds the grants service. */
export function createPermissionsService(deps: PermissionsServiceDeps): PermissionsService {
  const { store, dialect, defaultPermission } = deps;
  const database = databaseOf(store);

  const { permissionOn, guarded } = createSecretGuard({ store, defaultPermission });

  /** Runs a grant change: MANAGE on the secret, the target user must exist, one audit row. */
  const change = <T>(
    ctx: CallContext,
    action: AuditAction,
    request: GrantRequest,
    permission: PermissionName | undefined,
    work: (db: SqlExecutor, target: GrantTarget) => Promise<T>,
  ): Promise<T> => {
    const username = checkUsername(request.username);
    const details = { target: username, ...(permission ? { permission } : {}) };
    return guarded(
      ctx,
      action,
      request.secretId,
      "MANAGE",
      async (tx) => {
        const info = await tx.getSecretInfo({
          secretId: request.secretId,
          workspace: ctx.workspace,
        });
        const user = await findUserByName(tx.executor, username);
        if (user === undefined) throw notFound(`User with username=${username} not found`);
        const result = await work(tx.executor, {
          secretId: info.secretId,
          userId: user.userId,
          username,
        });
        return { info, result };
      },
      details,
    );
  };

  const missing = (target: GrantTarget) =>
    notFound(`No permission for user '${target.username}' on secret '${target.secretId}'`);

  return {
    create(ctx, request) {
      const permission = toPermissionName(request.permission);
      return change(ctx, "permission.create", request, permission, async (db, target) => {
        try {
          await insertGrant(db, { ...target, permission });
        } catch (err) {
          if (dialect.isUniqueViolation(err)) {
            throw new MlflowSecretsError(
              `Permission for user '${target.username}' on secret '${target.secretId}' already exists; update it instead`,
              "RESOURCE_ALREADY_EXISTS",
              { cause: err },
            );
          }
          throw err;
        }
        return { ...target, permission };
      });
    },

    async get(ctx, request) {
      const username = checkUsername(request.username);
      const secret = await store.getSecretInfo({
        secretId: request.secretId,
        workspace: ctx.workspace,
      });
      if (
        username !== ctx.principal.username &&
        !permits(await permissionOn(database.reader, ctx.principal, secret.secretId), "MANAGE")
      ) {
        throw permissionDenied(
          `Permission denied: MANAGE permission on secret '${secret.secretId}' is required to read others' permissions`,
        );
      }
      const user = await findUserByName(database.reader, username);
      if (user === undefined) throw notFound(`User with username=${username} not found`);
      const grant = await findGrant(database.reader, secret.secretId, user.userId);
      if (grant === undefined)
        throw missing({ secretId: secret.secretId, userId: user.userId, username });
      return grant;
    },

    async list(ctx, request) {
      const secret = await store.getSecretInfo({
        secretId: request.secretId,
        workspace: ctx.workspace,
      });
      if (!permits(await permissionOn(database.reader, ctx.principal, secret.secretId), "MANAGE")) {
        throw permissionDenied(
          `Permission denied: MANAGE permission on secret '${secret.secretId}' is required to list its permissions`,
        );
      }
      return grantsOnSecret(database.reader, secret.secretId);
    },

    update(ctx, request) {
      const permission = toPermissionName(request.permission);
      return change(ctx, "permission.update", request, permission, async (db, target) => {
        if ((await updateGrant(db, { ...target, permission })) === 0) throw missing(target);
        return { ...target, permission };
      });
    },

    async delete(ctx, request) {
      await change(ctx, "permission.delete", request, undefined, async (db, target) => {
        if ((await deleteGrant(db, target.secretId, target.userId)) === 0) throw missing(target);
      });
    },
  };
}

interface GrantTarget {
  secretId: string;
  userId: string;
  username: string;
}
