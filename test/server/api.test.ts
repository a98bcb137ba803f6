/** Wire compatibility: MLflow's gateway-secrets REST API, on both prefixes, on every dialect. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { VERSION } from "../../src/version.js";
import { DIALECTS, SKIPPED_DIALECTS } from "../helpers/databases.js";
import { ADMIN_AUTH, SECRETS, withServer, type Reply } from "../helpers/server.js";

interface SecretBody {
  secret: Record<string, unknown> & { secret_id: string; masked_values: Record<string, string> };
}
interface ErrorBody {
  error_code: string;
  message: string;
}

function expectError(reply: Reply, status: number, code: string, message?: string | RegExp): void {
  assert.equal(reply.status, status, reply.text);
  const body = reply.body as ErrorBody;
  assert.deepEqual(Object.keys(body).sort(), ["error_code", "message"]);
  assert.equal(body.error_code, code);
  if (typeof message === "string") assert.equal(body.message, message);
  else if (message) assert.match(body.message, message);
}

const SECRET_INFO_KEYS = [
  "auth_config",
  "auth_config_json",
  "created_at",
  "created_by",
  "last_updated_at",
  "last_updated_by",
  "masked_values",
  "provider",
  "secret_id",
  "secret_name",
  "workspace",
];

if (SKIPPED_DIALECTS.length > 0) {
  it(
    `server suite skips ${SKIPPED_DIALECTS.join(", ")}`,
    { skip: "database not configured" },
    () => {},
  );
}

for (const dialect of DIALECTS) {
  describe(`REST API on ${dialect.name}`, () => {
    it("serves create, get, update, value, list and delete on /api/3.0 and /ajax-api/3.0 in MLflow's shapes", () =>
      withServer(dialect, async ({ call }) => {
        for (const prefix of ["/api/3.0", "/ajax-api/3.0"]) {
          const base = `${prefix}/mlflow/gateway/secrets`;
          const name = `openai-${prefix.length}`;
          // What MLflow's Python REST client sends: a value map and auth_config_json; created_by is ignored.
          const created = await call<SecretBody>("POST", `${base}/create`, {
            auth: ADMIN_AUTH,
            body: {
              secret_name: name,
              secret_value: { api_key: "sk-proj-0123456789abcdef" },
              provider: "openai",
              auth_config_json: '{"api_base": "https://api.openai.com/v1"}',
              created_by: "someone-else",
            },
          });
          assert.equal(created.status, 200, created.text);
          const secret = created.body.secret;
          assert.deepEqual(Object.keys(created.body), ["secret"]);
          assert.deepEqual(Object.keys(secret).sort(), SECRET_INFO_KEYS);
          assert.match(secret.secret_id, /^s-[0-9a-f]{32}$/);
          assert.equal(secret.secret_name, name);
          assert.deepEqual(secret.masked_values, { api_key: "sk-...cdef" });
          assert.deepEqual(secret.auth_config, { api_base: "https://api.openai.com/v1" });
          assert.equal(secret.auth_config_json, '{"api_base":"https://api.openai.com/v1"}');
          assert.equal(secret.created_by, "admin");
          assert.equal(secret.last_updated_by, "admin");
          assert.equal(secret.workspace, "default");
          assert.ok(
            Number.isInteger(secret.created_at) && Number.isInteger(secret.last_updated_at),
          );
          assert.ok(!created.text.includes("0123456789abcdef"));
          const id = secret.secret_id;

          const byId = await call<SecretBody>("GET", `${base}/get`, {
            auth: ADMIN_AUTH,
            query: { secret_id: id },
          });
          assert.deepEqual(byId.body, created.body);
          const byName = await call<SecretBody>("GET", `${base}/get`, {
            auth: ADMIN_AUTH,
            query: { secret_name: name },
          });
          assert.deepEqual(byName.body, created.body);

          // The UI's shape: POST with an auth_config object; `secret_value: {}` = no new value.
          const updated = await call<SecretBody>("POST", `${base}/update`, {
            auth: ADMIN_AUTH,
            body: {
              secret_id: id,
              secret_value: {},
              auth_config: { api_version: "2024-02-01" },
              updated_by: "x",
            },
          });
          assert.equal(updated.status, 200, updated.text);
          assert.deepEqual(updated.body.secret.masked_values, { api_key: "sk-...cdef" });
          assert.deepEqual(updated.body.secret.auth_config, { api_version: "2024-02-01" });
          assert.equal(updated.body.secret.last_updated_by, "admin");

          // PATCH too; a new value; `auth_config: {}` clears it (absent fields are omitted).
          const patched = await call<SecretBody>("PATCH", `${base}/update`, {
            auth: ADMIN_AUTH,
            body: {
              secret_id: id,
              secret_value: { api_key: "sk-new-key-99998888" },
              auth_config: {},
            },
          });
          assert.equal(patched.status, 200, patched.text);
          assert.deepEqual(patched.body.secret.masked_values, { api_key: "sk-...8888" });
          assert.equal(patched.body.secret.auth_config, undefined);
          assert.equal(patched.body.secret.auth_config_json, undefined);

          const value = await call("POST", `${base}/value`, {
            auth: ADMIN_AUTH,
            body: { secret_id: id },
          });
          assert.equal(value.status, 200, value.text);
          assert.deepEqual(value.body, {
            secret_id: id,
            secret_value: { api_key: "sk-new-key-99998888" },
          });

          const listed = await call<{ secrets: { secret_id: string }[] }>("GET", `${base}/list`, {
            auth: ADMIN_AUTH,
            query: { provider: "openai" },
          });
          assert.equal(listed.status, 200);
          assert.deepEqual(Object.keys(listed.body), ["secrets"]);
          assert.ok(listed.body.secrets.some((s) => s.secret_id === id));
          const none = await call<{ secrets: unknown[] }>("GET", `${base}/list`, {
            auth: ADMIN_AUTH,
            query: { provider: "anthropic" },
          });
          assert.deepEqual(none.body, { secrets: [] });

          const deleted = await call("DELETE", `${base}/delete`, {
            auth: ADMIN_AUTH,
            body: { secret_id: id },
          });
          assert.equal(deleted.status, 200, deleted.text);
          assert.deepEqual(deleted.body, {});
          expectError(
            await call("GET", `${base}/get`, { auth: ADMIN_AUTH, query: { secret_id: id } }),
            404,
            "RESOURCE_DOES_NOT_EXIST",
            `Secret with ID '${id}' not found`,
          );
        }
        // Delete also takes the id from the query string.
        const other = await call<SecretBody>("POST", `${SECRETS}/create`, {
          auth: ADMIN_AUTH,
          body: { secret_name: "by-query", secret_value: { api_key: "sk-abcdefgh" } },
        });
        const byQuery = await call("DELETE", `${SECRETS}/delete`, {
          auth: ADMIN_AUTH,
          query: { secret_id: other.body.secret.secret_id },
        });
        assert.equal(byQuery.status, 200, byQuery.text);
      }));

    it("answers errors as {error_code, message} with MLflow's statuses and field names", () =>
      withServer(dialect, async ({ call, secret }) => {
        const create = (body: unknown) =>
          call("POST", `${SECRETS}/create`, { auth: ADMIN_AUTH, body });
        expectError(
          await create({}),
          400,
          "INVALID_PARAMETER_VALUE",
          "Missing value for required parameter 'secret_name'.",
        );
        expectError(
          await create({ secret_name: "", secret_value: { a: "b" } }),
          400,
          "INVALID_PARAMETER_VALUE",
          "Missing value for required parameter 'secret_name'.",
        );
        expectError(
          await create({ secret_name: "x" }),
          400,
          "INVALID_PARAMETER_VALUE",
          "Missing value for required parameter 'secret_value'.",
        );
        expectError(
          await create({ secret_name: 7, secret_value: { a: "b" } }),
          400,
          "INVALID_PARAMETER_VALUE",
          /'secret_name'/,
        );
        expectError(
          await create({ secret_name: "x", secret_value: { a: 1 } }),
          400,
          "INVALID_PARAMETER_VALUE",
          /'secret_value\.a'/,
        );
        expectError(
          await create({ secret_name: "x", secret_value: { a: "b" }, auth_config_json: "[1]" }),
          400,
          "INVALID_PARAMETER_VALUE",
          /auth_config_json/,
        );
        expectError(
          await create({
            secret_name: "x",
            secret_value: { a: "b" },
            auth_config: { a: 1 },
            auth_config_json: '{"a": 2}',
          }),
          400,
          "INVALID_PARAMETER_VALUE",
          "Give only one of auth_config and auth_config_json",
        );
        await secret("taken");
        expectError(
          await create({ secret_name: "taken", secret_value: { a: "b" } }),
          400,
          "RESOURCE_ALREADY_EXISTS",
          "Secret with name 'taken' already exists",
        );
        expectError(
          await call("GET", `${SECRETS}/get`, { auth: ADMIN_AUTH }),
          400,
          "INVALID_PARAMETER_VALUE",
          "Exactly one of secret_id or secret_name must be provided",
        );
        expectError(
          await call("GET", `${SECRETS}/get`, { auth: ADMIN_AUTH, query: { secret_name: "nope" } }),
          404,
          "RESOURCE_DOES_NOT_EXIST",
        );
        expectError(
          await call("POST", `${SECRETS}/value`, {
            auth: ADMIN_AUTH,
            body: { secret_id: "s-missing" },
          }),
          404,
          "RESOURCE_DOES_NOT_EXIST",
        );
        expectError(
          await call("DELETE", `${SECRETS}/delete`, { auth: ADMIN_AUTH }),
          400,
          "INVALID_PARAMETER_VALUE",
          "Missing value for required parameter 'secret_id'.",
        );
        // Bodies: not JSON, wrong content type, too large.
        expectError(
          await call("POST", `${SECRETS}/create`, {
            auth: ADMIN_AUTH,
            raw: '{"secret_name": "x", ',
            headers: { "content-type": "application/json" },
          }),
          400,
          "MALFORMED_REQUEST",
        );
        expectError(
          await call("POST", `${SECRETS}/create`, {
            auth: ADMIN_AUTH,
            raw: "secret_name=x",
            headers: { "content-type": "application/x-www-form-urlencoded" },
          }),
          400,
          "MALFORMED_REQUEST",
        );
        expectError(
          await call("POST", `${SECRETS}/create`, {
            auth: ADMIN_AUTH,
            raw: JSON.stringify({
              secret_name: "big",
              secret_value: { a: "x".repeat(1024 * 1024) },
            }),
            headers: { "content-type": "application/json" },
          }),
          413,
          "REQUEST_LIMIT_EXCEEDED",
        );
        // A value over 60 KiB fits the body limit but not MySQL's BLOB: a clear 400, on every dialect.
        expectError(
          await create({ secret_name: "huge", secret_value: { a: "x".repeat(70 * 1024) } }),
          400,
          "INVALID_PARAMETER_VALUE",
          /too large/,
        );
        // Paths and methods.
        expectError(
          await call("GET", "/api/3.0/mlflow/gateway/nothing", { auth: ADMIN_AUTH }),
          404,
          "ENDPOINT_NOT_FOUND",
        );
        const wrongMethod = await call("GET", `${SECRETS}/create`, { auth: ADMIN_AUTH });
        expectError(wrongMethod, 405, "ENDPOINT_NOT_FOUND");
        assert.equal(wrongMethod.headers.allow, "POST");
        const put = await call("PUT", `${SECRETS}/update`, { auth: ADMIN_AUTH, body: {} });
        assert.equal(put.status, 405);
        assert.equal(put.headers.allow, "PATCH, POST");
      }));

    it("lists by name, paginating with max_results and page_token, everything at once without max_results", () =>
      withServer(dialect, async ({ call, secret }) => {
        const names = ["e", "b", "d", "a", "c"];
        for (const name of names) await secret(name);
        const all = await call<{ secrets: { secret_name: string }[]; next_page_token?: string }>(
          "GET",
          `${SECRETS}/list`,
          { auth: ADMIN_AUTH },
        );
        assert.deepEqual(
          all.body.secrets.map((s) => s.secret_name),
          ["a", "b", "c", "d", "e"],
        );
        assert.equal(all.body.next_page_token, undefined);
        const seen: string[] = [];
        let token: string | undefined;
        do {
          const page = await call<{ secrets: { secret_name: string }[]; next_page_token?: string }>(
            "GET",
            `${SECRETS}/list`,
            {
              auth: ADMIN_AUTH,
              query: { max_results: "2", ...(token ? { page_token: token } : {}) },
            },
          );
          assert.equal(page.status, 200, page.text);
          assert.ok(page.body.secrets.length <= 2);
          seen.push(...page.body.secrets.map((s) => s.secret_name));
          token = page.body.next_page_token;
        } while (token !== undefined);
        assert.deepEqual(seen, ["a", "b", "c", "d", "e"]);
        expectError(
          await call("GET", `${SECRETS}/list`, { auth: ADMIN_AUTH, query: { max_results: "0" } }),
          400,
          "INVALID_PARAMETER_VALUE",
          /max_results/,
        );
        expectError(
          await call("GET", `${SECRETS}/list`, { auth: ADMIN_AUTH, query: { max_results: "ten" } }),
          400,
          "INVALID_PARAMETER_VALUE",
          /max_results/,
        );
        expectError(
          await call("GET", `${SECRETS}/list`, {
            auth: ADMIN_AUTH,
            query: { page_token: "garbage!" },
          }),
          400,
          "INVALID_PARAMETER_VALUE",
          "Invalid page_token",
        );
      }));

    it("scopes names and ids by the X-MLFLOW-WORKSPACE header (default 'default')", () =>
      withServer(dialect, async ({ call }) => {
        const create = (workspace: string | undefined) =>
          call<SecretBody>("POST", `${SECRETS}/create`, {
            auth: ADMIN_AUTH,
            body: { secret_name: "shared-name", secret_value: { api_key: "sk-0123456789" } },
            ...(workspace ? { headers: { "x-mlflow-workspace": workspace } } : {}),
          });
        const inDefault = await create(undefined);
        const inTeam = await create("team-a");
        assert.equal(inDefault.status, 200, inDefault.text);
        assert.equal(inTeam.status, 200, inTeam.text);
        assert.equal(inTeam.body.secret.workspace, "team-a");
        const teamId = inTeam.body.secret.secret_id;
        expectError(
          await call("GET", `${SECRETS}/get`, { auth: ADMIN_AUTH, query: { secret_id: teamId } }),
          404,
          "RESOURCE_DOES_NOT_EXIST",
        );
        const inTeamList = await call<{ secrets: { secret_id: string }[] }>(
          "GET",
          `${SECRETS}/list`,
          {
            auth: ADMIN_AUTH,
            headers: { "x-mlflow-workspace": "team-a" },
          },
        );
        assert.deepEqual(
          inTeamList.body.secrets.map((s) => s.secret_id),
          [teamId],
        );
        const value = await call("POST", `${SECRETS}/value`, {
          auth: ADMIN_AUTH,
          body: { secret_id: teamId },
          headers: { "x-mlflow-workspace": "team-a" },
        });
        assert.equal(value.status, 200, value.text);
      }));

    it("answers config (using_default_passphrase for admins only), /health, /version and /metrics", () =>
      withServer(dialect, async ({ call, user, secret }) => {
        const alice = await user("alice");
        await secret("for-metrics");
        const asAdmin = await call("GET", `${SECRETS}/config`, { auth: ADMIN_AUTH });
        assert.deepEqual(asAdmin.body, {
          secrets_available: true,
          using_default_passphrase: false,
        });
        const ajax = await call("GET", "/ajax-api/3.0/mlflow/gateway/secrets/config", {
          auth: alice,
        });
        assert.deepEqual(ajax.body, { secrets_available: true });

        const health = await call("GET", "/health");
        assert.equal(health.status, 200);
        assert.equal(health.text, "OK");
        const version = await call("GET", "/version");
        assert.equal(version.text, VERSION);

        expectError(await call("GET", "/metrics"), 401, "UNAUTHENTICATED");
        const metrics = await call("GET", "/metrics", { auth: alice });
        assert.equal(metrics.status, 200);
        assert.match(String(metrics.headers["content-type"]), /^text\/plain; version=0\.0\.4/);
        assert.match(
          metrics.text,
          /mlflow_secrets_http_requests_total\{method="POST",route="\/api\/3\.0\/mlflow\/gateway\/secrets\/create",status="200"\} 1/,
        );
        assert.match(
          metrics.text,
          /mlflow_secrets_http_request_duration_seconds_bucket\{route="\/health",le="\+Inf"\} 1/,
        );
        assert.match(metrics.text, /mlflow_secrets_auth_failures_total\{reason="missing"\} 1/);
        assert.match(metrics.text, /^mlflow_secrets_secrets 1$/m);
        assert.match(metrics.text, /^mlflow_secrets_secrets_by_kek_version\{kek_version="1"\} 1$/m);
      }));

    it("serves everything under --static-prefix, and nothing outside it", () =>
      withServer(
        dialect,
        async ({ call }) => {
          const created = await call("POST", "/mlflow/api/3.0/mlflow/gateway/secrets/create", {
            auth: ADMIN_AUTH,
            body: { secret_name: "prefixed", secret_value: { api_key: "sk-0123456789" } },
          });
          assert.equal(created.status, 200, created.text);
          const ajax = await call("GET", "/mlflow/ajax-api/3.0/mlflow/gateway/secrets/list", {
            auth: ADMIN_AUTH,
          });
          assert.equal(ajax.status, 200);
          assert.equal((await call("GET", "/mlflow/health")).text, "OK");
          const users = await call("GET", "/mlflow/api/2.0/mlflow/users/get", {
            auth: ADMIN_AUTH,
            query: { username: "admin" },
          });
          assert.equal(users.status, 200, users.text);
          expectError(
            await call("GET", `${SECRETS}/list`, { auth: ADMIN_AUTH }),
            404,
            "ENDPOINT_NOT_FOUND",
          );
          assert.equal((await call("GET", "/health")).status, 404);
        },
        { staticPrefix: "/mlflow/" },
      ));
  });
}
