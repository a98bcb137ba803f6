/**
 * MLflow's basic-auth user API (`/api/2.0/mlflow/users/*`), so MLflow's `AuthServiceClient`
 * works; the `user` object has MLflow's fields (its experiment and registered-model permission
 * lists are always empty here) plus `secret_permissions`.
 */
import { invalidParameter } from "../../errors.js";
import type { Router } from "../http/routing.js";
import { userJson } from "../../rest/views.js";
import type { UsersService } from "../../domain/users/service.js";
import { emptyResponse, userResponse } from "../http/schemas.js";

/** `is_admin` as MLflow's clients send it: a boolean, or "true"/"false". */
function booleanOf(value: unknown): boolean {
  if (typeof value === "boolean") return value;
  if (typeof value === "string" && /^(true|false)$/i.test(value))
    return value.toLowerCase() === "true";
  if (value === undefined || value === null) {
    throw invalidParameter("Missing value for required parameter 'is_admin'.");
  }
  throw invalidParameter("Invalid value for parameter 'is_admin': must be a boolean");
}

const credentials = {
  type: "object",
  required: ["username", "password"],
  properties: { username: { type: "string" }, password: { type: "string" } },
} as const;
const userEnvelope = {
  200: {
    type: "object",
    required: ["user"],
    properties: { user: userResponse },
    additionalProperties: false,
  },
};
const usernameQuery = {
  type: "object",
  properties: { username: { type: "string" } },
} as const;

export function registerUserRoutes(router: Router, users: UsersService): void {
  router.api("2.0", {
    method: "POST",
    url: "/mlflow/users/create",
    schema: { body: credentials, response: userEnvelope },
    async handler(ctx, request) {
      const body = request.body;
      return { user: userJson(await users.create(ctx, body)) };
    },
  });

  router.api("2.0", {
    method: "GET",
    url: "/mlflow/users/get",
    schema: { querystring: usernameQuery, response: userEnvelope },
    async handler(ctx, request) {
      const { username } = request.query;
      return { user: userJson(await users.get(ctx, username ?? "")) };
    },
  });

  router.api("2.0", {
    method: "PATCH",
    url: "/mlflow/users/update-password",
    schema: { body: credentials, response: { 200: emptyResponse } },
    async handler(ctx, request) {
      await users.updatePassword(ctx, request.body);
      return {};
    },
  });

  router.api("2.0", {
    method: "PATCH",
    url: "/mlflow/users/update-admin",
    schema: {
      body: {
        type: "object",
        required: ["username", "is_admin"],
        properties: { username: { type: "string" }, is_admin: { type: ["boolean", "string"] } },
      },
      response: { 200: emptyResponse },
    },
    async handler(ctx, request) {
      const body = request.body;
      await users.updateAdmin(ctx, { username: body.username, isAdmin: booleanOf(body.is_admin) });
      return {};
    },
  });

  router.api("2.0", {
    method: "DELETE",
    url: "/mlflow/users/delete",
    schema: { body: usernameQuery, querystring: usernameQuery, response: { 200: emptyResponse } },
    async handler(ctx, request) {
      const username = request.body.username ?? request.query.username;
      await users.delete(ctx, username ?? "");
      return {};
    },
  });

  // Not in MLflow's API: listing users (admins).
  router.api("3.0", {
    method: "GET",
    url: "/mlflow-secrets/users/list",
    schema: {
      response: {
        200: {
          type: "object",
          required: ["users"],
          properties: { users: { type: "array", items: userResponse } },
          additionalProperties: false,
        },
      },
    },
    async handler(ctx) {
      return { users: (await users.list(ctx)).map(userJson) };
    },
  });
}
