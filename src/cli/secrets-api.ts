/**
 * What the `secrets` commands need, in the REST API's shapes, so `--output json` prints exactly
 * the body the server would send. Two implementations: directly on a database, or through a
 * server (MLflow's gateway-secrets REST API).
 */
import type { Command } from "commander";
import { readBackendStoreUri, readHttpTrackingUri } from "../config.js";
import { readServerSettings } from "./settings.js";
import type { CallContext } from "../domain/context.js";
import { createSecretsService, type SecretsService } from "../domain/secrets/service.js";
import { DOMAIN_MIGRATIONS } from "../domain/schema.js";
import { cliContext } from "./admin.js";
import { toRestSecretInfo, type RestSecretInfo } from "../rest/views.js";
import { openSecretStore, type SecretStore } from "../store/index.js";
import type { CliIo } from "./io.js";

export interface SecretsApi {
  create(request: {
    secret_name: string;
    secret_value: Record<string, string>;
    provider?: string;
    auth_config?: Record<string, unknown>;
  }): Promise<{ secret: RestSecretInfo }>;
  get(request: { secret_id?: string; secret_name?: string }): Promise<{ secret: RestSecretInfo }>;
  list(request: { provider?: string }): Promise<{ secrets: RestSecretInfo[] }>;
  update(request: {
    secret_id: string;
    secret_value?: Record<string, string>;
    auth_config?: Record<string, unknown>;
  }): Promise<{ secret: RestSecretInfo }>;
  delete(request: { secret_id: string }): Promise<Record<string, never>>;
  reveal(request: {
    secret_id: string;
  }): Promise<{ secret_id: string; secret_value: Record<string, string> }>;
  close(): Promise<void>;
}

export interface TargetOptions {
  backendStoreUri?: string;
  trackingUri?: string;
  workspace?: string;
}

/**
 * Adds `--backend-store-uri`, `--tracking-uri` and `--workspace`: where a command that works on
 * secrets goes (see {@link resolveTarget}).
 *
 * @example
 * ```ts
 * withTargetOptions(program.command("run")).action(…);
 * ```
 */
export function withTargetOptions(command: Command): Command {
  return command
    .option(
      "--backend-store-uri <uri>",
      "database URI (direct mode); default MLFLOW_BACKEND_STORE_URI, else sqlite:///mlflow-secrets.db",
    )
    .option(
      "--tracking-uri <uri>",
      "an mlflow-secrets or MLflow server (http/https); default an http(s) MLFLOW_TRACKING_URI",
    )
    .option("--workspace <name>", "workspace (default 'default')");
}

type Target = { mode: "direct"; uri: string | undefined } | { mode: "server"; trackingUri: string };

/**
 * Where a command goes: the flags; then an http(s) `MLFLOW_TRACKING_URI` (a server); then
 * `MLFLOW_BACKEND_STORE_URI` (direct); then the default SQLite file.
 */
export function resolveTarget(options: TargetOptions, io: CliIo): Target {
  if (options.backendStoreUri) return { mode: "direct", uri: options.backendStoreUri };
  if (options.trackingUri) return { mode: "server", trackingUri: options.trackingUri };
  const tracking = readHttpTrackingUri(io.env);
  if (tracking) return { mode: "server", trackingUri: tracking };
  return { mode: "direct", uri: readBackendStoreUri(io.env) };
}

/**
 * The secrets API directly on a database, through the server's own secrets service as the admin
 * `cli:<os user>`: the same rules, grants and audit rows as the REST API.
 */
export class DirectSecretsApi implements SecretsApi {
  private constructor(
    private readonly store: SecretStore,
    private readonly service: SecretsService,
    private readonly ctx: CallContext,
  ) {}

