/** The audit log: one row per change or value read, in the change's own transaction. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DIALECTS } from "../helpers/databases.js";
import {
  ADMIN_AUTH,
  SECRETS,
  auditRows,
  basic,
  withServer,
  type Reply,
} from "../helpers/server.js";

const PERMISSIONS = "/api/3.0/mlflow/gateway/secrets/permissions";
const USERS = "/api/2.0/mlflow/users";
const TOKENS = "/api/3.0/mlflow-secrets/tokens";
const AUDIT = "/api/3.0/mlflow-secrets/audit/list";

interface AuditListBody {
  events: Record<string, unknown>[];
  next_page_token?: string;
}

for (const dialect of DIALECTS) {
  describe(`audit log on ${dialect.name}`, () => {
    it("writes exactly one row for every change and value read, none for reads and failed changes", () =>
      withServer(dialect, async ({ call, db, user }) => {
        const alice = await user("alice");
        const ids = async () => new Set((await auditRows(db)).map((r) => r.event_id));
        /** Runs a call and checks the rows it added: `expected` actions, or none. */
        const expectRows = async (
          reply: () => Promise<Reply>,
          expected: { action: string; outcome?: string; secretName?: string }[],
          status = 200,
        ): Promise<Reply> => {
          const before = await ids();
          const done = await reply();
          assert.equal(done.status, status, done.text);
          const rows = (await auditRows(db)).filter((r) => !before.has(r.event_id));
          assert.deepEqual(
            rows.map((r) => r.action),
            expected.map((e) => e.action),
            `rows after ${done.text.slice(0, 80)}`,
          );
          rows.forEach((row, i) => {
            assert.equal(row.outcome, expected[i]!.outcome ?? "success");
            if (expected[i]!.secretName) assert.equal(row.secret_name, expected[i]!.secretName);
          });
          return done;
        };

        const created = await expectRows(
          () =>
            call("POST", `${SECRETS}/create`, {
              auth: ADMIN_AUTH,
              body: { secret_name: "audited", secret_value: { api_key: "sk-audited-0123456789" } },
            }),
          [{ action: "secret.create", secretName: "audited" }],
        );
        const id = (created.body as { secret: { secret_id: string } }).secret.secret_id;
        await expectRows(
          () => call("GET", `${SECRETS}/get`, { auth: ADMIN_AUTH, query: { secret_id: id } }),
          [],
        );
        await expectRows(() => call("GET", `${SECRETS}/list`, { auth: ADMIN_AUTH }), []);
        await expectRows(() => call("GET", `${SECRETS}/config`, { auth: ADMIN_AUTH }), []);
        await expectRows(
          () =>
            call("POST", `${SECRETS}/update`, {
              auth: ADMIN_AUTH,
              body: { secret_id: id, secret_value: { api_key: "sk-new-0123456789" } },
            }),
          [{ action: "secret.update", secretName: "audited" }],
        );
        const value = await expectRows(
          () => call("POST", `${SECRETS}/value`, { auth: ADMIN_AUTH, body: { secret_id: id } }),
          [{ action: "secret.value", secretName: "audited" }],
        );
        // The row names the request and the caller.
        const [valueRow] = await db.query<{
          request_id: string;
          username: string;
          remote_address: string;
          workspace: string;
        }>(
          "SELECT request_id, username, remote_address, workspace FROM mlflow_secrets_audit_log WHERE action = 'secret.value'",
        );
        assert.deepEqual(valueRow, {
          request_id: value.headers["x-request-id"],
          username: "admin",
          remote_address: "127.0.0.1",
          workspace: "default",
        });
        const grant = { secret_id: id, username: "alice", permission: "READ" };
        await expectRows(
          () => call("POST", `${PERMISSIONS}/create`, { auth: ADMIN_AUTH, body: grant }),
          [{ action: "permission.create" }],
        );
        await expectRows(
          () =>
            call("PATCH", `${PERMISSIONS}/update`, {
              auth: ADMIN_AUTH,
              body: { ...grant, permission: "USE" },
            }),
          [{ action: "permission.update" }],
        );
        await expectRows(
          () =>
            call("GET", `${PERMISSIONS}/get`, {
              auth: ADMIN_AUTH,
              query: { secret_id: id, username: "alice" },
            }),
          [],
        );
        await expectRows(
          () => call("DELETE", `${PERMISSIONS}/delete`, { auth: ADMIN_AUTH, body: grant }),
          [{ action: "permission.delete" }],
        );
        await expectRows(
          () =>
            call("POST", `${USERS}/create`, {
              auth: ADMIN_AUTH,
              body: { username: "bob", password: "bob-password-0001" },
            }),
          [{ action: "user.create" }],
        );
        await expectRows(
          () => call("GET", `${USERS}/get`, { auth: ADMIN_AUTH, query: { username: "bob" } }),
          [],
        );
        await expectRows(
          () =>
            call("PATCH", `${USERS}/update-password`, {
              auth: ADMIN_AUTH,
              body: { username: "bob", password: "bob-password-0002" },
            }),
          [{ action: "user.update_password" }],
        );
        await expectRows(
          () =>
            call("PATCH", `${USERS}/update-admin`, {
              auth: ADMIN_AUTH,
              body: { username: "bob", is_admin: true },
            }),
          [{ action: "user.update_admin" }],
        );
        const token = await expectRows(
          () => call("POST", `${TOKENS}/create`, { auth: alice, body: { name: "t" } }),
          [{ action: "token.create" }],
        );
        await expectRows(() => call("GET", `${TOKENS}/list`, { auth: alice }), []);
        await expectRows(
          () =>
            call("DELETE", `${TOKENS}/revoke`, {
              auth: alice,
              body: { token_id: (token.body as { token_id: string }).token_id },
            }),
          [{ action: "token.revoke" }],
        );
        await expectRows(
          () => call("DELETE", `${USERS}/delete`, { auth: ADMIN_AUTH, body: { username: "bob" } }),
          [{ action: "user.delete" }],
        );
        await expectRows(() => call("GET", AUDIT, { auth: ADMIN_AUTH }), []);

        // Failed changes leave nothing.
        await expectRows(
          () =>
            call("POST", `${SECRETS}/create`, {
              auth: ADMIN_AUTH,
              body: { secret_name: "audited", secret_value: { k: "v" } },
            }),
          [],
          400,
        );
        await expectRows(
          () =>
            call("POST", `${SECRETS}/update`, { auth: ADMIN_AUTH, body: { secret_id: "s-nope" } }),
          [],
          404,
        );
        await expectRows(
          () =>
            call("POST", `${SECRETS}/update`, {
              auth: ADMIN_AUTH,
              body: { secret_id: id, auth_config_json: "not json" },
            }),
          [],
          400,
        );
        await expectRows(
          () =>
            call("POST", `${PERMISSIONS}/create`, {
              auth: ADMIN_AUTH,
              body: { ...grant, username: "ghost" },
            }),
          [],
          404,
        );
        await expectRows(
          () =>
            call("POST", `${USERS}/create`, {
              auth: ADMIN_AUTH,
              body: { username: "alice", password: "alice-password-9999" },
            }),
          [],
          400,
        );
        await expectRows(
          () =>
            call("POST", `${SECRETS}/value`, { auth: ADMIN_AUTH, body: { secret_id: "s-nope" } }),
          [],
          404,
        );

        // Refusals leave one `denied` row; failed logins one `failure` row.
        await expectRows(
          () => call("POST", `${SECRETS}/value`, { auth: alice, body: { secret_id: id } }),
          [{ action: "secret.value", outcome: "denied" }],
          403,
        );
        await expectRows(
          () => call("DELETE", `${SECRETS}/delete`, { auth: alice, body: { secret_id: id } }),
          [{ action: "secret.delete", outcome: "denied" }],
          403,
        );
        await expectRows(
          () =>
            call("POST", `${SECRETS}/create`, {
              auth: alice,
              body: { secret_name: "nope", secret_value: { k: "v" } },
            }),
          [{ action: "secret.create", outcome: "denied" }],
          403,
        );
        await expectRows(
          () =>
            call("POST", `${USERS}/create`, {
              auth: alice,
              body: { username: "x", password: "x-password-00001" },
            }),
          [{ action: "user.create", outcome: "denied" }],
          403,
        );
        await expectRows(
          () => call("GET", `${SECRETS}/list`, { auth: basic("alice", "wrong-password-1") }),
          [{ action: "login.failed", outcome: "failure" }],
          401,
        );
        await expectRows(() => call("GET", `${SECRETS}/list`), [], 401);

        await expectRows(
          () => call("DELETE", `${SECRETS}/delete`, { auth: ADMIN_AUTH, body: { secret_id: id } }),
          [{ action: "secret.delete", secretName: "audited" }],
        );
        // Nothing secret in the log table.
        const everything = JSON.stringify(await db.query("SELECT * FROM mlflow_secrets_audit_log"));
        for (const secret of [
          "sk-audited-0123456789",
          "sk-new-0123456789",
          "bob-password-000",
          "alice-password",
          "wrong-password-1",
        ]) {
          assert.ok(!everything.includes(secret), secret);
        }
      }));

    it("writes the row in the change's transaction: when the row cannot be written, the change does not happen", () =>
      withServer(dialect, async ({ call, db, secret, store }) => {
        const id = await secret("kept");
        await db.query("ALTER TABLE mlflow_secrets_audit_log RENAME TO mlflow_secrets_audit_moved");
        try {
          const create = await call<{ error_code: string; message: string }>(
            "POST",
            `${SECRETS}/create`,
            {
              auth: ADMIN_AUTH,
              body: { secret_name: "never", secret_value: { api_key: "sk-never-0123456789" } },
            },
          );
          assert.equal(create.status, 500, create.text);
          assert.equal(create.body.error_code, "INTERNAL_ERROR");
          assert.match(
            create.body.message,
            /^Internal error \(request id [\w-]+\); see the server log$/,
          );
          const value = await call("POST", `${SECRETS}/value`, {
            auth: ADMIN_AUTH,
            body: { secret_id: id },
          });
          assert.equal(value.status, 500);
          assert.ok(!value.text.includes("sk-kept"), "no value without its audit row");
          const update = await call("POST", `${SECRETS}/update`, {
            auth: ADMIN_AUTH,
            body: { secret_id: id, secret_value: { api_key: "sk-changed-0123456789" } },
          });
          assert.equal(update.status, 500);
          const remove = await call("DELETE", `${SECRETS}/delete`, {
            auth: ADMIN_AUTH,
            body: { secret_id: id },
          });
          assert.equal(remove.status, 500);
        } finally {
          await db.query(
            "ALTER TABLE mlflow_secrets_audit_moved RENAME TO mlflow_secrets_audit_log",
          );
        }
        assert.equal(
          (await db.query("SELECT secret_id FROM secrets WHERE secret_name = 'never'")).length,
          0,
        );
        assert.deepEqual(await store.getSecretValue({ secretId: id }), {
          api_key: "sk-kept-0123456789abcdef",
        });
        assert.deepEqual(
          (await auditRows(db, "action <> 'user.create'")).map((r) => r.action),
          ["secret.create"],
        );
      }));

    it("records concurrent value reads one row each (group commit keeps them apart)", () =>
      withServer(dialect, async ({ call, db, secret }) => {
        const ids = [await secret("c1"), await secret("c2")];
        const replies = await Promise.all(
          Array.from({ length: 40 }, (_, i) =>
            call("POST", `${SECRETS}/value`, {
              auth: ADMIN_AUTH,
              // Every fifth asks for a missing secret: its failure must not undo the others.
              body: { secret_id: i % 5 === 4 ? "s-missing" : ids[i % 2] },
            }),
          ),
        );
        assert.equal(replies.filter((r) => r.status === 200).length, 32);
        assert.equal(replies.filter((r) => r.status === 404).length, 8);
        const rows = await auditRows(db, "action = 'secret.value'");
        assert.equal(rows.length, 32);
      }));

    it("lists events newest first for admins, filtered by secret, user and time, page by page", () =>
      withServer(dialect, async ({ call, user, secret }) => {
        const carol = await user("carol");
        const a = await secret("audit-a");
        await secret("audit-b");
        for (let i = 0; i < 3; i++)
          await call("POST", `${SECRETS}/value`, { auth: ADMIN_AUTH, body: { secret_id: a } });
        await call("POST", `${SECRETS}/value`, { auth: carol, body: { secret_id: a } });

        const all = await call<AuditListBody>("GET", AUDIT, { auth: ADMIN_AUTH });
        assert.equal(all.status, 200, all.text);
        const times = all.body.events.map((e) => e.timestamp as number);
        assert.deepEqual(
          times,
          [...times].sort((x, y) => y - x),
        );
        assert.equal(all.body.events[0]!.action, "secret.value");
        assert.equal(all.body.events[0]!.outcome, "denied");
        assert.equal(all.body.events[0]!.username, "carol");

        const forA = await call<AuditListBody>("GET", AUDIT, {
          auth: ADMIN_AUTH,
          query: { secret_id: a },
        });
        assert.deepEqual(
          forA.body.events.map((e) => `${String(e.action)}/${String(e.outcome)}`),
          [
            "secret.value/denied",
            "secret.value/success",
            "secret.value/success",
            "secret.value/success",
            "secret.create/success",
          ],
        );
        assert.deepEqual(Object.keys(forA.body.events[1]!).sort(), [
          "action",
          "event_id",
          "outcome",
          "remote_address",
          "request_id",
          "secret_id",
          "secret_name",
          "timestamp",
          "username",
          "workspace",
        ]);
        const byCarol = await call<AuditListBody>("GET", AUDIT, {
          auth: ADMIN_AUTH,
          query: { username: "carol" },
        });
        assert.equal(byCarol.body.events.length, 1);
        const future = await call<AuditListBody>("GET", AUDIT, {
          auth: ADMIN_AUTH,
          query: { since: new Date(Date.now() + 60_000).toISOString() },
        });
        assert.deepEqual(future.body.events, []);
        const bad = await call("GET", AUDIT, { auth: ADMIN_AUTH, query: { since: "yesterday" } });
        assert.equal(bad.status, 400);

        const seen: string[] = [];
        let token: string | undefined;
        do {
          const page = await call<AuditListBody>("GET", AUDIT, {
            auth: ADMIN_AUTH,
            query: { max_results: "3", ...(token ? { page_token: token } : {}) },
          });
          assert.ok(page.body.events.length <= 3);
          seen.push(...page.body.events.map((e) => e.event_id as string));
          token = page.body.next_page_token;
        } while (token !== undefined);
        assert.deepEqual(
          seen,
          all.body.events.map((e) => e.event_id),
        );
      }));
  });
}
