/**
 * Secrets in and out in bulk (`secrets export` / `secrets import`) with the same rules as one at
 * a time: exporting a value needs USE on that secret and writes one `secret.value` audit row per
 * secret (details `{"operation": "export"}`); importing creates (admins, or everyone with
 * `MLFLOW_SECRETS_USERS_CAN_CREATE`) or updates (EDIT) with one audit row per secret written.
 * Every permission is checked before the first value is read or the first row written, and a
 * refusal leaves `denied` rows for the secrets refused. Writes go in one transaction per batch.
 */
import { MlflowSecretsError, invalidParameter } from "../../errors.js";
import { pythonJsonDumps } from "../../crypto/python-json.js";
import type { SecretInfo, SecretStore } from "../../store/index.js";
import { checkSecretInput } from "../../store/secret-store.js";
import { insertAuditEvent, type AuditAction } from "../audit/data.js";
import { insertGrant } from "../permissions/data.js";
import { permits, type PermissionName } from "../permissions/model.js";
import {
  actorOf,
  databaseOf,
  permissionDenied,
  recordDenied,
  type CallContext,
} from "../context.js";
import { createSecretGuard } from "./guard.js";
import { createSecretsService, type SecretsServiceDeps } from "./service.js";

/** A secret as it is exported: everything a create needs. */
export interface ExportedSecret {
  name: string;
  value: Record<string, string>;
  provider: string | null;
  authConfig: Record<string, unknown> | null;
}

/** A secret to import. `authConfig`: undefined leaves an existing one as it is, null clears it. */
export interface ImportEntry {
  name: string;
  value: Record<string, string>;
  provider?: string | null | undefined;
  authConfig?: Record<string, unknown> | null | undefined;
}

/** What to do with an entry whose name exists in the workspace. */
export const IMPORT_CONFLICT_POLICIES = ["fail", "skip", "update"] as const;
export type ImportConflictPolicy = (typeof IMPORT_CONFLICT_POLICIES)[number];

/**
 * What an import does with an entry: create it, update the existing secret, leave it because it
 * already holds exactly this (`unchanged`, with `update`), leave it because it exists (`skip`),
 * or stop (`conflict`, with `fail`).
 */
export type ImportAction = "create" | "update" | "unchanged" | "skip" | "conflict";

export interface ImportItem {
  name: string;
  action: ImportAction;
  /** The secret's id, once it exists. */
  secretId?: string;
}

export interface ExportFilter {
  provider?: string;
  namePrefix?: string;
  /** Only these secrets (those that do not exist are left out; the caller tells). */
  names?: readonly string[];
}

export interface ImportOptions {
  onConflict?: ImportConflictPolicy;
  /** Decide everything (permissions included); write nothing. */
  dryRun?: boolean;
  /** Entries per transaction (default 100). */
  batchSize?: number;
}

export interface SecretsTransferService {
  /**
   * Every secret the caller can read (by provider, name prefix, or exactly these names), with its
   * value.
   */
  exportSecrets(ctx: CallContext, filter: ExportFilter): Promise<ExportedSecret[]>;
  /** Creates or updates every entry, or none when a conflict (`fail`) or a refusal stops it. */
  importSecrets(
    ctx: CallContext,
    entries: readonly ImportEntry[],
    options?: ImportOptions,
  ): Promise<ImportItem[]>;
}

const EXPORT_BATCH = 200;
const DEFAULT_IMPORT_BATCH = 100;
const LISTED = 10;

function listNames(names: readonly string[]): string {
  const shown = names
    .slice(0, LISTED)
    .map((n) => `'${n}'`)
    .join(", ");
  return names.length > LISTED ? `${shown} and ${names.length - LISTED} more` : shown;
}

/**
 * The action for each entry, given the secrets of the same name that exist (pure: the same
 * rules through a server and directly).
 *
 * @example
 * ```ts
 * planImport([{ name: "a", value: { api_key: "k" } }], new Map(), "fail"); // [{ name: "a", action: "create" }]
 * ```
 */
export function planImport(
  entries: readonly Pick<ImportEntry, "name">[],
  existing: ReadonlyMap<string, { secretId: string }>,
  onConflict: ImportConflictPolicy,
): ImportItem[] {
  return entries.map(({ name }) => {
    const found = existing.get(name);
    if (found === undefined) return { name, action: "create" };
    const action = onConflict === "fail" ? "conflict" : onConflict === "skip" ? "skip" : "update";
    return { name, action, secretId: found.secretId };
  });
}

/** The same value: the same keys with the same strings (in any order). */
function sameValue(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return (
    keys.length === Object.keys(b).length &&
    keys.every((k) => Object.prototype.hasOwnProperty.call(b, k) && a[k] === b[k])
  );
}

