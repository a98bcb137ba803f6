/**
 * The server's options, validated once and frozen (fastify's lesson). Nothing here reads the
 * environment: the CLI passes `readServerEnvSettings()` from config.ts in.
 */
import { invalidParameter } from "../errors.js";
import type { PermissionName } from "../domain/permissions/model.js";
import { DEFAULT_SCRYPT_COST, type ScryptCost } from "../domain/users/passwords.js";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ServerOptions {
  readonly host: string;
  readonly port: number;
  /** `""` or a path such as `/mlflow` that every route is served under. */
  readonly staticPrefix: string;
  /** Serve the web console at `<prefix>/console/` (and redirect `<prefix>/` there). */
  readonly console: boolean;
  readonly logLevel: LogLevel;
  /** Processes sharing the port (node:cluster); 1 = this process only. */
  readonly workers: number;
  readonly bodyLimitBytes: number;
  /** Time to receive a whole request, and to answer it. */
  readonly requestTimeoutMs: number;
  /** How long SIGTERM/SIGINT waits for in-flight requests. */
  readonly shutdownTimeoutMs: number;
  readonly adminUsername: string;
  /** undefined: a strong password is generated at first start and printed once. */
  readonly adminPassword: string | undefined;
  readonly defaultPermission: PermissionName;
  readonly usersCanCreate: boolean;
  readonly authCacheTtlMs: number;
  readonly loginThrottle: Readonly<{ maxFailures: number; windowMs: number }>;
  /** A console session ends after this long without a request… */
  readonly sessionIdleTimeoutMs: number;
  /** …and at the latest this long after signing in. */
  readonly sessionLifetimeMs: number;
  /** Cost of new password hashes (tests use a cheap one; production keeps the default). */
  readonly passwordHashCost: Readonly<ScryptCost>;
}

export type ServerOptionsInput = Partial<ServerOptions>;

export const DEFAULT_SERVER_OPTIONS: ServerOptions = Object.freeze({
  host: "127.0.0.1",
  port: 5050,
  staticPrefix: "",
  console: true,
  logLevel: "info",
  workers: 1,
  bodyLimitBytes: 1024 * 1024,
  requestTimeoutMs: 30_000,
  shutdownTimeoutMs: 10_000,
  adminUsername: "admin",
  adminPassword: undefined,
  defaultPermission: "READ",
  usersCanCreate: false,
  authCacheTtlMs: 60_000,
  loginThrottle: Object.freeze({ maxFailures: 10, windowMs: 60_000 }),
  sessionIdleTimeoutMs: 30 * 60_000,
  sessionLifetimeMs: 12 * 3_600_000,
  passwordHashCost: DEFAULT_SCRYPT_COST,
});

function integer(value: number, name: string, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalidParameter(`${name} must be an integer between ${min} and ${max}, got ${value}`);
  }
  return value;
}

/** `/p`, `p/` or `/p/` → `/p`; empty → `""`. */
function normaliseStaticPrefix(prefix: string): string {
  const trimmed = prefix.trim().replace(/^\/+|\/+$/g, "");
  if (trimmed === "") return "";
  if (!/^[A-Za-z0-9._~\-/]+$/.test(trimmed) || trimmed.includes("//")) {
    throw invalidParameter(
      `--static-prefix must be a URL path such as /mlflow, got '${prefix.slice(0, 64)}'`,
    );
  }
  return `/${trimmed}`;
}

/**
 * Options with defaults applied, validated and frozen.
 *
 * @example
 * ```ts
 * const options = resolveServerOptions({ port: 8080, ...readServerEnvSettings() });
 * ```
 */
export function resolveServerOptions(input: ServerOptionsInput = {}): ServerOptions {
  const defined = Object.fromEntries(
    Object.entries(input).filter(([, value]) => value !== undefined),
  ) as ServerOptionsInput;
  const options = { ...DEFAULT_SERVER_OPTIONS, ...defined };
  if (!LOG_LEVELS.includes(options.logLevel)) {
    throw invalidParameter(
      `--log-level must be one of ${LOG_LEVELS.join(", ")}, got '${String(options.logLevel)}'`,
    );
  }
  if (typeof options.host !== "string" || options.host === "") {
    throw invalidParameter("--host must not be empty");
  }
  return Object.freeze({
    ...options,
    port: integer(options.port, "--port", 0, 65535),
    workers: integer(options.workers, "--workers", 1, 64),
    staticPrefix: normaliseStaticPrefix(options.staticPrefix),
    bodyLimitBytes: integer(options.bodyLimitBytes, "bodyLimitBytes", 1024, 64 * 1024 * 1024),
    requestTimeoutMs: integer(options.requestTimeoutMs, "requestTimeoutMs", 100, 3_600_000),
    shutdownTimeoutMs: integer(options.shutdownTimeoutMs, "shutdownTimeoutMs", 0, 600_000),
    authCacheTtlMs: integer(options.authCacheTtlMs, "authCacheTtlMs", 0, 60_000),
    sessionIdleTimeoutMs: integer(
      options.sessionIdleTimeoutMs,
      "sessionIdleTimeoutMs",
      1_000,
      Math.min(options.sessionLifetimeMs, 7 * 86_400_000),
    ),
    sessionLifetimeMs: integer(
      options.sessionLifetimeMs,
      "sessionLifetimeMs",
      1_000,
      30 * 86_400_000,
    ),
    loginThrottle: Object.freeze({ ...options.loginThrottle }),
    passwordHashCost: Object.freeze({ ...options.passwordHashCost }),
  });
}

/** True for addresses only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || /^127\./.test(h) || h === "::ffff:127.0.0.1";
}
