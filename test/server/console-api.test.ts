/**
 * The API additions the console uses: listing a secret's grants, the name filter and KEK version
 * on secrets, the audit log's filters, and `crypto/status` (what `crypto status` shows).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DIALECTS } from "../helpers/databases.js";
import { ADMIN_AUTH, SECRETS, withServer } from "../helpers/server.js";
import { cli } from "../helpers/cli.js";
import { PASSPHRASE } from "../helpers/store.js";

const PERMISSIONS = `${SECRETS}/permissions`;
const AUDIT = "/api/3.0/mlflow-secrets/audit/list";
const CRYPTO = "/api/3.0/mlflow-secrets/crypto/status";

for (const dialect of DIALECTS) {
  describe(`console API additions on ${dialect.name}`, () => {
    it("lists a secret's grants to those who may MANAGE it", () =>
      withServer(dialect, async ({ call, user, secret }) => {
        const alice = await user("alice");
        const bob = await user("bob");
        const id = await secret("shared");
        for (const [username, permission] of [
          ["bob", "USE"],
          ["alice", "MANAGE"],
        ]) {
          await call("POST", `${PERMISSIONS}/create`, {
            auth: ADMIN_AUTH,
            body: { secret_id: id, username, permission },
          });
        }
        for (const auth of [ADMIN_AUTH, alice]) {
          const listed = await call<{ secret_permissions: unknown[] }>(
            "GET",
            `${PERMISSIONS}/list`,
            {
              auth,
              query: { secret_id: id },
            },
          );
          assert.equal(listed.status, 200);
          assert.deepEqual(
            listed.body.secret_permissions.map((g) => {
              const { user_id: _userId, ...rest } = g as Record<string, string>;
              return rest;
            }),
            [
              // The creator's grant.
              { secret_id: id, username: "admin", permission: "MANAGE" },
              { secret_id: id, username: "alice", permission: "MANAGE" },
              { secret_id: id, username: "bob", permission: "USE" },
            ],
          );
        }
        const refused = await call("GET", `${PERMISSIONS}/list`, {
          auth: bob,
          query: { secret_id: id },
        });
        assert.equal(refused.status, 403);
        const missing = await call("GET", `${PERMISSIONS}/list`, {
          auth: ADMIN_AUTH,
          query: { secret_id: "no-such-secret" },
        });
        assert.equal(missing.status, 404);
      }));

    it("filters secrets by name and adds the KEK version only when asked", () =>
      withServer(dialect, async ({ call, user, secret }) => {
        for (const name of ["openai-prod", "openai-dev", "anthropic-prod", "azure-PRODUCTION"]) {
          await secret(name);
        }
        type Listed = {
          secrets: { secret_name: string; kek_version?: number }[];
          next_page_token?: string;
        };
        const names = async (query: Record<string, string>, auth = ADMIN_AUTH) => {
          const reply = await call<Listed>("GET", `${SECRETS}/list`, { auth, query });
          assert.equal(reply.status, 200, reply.text);
          return reply.body;
        };
        assert.deepEqual(
          (await names({ name_contains: "prod" })).secrets.map((s) => s.secret_name),
          ["anthropic-prod", "azure-PRODUCTION", "openai-prod"],
        );
        // Pages are filled with matches only.
        const first = await names({ name_contains: "PROD", max_results: "2" });
        assert.deepEqual(
          first.secrets.map((s) => s.secret_name),
          ["anthropic-prod", "azure-PRODUCTION"],
        );
        const second = await names({
          name_contains: "PROD",
          max_results: "2",
          page_token: first.next_page_token!,
        });
        assert.deepEqual(
          second.secrets.map((s) => s.secret_name),
          ["openai-prod"],
        );
        // Still only what the caller can read.
        const alice = await user("alice");
        await call("POST", `${SECRETS}/create`, {
          auth: ADMIN_AUTH,
          body: { secret_name: "zz-prod-hidden", secret_value: { k: "v-0123456789" } },
        });
        assert.ok((await names({ name_contains: "prod" }, alice)).secrets.length >= 3);

        const plain = await names({});
        assert.ok(
          plain.secrets.every((s) => !("kek_version" in s)),
          "MLflow's SecretInfo as is",
        );
        const withKek = await names({ include_kek_version: "true", name_contains: "dev" });
        assert.deepEqual(
          withKek.secrets.map((s) => [s.secret_name, s.kek_version]),
          [["openai-dev", 1]],
        );
        const id = await secret("one-more");
        const got = await call<{ secret: { kek_version?: number } }>("GET", `${SECRETS}/get`, {
          auth: ADMIN_AUTH,
          query: { secret_id: id, include_kek_version: "true" },
        });
        assert.equal(got.body.secret.kek_version, 1);
        const bad = await call("GET", `${SECRETS}/list`, {
          auth: ADMIN_AUTH,
          query: { include_kek_version: "yes" },
        });
        assert.equal(bad.status, 400);
      }));

    it("filters the audit log by action, outcome, secret (id or name) and time range", () =>
      withServer(dialect, async ({ call, user, secret }) => {
        const alice = await user("alice");
        const a = await secret("alpha");
        await secret("beta");
        await call("POST", `${SECRETS}/value`, { auth: ADMIN_AUTH, body: { secret_id: a } });
        await call("POST", `${SECRETS}/value`, { auth: alice, body: { secret_id: a } });
        type Events = {
          events: {
            action: string;
            outcome: string;
            username?: string;
            secret_name?: string;
            timestamp: number;
          }[];
        };
        const list = async (query: Record<string, string>) => {
          const reply = await call<Events>("GET", AUDIT, { auth: ADMIN_AUTH, query });
          assert.equal(reply.status, 200, reply.text);
          return reply.body.events;
        };
        assert.deepEqual(
          (await list({ action: "secret.value" })).map((e) => [e.username, e.outcome]),
          [
            ["alice", "denied"],
            ["admin", "success"],
          ],
        );
        assert.deepEqual(
          (await list({ outcome: "denied" })).map((e) => e.action),
          ["secret.value"],
        );
        for (const secretFilter of ["alpha", a]) {
          assert.deepEqual(
            (await list({ secret: secretFilter })).map((e) => e.action),
            ["secret.value", "secret.value", "secret.create"],
          );
        }
        const all = await list({});
        const oldest = all[all.length - 1]!.timestamp;
        assert.deepEqual(
          (await list({ until: String(oldest) })).map((e) => e.timestamp),
          all.filter((e) => e.timestamp <= oldest).map((e) => e.timestamp),
        );
        assert.deepEqual(await list({ until: String(oldest - 1) }), []);
        const bad = await call<{ message: string }>("GET", AUDIT, {
          auth: ADMIN_AUTH,
          query: { action: "secret.steal" },
        });
        assert.equal(bad.status, 400);
        assert.match(bad.body.message, /parameter 'action'/);
        const badUntil = await call("GET", AUDIT, { auth: ADMIN_AUTH, query: { until: "soon" } });
        assert.equal(badUntil.status, 400);
      }));

    it("answers crypto/status to admins with what `crypto status --output json` prints", () =>
      withServer(dialect, async ({ call, user, secret, db }) => {
        const alice = await user("alice");
        await secret("one");
        await secret("two");
        const status = await call<Record<string, unknown>>("GET", CRYPTO, { auth: ADMIN_AUTH });
        assert.equal(status.status, 200);
        assert.equal(status.headers["cache-control"], "no-store");
        assert.deepEqual(status.body, {
          current_kek_version: 1,
          using_default_passphrase: false,
          keyring_versions: [1],
          kek_versions: [{ kek_version: 1, rows: 2, in_keyring: true, readable: true }],
          rotation: {
            target_kek_version: 1,
            rows_at_target: 2,
            rows_total: 2,
            rows_remaining: 0,
            complete: true,
          },
        });
        const printed = await cli(["crypto", "status", "--output", "json"], {
          env: { MLFLOW_BACKEND_STORE_URI: db.uri, MLFLOW_CRYPTO_KEK_PASSPHRASE: PASSPHRASE },
        });
        assert.equal(printed.code, 0, printed.stderr);
        assert.deepEqual(JSON.parse(printed.stdout), status.body, "the CLI prints the same");
        const verified = await call<{ verified: boolean; failures: unknown[] }>("GET", CRYPTO, {
          auth: ADMIN_AUTH,
          query: { verify: "true" },
        });
        assert.equal(verified.body.verified, true);
        assert.deepEqual(verified.body.failures, []);
        assert.equal((await call("GET", CRYPTO, { auth: alice })).status, 403);
      }));
  });
}
