/**
 * Bulk reads and writes of secrets for `secrets export|import` and `run`, directly on a database
 * (through the domain's transfer service: batched transactions, an audit row per secret) or
 * through a server (MLflow's REST endpoints, one request per secret: `list`, `get`, `value`,
 * `create`, `update` — each audited by the server).
 */
import { MlflowSecretsError } from "../errors.js";
import type { CallContext } from "../domain/context.js";
import { DOMAIN_MIGRATIONS } from "../domain/schema.js";
import {
  createSecretsTransferService,
  importProblems,
  planImport,
  type ExportedSecret,
  type ImportEntry,
  type ImportItem,
  type ImportOptions,
  type SecretsTransferService,
} from "../domain/secrets/transfer.js";
import { invalidParameter } from "../errors.js";
import { openSecretStore, type SecretStore } from "../store/index.js";
import { cliContext } from "./admin.js";
import type { CliIo } from "./io.js";
import { RemoteSecretsApi, resolveTarget, type TargetOptions } from "./secrets-api.js";
import { readServerSettings } from "./settings.js";

export interface TransferApi {
  exportSecrets(filter: { provider?: string; namePrefix?: string }): Promise<ExportedSecret[]>;
  importSecrets(entries: readonly ImportEntry[], options: ImportOptions): Promise<ImportItem[]>;
  /** The values of secrets by name (USE on each, audited), or the names that do not exist. */
  values(names: readonly string[]): Promise<Map<string, Record<string, string>>>;
  close(): Promise<void>;
}

/** The API the target options point at: a server when a tracking URI applies, else the database. */
export async function openTransferApi(options: TargetOptions, io: CliIo): Promise<TransferApi> {
  const target = resolveTarget(options, io);
  if (target.mode === "server") {
    return new RemoteTransferApi(new RemoteSecretsApi(target.trackingUri, io, options.workspace));
  }
  return DirectTransferApi.open(target.uri, io, options.workspace);
}

/** A secret that does not exist (or cannot be seen): `run` names it before starting anything. */
export class MissingSecretsError extends MlflowSecretsError {
  constructor(readonly names: readonly string[]) {
    super(
      `Secret(s) not found: ${names.map((n) => `'${n}'`).join(", ")}`,
      "RESOURCE_DOES_NOT_EXIST",
    );
    this.name = "MissingSecretsError";
  }
}

class DirectTransferApi implements TransferApi {
  private constructor(
    private readonly store: SecretStore,
    private readonly service: SecretsTransferService,
    private readonly ctx: CallContext,
  ) {}

  static async open(
    uri: string | undefined,
    io: CliIo,
    workspace: string | undefined,
  ): Promise<DirectTransferApi> {
    const settings = readServerSettings(io.env);
    const store = await openSecretStore({
      ...(uri ? { uri } : {}),
      env: io.env,
      migrations: DOMAIN_MIGRATIONS,
    });
    const service = createSecretsTransferService({
      store,
      defaultPermission: settings.defaultPermission,
      usersCanCreate: settings.usersCanCreate,
    });
    return new DirectTransferApi(store, service, cliContext(workspace));
  }

  exportSecrets(filter: { provider?: string; namePrefix?: string }) {
    return this.service.exportSecrets(this.ctx, filter);
  }

  importSecrets(entries: readonly ImportEntry[], options: ImportOptions) {
    return this.service.importSecrets(this.ctx, entries, options);
  }

  async values(names: readonly string[]) {
    const wanted = new Set(names);
    const found = await this.service.exportSecrets(this.ctx, {
      names: [...wanted],
    });
    const values = new Map(found.map((s) => [s.name, s.value]));
    const missing = [...wanted].filter((n) => !values.has(n));
    if (missing.length > 0) throw new MissingSecretsError(missing);
    return values;
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

class RemoteTransferApi implements TransferApi {
  constructor(private readonly api: RemoteSecretsApi) {}

  async exportSecrets(filter: { provider?: string; namePrefix?: string }) {
    const { secrets } = await this.api.list(
      filter.provider !== undefined ? { provider: filter.provider } : {},
    );
    const exported: ExportedSecret[] = [];
    for (const info of secrets) {
      if (filter.namePrefix !== undefined && !info.secret_name.startsWith(filter.namePrefix)) {
        continue;
      }
      const { secret_value: value } = await this.api.reveal({ secret_id: info.secret_id });
      exported.push({
        name: info.secret_name,
        value,
        provider: info.provider ?? null,
        authConfig:
          info.auth_config && Object.keys(info.auth_config).length > 0 ? info.auth_config : null,
      });
    }
    return exported;
  }

  async importSecrets(entries: readonly ImportEntry[], options: ImportOptions) {
    const problems = importProblems(entries);
    if (problems.length > 0) {
      throw invalidParameter(problems.map((p) => `entry ${p.index}: ${p.problem}`).join("; "));
    }
    const { secrets } = await this.api.list({});
    const existing = new Map(secrets.map((s) => [s.secret_name, { secretId: s.secret_id }]));
    const plan = planImport(entries, existing, options.onConflict ?? "fail");
    const conflicts = plan.filter((p) => p.action === "conflict").map((p) => p.name);
    if (conflicts.length > 0) {
      throw new MlflowSecretsError(
        `${conflicts.length} secret(s) already exist: ${conflicts.map((n) => `'${n}'`).join(", ")}; nothing was imported (use --on-conflict skip or update)`,
        "RESOURCE_ALREADY_EXISTS",
      );
    }
    if (options.dryRun) return plan;
    let done = 0;
    for (const [i, item] of plan.entries()) {
      const entry = entries[i]!;
      try {
        if (item.action === "create") {
          const { secret } = await this.api.create({
            secret_name: entry.name,
            secret_value: entry.value,
            ...(entry.provider ? { provider: entry.provider } : {}),
            ...(entry.authConfig ? { auth_config: entry.authConfig } : {}),
          });
          item.secretId = secret.secret_id;
        } else if (item.action === "update") {
          await this.api.update({
            secret_id: item.secretId!,
            secret_value: entry.value,
            ...(entry.authConfig !== undefined ? { auth_config: entry.authConfig ?? {} } : {}),
          });
        }
      } catch (err) {
        throw new MlflowSecretsError(
          `${done} secret(s) were imported before '${entry.name}' failed: ${(err as Error).message}. ` +
            "Run the import again with --on-conflict skip or update to finish it.",
          (err as MlflowSecretsError).errorCode ?? "INTERNAL_ERROR",
          { cause: err },
        );
      }
      if (item.action === "create" || item.action === "update") done++;
    }
    return plan;
  }

  async values(names: readonly string[]) {
    const values = new Map<string, Record<string, string>>();
    const missing: string[] = [];
    const ids = new Map<string, string>();
    for (const name of new Set(names)) {
      try {
        ids.set(name, (await this.api.get({ secret_name: name })).secret.secret_id);
      } catch (err) {
        if ((err as MlflowSecretsError).errorCode !== "RESOURCE_DOES_NOT_EXIST") throw err;
        missing.push(name);
      }
    }
    if (missing.length > 0) throw new MissingSecretsError(missing);
    for (const [name, id] of ids) {
      values.set(name, (await this.api.reveal({ secret_id: id })).secret_value);
    }
    return values;
  }

  close(): Promise<void> {
    return this.api.close();
  }
}
