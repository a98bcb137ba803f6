/**
 * MLflow's gateway-secrets operations with per-secret permissions and the audit log: each change
 * and each value read writes its audit row in the transaction that makes it; a refused change
 * or read leaves a `denied` row instead.
 */
import { invalidParameter } from "../../errors.js";
import type { SecretInfo, SecretPage, SecretStore } from "../../store/index.js";
import { insertAuditEvent } from "../audit/data.js";
import { deleteGrantsOnSecret, grantsOfUser, insertGrant } from "../permissions/data.js";
import { permits, type PermissionName } from "../permissions/model.js";
import {
  actorOf,
  databaseOf,
  permissionDenied,
  recordDenied,
  type CallContext,
} from "../context.js";
import { createSecretGuard } from "./guard.js";

export interface SecretsServiceDeps {
  store: SecretStore;
  defaultPermission: PermissionName;
  usersCanCreate: boolean;
}

export interface CreateSecretRequest {
  secretName: string;
  secretValue: Record<string, string> | undefined;
  provider?: string | undefined;
  authConfig?: Record<string, unknown> | undefined;
}

export interface UpdateSecretRequest {
  secretId: string;
  secretValue?: Record<string, string> | undefined;
  authConfig?: Record<string, unknown> | undefined;
}

export interface SecretsService {
  create(ctx: CallContext, request: CreateSecretRequest): Promise<SecretInfo>;
  get(ctx: CallContext, request: { secretId?: string; secretName?: string }): Promise<SecretInfo>;
  list(
    ctx: CallContext,
    request: {
      provider?: string;
      /** Only names containing this, ignoring case (the console's filter). */
      nameContains?: string;
      maxResults?: number;
      pageToken?: string;
    },
  ): Promise<SecretPage>;
  update(ctx: CallContext, request: UpdateSecretRequest): Promise<SecretInfo>;
  delete(ctx: CallContext, request: { secretId: string }): Promise<void>;
  value(
    ctx: CallContext,
    request: { secretId: string },
  ): Promise<{ secretId: string; secretValue: Record<string, string> }>;
  config(ctx: CallContext): { secretsAvailable: true; usingDefaultPassphrase?: boolean };
}

/** Builds the secrets service. */
export function createSecretsService(deps: SecretsServiceDeps): SecretsService {
  const { store, defaultPermission, usersCanCreate } = deps;
  const database = databaseOf(store);

  const { permissionOn, guarded } = createSecretGuard({ store, defaultPermission });

  return {
    async create(ctx, request) {
      if (!ctx.principal.isAdmin && !usersCanCreate) {
        await recordDenied(database, ctx, {
          action: "secret.create",
          secretName: request.secretName,
          workspace: ctx.workspace,
        });
        throw permissionDenied("Permission denied: only admins may create secrets");
      }
      if (request.secretValue === undefined) {
        throw invalidParameter("Missing value for required parameter 'secret_value'.");
      }
      return store.transaction(async (tx) => {
        const info = await tx.createSecret({
          secretName: request.secretName,
          secretValue: request.secretValue!,
          provider: request.provider,
          authConfig: request.authConfig,
          createdBy: ctx.principal.username,
          workspace: ctx.workspace,
        });
        // The creator manages what they created, also after losing admin rights.
        if (ctx.principal.userId !== "") {
          await insertGrant(tx.executor, {
            secretId: info.secretId,
            userId: ctx.principal.userId,
            permission: "MANAGE",
          });
        }
        await insertAuditEvent(tx.executor, {
          ...actorOf(ctx),
          action: "secret.create",
          outcome: "success",
          secretId: info.secretId,
          secretName: info.secretName,
          workspace: info.workspace,
        });
        return info;
      });
    },

    async get(ctx, request) {
      const info = await store.getSecretInfo({
        ...request,
        workspace: ctx.workspace,
      } as Parameters<SecretStore["getSecretInfo"]>[0]);
      if (!permits(await permissionOn(database.reader, ctx.principal, info.secretId), "READ")) {
        throw permissionDenied(
          `Permission denied: READ permission on secret '${info.secretId}' is required`,
        );
      }
      return info;
    },

    async list(ctx, request) {
      const { nameContains, ...page } = request;
      let readable: ((info: SecretInfo) => boolean) | undefined;
      if (!ctx.principal.isAdmin) {
        const grants = await grantsOfUser(database.reader, ctx.principal.userId);
        if (grants.size > 0 || !permits(defaultPermission, "READ")) {
          readable = (info) => permits(grants.get(info.secretId) ?? defaultPermission, "READ");
        }
      }
      const needle = nameContains?.toLowerCase();
      const filter =
        needle === undefined || needle === ""
          ? readable
          : (info: SecretInfo) =>
              info.secretName.toLowerCase().includes(needle) && (readable?.(info) ?? true);
      return store.listSecretInfos({ ...page, workspace: ctx.workspace, filter });
    },

    update(ctx, request) {
      return guarded(ctx, "secret.update", request.secretId, "EDIT", async (tx) => {
        const info = await tx.updateSecret({
          secretId: request.secretId,
          secretValue: request.secretValue,
          authConfig: request.authConfig,
          updatedBy: ctx.principal.username,
          workspace: ctx.workspace,
        });
        return { info, result: info };
      });
    },

    async delete(ctx, request) {
      await guarded(ctx, "secret.delete", request.secretId, "MANAGE", async (tx) => {
        const info = await tx.deleteSecret({
          secretId: request.secretId,
          workspace: ctx.workspace,
        });
        await deleteGrantsOnSecret(tx.executor, info.secretId);
        return { info, result: undefined };
      });
    },

    value(ctx, request) {
      return guarded(ctx, "secret.value", request.secretId, "USE", async (tx) => {
        const { info, value } = await tx.getSecretWithValue({
          secretId: request.secretId,
          workspace: ctx.workspace,
        });
        return { info, result: { secretId: info.secretId, secretValue: value } };
      });
    },

    config(ctx) {
      return ctx.principal.isAdmin
        ? {
            secretsAvailable: true,
            usingDefaultPassphrase: store.keyring.current.usingDefaultPassphrase,
          }
        : { secretsAvailable: true };
    },
  };
}
