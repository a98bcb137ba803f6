/**
 * A server on a fresh database of one dialect, driven with fastify's `inject()`: every log line
 * is collected, passwords hash with a cheap scrypt cost, and everything is closed and dropped
 * afterwards.
 */
import type { FastifyInstance } from "fastify";
import {
  createServer,
  openSecretStore,
  resolveServerOptions,
  type SecretStore,
  type ServerOptionsInput,
} from "../../src/index.js";
import type { DialectUnderTest, TestDatabase } from "./databases.js";
import { testKeyring } from "./store.js";

/** scrypt N = 2^4: fast enough for hundreds of logins per test. */
export const TEST_HASH_COST = { logN: 4, r: 8, p: 1 } as const;
export const ADMIN = { username: "admin", password: "admin-password-0001" } as const;

export function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, "utf8").toString("base64")}`;
}

export const ADMIN_AUTH = basic(ADMIN.username, ADMIN.password);

export interface Reply<T = unknown> {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  text: string;
  body: T;
}

interface RequestOptions {
  auth?: string | undefined;
  body?: unknown;
  /** Raw payload (a string or bytes) instead of JSON. */
  raw?: string | Buffer;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  /** The client's address (default 127.0.0.1). */
  remoteAddress?: string;
}

export interface TestServer {
  app: FastifyInstance;
  store: SecretStore;
  db: TestDatabase;
  /** Every log line written so far. */
  logs: string[];
  /** Generated first-admin passwords announced (normally none: the tests set one). */
  announced: string[];
  call: <T = Record<string, unknown>>(
    method: string,
    url: string,
    options?: RequestOptions,
  ) => Promise<Reply<T>>;
  /** Creates a (non-admin unless asked) user through the API and returns its Basic header. */
  user: (username: string, options?: { admin?: boolean; password?: string }) => Promise<string>;
  /** Creates a secret as `auth` (default the admin) and returns its id. */
  secret: (name: string, value?: Record<string, string>, auth?: string) => Promise<string>;
}

export const SECRETS = "/api/3.0/mlflow/gateway/secrets";

export async function withServer(
  dialect: DialectUnderTest,
  fn: (server: TestServer) => Promise<void>,
  options: ServerOptionsInput = {},
  params: { consoleDir?: string } = {},
): Promise<void> {
  const db = await dialect.create();
  const logs: string[] = [];
  const announced: string[] = [];
  try {
    const store = await openSecretStore({ uri: db.uri, keyring: await testKeyring() });
    try {
      const app = await createServer({
        store,
        options: resolveServerOptions({
          adminPassword: ADMIN.password,
          passwordHashCost: TEST_HASH_COST,
          logLevel: "info",
          ...options,
        }),
        logStream: { write: (line: string) => logs.push(line) },
        announceAdminPassword: (_username, password) => announced.push(password),
        ...(params.consoleDir !== undefined ? { consoleDir: params.consoleDir } : {}),
      });
      try {
        const call: TestServer["call"] = async (method, url, request = {}) => {
          const headers: Record<string, string> = { ...request.headers };
          if (request.auth !== undefined) headers.authorization = request.auth;
          let payload: string | Buffer | undefined;
          if (request.raw !== undefined) {
            payload = request.raw;
          } else if (request.body !== undefined) {
            payload = JSON.stringify(request.body);
            headers["content-type"] ??= "application/json";
          }
          const response = await app.inject({
            method: method as "GET",
            url,
            headers,
            ...(request.query ? { query: request.query } : {}),
            ...(request.remoteAddress ? { remoteAddress: request.remoteAddress } : {}),
            ...(payload !== undefined ? { payload } : {}),
          });
          let body: unknown = undefined;
          try {
            body = JSON.parse(response.body);
          } catch {
            body = undefined;
          }
          return {
            status: response.statusCode,
            headers: response.headers,
            text: response.body,
            body: body as never,
          };
        };
        const server: TestServer = {
          app,
          store,
          db,
          logs,
          announced,
          call,
          async user(username, opts = {}) {
            const password = opts.password ?? `${username}-password-01`;
            const created = await call("POST", "/api/2.0/mlflow/users/create", {
              auth: ADMIN_AUTH,
              body: { username, password },
            });
            if (created.status !== 200) throw new Error(`user ${username}: ${created.text}`);
            if (opts.admin) {
              await call("PATCH", "/api/2.0/mlflow/users/update-admin", {
                auth: ADMIN_AUTH,
                body: { username, is_admin: true },
              });
            }
            return basic(username, password);
          },
          async secret(
            name,
            value = { api_key: `sk-${name}-0123456789abcdef` },
            auth = ADMIN_AUTH,
          ) {
            const created = await call<{ secret: { secret_id: string } }>(
              "POST",
              `${SECRETS}/create`,
              { auth, body: { secret_name: name, secret_value: value, provider: "openai" } },
            );
            if (created.status !== 200) throw new Error(`secret ${name}: ${created.text}`);
            return created.body.secret.secret_id;
          },
        };
        await fn(server);
      } finally {
        await app.close();
      }
    } finally {
      await store.close();
    }
  } finally {
    await db.drop();
  }
}

/** Audit rows straight from the table (oldest first). */
export async function auditRows(
  db: TestDatabase,
  where = "1 = 1",
  params: unknown[] = [],
): Promise<
  {
    event_id: string;
    action: string;
    outcome: string;
    username: string | null;
    secret_id: string | null;
    secret_name: string | null;
    details: string | null;
  }[]
> {
  return db.query(
    `SELECT event_id, action, outcome, username, secret_id, secret_name, details FROM mlflow_secrets_audit_log WHERE ${where} ORDER BY event_time, event_id`,
    params,
  );
}
