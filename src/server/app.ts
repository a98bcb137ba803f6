/**
 * The server's composition root: options → services (built by factories from what they use) →
 * routes. `createServer` returns a ready fastify instance: `inject()` it in tests, or `listen`
 * (see `startServer`).
 */
import { randomUUID } from "node:crypto";
import Fastify, { LogController, type FastifyInstance, type FastifyRequest } from "fastify";
import type { SecretStore } from "../store/index.js";
import { createAuthenticator } from "./auth/authenticator.js";
import { createPasswordHasher } from "../domain/users/passwords.js";
import { ensureDomainSchema } from "../domain/schema.js";
import { bootstrapAdmin } from "../domain/users/bootstrap.js";
import { announceOnStderr } from "./admin-banner.js";
import { registerErrorHandling, sendError } from "./http/errors.js";
import { DEFAULT_CONSOLE_DIR, registerConsole } from "./http/console.js";
import { registerJsonBodyParser } from "./http/json.js";
import { createRouter } from "./http/routing.js";
import { sessionIdOf } from "./http/session-cookie.js";
import { loggerOptions, type LogStream } from "./logging.js";
import { createMetrics } from "./metrics.js";
import { resolveServerOptions, type ServerOptions } from "./options.js";
import { registerAuditRoutes } from "./routes/audit.js";
import { registerCryptoRoutes } from "./routes/crypto.js";
import { registerSessionRoutes } from "./routes/sessions.js";
import { registerPermissionRoutes } from "./routes/permissions.js";
import { registerSecretRoutes } from "./routes/secrets.js";
import { registerSystemRoutes } from "./routes/system.js";
import { registerTokenRoutes } from "./routes/tokens.js";
import { registerUserRoutes } from "./routes/users.js";
import { createAuditService } from "../domain/audit/service.js";
import { databaseOf } from "../domain/context.js";
import { createPermissionsService } from "../domain/permissions/service.js";
import { createSessionsService } from "../domain/sessions/service.js";
import { createSecretsService } from "../domain/secrets/service.js";
import { createTokensService } from "../domain/tokens/service.js";
import { createUsersService } from "../domain/users/service.js";

export interface CreateServerParams {
  /** The opened store; the server does not close it. */
  store: SecretStore;
  /** Resolved options (`resolveServerOptions`); defaults when omitted. */
  options?: ServerOptions;
  /** Where JSON log lines go (default stdout). */
  logStream?: LogStream;
  /** Where the built console is (default: the package's `dist/console`). */
  consoleDir?: string;
  /** Receives a generated first-admin password, once (default: a banner on stderr). */
  announceAdminPassword?: (username: string, password: string) => void;
}

const REQUEST_ID = /^[\w.:-]{1,64}$/;
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Builds the REST server on an opened store, creating the first admin on an empty database.
 *
 * @example
 * ```ts
 * const store = await openSecretStore({ uri: "sqlite:///mlflow-secrets.db" });
 * const app = await createServer({ store, options: resolveServerOptions({ port: 5050 }) });
 * const res = await app.inject({ method: "GET", url: "/health" }); // 200 "OK"
 * ```
 */
export async function createServer(params: CreateServerParams): Promise<FastifyInstance> {
  const { store } = params;
  const options = params.options ?? resolveServerOptions();
  const hasher = createPasswordHasher(options.passwordHashCost);
  // The server's own tables, on a store opened without them (a library caller's).
  await ensureDomainSchema(store);
  await bootstrapAdmin(store, {
    adminUsername: options.adminUsername,
    adminPassword: options.adminPassword,
    hasher,
    announce: params.announceAdminPassword ?? announceOnStderr,
  });

  const database = databaseOf(store);
  const metrics = createMetrics();
  // Sessions exist for the console only: without it, the cookie is not even looked at.
  const sessions = options.console
    ? createSessionsService({
        database,
        idleTimeoutMs: options.sessionIdleTimeoutMs,
        lifetimeMs: options.sessionLifetimeMs,
      })
    : undefined;
  const authenticator = createAuthenticator({
    database,
    hasher,
    cacheTtlMs: options.authCacheTtlMs,
    throttle: options.loginThrottle,
    onFailure: (reason) => metrics.authFailure(reason),
    ...(sessions ? { sessions } : {}),
  });

  const app = Fastify({
    logger: loggerOptions(options.logLevel, params.logStream),
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimitBytes,
    requestTimeout: options.requestTimeoutMs,
    forceCloseConnections: "idle",
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers["x-request-id"];
      return typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
    },
    // Types are checked, never coerced; unknown fields are ignored, not removed.
    ajv: {
      customOptions: {
        coerceTypes: false,
        removeAdditional: false,
        useDefaults: false,
        allowUnionTypes: true,
      },
    },
    frameworkErrors: (err, request, reply) => {
      sendError(request, reply, err);
    },
  });

  registerJsonBodyParser(app, options.bodyLimitBytes);
  const router = createRouter(app, {
    staticPrefix: options.staticPrefix,
    authenticate: (request: FastifyRequest) =>
      authenticator.authenticate({
        authorization: request.headers.authorization,
        remoteAddress: request.ip,
        requestId: request.id,
        sessionId: sessions && sessionIdOf(request),
        stateChanging: !SAFE_METHODS.has(request.method),
        csrfToken: headerValue(request.headers["x-csrf-token"]),
      }),
  });
  registerErrorHandling(app, (path) => router.allowedMethods(path));

  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
  });
  app.addHook("onRequest", async (request, reply) => {
    reply.header("x-request-id", request.id);
  });
  // While shutting down, every answer ends its connection, so no keep-alive client holds it up.
  app.addHook("onSend", async (_request, reply) => {
    if (closing) reply.header("connection", "close");
  });
  app.addHook("onResponse", async (request, reply) => {
    const route = request.routeOptions.url ?? "unmatched";
    metrics.observeRequest(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    request.log.info(
      {
        method: request.method,
        route,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 100) / 100,
        user: router.principalOf(request)?.username,
      },
      "request",
    );
  });

  registerSecretRoutes(
    router,
    createSecretsService({
      store,
      defaultPermission: options.defaultPermission,
      usersCanCreate: options.usersCanCreate,
    }),
  );
  registerUserRoutes(router, createUsersService({ database, dialect: store.dialect, hasher }));
  registerTokenRoutes(router, createTokensService({ database }));
  registerPermissionRoutes(
    router,
    createPermissionsService({
      store,
      dialect: store.dialect,
      defaultPermission: options.defaultPermission,
    }),
  );
  registerAuditRoutes(router, createAuditService({ database }));
  registerCryptoRoutes(router, store);
  registerSystemRoutes(router, store, metrics);
  if (sessions) {
    registerSessionRoutes(router, {
      authenticator,
      sessions,
      staticPrefix: options.staticPrefix,
      defaultPermission: options.defaultPermission,
      usersCanCreate: options.usersCanCreate,
    });
  }
  if (options.console) {
    const { built } = registerConsole(app, {
      staticPrefix: options.staticPrefix,
      dir: params.consoleDir ?? DEFAULT_CONSOLE_DIR,
    });
    if (!built) app.log.warn("The web console has not been built (npm run build): it answers 404");
  }

  await app.ready();
  return app;
}
