/** API tokens (`/api/3.0/mlflow-secrets/tokens/*`): the token itself appears once, in `create`. */
import type { Router } from "../http/routing.js";
import { tokenJson } from "../../rest/views.js";
import { emptyResponse, tokenInfoResponse } from "../http/schemas.js";
import type { TokensService } from "../../domain/tokens/service.js";

const tokenIdSchema = { type: "object", properties: { token_id: { type: "string" } } } as const;

export function registerTokenRoutes(router: Router, tokens: TokensService): void {
  router.api("3.0", {
    method: "POST",
    url: "/mlflow-secrets/tokens/create",
    schema: {
      body: {
        type: "object",
        required: ["name"],
        properties: { name: { type: "string" }, username: { type: ["string", "null"] } },
      },
      response: {
        200: {
          type: "object",
          required: ["token_id", "token"],
          properties: { token_id: { type: "string" }, token: { type: "string" } },
          additionalProperties: false,
        },
      },
    },
    async handler(ctx, request) {
      const body = request.body;
      const created = await tokens.create(ctx, {
        name: body.name,
        username: body.username ?? undefined,
      });
      return { token_id: created.tokenId, token: created.token };
    },
  });

  router.api("3.0", {
    method: "GET",
    url: "/mlflow-secrets/tokens/list",
    schema: {
      querystring: { type: "object", properties: { username: { type: "string" } } },
      response: {
        200: {
          type: "object",
          required: ["tokens"],
          properties: { tokens: { type: "array", items: tokenInfoResponse } },
          additionalProperties: false,
        },
      },
    },
    async handler(ctx, request) {
      const { username } = request.query;
      return {
        tokens: (await tokens.list(ctx, { username: username || undefined })).map(tokenJson),
      };
    },
  });

  router.api("3.0", {
    method: "DELETE",
    url: "/mlflow-secrets/tokens/revoke",
    schema: { body: tokenIdSchema, querystring: tokenIdSchema, response: { 200: emptyResponse } },
    async handler(ctx, request) {
      const tokenId = request.body.token_id ?? request.query.token_id ?? "";
      await tokens.revoke(ctx, { tokenId });
      return {};
    },
  });
}