function sameAuthConfig(
  current: Record<string, unknown> | null,
  wanted: Record<string, unknown> | null | undefined,
): boolean {
  if (wanted === undefined) return true;
  const canonical = (v: Record<string, unknown> | null) =>
    v === null || Object.keys(v).length === 0 ? "" : pythonJsonDumps(v, { sortKeys: true });
  return canonical(current) === canonical(wanted);
}

/**
 * Checks every entry as a create would (name, value, sizes, masks, auth config) and that no name
 * appears twice; returns every problem, by the entry's index (none: all good). Messages name
 * fields and keys, never values.
 *
 * @example
 * ```ts
 * importProblems([{ name: "", value: {} }]); // [{ index: 0, problem: "Missing value for required parameter 'secret_name'." }]
 * ```
 */
export function importProblems(
  entries: readonly ImportEntry[],
): { index: number; problem: string }[] {
  const problems: { index: number; problem: string }[] = [];
  const seen = new Map<string, number>();
  entries.forEach((entry, index) => {
    try {
      checkSecretInput({
        secretName: entry.name,
        secretValue: entry.value,
        provider: entry.provider ?? undefined,
        authConfig: entry.authConfig ?? undefined,
      });
    } catch (err) {
      problems.push({ index, problem: (err as Error).message });
    }
    const first = seen.get(entry.name);
    if (first !== undefined) {
      problems.push({
        index,
        problem: `secret '${entry.name}' appears twice (also entry ${first})`,
      });
    } else {
      seen.set(entry.name, index);
    }
  });
  return problems;
}

