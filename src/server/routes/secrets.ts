/**
 * MLflow's gateway-secrets API (`/mlflow/gateway/secrets/*`), plus `value`. Accepts what MLflow's
 * clients send: `auth_config` as an object or `auth_config_json` as a string, `secret_value` as
 * a string map; `created_by` / `updated_by` are accepted and ignored (the signed-in user is
 * recorded instead).
 */
import { invalidParameter } from "../../errors.js";
import { toRestSecretInfo } from "../../rest/views.js";
import type { SecretInfo } from "../../store/index.js";

/** MLflow's SecretInfo plus the KEK version (the console's `include_kek_version=true`). */
function withKekVersion(info: SecretInfo) {
  return { ...toRestSecretInfo(info), kek_version: info.kekVersion };
}

/** `include_kek_version`: `true` or absent. */
const includeKekVersion = { type: "string", enum: ["true", "false"] } as const;

import { parseClientJson } from "../http/json.js";
import type { Router } from "../http/routing.js";
import {
  emptyResponse,
  objectOrNull,
  queryInteger,
  secretInfoResponse,
  stringMap,
  stringOrNull,
} from "../http/schemas.js";
import type { SecretsService } from "../../domain/secrets/service.js";
import { createSecretJsonEncoder } from "../http/secret-json.js";

const PATH = "/mlflow/gateway/secrets";

interface AuthConfigFields {
  auth_config?: Record<string, unknown> | null;
  auth_config_json?: string | null;
}

/**
 * The auth config from either field. An empty `auth_config_json` or a null field means "not
 * given"; `{}` means empty (on update: clear it). Both non-empty and different is an error.
 */
function authConfigOf(body: AuthConfigFields): Record<string, unknown> | undefined {
  const map = body.auth_config ?? undefined;
  const json = body.auth_config_json ?? undefined;
  if (json === undefined || json === "") return map;
  const parsed = parseClientJson(json, "auth_config_json");
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw invalidParameter("Invalid value for parameter 'auth_config_json': must be a JSON object");
  }
  if (
    map !== undefined &&
    Object.keys(map).length > 0 &&
    JSON.stringify(map) !== JSON.stringify(parsed)
  ) {
    throw invalidParameter("Give only one of auth_config and auth_config_json");
  }
  return parsed as Record<string, unknown>;
}

/** `{}` (what MLflow's client sends for "no new value") means unchanged. */
function valueOf(value: Record<string, string> | null | undefined) {
  return value === null || value === undefined || Object.keys(value).length === 0
    ? undefined
    : value;
}

const authConfigProperties = { auth_config: objectOrNull, auth_config_json: stringOrNull };
const secretEnvelope = {
  200: {
    type: "object",
    required: ["secret"],
    properties: { secret: secretInfoResponse },
    additionalProperties: false,
  },
};

