/**
 * `GET /api/3.0/mlflow-secrets/crypto/status[?verify=true]` (admins): what `mlflow-secrets crypto
 * status` shows, from the same code — the keyring, rows per KEK version, a rotation's progress.
 */
import { requireAdmin } from "../../domain/context.js";
import { cryptoStatus } from "../../rest/crypto-status.js";
import type { SecretStore } from "../../store/index.js";
import type { Router } from "../http/routing.js";

const integer = { type: "integer" } as const;

const statusResponse = {
  type: "object",
  required: [
    "current_kek_version",
    "using_default_passphrase",
    "keyring_versions",
    "kek_versions",
    "rotation",
  ],
  properties: {
    current_kek_version: integer,
    using_default_passphrase: { type: "boolean" },
    keyring_versions: { type: "array", items: integer },
    kek_versions: {
      type: "array",
      items: {
        type: "object",
        required: ["kek_version", "rows", "in_keyring", "readable"],
        properties: {
          kek_version: integer,
          rows: integer,
          in_keyring: { type: "boolean" },
          readable: { type: "boolean" },
          problem: { type: "string" },
        },
        additionalProperties: false,
      },
    },
    rotation: {
      type: "object",
      required: [
        "target_kek_version",
        "rows_at_target",
        "rows_total",
        "rows_remaining",
        "complete",
      ],
      properties: {
        target_kek_version: integer,
        rows_at_target: integer,
        rows_total: integer,
        rows_remaining: integer,
        complete: { type: "boolean" },
      },
      additionalProperties: false,
    },
    verified: { type: "boolean" },
    failures: {
      type: "array",
      items: {
        type: "object",
        properties: {
          secret_id: { type: "string" },
          secret_name: { type: "string" },
          kek_version: integer,
          problem: { type: "string" },
        },
        additionalProperties: false,
      },
    },
  },
  additionalProperties: false,
} as const;

export function registerCryptoRoutes(router: Router, store: SecretStore): void {
  router.api("3.0", {
    method: "GET",
    url: "/mlflow-secrets/crypto/status",
    schema: {
      querystring: {
        type: "object",
        properties: { verify: { type: "string", enum: ["true", "false"] } },
      },
      response: { 200: statusResponse },
    },
    async handler(ctx, request) {
      requireAdmin(ctx, "read the KEK status");
      const { verify } = request.query;
      return cryptoStatus(store, { verify: verify === "true" });
    },
  });
}
