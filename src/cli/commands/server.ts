/**
 * `mlflow-secrets server`: the REST server until SIGTERM/SIGINT, then a graceful stop (in-flight
 * requests finish within the shutdown timeout), the database closed, exit code 0.
 */
import { Option } from "commander";
import { readServerSettings } from "../settings.js";
import { createPasswordHasher } from "../../domain/users/passwords.js";
import { DOMAIN_MIGRATIONS } from "../../domain/schema.js";
import { bootstrapAdmin } from "../../domain/users/bootstrap.js";
import { adminPasswordBanner } from "../../server/admin-banner.js";
import { isClusterWorker, leaveCluster, runWorkerPool } from "../../server/cluster.js";
import { LOG_LEVELS, resolveServerOptions, type ServerOptions } from "../../server/options.js";
import { openSecretStore, type SecretStore } from "../../store/index.js";
import { VERSION } from "../../version.js";
import { CliExit, usageError } from "../errors.js";
import type { CliIo } from "../io.js";
import type { RegisterCommands } from "../io.js";

interface ServerFlags {
  host: string;
  port: number;
  backendStoreUri?: string;
  workers: number;
  staticPrefix?: string;
  /** false with `--no-console`. */
  console: boolean;
  logLevel: ServerOptions["logLevel"];
}

function integerFlag(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) {
      throw usageError(`${name} must be an integer between ${min} and ${max}, got '${value}'`);
    }
    return n;
  };
}

/**
 * `signal` resolves with the first SIGTERM/SIGINT; a second one calls `onSecond` (cut open
 * connections). The handlers stay until `dispose`, so no signal kills the process mid-shutdown.
 */
function listenForStop(onSecond: () => void): {
  signal: Promise<NodeJS.Signals>;
  dispose: () => void;
} {
  let received = false;
  let resolveSignal!: (signal: NodeJS.Signals) => void;
  const signal = new Promise<NodeJS.Signals>((resolve) => (resolveSignal = resolve));
  const handler = (name: NodeJS.Signals) => {
    if (received) return onSecond();
    received = true;
    resolveSignal(name);
  };
  process.on("SIGTERM", handler);
  process.on("SIGINT", handler);
  return {
    signal,
    dispose() {
      process.off("SIGTERM", handler);
      process.off("SIGINT", handler);
    },
  };
}

/** The HTTP stack (fastify, pino), loaded only by the commands that serve. */
function serverModule() {
  return import("../../server/start.js");
}

async function warn(io: CliIo, store: SecretStore, options: ServerOptions): Promise<void> {
  const { startupWarnings } = await serverModule();
  for (const warning of startupWarnings(store, options)) {
    io.stderr.write(`\n*** WARNING: ${warning}\n\n`);
  }
}

async function openStore(flags: ServerFlags, io: CliIo): Promise<SecretStore> {
  return openSecretStore({
    ...(flags.backendStoreUri ? { uri: flags.backendStoreUri } : {}),
    env: io.env,
    migrations: DOMAIN_MIGRATIONS,
  });
}

/** The primary of `--workers N`: prepare the database once, then supervise the workers. */
async function runPrimary(flags: ServerFlags, options: ServerOptions, io: CliIo): Promise<void> {
  const store = await openStore(flags, io);
  try {
    await warn(io, store, options);
    await bootstrapAdmin(store, {
      adminUsername: options.adminUsername,
      adminPassword: options.adminPassword,
      hasher: createPasswordHasher(options.passwordHashCost),
      announce: (username, password) => io.stderr.write(adminPasswordBanner(username, password)),
    });
  } finally {
    await store.close();
  }
  io.stderr.write(
    `mlflow-secrets ${VERSION}: starting ${options.workers} workers on ${options.host}:${options.port}\n`,
  );
  if (options.console) {
    const host = options.host.includes(":") ? `[${options.host}]` : options.host;
    io.stderr.write(`Console: http://${host}:${options.port}${options.staticPrefix}/console/\n`);
  }
  const code = await runWorkerPool({
    workers: options.workers,
    shutdownTimeoutMs: options.shutdownTimeoutMs,
    log: (message) => io.stderr.write(`mlflow-secrets: ${message}\n`),
  });
  if (code !== 0) throw new CliExit(code, "A worker failed to start; see its messages above");
}

async function runSingle(flags: ServerFlags, options: ServerOptions, io: CliIo): Promise<void> {
  // Listen for the stop signal before anything else, so that none arrives unhandled.
  let cutConnections = () => {};
  const stop = listenForStop(() => cutConnections());
  let store: SecretStore | undefined;
  try {
    store = await openStore(flags, io);
    if (!isClusterWorker()) await warn(io, store, options);
    const { startServer } = await serverModule();
    const running = await startServer({
      store,
      options,
      logStream: io.stdout,
      announceAdminPassword: (username, password) =>
        io.stderr.write(adminPasswordBanner(username, password)),
    });
    cutConnections = () => running.app.server.closeAllConnections();
    io.stderr.write(
      `mlflow-secrets ${VERSION} listening on ${running.url}${options.staticPrefix} (database ${store.layout.uri}, pid ${process.pid})\n`,
    );
    if (options.console && !isClusterWorker()) {
      io.stderr.write(`Console: ${running.url}${options.staticPrefix}/console/\n`);
    }
    const signal = await stop.signal;
    io.stderr.write(`mlflow-secrets: ${signal} received, finishing in-flight requests\n`);
    await running.close();
  } finally {
    await store?.close();
    stop.dispose();
    leaveCluster();
  }
}

export const registerServerCommands: RegisterCommands = (program, io) => {
  program
    .command("server")
    .description(
      "serve MLflow's gateway-secrets REST API (with users, tokens, permissions and an audit log)",
    )
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("--port <port>", "port to listen on", integerFlag("--port", 0, 65535), 5050)
    .option(
      "--backend-store-uri <uri>",
      "database URI; default MLFLOW_BACKEND_STORE_URI, else sqlite:///mlflow-secrets.db",
    )
    .option(
      "--workers <n>",
      "processes sharing the port (use PostgreSQL or MySQL for more than one)",
      integerFlag("--workers", 1, 64),
      1,
    )
    .option("--static-prefix <prefix>", "serve every route under this path, e.g. /mlflow")
    .option("--no-console", "do not serve the web console (at <prefix>/console/)")
    .addOption(
      new Option("--log-level <level>", "JSON log level (stdout)")
        .choices(LOG_LEVELS)
        .default("info"),
    )
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  $ MLFLOW_CRYPTO_KEK_PASSPHRASE_FILE=/run/secrets/kek mlflow-secrets server --host 0.0.0.0 --port 5050\n" +
        "  $ mlflow-secrets server --backend-store-uri postgresql://mlflow@db/mlflow --workers 4\n" +
        "\nFirst start: the admin is MLFLOW_SECRETS_ADMIN_USERNAME (default admin) with\n" +
        "MLFLOW_SECRETS_ADMIN_PASSWORD, or a generated password printed once on stderr.\n",
    )
    .action(async (flags: ServerFlags) => {
      const options = resolveServerOptions({
        host: flags.host,
        port: flags.port,
        workers: flags.workers,
        staticPrefix: flags.staticPrefix,
        console: flags.console,
        logLevel: flags.logLevel,
        ...readServerSettings(io.env),
      });
      if (options.workers > 1 && !isClusterWorker()) return runPrimary(flags, options, io);
      return runSingle(flags, options, io);
    });
};