  static async open(
    uri: string | undefined,
    io: CliIo,
    workspace?: string,
  ): Promise<DirectSecretsApi> {
    const settings = readServerSettings(io.env);
    const store = await openSecretStore({
      ...(uri ? { uri } : {}),
      env: io.env,
      migrations: DOMAIN_MIGRATIONS,
    });
    const service = createSecretsService({
      store,
      defaultPermission: settings.defaultPermission,
      usersCanCreate: settings.usersCanCreate,
    });
    return new DirectSecretsApi(store, service, cliContext(workspace));
  }

  get secretStore(): SecretStore {
    return this.store;
  }

  async create(request: Parameters<SecretsApi["create"]>[0]) {
    const info = await this.service.create(this.ctx, {
      secretName: request.secret_name,
      secretValue: request.secret_value,
      provider: request.provider,
      authConfig: request.auth_config,
    });
    return { secret: toRestSecretInfo(info) };
  }

  async get(request: { secret_id?: string; secret_name?: string }) {
    const info = await this.service.get(this.ctx, {
      ...(request.secret_id !== undefined ? { secretId: request.secret_id } : {}),
      ...(request.secret_name !== undefined ? { secretName: request.secret_name } : {}),
    });
    return { secret: toRestSecretInfo(info) };
  }

  async list(request: { provider?: string }) {
    const page = await this.service.list(
      this.ctx,
      request.provider !== undefined ? { provider: request.provider } : {},
    );
    return { secrets: page.secrets.map(toRestSecretInfo) };
  }

  async update(request: Parameters<SecretsApi["update"]>[0]) {
    const info = await this.service.update(this.ctx, {
      secretId: request.secret_id,
      secretValue: request.secret_value,
      authConfig: request.auth_config,
    });
    return { secret: toRestSecretInfo(info) };
  }

  async delete(request: { secret_id: string }) {
    await this.service.delete(this.ctx, { secretId: request.secret_id });
    return {};
  }

  async reveal(request: { secret_id: string }) {
    const { secretId, secretValue } = await this.service.value(this.ctx, {
      secretId: request.secret_id,
    });
    return { secret_id: secretId, secret_value: secretValue };
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

const SECRETS_PATH = "/api/3.0/mlflow/gateway/secrets";

/** The secrets API through a server, with MLflow's client credential resolution per request. */
export class RemoteSecretsApi implements SecretsApi {
  constructor(
    private readonly trackingUri: string,
    private readonly io: CliIo,
    private readonly workspace: string | undefined,
  ) {}

  private async call<T>(operation: string, method: string, json: unknown): Promise<T> {
    // The client (and its dependencies) is loaded only for commands that talk to a server.
    const { callEndpoint, getDefaultHostCreds } = await import("../client/index.js");
    const headers: Record<string, string> = this.workspace
      ? { "X-MLFLOW-WORKSPACE": this.workspace }
      : {};
    return (await callEndpoint(
      () => getDefaultHostCreds(this.trackingUri, { env: this.io.env }),
      `${SECRETS_PATH}/${operation}`,
      method,
      { json, headers, env: this.io.env },
    )) as T;
  }

  create(request: Parameters<SecretsApi["create"]>[0]) {
    return this.call<{ secret: RestSecretInfo }>("create", "POST", request);
  }

  get(request: { secret_id?: string; secret_name?: string }) {
    return this.call<{ secret: RestSecretInfo }>("get", "GET", request);
  }

  async list(request: { provider?: string }) {
    const body = await this.call<{ secrets?: RestSecretInfo[] }>("list", "GET", request);
    return { secrets: body.secrets ?? [] };
  }

  update(request: Parameters<SecretsApi["update"]>[0]) {
    return this.call<{ secret: RestSecretInfo }>("update", "POST", request);
  }

  delete(request: { secret_id: string }) {
    return this.call<Record<string, never>>("delete", "DELETE", request);
  }

  reveal(request: { secret_id: string }) {
    return this.call<{ secret_id: string; secret_value: Record<string, string> }>(
      "value",
      "POST",
      request,
    );
  }

  async close(): Promise<void> {}
}
