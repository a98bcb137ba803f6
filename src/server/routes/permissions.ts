/** Grants on a secret (`/mlflow/gateway/secrets/permissions/*`), MLflow's auth-app shapes. */
import type { Router } from "../http/routing.js";
import { grantJson } from "../../rest/views.js";
import { emptyResponse, grantResponse } from "../http/schemas.js";
import type { PermissionsService } from "../../domain/permissions/service.js";

const PATH = "/mlflow/gateway/secrets/permissions";

const target = {
  type: "object",
  required: ["secret_id", "username"],
  properties: { secret_id: { type: "string" }, username: { type: "string" } },
} as const;
const withPermission = {
  type: "object",
  required: ["secret_id", "username", "permission"],
  properties: {
    secret_id: { type: "string" },
    username: { type: "string" },
    permission: { type: "string" },
  },
} as const;
const grantEnvelope = {
  200: {
    type: "object",
    required: ["secret_permission"],
    properties: { secret_permission: grantResponse },
    additionalProperties: false,
  },
};

export function registerPermissionRoutes(router: Router, permissions: PermissionsService): void {
  router.api("3.0", {
    method: "POST",
    url: `${PATH}/create`,
    schema: { body: withPermission, response: grantEnvelope },
    async handler(ctx, request) {
      const body = request.body;
      const grant = await permissions.create(ctx, {
        secretId: body.secret_id,
        username: body.username,
        permission: body.permission,
      });
      return { secret_permission: grantJson(grant) };
    },
  });

  router.api("3.0", {
    method: "GET",
    url: `${PATH}/get`,
    schema: { querystring: target, response: grantEnvelope },
    async handler(ctx, request) {
      const query = request.query;
      const grant = await permissions.get(ctx, {
        secretId: query.secret_id,
        username: query.username,
      });
      return { secret_permission: grantJson(grant) };
    },
  });

  // Not in MLflow's API: every explicit grant on a secret (the console's Permissions panel).
  router.api("3.0", {
    method: "GET",
    url: `${PATH}/list`,
    schema: {
      querystring: {
        type: "object",
        required: ["secret_id"],
        properties: { secret_id: { type: "string" } },
      },
      response: {
        200: {
          type: "object",
          required: ["secret_permissions"],
          properties: { secret_permissions: { type: "array", items: grantResponse } },
          additionalProperties: false,
        },
      },
    },
    async handler(ctx, request) {
      const { secret_id: secretId } = request.query;
      return { secret_permissions: (await permissions.list(ctx, { secretId })).map(grantJson) };
    },
  });

  router.api("3.0", {
    method: "PATCH",
    url: `${PATH}/update`,
    schema: { body: withPermission, response: { 200: emptyResponse } },
    async handler(ctx, request) {
      const body = request.body;
      await permissions.update(ctx, {
        secretId: body.secret_id,
        username: body.username,
        permission: body.permission,
      });
      return {};
    },
  });

  router.api("3.0", {
    method: "DELETE",
    url: `${PATH}/delete`,
    schema: { body: target, response: { 200: emptyResponse } },
    async handler(ctx, request) {
      const body = request.body;
      await permissions.delete(ctx, { secretId: body.secret_id, username: body.username });
      return {};
    },
  });
}
