/** Listening, start-up warnings and graceful shutdown. */
import type { FastifyInstance } from "fastify";
import type { SecretStore } from "../store/index.js";
import { createServer, type CreateServerParams } from "./app.js";
import { isLoopbackHost, resolveServerOptions, type ServerOptions } from "./options.js";

export interface RunningServer {
  readonly app: FastifyInstance;
  /** Where it listens, e.g. `http://127.0.0.1:5050`. */
  readonly url: string;
  /**
   * Stops accepting connections, lets in-flight requests finish for up to the shutdown timeout,
   * then cuts what is left. Does not close the store.
   */
  close(): Promise<void>;
}

/** What an operator must hear about at start-up (loudly: the CLI prints these on stderr). */
export function startupWarnings(store: SecretStore, options: ServerOptions): string[] {
  const warnings: string[] = [];
  if (store.keyring.current.usingDefaultPassphrase && !isLoopbackHost(options.host)) {
    warnings.push(
      `The default KEK passphrase is in use while listening on ${options.host}: anyone with a copy ` +
        "of the database can decrypt every secret. Set MLFLOW_CRYPTO_KEK_PASSPHRASE (or _FILE) " +
        "before exposing this server.",
    );
  }
  return warnings;
}

/**
 * Builds the server and listens on the options' host and port.
 *
 * @example
 * ```ts
 * const running = await startServer({ store, options: resolveServerOptions({ port: 0 }) });
 * console.log(running.url);
 * await running.close();
 * ```
 */
export async function startServer(params: CreateServerParams): Promise<RunningServer> {
  const options = params.options ?? resolveServerOptions();
  const app = await createServer({ ...params, options });
  for (const warning of startupWarnings(params.store, options)) app.log.warn(warning);
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === "object" && address !== null ? address.port : options.port;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  let closing: Promise<void> | undefined;
  return {
    app,
    url: `http://${host}:${port}`,
    close() {
      closing ??= closeGracefully(app, options.shutdownTimeoutMs);
      return closing;
    },
  };
}

/**
 * `app.close()` stops listening and waits for open requests; keep-alive connections that turn
 * idle meanwhile are closed as they do (answers carry `Connection: close` from the start of the
 * shutdown, see app.ts), and whatever is left after `timeoutMs` is cut.
 */
async function closeGracefully(app: FastifyInstance, timeoutMs: number): Promise<void> {
  const sweep = setInterval(() => app.server.closeIdleConnections(), 100);
  const deadline = setTimeout(() => app.server.closeAllConnections(), timeoutMs);
  try {
    await app.close();
  } finally {
    clearInterval(sweep);
    clearTimeout(deadline);
  }
}
