/**
 * Console sessions through fastify's inject(): signing in (password or token, through the same
 * checks, throttling and audit rows as Basic and Bearer), the cookie's attributes, the CSRF
 * token, signing out, idle and absolute expiry, and everything else that ends a session.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { readServerEnvSettings } from "../../src/config.js";
import { resolveServerOptions } from "../../src/index.js";
import { DIALECTS } from "../helpers/databases.js";
import {
  ADMIN,
  ADMIN_AUTH,
  SECRETS,
  auditRows,
  basic,
  withServer,
  type TestServer,
} from "../helpers/server.js";

const SESSION = "/api/3.0/mlflow-secrets/session";
const TOKENS = "/api/3.0/mlflow-secrets/tokens";
const COOKIE = /^mlflow_secrets_session=([A-Za-z0-9_-]{43}); Path=\/; HttpOnly; SameSite=Strict$/;

interface SessionView {
  user: { username: string; is_admin: boolean };
  csrf_token: string;
  expires_at: number;
  idle_timeout_ms: number;
  default_permission: string;
  can_create_secrets: boolean;
}

/** Signs in and returns the session's cookie header and CSRF token. */
async function signIn(
  call: TestServer["call"],
  body: Record<string, string> = { username: ADMIN.username, password: ADMIN.password },
  headers: Record<string, string> = {},
): Promise<{ cookie: string; csrf: string; sessionId: string; view: SessionView }> {
  const reply = await call<{ session: SessionView }>("POST", `${SESSION}/create`, {
    body,
    headers,
  });
  assert.equal(reply.status, 200, reply.text);
  const setCookie = String(reply.headers["set-cookie"]);
  const sessionId = COOKIE.exec(setCookie)?.[1];
  assert.ok(sessionId, setCookie);
  return {
    cookie: `mlflow_secrets_session=${sessionId}`,
    csrf: reply.body.session.csrf_token,
    sessionId,
    view: reply.body.session,
  };
}

async function sessionRows(server: TestServer) {
  return server.db.query<Record<string, unknown>>("SELECT * FROM mlflow_secrets_sessions");
}

describe("session settings", () => {
  it("reads the idle timeout and lifetime (seconds) from the environment, and checks them", () => {
    const settings = readServerEnvSettings({
      MLFLOW_SECRETS_SESSION_IDLE_TIMEOUT: "600",
      MLFLOW_SECRETS_SESSION_LIFETIME: "28800",
    });
    assert.equal(settings.sessionIdleTimeoutMs, 600_000);
    assert.equal(settings.sessionLifetimeMs, 28_800_000);
    const options = resolveServerOptions({
      sessionIdleTimeoutMs: settings.sessionIdleTimeoutMs,
      sessionLifetimeMs: settings.sessionLifetimeMs,
    });
    assert.equal(options.sessionIdleTimeoutMs, 600_000);
    assert.equal(resolveServerOptions().sessionIdleTimeoutMs, 30 * 60_000);
    assert.equal(resolveServerOptions().sessionLifetimeMs, 12 * 3_600_000);
    assert.throws(
      () => readServerEnvSettings({ MLFLOW_SECRETS_SESSION_LIFETIME: "a day" }),
      /MLFLOW_SECRETS_SESSION_LIFETIME must be an integer/,
    );
    assert.throws(
      () => resolveServerOptions({ sessionIdleTimeoutMs: 7_200_000, sessionLifetimeMs: 3_600_000 }),
      /sessionIdleTimeoutMs must be an integer between 1000 and 3600000/,
    );
  });
});

