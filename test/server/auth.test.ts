/** Authentication and authorisation: the matrix of credentials, permission levels and admin-only calls. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DIALECTS } from "../helpers/databases.js";
import { ADMIN, ADMIN_AUTH, SECRETS, basic, withServer, type Reply } from "../helpers/server.js";

function denied(reply: Reply, what: string): void {
  assert.equal(reply.status, 403, `${what}: ${reply.text}`);
  assert.equal((reply.body as { error_code: string }).error_code, "PERMISSION_DENIED", what);
}

function unauthenticated(reply: Reply, what: string): void {
  assert.equal(reply.status, 401, `${what}: ${reply.text}`);
  assert.equal((reply.body as { error_code: string }).error_code, "UNAUTHENTICATED", what);
  assert.equal(reply.headers["www-authenticate"], 'Basic realm="mlflow-secrets", charset="UTF-8"');
}

const LEVELS = ["NO_PERMISSIONS", "READ", "USE", "EDIT", "MANAGE"] as const;
const PERMISSIONS = "/api/3.0/mlflow/gateway/secrets/permissions";

for (const dialect of DIALECTS) {
  describe(`authentication and permissions on ${dialect.name}`, () => {
    it("refuses missing, malformed and wrong credentials with 401 and WWW-Authenticate", () =>
      withServer(dialect, async ({ call, user }) => {
        await user("alice");
        for (const [method, url] of [
          ["GET", `${SECRETS}/list`],
          ["POST", `${SECRETS}/create`],
          ["POST", `${SECRETS}/value`],
          ["GET", "/ajax-api/3.0/mlflow/gateway/secrets/config"],
          ["GET", "/api/2.0/mlflow/users/get"],
          ["GET", "/api/3.0/mlflow-secrets/audit/list"],
          ["GET", "/api/3.0/mlflow-secrets/tokens/list"],
          ["GET", `${PERMISSIONS}/get`],
        ] as const) {
          unauthenticated(await call(method, url), `${method} ${url} without credentials`);
        }
        const list = `${SECRETS}/list`;
        unauthenticated(
          await call("GET", list, { auth: basic("alice", "wrong-password-000") }),
          "wrong password",
        );
        unauthenticated(
          await call("GET", list, { auth: basic("nobody", "whatever-password") }),
          "unknown user",
        );
        unauthenticated(await call("GET", list, { auth: "Basic !!!" }), "not base64");
        unauthenticated(
          await call("GET", list, { auth: `Basic ${Buffer.from("no-colon").toString("base64")}` }),
          "no colon",
        );
        unauthenticated(await call("GET", list, { auth: "Digest abc" }), "other scheme");
        unauthenticated(
          await call("GET", list, { auth: "Bearer mls_not-a-token" }),
          "unknown token",
        );
        assert.equal(
          (await call("GET", list, { auth: basic("alice", "alice-password-01") })).status,
          200,
        );
        // The scheme is case-insensitive, as in RFC 7235.
        const lower = basic("alice", "alice-password-01").replace("Basic", "basic");
        assert.equal((await call("GET", list, { auth: lower })).status, 200);
      }));

    it("lets each permission level do exactly its operations (READ < USE < EDIT < MANAGE)", () =>
      withServer(dialect, async ({ call, user, secret }) => {
        await user("bystander");
        for (const level of LEVELS) {
          const auth = await user(`user-${level.toLowerCase().replace("_", "-")}`);
          const username = `user-${level.toLowerCase().replace("_", "-")}`;
          const id = await secret(`secret-for-${level}`);
          const grant = await call("POST", `${PERMISSIONS}/create`, {
            auth: ADMIN_AUTH,
            body: { secret_id: id, username, permission: level },
          });
          assert.equal(grant.status, 200, grant.text);
          const rank = LEVELS.indexOf(level);
          const expect = (reply: Reply, needed: (typeof LEVELS)[number], what: string) => {
            if (rank >= LEVELS.indexOf(needed))
              assert.equal(reply.status, 200, `${level} ${what}: ${reply.text}`);
            else denied(reply, `${level} ${what}`);
          };
          expect(
            await call("GET", `${SECRETS}/get`, { auth, query: { secret_id: id } }),
            "READ",
            "get",
          );
          const listed = await call<{ secrets: { secret_id: string }[] }>(
            "GET",
            `${SECRETS}/list`,
            { auth },
          );
          assert.equal(
            listed.body.secrets.some((s) => s.secret_id === id),
            rank >= 1,
            `${level} list`,
          );
          expect(
            await call("POST", `${SECRETS}/value`, { auth, body: { secret_id: id } }),
            "USE",
            "value",
          );
          expect(
            await call("POST", `${SECRETS}/update`, {
              auth,
              body: { secret_id: id, auth_config: { a: "b" } },
            }),
            "EDIT",
            "update",
          );
          expect(
            await call("POST", `${PERMISSIONS}/create`, {
              auth,
              body: { secret_id: id, username: "bystander", permission: "READ" },
            }),
            "MANAGE",
            "grant",
          );
          expect(
            await call("DELETE", `${SECRETS}/delete`, { auth, body: { secret_id: id } }),
            "MANAGE",
            "delete",
          );
        }
      }));

    it("applies the default permission to users without a grant, and lists only what they can READ", async () => {
      await withServer(dialect, async ({ call, user, secret }) => {
        const auth = await user("reader");
        const visible = await secret("visible");
        const hidden = await secret("hidden");
        // Default READ: metadata yes, value no.
        assert.equal(
          (await call("GET", `${SECRETS}/get`, { auth, query: { secret_id: visible } })).status,
          200,
        );
        denied(
          await call("POST", `${SECRETS}/value`, { auth, body: { secret_id: visible } }),
          "value with default READ",
        );
        await call("POST", `${PERMISSIONS}/create`, {
          auth: ADMIN_AUTH,
          body: { secret_id: hidden, username: "reader", permission: "NO_PERMISSIONS" },
        });
        for (const name of ["a1", "a2", "a3"]) await secret(name);
        const listed = await call<{ secrets: { secret_name: string }[] }>(
          "GET",
          `${SECRETS}/list`,
          { auth },
        );
        assert.deepEqual(
          listed.body.secrets.map((s) => s.secret_name),
          ["a1", "a2", "a3", "visible"],
        );
        // Pages are filled with visible secrets only.
        const pages: string[][] = [];
        let token: string | undefined;
        do {
          const page = await call<{ secrets: { secret_name: string }[]; next_page_token?: string }>(
            "GET",
            `${SECRETS}/list`,
            { auth, query: { max_results: "2", ...(token ? { page_token: token } : {}) } },
          );
          pages.push(page.body.secrets.map((s) => s.secret_name));
          token = page.body.next_page_token;
        } while (token !== undefined);
        assert.deepEqual(pages, [
          ["a1", "a2"],
          ["a3", "visible"],
        ]);
        denied(
          await call("GET", `${SECRETS}/get`, { auth, query: { secret_id: hidden } }),
          "get with NO_PERMISSIONS",
        );
      });
      await withServer(
        dialect,
        async ({ call, user, secret }) => {
          const auth = await user("nobody-sees");
          const id = await secret("private");
          const shared = await secret("shared");
          await call("POST", `${PERMISSIONS}/create`, {
            auth: ADMIN_AUTH,
            body: { secret_id: shared, username: "nobody-sees", permission: "USE" },
          });
          denied(
            await call("GET", `${SECRETS}/get`, { auth, query: { secret_id: id } }),
            "default NO_PERMISSIONS",
          );
          const listed = await call<{ secrets: { secret_id: string }[] }>(
            "GET",
            `${SECRETS}/list`,
            { auth },
          );
          assert.deepEqual(
            listed.body.secrets.map((s) => s.secret_id),
            [shared],
          );
          assert.equal(
            (await call("POST", `${SECRETS}/value`, { auth, body: { secret_id: shared } })).status,
            200,
          );
        },
        { defaultPermission: "NO_PERMISSIONS" },
      );
    });

    it("lets only admins create secrets unless users may; the creator gets MANAGE", async () => {
      await withServer(dialect, async ({ call, user }) => {
        const auth = await user("wannabe");
        denied(
          await call("POST", `${SECRETS}/create`, {
            auth,
            body: { secret_name: "mine", secret_value: { k: "v" } },
          }),
          "create as user",
        );
      });
      await withServer(
        dialect,
        async ({ call, user, secret }) => {
          const creator = await user("creator");
          const other = await user("other");
          const id = await secret("mine", { api_key: "sk-0123456789" }, creator);
          const grant = await call<{ secret_permission: unknown }>("GET", `${PERMISSIONS}/get`, {
            auth: creator,
            query: { secret_id: id, username: "creator" },
          });
          assert.equal(grant.status, 200, grant.text);
          assert.deepEqual(
            { ...(grant.body.secret_permission as object), user_id: "x" },
            { secret_id: id, user_id: "x", username: "creator", permission: "MANAGE" },
          );
          denied(
            await call("DELETE", `${SECRETS}/delete`, { auth: other, body: { secret_id: id } }),
            "delete by other",
          );
          assert.equal(
            (await call("POST", `${SECRETS}/value`, { auth: creator, body: { secret_id: id } }))
              .status,
            200,
          );
          assert.equal(
            (await call("DELETE", `${SECRETS}/delete`, { auth: creator, body: { secret_id: id } }))
              .status,
            200,
          );
        },
        { usersCanCreate: true },
      );
    });

    it("manages grants: create, get, update, delete, with MLflow's errors", () =>
      withServer(dialect, async ({ call, user, secret, db }) => {
        const bob = await user("bob");
        const carol = await user("carol");
        const id = await secret("granted");
        const body = { secret_id: id, username: "bob", permission: "use" };
        const created = await call<{ secret_permission: { permission: string } }>(
          "POST",
          `${PERMISSIONS}/create`,
          {
            auth: ADMIN_AUTH,
            body,
          },
        );
        assert.equal(created.body.secret_permission.permission, "USE");
        const again = await call<{ error_code: string }>("POST", `${PERMISSIONS}/create`, {
          auth: ADMIN_AUTH,
          body,
        });
        assert.equal(again.body.error_code, "RESOURCE_ALREADY_EXISTS");
        const bad = await call<{ error_code: string; message: string }>(
          "POST",
          `${PERMISSIONS}/create`,
          {
            auth: ADMIN_AUTH,
            body: { ...body, permission: "OWNER" },
          },
        );
        assert.equal(bad.status, 400);
        assert.match(bad.body.message, /permission.*NO_PERMISSIONS, READ, USE, EDIT, MANAGE/);
        const unknownUser = await call("POST", `${PERMISSIONS}/create`, {
          auth: ADMIN_AUTH,
          body: { ...body, username: "ghost" },
        });
        assert.equal(unknownUser.status, 404);
        // A user reads their own grant; not others' (without MANAGE).
        assert.equal(
          (
            await call("GET", `${PERMISSIONS}/get`, {
              auth: bob,
              query: { secret_id: id, username: "bob" },
            })
          ).status,
          200,
        );
        denied(
          await call("GET", `${PERMISSIONS}/get`, {
            auth: carol,
            query: { secret_id: id, username: "bob" },
          }),
          "other's grant",
        );
        const updated = await call("PATCH", `${PERMISSIONS}/update`, {
          auth: ADMIN_AUTH,
          body: { secret_id: id, username: "bob", permission: "EDIT" },
        });
        assert.deepEqual(updated.body, {});
        assert.equal(
          (
            await call("POST", `${SECRETS}/update`, {
              auth: bob,
              body: { secret_id: id, auth_config: { x: "y" } },
            })
          ).status,
          200,
        );
        assert.deepEqual(
          (
            await call("DELETE", `${PERMISSIONS}/delete`, {
              auth: ADMIN_AUTH,
              body: { secret_id: id, username: "bob" },
            })
          ).body,
          {},
        );
        denied(
          await call("POST", `${SECRETS}/value`, { auth: bob, body: { secret_id: id } }),
          "after revoke",
        );
        assert.equal(
          (
            await call("PATCH", `${PERMISSIONS}/update`, {
              auth: ADMIN_AUTH,
              body: { secret_id: id, username: "bob", permission: "READ" },
            })
          ).status,
          404,
        );
        // Deleting the secret removes its grants.
        await call("POST", `${PERMISSIONS}/create`, { auth: ADMIN_AUTH, body });
        await call("DELETE", `${SECRETS}/delete`, { auth: ADMIN_AUTH, body: { secret_id: id } });
        const grants = await db.query(
          "SELECT * FROM mlflow_secrets_permissions WHERE secret_id = ?",
          [id],
        );
        assert.deepEqual(grants, []);
      }));

    it("keeps user administration to admins, except reading oneself and changing one's own password", () =>
      withServer(dialect, async ({ call, user }) => {
        const dave = await user("dave");
        await user("erin");
        const users = "/api/2.0/mlflow/users";
        denied(
          await call("POST", `${users}/create`, {
            auth: dave,
            body: { username: "x", password: "x-password-0001" },
          }),
          "create user",
        );
        denied(
          await call("GET", `${users}/get`, { auth: dave, query: { username: "erin" } }),
          "get other",
        );
        denied(
          await call("PATCH", `${users}/update-admin`, {
            auth: dave,
            body: { username: "dave", is_admin: true },
          }),
          "self-promotion",
        );
        denied(
          await call("PATCH", `${users}/update-password`, {
            auth: dave,
            body: { username: "erin", password: "erin-new-password-1" },
          }),
          "other's password",
        );
        denied(
          await call("DELETE", `${users}/delete`, { auth: dave, body: { username: "erin" } }),
          "delete user",
        );
        denied(
          await call("GET", "/api/3.0/mlflow-secrets/users/list", { auth: dave }),
          "list users",
        );
        denied(await call("GET", "/api/3.0/mlflow-secrets/audit/list", { auth: dave }), "audit");

        const self = await call<{ user: Record<string, unknown> }>("GET", `${users}/get`, {
          auth: dave,
          query: { username: "dave" },
        });
        assert.equal(self.status, 200, self.text);
        assert.deepEqual(
          { ...self.body.user, id: "u" },
          {
            id: "u",
            username: "dave",
            is_admin: false,
            experiment_permissions: [],
            registered_model_permissions: [],
            secret_permissions: [],
          },
        );
        assert.ok(!self.text.includes("scrypt"));
        // Changing one's own password takes effect at once (the verification cache is keyed on the stored hash).
        const changed = await call("PATCH", `${users}/update-password`, {
          auth: dave,
          body: { username: "dave", password: "dave-new-password-1" },
        });
        assert.deepEqual(changed.body, {});
        unauthenticated(await call("GET", `${SECRETS}/list`, { auth: dave }), "old password");
        assert.equal(
          (await call("GET", `${SECRETS}/list`, { auth: basic("dave", "dave-new-password-1") }))
            .status,
          200,
        );

        // Admin operations, MLflow's messages.
        const short = await call<{ message: string }>("POST", `${users}/create`, {
          auth: ADMIN_AUTH,
          body: { username: "frank", password: "short" },
        });
        assert.equal(short.status, 400);
        assert.ok(!short.text.includes('short"'), "the password is not echoed");
        const colon = await call("POST", `${users}/create`, {
          auth: ADMIN_AUTH,
          body: { username: "a:b", password: "a-b-password-0001" },
        });
        assert.equal(colon.status, 400);
        const dup = await call<{ error_code: string; message: string }>("POST", `${users}/create`, {
          auth: ADMIN_AUTH,
          body: { username: "erin", password: "erin-password-0001" },
        });
        assert.equal(dup.body.error_code, "RESOURCE_ALREADY_EXISTS");
        assert.equal(dup.body.message, "User 'erin' already exists.");
        const missing = await call<{ error_code: string; message: string }>("GET", `${users}/get`, {
          auth: ADMIN_AUTH,
          query: { username: "ghost" },
        });
        assert.equal(missing.status, 404);
        assert.equal(missing.body.message, "User with username=ghost not found");
        assert.deepEqual(
          (
            await call("PATCH", `${users}/update-admin`, {
              auth: ADMIN_AUTH,
              body: { username: "erin", is_admin: "true" },
            })
          ).body,
          {},
        );
        const listed = await call<{ users: { username: string; is_admin: boolean }[] }>(
          "GET",
          "/api/3.0/mlflow-secrets/users/list",
          {
            auth: ADMIN_AUTH,
          },
        );
        assert.deepEqual(
          listed.body.users.map((u) => [u.username, u.is_admin]),
          [
            ["admin", true],
            ["dave", false],
            ["erin", true],
          ],
        );
        // The last admin cannot be removed or demoted; a deleted user cannot sign in.
        await call("PATCH", `${users}/update-admin`, {
          auth: ADMIN_AUTH,
          body: { username: "erin", is_admin: false },
        });
        const demote = await call<{ message: string }>("PATCH", `${users}/update-admin`, {
          auth: ADMIN_AUTH,
          body: { username: ADMIN.username, is_admin: false },
        });
        assert.equal(demote.status, 400);
        assert.match(demote.body.message, /last admin/);
        assert.equal(
          (
            await call("DELETE", `${users}/delete`, {
              auth: ADMIN_AUTH,
              body: { username: ADMIN.username },
            })
          ).status,
          400,
        );
        assert.deepEqual(
          (
            await call("DELETE", `${users}/delete`, {
              auth: ADMIN_AUTH,
              body: { username: "dave" },
            })
          ).body,
          {},
        );
        unauthenticated(
          await call("GET", `${SECRETS}/list`, { auth: basic("dave", "dave-new-password-1") }),
          "deleted user",
        );
      }));

    it("authenticates Bearer tokens until they are revoked; tokens are shown once and stored hashed", () =>
      withServer(dialect, async ({ call, user, secret, db }) => {
        const gate = await user("gateway");
        await user("other");
        const id = await secret("for-gateway");
        await call("POST", `${PERMISSIONS}/create`, {
          auth: ADMIN_AUTH,
          body: { secret_id: id, username: "gateway", permission: "USE" },
        });
        const tokens = "/api/3.0/mlflow-secrets/tokens";
        const created = await call<{ token_id: string; token: string }>(
          "POST",
          `${tokens}/create`,
          {
            auth: gate,
            body: { name: "prod" },
          },
        );
        assert.equal(created.status, 200, created.text);
        assert.deepEqual(Object.keys(created.body).sort(), ["token", "token_id"]);
        assert.match(created.body.token, /^mls_[A-Za-z0-9_-]{43}$/);
        const bearer = `Bearer ${created.body.token}`;
        const value = await call("POST", `${SECRETS}/value`, {
          auth: bearer,
          body: { secret_id: id },
        });
        assert.equal(value.status, 200, value.text);
        const stored = await db.query<{ token_hash: string }>(
          "SELECT token_hash FROM mlflow_secrets_tokens",
        );
        assert.equal(stored.length, 1);
        assert.match(stored[0]!.token_hash, /^[0-9a-f]{64}$/);
        assert.ok(!JSON.stringify(stored).includes(created.body.token.slice(4)));

        const listed = await call<{ tokens: Record<string, unknown>[] }>("GET", `${tokens}/list`, {
          auth: gate,
        });
        assert.deepEqual(
          listed.body.tokens.map((t) => Object.keys(t).sort()),
          [["created_at", "created_by", "name", "token_id", "username"]],
        );
        assert.ok(!listed.text.includes(created.body.token));
        denied(
          await call("POST", `${tokens}/create`, {
            auth: gate,
            body: { name: "x", username: "other" },
          }),
          "token for other",
        );
        denied(
          await call("GET", `${tokens}/list`, { auth: gate, query: { username: "other" } }),
          "list other's tokens",
        );
        const forOther = await call<{ token_id: string; token: string }>(
          "POST",
          `${tokens}/create`,
          {
            auth: ADMIN_AUTH,
            body: { name: "ops", username: "other" },
          },
        );
        assert.equal(forOther.status, 200);
        assert.equal(
          (
            await call("DELETE", `${tokens}/revoke`, {
              auth: gate,
              body: { token_id: forOther.body.token_id },
            })
          ).status,
          404,
          "someone else's token is not found",
        );
        const revoked = await call("DELETE", `${tokens}/revoke`, {
          auth: gate,
          body: { token_id: created.body.token_id },
        });
        assert.deepEqual(revoked.body, {});
        unauthenticated(
          await call("POST", `${SECRETS}/value`, { auth: bearer, body: { secret_id: id } }),
          "revoked token",
        );
        assert.equal(
          (await call("GET", `${tokens}/list`, { auth: `Bearer ${forOther.body.token}` })).status,
          200,
        );
      }));

    it("throttles ten failed logins per username or per address within a minute with 429 and Retry-After", () =>
      withServer(dialect, async ({ call, user }) => {
        const list = `${SECRETS}/list`;
        const victim = await user("victim");
        // By username: ten failures from ten addresses; then even the right password waits.
        for (let i = 0; i < 10; i++) {
          unauthenticated(
            await call("GET", list, {
              auth: basic("victim", `guess-number-${i}`),
              remoteAddress: `10.0.0.${i + 1}`,
            }),
            `failure ${i}`,
          );
        }
        const throttled = await call<{ error_code: string }>("GET", list, {
          auth: victim,
          remoteAddress: "10.0.1.1",
        });
        assert.equal(throttled.status, 429, throttled.text);
        assert.equal(throttled.body.error_code, "REQUEST_LIMIT_EXCEEDED");
        const retryAfter = Number(throttled.headers["retry-after"]);
        assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
        // By address: ten failures for different names from one address.
        const bystander = await user("bystander");
        for (let i = 0; i < 10; i++) {
          await call("GET", list, {
            auth: basic(`name-${i}`, "some-password-00"),
            remoteAddress: "192.0.2.7",
          });
        }
        assert.equal(
          (await call("GET", list, { auth: bystander, remoteAddress: "192.0.2.7" })).status,
          429,
        );
        assert.equal(
          (await call("GET", list, { auth: bystander, remoteAddress: "192.0.2.8" })).status,
          200,
        );
        // Bad tokens count per address as well.
        for (let i = 0; i < 10; i++) {
          await call("GET", list, { auth: `Bearer mls_bad-${i}`, remoteAddress: "198.51.100.1" });
        }
        assert.equal(
          (await call("GET", list, { auth: "Bearer mls_bad", remoteAddress: "198.51.100.1" }))
            .status,
          429,
        );
        // Credentials verified before the attack keep working (the cache), so a flood cannot lock out a service.
        const late = await user("late");
        assert.equal(
          (await call("GET", list, { auth: late, remoteAddress: "192.0.2.7" })).status,
          429,
        );
        assert.equal(
          (await call("GET", list, { auth: bystander, remoteAddress: "192.0.2.7" })).status,
          200,
        );
        assert.equal(
          (await call("GET", list, { auth: ADMIN_AUTH, remoteAddress: "192.0.2.7" })).status,
          200,
        );
      }));
  });
}
