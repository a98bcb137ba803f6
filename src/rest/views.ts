/**
 * The REST wire format: the JSON bodies of secrets, users, tokens, grants and audit events. The
 * server answers with them and the CLI prints exactly the same bodies for `--output json` (and
 * reads them back from a server), so they live below both.
 */
import type { SecretInfo } from "../store/index.js";
import type { AuditEvent } from "../domain/audit/data.js";
import type { SecretGrant } from "../domain/permissions/data.js";
import type { ApiToken } from "../domain/tokens/data.js";
import type { UserView } from "../domain/users/service.js";

/** MLflow's `User` (its experiment and registered-model lists are always empty here). */
export function userJson(user: UserView) {
  return {
    id: user.userId,
    username: user.username,
    is_admin: user.isAdmin,
    experiment_permissions: [],
    registered_model_permissions: [],
    ...(user.secretPermissions
      ? {
          secret_permissions: user.secretPermissions.map((p) => ({
            secret_id: p.secretId,
            permission: p.permission,
          })),
        }
      : {}),
  };
}

export function tokenJson(token: ApiToken) {
  return {
    token_id: token.tokenId,
    name: token.name,
    username: token.username,
    ...(token.createdBy !== undefined ? { created_by: token.createdBy } : {}),
    created_at: token.createdAt,
  };
}

export function grantJson(grant: SecretGrant) {
  return {
    secret_id: grant.secretId,
    user_id: grant.userId,
    username: grant.username,
    permission: grant.permission,
  };
}

export function auditEventJson(event: AuditEvent) {
  return {
    event_id: event.eventId,
    timestamp: event.time,
    ...(event.username !== undefined ? { username: event.username } : {}),
    action: event.action,
    outcome: event.outcome,
    ...(event.secretId !== undefined ? { secret_id: event.secretId } : {}),
    ...(event.secretName !== undefined ? { secret_name: event.secretName } : {}),
    ...(event.workspace !== undefined ? { workspace: event.workspace } : {}),
    ...(event.remoteAddress !== undefined ? { remote_address: event.remoteAddress } : {}),
    ...(event.requestId !== undefined ? { request_id: event.requestId } : {}),
    ...(event.details !== undefined ? { details: event.details } : {}),
  };
}

/** MLflow's REST representation (`GatewaySecretInfo`); absent fields are omitted. */
export interface RestSecretInfo {
  secret_id: string;
  secret_name: string;
  masked_values: Record<string, string>;
  provider?: string;
  auth_config?: Record<string, unknown>;
  auth_config_json?: string;
  created_by?: string;
  created_at: number;
  last_updated_by?: string;
  last_updated_at: number;
  workspace: string;
}

/**
 * The REST form of a SecretInfo, shared by the server and `--output json`.
 *
 * @example
 * ```ts
 * toRestSecretInfo(info); // { secret_id: "s-…", secret_name: "openai-prod", masked_values: {…}, … }
 * ```
 */
export function toRestSecretInfo(info: SecretInfo): RestSecretInfo {
  const rest: RestSecretInfo = {
    secret_id: info.secretId,
    secret_name: info.secretName,
    masked_values: info.maskedValues,
    created_at: info.createdAt,
    last_updated_at: info.lastUpdatedAt,
    workspace: info.workspace,
  };
  if (info.provider !== undefined) rest.provider = info.provider;
  if (info.authConfig !== undefined) {
    rest.auth_config = info.authConfig;
    rest.auth_config_json = JSON.stringify(info.authConfig);
  }
  if (info.createdBy !== undefined) rest.created_by = info.createdBy;
  if (info.lastUpdatedBy !== undefined) rest.last_updated_by = info.lastUpdatedBy;
  return rest;
}
