/**
 * JSON schemas for requests (types only; the store and services check values, with MLflow's
 * messages) and for responses — which are allowlists: fast-json-stringify writes the listed
 * properties and nothing else, so ciphertext or a password hash can never reach a client.
 */

export const stringOrNull = { type: ["string", "null"] } as const;

/** `map<string, string>`: MLflow's `secret_value`. */
export const stringMap = {
  type: ["object", "null"],
  additionalProperties: { type: "string" },
} as const;

export const objectOrNull = { type: ["object", "null"] } as const;

/** A decimal integer in a query string (`max_results`). */
export const queryInteger = { type: "string", pattern: "^[0-9]{1,9}$" } as const;

export const emptyResponse = {
  type: "object",
  properties: {},
  additionalProperties: false,
} as const;

export const secretInfoResponse = {
  type: "object",
  required: [
    "secret_id",
    "secret_name",
    "masked_values",
    "created_at",
    "last_updated_at",
    "workspace",
  ],
  properties: {
    secret_id: { type: "string" },
    secret_name: { type: "string" },
    masked_values: { type: "object", additionalProperties: { type: "string" } },
    provider: { type: "string" },
    // Arbitrary JSON by nature (non-secret settings): written as it is, like JSON.stringify.
    auth_config: {},
    auth_config_json: { type: "string" },
    created_by: { type: "string" },
    created_at: { type: "integer" },
    last_updated_by: { type: "string" },
    last_updated_at: { type: "integer" },
    workspace: { type: "string" },
    // Ours, only when asked for (`include_kek_version=true`): not in MLflow's SecretInfo.
    kek_version: { type: "integer" },
  },
  additionalProperties: false,
} as const;

export const userResponse = {
  type: "object",
  required: ["id", "username", "is_admin"],
  properties: {
    id: { type: "string" },
    username: { type: "string" },
    is_admin: { type: "boolean" },
    experiment_permissions: { type: "array", maxItems: 0 },
    registered_model_permissions: { type: "array", maxItems: 0 },
    secret_permissions: {
      type: "array",
      items: {
        type: "object",
        properties: { secret_id: { type: "string" }, permission: { type: "string" } },
        additionalProperties: false,
      },
    },
  },
  additionalProperties: false,
} as const;

export const grantResponse = {
  type: "object",
  required: ["secret_id", "username", "permission"],
  properties: {
    secret_id: { type: "string" },
    user_id: { type: "string" },
    username: { type: "string" },
    permission: { type: "string" },
  },
  additionalProperties: false,
} as const;

export const tokenInfoResponse = {
  type: "object",
  required: ["token_id", "name", "username", "created_at"],
  properties: {
    token_id: { type: "string" },
    name: { type: "string" },
    username: { type: "string" },
    created_by: { type: "string" },
    created_at: { type: "integer" },
  },
  additionalProperties: false,
} as const;

export const auditEventResponse = {
  type: "object",
  required: ["event_id", "timestamp", "action", "outcome"],
  properties: {
    event_id: { type: "string" },
    timestamp: { type: "integer" },
    username: { type: "string" },
    action: { type: "string" },
    outcome: { type: "string" },
    secret_id: { type: "string" },
    secret_name: { type: "string" },
    workspace: { type: "string" },
    remote_address: { type: "string" },
    request_id: { type: "string" },
    details: {
      type: "object",
      additionalProperties: { type: ["string", "number", "boolean"] },
    },
  },
  additionalProperties: false,
} as const;