for (const dialect of DIALECTS) {
  describe(`console sessions on ${dialect.name}`, () => {
    it("signs in with a password: an HttpOnly, SameSite=Strict cookie; only its hash is stored", () =>
      withServer(dialect, async (server) => {
        const { call } = server;
        const before = Date.now();
        const { cookie, csrf, sessionId, view } = await signIn(call);
        assert.deepEqual(view.user, { username: "admin", is_admin: true });
        assert.equal(view.idle_timeout_ms, 30 * 60_000);
        assert.equal(view.default_permission, "READ");
        assert.equal(view.can_create_secrets, true);
        assert.ok(
          view.expires_at >= before + 12 * 3_600_000 &&
            view.expires_at <= Date.now() + 12 * 3_600_000,
        );
        assert.match(csrf, /^[A-Za-z0-9_-]{43}$/);
        assert.notEqual(csrf, sessionId);

        const rows = await sessionRows(server);
        assert.equal(rows.length, 1);
        assert.equal(rows[0]!.session_hash, createHash("sha256").update(sessionId).digest("hex"));
        assert.ok(
          !JSON.stringify(rows).includes(sessionId) && !JSON.stringify(rows).includes(csrf),
          "neither the session id nor the CSRF token is stored",
        );

        const listed = await call("GET", `${SECRETS}/list`, { headers: { cookie } });
        assert.equal(listed.status, 200, "the cookie authenticates");
        assert.equal(listed.headers["cache-control"], "no-store");
        const current = await call<{ session: SessionView }>("GET", `${SESSION}/get`, {
          headers: { cookie },
        });
        assert.equal(current.body.session.csrf_token, csrf);
        assert.equal(current.headers["cache-control"], "no-store");
        const anonymous = await call("GET", `${SESSION}/get`);
        assert.deepEqual(anonymous.body, {}, "no session: an empty answer, not an error");

        const audit = await auditRows(server.db, "action = 'session.create'");
        assert.deepEqual(
          audit.map((r) => [r.username, r.outcome, r.details]),
          [["admin", "success", '{"via":"password"}']],
        );
        const logs = server.logs.join("\n");
        for (const secret of [ADMIN.password, sessionId, csrf]) {
          assert.ok(!logs.includes(secret), "never logged");
        }
      }));

    it("marks the cookie Secure over TLS, and scopes it to the static prefix", async () => {
      await withServer(dialect, async ({ call }) => {
        const reply = await call("POST", `${SESSION}/create`, {
          body: { username: ADMIN.username, password: ADMIN.password },
          headers: { "x-forwarded-proto": "https" },
        });
        assert.match(String(reply.headers["set-cookie"]), /; HttpOnly; Secure; SameSite=Strict$/);
      });
      await withServer(
        dialect,
        async ({ call }) => {
          const reply = await call("POST", `/mlflow${SESSION}/create`, {
            body: { username: ADMIN.username, password: ADMIN.password },
          });
          assert.match(String(reply.headers["set-cookie"]), /; Path=\/mlflow\/; HttpOnly;/);
        },
        { staticPrefix: "/mlflow" },
      );
    });

    it("needs the CSRF token for state-changing calls made with the cookie", () =>
      withServer(dialect, async (server) => {
        const { call } = server;
        const { cookie, csrf } = await signIn(call);
        const create = (headers: Record<string, string>) =>
          call<{ error_code: string; message: string }>("POST", `${TOKENS}/create`, {
            body: { name: "ci" },
            headers: { cookie, ...headers },
          });
        const missing = await create({});
        assert.equal(missing.status, 403);
        assert.equal(missing.body.error_code, "PERMISSION_DENIED");
        assert.match(missing.body.message, /CSRF/);
        assert.equal((await create({ "x-csrf-token": "A".repeat(43) })).status, 403);
        assert.equal((await create({ "x-csrf-token": csrf.slice(1) })).status, 403);
        // Another session's token does not fit this one.
        const other = await signIn(call);
        assert.equal((await create({ "x-csrf-token": other.csrf })).status, 403);
        const listed = await call<{ tokens: unknown[] }>("GET", `${TOKENS}/list`, {
          headers: { cookie },
        });
        assert.deepEqual(listed.body.tokens, [], "nothing was created");
        assert.equal((await create({ "x-csrf-token": csrf })).status, 200);
        // Basic (not ambient in the console) needs no CSRF token, cookie or not.
        const withBasic = await call("POST", `${TOKENS}/create`, {
          auth: ADMIN_AUTH,
          body: { name: "basic" },
          headers: { cookie },
        });
        assert.equal(withBasic.status, 200);
      }));

    it("signs in through the same checks, throttling and audit rows as Basic auth", () =>
      withServer(
        dialect,
        async (server) => {
          const { call, user } = server;
          await user("alice");
          const wrong = await call<{ error_code: string; message: string }>(
            "POST",
            `${SESSION}/create`,
            { body: { username: "alice", password: "not-her-password" } },
          );
          assert.equal(wrong.status, 401);
          assert.equal(wrong.body.message, "Invalid username or password");
          assert.equal(wrong.headers["set-cookie"], undefined);
          const unknown = await call("POST", `${SESSION}/create`, {
            body: { username: "nobody", password: "whatever-password" },
          });
          assert.equal(unknown.status, 401);
          const badToken = await call("POST", `${SESSION}/create`, {
            body: { token: "mls_not-a-token" },
          });
          assert.equal(badToken.status, 401);
          const failed = await auditRows(server.db, "action = 'login.failed'");
          assert.deepEqual(
            failed.map((r) => [r.username, (JSON.parse(r.details!) as { reason: string }).reason]),
            [
              ["alice", "bad_password"],
              ["nobody", "unknown_user"],
              [null, "bad_token"],
            ],
          );
          // A third failure for alice over Basic: the shared count throttles both ways in.
          await call("GET", `${SECRETS}/list`, { auth: basic("alice", "still-not-hers-1") });
          await call("POST", `${SESSION}/create`, {
            body: { username: "alice", password: "not-her-password-2" },
          });
          for (const attempt of [
            () =>
              call("POST", `${SESSION}/create`, {
                body: { username: "alice", password: "alice-password-01" },
              }),
            () => call("GET", `${SECRETS}/list`, { auth: basic("alice", "alice-password-01") }),
          ]) {
            const throttled = await attempt();
            assert.equal(throttled.status, 429, throttled.text);
            assert.ok(Number(throttled.headers["retry-after"]) >= 1);
          }
          const missing = await call<{ message: string }>("POST", `${SESSION}/create`, {
            body: { username: "alice" },
          });
          assert.equal(missing.status, 400);
          assert.equal(missing.body.message, "Missing value for required parameter 'password'.");
        },
        { loginThrottle: { maxFailures: 3, windowMs: 60_000 } },
      ));

    it("signs in with an API token; revoking the token ends the session", () =>
      withServer(dialect, async (server) => {
        const { call, user } = server;
        const alice = await user("alice");
        const created = await call<{ token_id: string; token: string }>(
          "POST",
          `${TOKENS}/create`,
          { auth: alice, body: { name: "console" } },
        );
        const { cookie, view } = await signIn(call, { token: created.body.token });
        assert.deepEqual(view.user, { username: "alice", is_admin: false });
        assert.equal(view.can_create_secrets, false);
        assert.equal((await call("GET", `${SECRETS}/list`, { headers: { cookie } })).status, 200);
        const audit = await auditRows(server.db, "action = 'session.create'");
        assert.equal(audit[0]!.details, '{"via":"token"}');
        await call("DELETE", `${TOKENS}/revoke`, {
          auth: alice,
          body: { token_id: created.body.token_id },
        });
        assert.equal((await call("GET", `${SECRETS}/list`, { headers: { cookie } })).status, 401);
        assert.equal((await sessionRows(server)).length, 0);
      }));

    it("signing out deletes the session: the old cookie no longer works anywhere", () =>
      withServer(dialect, async (server) => {
        const { call } = server;
        const { cookie, csrf } = await signIn(call);
        const refused = await call("DELETE", `${SESSION}/delete`, { headers: { cookie } });
        assert.equal(refused.status, 403, "signing out needs the CSRF token too");
        assert.equal((await sessionRows(server)).length, 1);

        const out = await call("DELETE", `${SESSION}/delete`, {
          headers: { cookie, "x-csrf-token": csrf },
        });
        assert.equal(out.status, 200);
        assert.match(
          String(out.headers["set-cookie"]),
          /^mlflow_secrets_session=; Max-Age=0; Path=\/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Strict$/,
        );
        assert.equal((await sessionRows(server)).length, 0);
        const after = await call("GET", `${SECRETS}/list`, { headers: { cookie } });
        assert.equal(after.status, 401);
        assert.match(String(after.headers["www-authenticate"]), /^Basic /);
        const stale = await call("GET", `${SESSION}/get`, { headers: { cookie } });
        assert.deepEqual(stale.body, {});
        assert.match(
          String(stale.headers["set-cookie"]),
          /Max-Age=0/,
          "the stale cookie is cleared",
        );
        const audit = await auditRows(server.db, "action LIKE 'session.%'");
        assert.deepEqual(
          audit.map((r) => [r.action, r.username]),
          [
            ["session.create", "admin"],
            ["session.delete", "admin"],
          ],
        );
      }));

    it("ends a session after its idle timeout and at its absolute lifetime", () =>
      withServer(
        dialect,
        async (server) => {
          const { call } = server;
          const list = (cookie: string) => call("GET", `${SECRETS}/list`, { headers: { cookie } });
          const lastSeen = async () => Number((await sessionRows(server))[0]!.last_seen_at);

          // Idle: moved back past the timeout (as if a minute had passed without a request).
          const idle = await signIn(call);
          await server.db.query("UPDATE mlflow_secrets_sessions SET last_seen_at = ?", [
            Date.now() - 60_001,
          ]);
          assert.equal((await list(idle.cookie)).status, 401);
          assert.equal((await sessionRows(server)).length, 0, "the ended session is deleted");

          // In use: each request (at most every quarter of the timeout) moves the idle clock on.
          const busy = await signIn(call);
          const longAgo = Date.now() - 20_000;
          await server.db.query("UPDATE mlflow_secrets_sessions SET last_seen_at = ?", [longAgo]);
          assert.equal((await list(busy.cookie)).status, 200);
          const touched = await lastSeen();
          assert.ok(touched > longAgo + 19_000, "moved on");
          assert.equal((await list(busy.cookie)).status, 200);
          assert.equal(await lastSeen(), touched, "not written again within 15 s");

          // Absolute: however busy, it ends at its lifetime.
          await server.db.query("UPDATE mlflow_secrets_sessions SET expires_at = ?", [
            Date.now() - 1,
          ]);
          assert.equal((await list(busy.cookie)).status, 401);
          assert.equal((await sessionRows(server)).length, 0);
        },
        { sessionIdleTimeoutMs: 60_000, sessionLifetimeMs: 3_600_000 },
      ));

    it("ends a user's sessions when their password changes or they are deleted", () =>
      withServer(dialect, async (server) => {
        const { call, user } = server;
        await user("alice");
        await user("bob");
        const alice = await signIn(call, { username: "alice", password: "alice-password-01" });
        const bob = await signIn(call, { username: "bob", password: "bob-password-01" });
        await call("PATCH", "/api/2.0/mlflow/users/update-password", {
          auth: ADMIN_AUTH,
          body: { username: "alice", password: "alice-new-password-1" },
        });
        assert.equal(
          (await call("GET", `${SECRETS}/list`, { headers: { cookie: alice.cookie } })).status,
          401,
        );
        assert.equal(
          (await call("GET", `${SECRETS}/list`, { headers: { cookie: bob.cookie } })).status,
          200,
        );
        // Admin rights follow the user's row, not the sign-in.
        await call("PATCH", "/api/2.0/mlflow/users/update-admin", {
          auth: ADMIN_AUTH,
          body: { username: "bob", is_admin: true },
        });
        const audit = await call("GET", "/api/3.0/mlflow-secrets/audit/list", {
          headers: { cookie: bob.cookie },
        });
        assert.equal(audit.status, 200, "bob is an admin now");
        await call("DELETE", "/api/2.0/mlflow/users/delete", {
          auth: ADMIN_AUTH,
          body: { username: "bob" },
        });
        assert.equal(
          (await call("GET", `${SECRETS}/list`, { headers: { cookie: bob.cookie } })).status,
          401,
        );
        assert.equal((await sessionRows(server)).length, 0);
      }));

    it("refuses a sign-in from another origin", () =>
      withServer(dialect, async ({ call }) => {
        const body = { username: ADMIN.username, password: ADMIN.password };
        const refused: Record<string, string>[] = [
          { "sec-fetch-site": "cross-site" },
          { "sec-fetch-site": "same-site" },
          { origin: "http://evil.example" },
          { origin: "null" },
        ];
        for (const headers of refused) {
          const reply = await call("POST", `${SESSION}/create`, { body, headers });
          assert.equal(reply.status, 403, JSON.stringify(headers));
          assert.equal(reply.headers["set-cookie"], undefined);
        }
        const accepted: Record<string, string>[] = [
          { "sec-fetch-site": "same-origin" },
          { origin: "http://localhost:80", host: "localhost:80" },
          { origin: "https://vault.example", "x-forwarded-host": "vault.example" },
          {},
        ];
        for (const headers of accepted) {
          const reply = await call("POST", `${SESSION}/create`, { body, headers });
          assert.equal(reply.status, 200, JSON.stringify(headers));
        }
        // A form post (not JSON) never gets as far as the password check.
        const form = await call("POST", `${SESSION}/create`, {
          raw: `username=admin&password=${ADMIN.password}`,
          headers: { "content-type": "application/x-www-form-urlencoded" },
        });
        assert.equal(form.status, 400);
      }));

    it("has no sessions with --no-console: no endpoints, and the cookie is not looked at", () =>
      withServer(
        dialect,
        async ({ call }) => {
          const reply = await call("POST", `${SESSION}/create`, {
            body: { username: ADMIN.username, password: ADMIN.password },
          });
          assert.equal(reply.status, 404);
          const listed = await call("GET", `${SECRETS}/list`, {
            headers: { cookie: `mlflow_secrets_session=${"a".repeat(43)}` },
          });
          assert.equal(listed.status, 401);
        },
        { console: false },
      ));
  });
}
