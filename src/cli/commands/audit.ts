/** `mlflow-secrets audit list`, on the database. */
import { auditEventJson } from "../../rest/views.js";
import { MAX_AUDIT_PAGE, parseSince } from "../../domain/audit/service.js";
import { withAdmin, withAdminOptions, type AdminOptions } from "../admin.js";
import { usageError } from "../errors.js";
import { formatTime, printJson, printTable } from "../output.js";
import type { RegisterCommands } from "../io.js";

function maxResults(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > MAX_AUDIT_PAGE) {
    throw usageError(`--max-results must be an integer between 1 and ${MAX_AUDIT_PAGE}`);
  }
  return n;
}

export const registerAuditCommands: RegisterCommands = (program, io) => {
  const audit = program.command("audit").description("the audit log (directly on the database)");

  withAdminOptions(audit.command("list"))
    .description("audit events, newest first")
    .option("--secret-id <id>", "only events about this secret")
    .option("--username <name>", "only events by this user")
    .option("--since <time>", "only events at or after this ISO-8601 time (or epoch ms)")
    .option("--max-results <n>", `events per page (1–${MAX_AUDIT_PAGE}, default 100)`, maxResults)
    .option("--page-token <token>", "continue where the previous page ended")
    .addHelpText(
      "after",
      "\nExample:\n  $ mlflow-secrets audit list --secret-id s-0123… --since 2026-01-01T00:00:00Z --output json\n",
    )
    .action(
      async (
        options: AdminOptions & {
          secretId?: string;
          username?: string;
          since?: string;
          maxResults?: number;
          pageToken?: string;
        },
      ) => {
        const since = parseSince(options.since);
        const page = await withAdmin(options, io, ({ ctx, audit }) =>
          audit.list(ctx, {
            secretId: options.secretId,
            username: options.username,
            since,
            maxResults: options.maxResults,
            pageToken: options.pageToken,
          }),
        );
        if (options.output === "json") {
          return printJson(io, {
            events: page.events.map(auditEventJson),
            ...(page.nextPageToken !== undefined ? { next_page_token: page.nextPageToken } : {}),
          });
        }
        printTable(
          io,
          ["TIME", "USER", "ACTION", "OUTCOME", "SECRET", "ADDRESS"],
          page.events.map((e) => [
            formatTime(e.time),
            e.username ?? "",
            e.action,
            e.outcome,
            e.secretName ? `${e.secretName} (${e.secretId})` : (e.secretId ?? ""),
            e.remoteAddress ?? "",
          ]),
        );
        if (page.nextPageToken !== undefined) {
          io.stderr.write(`More: --page-token ${page.nextPageToken}\n`);
        }
      },
    );
};