/** Builds the export/import service over a store (the same settings as the secrets service). */
export function createSecretsTransferService(deps: SecretsServiceDeps): SecretsTransferService {
  const { store, defaultPermission, usersCanCreate } = deps;
  const database = databaseOf(store);
  const secrets = createSecretsService(deps);
  const { permissionOn } = createSecretGuard({ store, defaultPermission });

  /** Refuses (recording a `denied` row for each) unless the caller holds `needed` on every one. */
  async function requireOnAll(
    ctx: CallContext,
    infos: readonly SecretInfo[],
    needed: PermissionName,
    action: AuditAction,
    operation: string,
  ): Promise<void> {
    if (ctx.principal.isAdmin) return;
    const refused: SecretInfo[] = [];
    for (const info of infos) {
      if (!permits(await permissionOn(database.reader, ctx.principal, info.secretId), needed)) {
        refused.push(info);
      }
    }
    if (refused.length === 0) return;
    for (const info of refused) {
      await recordDenied(database, ctx, {
        action,
        secretId: info.secretId,
        secretName: info.secretName,
        workspace: info.workspace,
        details: { operation },
      });
    }
    throw permissionDenied(
      `Permission denied: ${needed} permission is required on ${refused.length} secret(s): ${listNames(refused.map((i) => i.secretName))}`,
    );
  }

  async function existingByName(
    ctx: CallContext,
    names: readonly string[],
  ): Promise<Map<string, SecretInfo>> {
    const found = new Map<string, SecretInfo>();
    for (const name of names) {
      try {
        found.set(name, await store.getSecretInfo({ secretName: name, workspace: ctx.workspace }));
      } catch (err) {
        if ((err as MlflowSecretsError).errorCode !== "RESOURCE_DOES_NOT_EXIST") throw err;
      }
    }
    return found;
  }

  return {
    async exportSecrets(ctx, filter) {
      const { secrets: listed } = await secrets.list(
        ctx,
        filter.provider !== undefined ? { provider: filter.provider } : {},
      );
      const names = filter.names === undefined ? undefined : new Set(filter.names);
      const chosen = listed.filter(
        (info) =>
          (filter.namePrefix === undefined || info.secretName.startsWith(filter.namePrefix)) &&
          (names === undefined || names.has(info.secretName)),
      );
      await requireOnAll(ctx, chosen, "USE", "secret.value", "export");
      const exported: ExportedSecret[] = [];
      for (let start = 0; start < chosen.length; start += EXPORT_BATCH) {
        const batch = chosen.slice(start, start + EXPORT_BATCH);
        exported.push(
          ...(await store.transaction(async (tx) => {
            const values: ExportedSecret[] = [];
            for (const listedInfo of batch) {
              // Checked again where the value is read: a grant revoked meanwhile counts.
              if (
                !permits(await permissionOn(tx.executor, ctx.principal, listedInfo.secretId), "USE")
              ) {
                throw permissionDenied(
                  `Permission denied: USE permission on secret '${listedInfo.secretId}' is required`,
                );
              }
              const { info, value } = await tx.getSecretWithValue({
                secretId: listedInfo.secretId,
                workspace: ctx.workspace,
              });
              await audit(tx, ctx, "secret.value", info, "export");
              values.push({
                name: info.secretName,
                value,
                provider: info.provider ?? null,
                authConfig:
                  info.authConfig && Object.keys(info.authConfig).length > 0
                    ? info.authConfig
                    : null,
              });
            }
            return values;
          })),
        );
      }
      return exported;
    },

    async importSecrets(ctx, entries, options = {}) {
      const onConflict = options.onConflict ?? "fail";
      const batchSize = options.batchSize ?? DEFAULT_IMPORT_BATCH;
      const problems = importProblems(entries);
      if (problems.length > 0) {
        throw invalidParameter(problems.map((p) => `entry ${p.index}: ${p.problem}`).join("; "));
      }
      const existing = await existingByName(
        ctx,
        entries.map((e) => e.name),
      );
      const plan = planImport(entries, existing, onConflict);
      const conflicts = plan.filter((p) => p.action === "conflict").map((p) => p.name);
      if (conflicts.length > 0) {
        throw new MlflowSecretsError(
          `${conflicts.length} secret(s) already exist: ${listNames(conflicts)}; nothing was imported (use --on-conflict skip or update)`,
          "RESOURCE_ALREADY_EXISTS",
        );
      }
      // Every permission before the first write.
      const creates = plan.filter((p) => p.action === "create");
      if (creates.length > 0 && !ctx.principal.isAdmin && !usersCanCreate) {
        for (const item of creates) {
          await recordDenied(database, ctx, {
            action: "secret.create",
            secretName: item.name,
            workspace: ctx.workspace,
            details: { operation: "import" },
          });
        }
        throw permissionDenied("Permission denied: only admins may create secrets");
      }
      const updates = plan.filter((p) => p.action === "update").map((p) => existing.get(p.name)!);
      await requireOnAll(ctx, updates, "EDIT", "secret.update", "import");

      for (let start = 0; start < entries.length; start += batchSize) {
        const run = async (tx: Parameters<Parameters<SecretStore["transaction"]>[0]>[0]) => {
          for (let i = start; i < Math.min(entries.length, start + batchSize); i++) {
            const entry = entries[i]!;
            const item = plan[i]!;
            if (item.action === "create") {
              if (options.dryRun) continue;
              const info = await tx.createSecret({
                secretName: entry.name,
                secretValue: entry.value,
                provider: entry.provider ?? undefined,
                authConfig: entry.authConfig ?? undefined,
                createdBy: ctx.principal.username,
                workspace: ctx.workspace,
              });
              item.secretId = info.secretId;
              if (ctx.principal.userId !== "") {
                await insertGrant(tx.executor, {
                  secretId: info.secretId,
                  userId: ctx.principal.userId,
                  permission: "MANAGE",
                });
              }
              await audit(tx, ctx, "secret.create", info, "import");
            } else if (item.action === "update") {
              if (
                !permits(await permissionOn(tx.executor, ctx.principal, item.secretId!), "EDIT")
              ) {
                throw permissionDenied(
                  `Permission denied: EDIT permission on secret '${item.secretId}' is required`,
                );
              }
              const current = await tx.getSecretWithValue({
                secretId: item.secretId!,
                workspace: ctx.workspace,
              });
              if (
                sameValue(current.value, entry.value) &&
                sameAuthConfig(current.info.authConfig ?? null, entry.authConfig)
              ) {
                item.action = "unchanged";
                continue;
              }
              if (options.dryRun) continue;
              const info = await tx.updateSecret({
                secretId: item.secretId!,
                secretValue: entry.value,
                authConfig: entry.authConfig === undefined ? undefined : (entry.authConfig ?? {}),
                updatedBy: ctx.principal.username,
                workspace: ctx.workspace,
              });
              await audit(tx, ctx, "secret.update", info, "import");
            }
          }
        };
        // A dry run reads (to tell `unchanged` from `update`) but writes nothing.
        await store.transaction(run);
      }
      return plan;
    },
  };
}

function audit(
  tx: { executor: Parameters<typeof insertAuditEvent>[0] },
  ctx: CallContext,
  action: AuditAction,
  info: SecretInfo,
  operation: "export" | "import",
): Promise<void> {
  return insertAuditEvent(tx.executor, {
    ...actorOf(ctx),
    action,
    outcome: "success",
    secretId: info.secretId,
    secretName: info.secretName,
    workspace: info.workspace,
    details: { operation },
  });
}
