/** REST bodies for users, tokens, grants and audit events (shared by routes and `--output json`). */
import type { AuditEvent } from "../data/audit.js";
import type { SecretGrant } from "../data/permissions.js";
import type { ApiToken } from "../data/tokens.js";
import type { UserView } from "../services/users.js";

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
