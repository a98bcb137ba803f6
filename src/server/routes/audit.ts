/** The audit log (`GET /api/3.0/mlflow-secrets/audit/list`, admins). */
import type { Router } from "../http/routing.js";
import { auditEventJson } from "../../rest/views.js";
import { auditEventResponse, queryInteger } from "../http/schemas.js";
import { parseSince, type AuditService } from "../../domain/audit/service.js";

export function registerAuditRoutes(router: Router, audit: AuditService): void {
  router.api("3.0", {
    method: "GET",
    url: "/mlflow-secrets/audit/list",
    schema: {
      querystring: {
        type: "object",
        properties: {
          secret_id: { type: "string" },
          username: { type: "string" },
          secret: { type: "string" },
          action: { type: "string" },
          outcome: { type: "string" },
          since: { type: "string" },
          until: { type: "string" },
          max_results: queryInteger,
          page_token: { type: "string" },
        },
      },
      response: {
        200: {
          type: "object",
          required: ["events"],
          properties: {
            events: { type: "array", items: auditEventResponse },
            next_page_token: { type: "string" },
          },
          additionalProperties: false,
        },
      },
    },
    async handler(ctx, request) {
      const query = request.query;
      const page = await audit.list(ctx, {
        secretId: query.secret_id || undefined,
        username: query.username || undefined,
        secret: query.secret || undefined,
        action: query.action || undefined,
        outcome: query.outcome || undefined,
        since: parseSince(query.since),
        until: parseSince(query.until, "until"),
        maxResults: query.max_results === undefined ? undefined : Number(query.max_results),
        pageToken: query.page_token || undefined,
      });
      return {
        events: page.events.map(auditEventJson),
        ...(page.nextPageToken !== undefined ? { next_page_token: page.nextPageToken } : {}),
      };
    },
  });
}