export function registerSecretRoutes(router: Router, secrets: SecretsService): void {
  const encoder = createSecretJsonEncoder();

  router.api("3.0", {
    method: "POST",
    url: `${PATH}/create`,
    schema: {
      body: {
        type: "object",
        required: ["secret_name"],
        properties: {
          secret_name: { type: "string" },
          secret_value: stringMap,
          provider: stringOrNull,
          ...authConfigProperties,
        },
      },
      response: secretEnvelope,
    },
    async handler(ctx, request) {
      const body = request.body;
      const info = await secrets.create(ctx, {
        secretName: body.secret_name,
        secretValue: body.secret_value ?? undefined,
        provider: body.provider || undefined,
        authConfig: authConfigOf(body),
      });
      return { secret: toRestSecretInfo(info) };
    },
  });

  router.api("3.0", {
    method: "GET",
    url: `${PATH}/get`,
    schema: {
      querystring: {
        type: "object",
        properties: {
          secret_id: { type: "string" },
          secret_name: { type: "string" },
          include_kek_version: includeKekVersion,
        },
      },
      response: secretEnvelope,
    },
    async handler(ctx, request) {
      const query = request.query;
      const info = await secrets.get(ctx, {
        ...(query.secret_id ? { secretId: query.secret_id } : {}),
        ...(query.secret_name ? { secretName: query.secret_name } : {}),
      });
      return {
        secret:
          query.include_kek_version === "true" ? withKekVersion(info) : toRestSecretInfo(info),
      };
    },
  });

  router.api("3.0", {
    method: ["POST", "PATCH"],
    url: `${PATH}/update`,
    schema: {
      body: {
        type: "object",
        required: ["secret_id"],
        properties: {
          secret_id: { type: "string" },
          secret_value: stringMap,
          ...authConfigProperties,
        },
      },
      response: secretEnvelope,
    },
    async handler(ctx, request) {
      const body = request.body;
      const info = await secrets.update(ctx, {
        secretId: body.secret_id,
        secretValue: valueOf(body.secret_value),
        authConfig: authConfigOf(body),
      });
      return { secret: toRestSecretInfo(info) };
    },
  });

  router.api("3.0", {
    method: "DELETE",
    url: `${PATH}/delete`,
    schema: {
      body: { type: "object", properties: { secret_id: { type: "string" } } },
      querystring: { type: "object", properties: { secret_id: { type: "string" } } },
      response: { 200: emptyResponse },
    },
    async handler(ctx, request) {
      const secretId = request.body.secret_id ?? request.query.secret_id;
      if (!secretId) throw invalidParameter("Missing value for required parameter 'secret_id'.");
      await secrets.delete(ctx, { secretId });
      return {};
    },
  });

  router.api("3.0", {
    method: "GET",
    url: `${PATH}/list`,
    schema: {
      querystring: {
        type: "object",
        properties: {
          provider: { type: "string" },
          // Ours (the console's filter and table); MLflow's clients send neither.
          name_contains: { type: "string", maxLength: 255 },
          include_kek_version: includeKekVersion,
          max_results: queryInteger,
          page_token: { type: "string" },
        },
      },
      response: {
        200: {
          type: "object",
          required: ["secrets"],
          properties: {
            secrets: { type: "array", items: secretInfoResponse },
            next_page_token: { type: "string" },
          },
          additionalProperties: false,
        },
      },
    },
    async handler(ctx, request, reply) {
      const query = request.query;
      const page = await secrets.list(ctx, {
        ...(query.provider ? { provider: query.provider } : {}),
        ...(query.name_contains ? { nameContains: query.name_contains } : {}),
        ...(query.max_results !== undefined ? { maxResults: Number(query.max_results) } : {}),
        ...(query.page_token ? { pageToken: query.page_token } : {}),
      });
      if (query.include_kek_version === "true") {
        return {
          secrets: page.secrets.map(withKekVersion),
          ...(page.nextPageToken !== undefined ? { next_page_token: page.nextPageToken } : {}),
        };
      }
      void reply.type("application/json; charset=utf-8");
      return encoder.listBody(page.secrets, page.nextPageToken);
    },
  });

  router.api("3.0", {
    method: "GET",
    url: `${PATH}/config`,
    schema: {
      response: {
        200: {
          type: "object",
          required: ["secrets_available"],
          properties: {
            secrets_available: { type: "boolean" },
            using_default_passphrase: { type: "boolean" },
          },
          additionalProperties: false,
        },
      },
    },
    async handler(ctx) {
      const config = secrets.config(ctx);
      return {
        secrets_available: config.secretsAvailable,
        ...(config.usingDefaultPassphrase !== undefined
          ? { using_default_passphrase: config.usingDefaultPassphrase }
          : {}),
      };
    },
  });

  router.api("3.0", {
    method: "POST",
    url: `${PATH}/value`,
    schema: {
      body: {
        type: "object",
        required: ["secret_id"],
        properties: { secret_id: { type: "string" } },
      },
      response: {
        200: {
          type: "object",
          required: ["secret_id", "secret_value"],
          properties: {
            secret_id: { type: "string" },
            secret_value: { type: "object", additionalProperties: { type: "string" } },
          },
          additionalProperties: false,
        },
      },
    },
    async handler(ctx, request) {
      const { secret_id: secretId } = request.body;
      const { secretValue } = await secrets.value(ctx, { secretId });
      return { secret_id: secretId, secret_value: secretValue };
    },
  });
}
