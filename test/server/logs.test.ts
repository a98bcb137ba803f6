/**
 * Nothing secret leaks: all log output of a full scenario (at the most verbose level, errors
 * included) and every response body are searched for passwords, tokens, Authorization values,
 * secret values, and the stored ciphertext and wrapped DEKs.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DIALECTS } from "../helpers/databases.js";
import { ADMIN, ADMIN_AUTH, SECRETS, basic, withServer, type Reply } from "../helpers/server.js";

const PERMISSIONS = "/api/3.0/mlflow/gateway/secrets/permissions";

for (const dialect of DIALECTS) {
  describe(`logs and responses on ${dialect.name}`, () => {
    it("never contain a password, token, Authorization value, secret value or ciphertext", () =>
      withServer(
        dialect,
        async ({ call, logs, db }) => {
          const secrets: string[] = [ADMIN.password, ADMIN_AUTH.slice(6)];
          const responses: Reply[] = [];
          const run = async <T>(
            method: string,
            url: string,
            options: Parameters<typeof call>[2] = {},
          ) => {
            const reply = await call<T>(method, url, options);
            responses.push(reply);
            return reply;
          };

          const alicePassword = "alice-password-Zq81";
          const alice = basic("alice", alicePassword);
          secrets.push(alicePassword, alice.slice(6));
          await run("POST", "/api/2.0/mlflow/users/create", {
            auth: ADMIN_AUTH,
            body: { username: "alice", password: alicePassword },
          });
          const newPassword = "alice-new-password-Xy77";
          secrets.push(newPassword);
          await run("PATCH", "/api/2.0/mlflow/users/update-password", {
            auth: alice,
            body: { username: "alice", password: newPassword },
          });
          const alice2 = basic("alice", newPassword);
          secrets.push(alice2.slice(6));

          const values = {
            api_key: "sk-proj-VERYSECRET-0123456789",
            aws_secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
          };
          secrets.push(...Object.values(values), "VERYSECRET");
          const created = await run<{ secret: { secret_id: string } }>(
            "POST",
            `${SECRETS}/create`,
            {
              auth: ADMIN_AUTH,
              body: { secret_name: "leaky", secret_value: values, provider: "openai" },
            },
          );
          const id = created.body.secret.secret_id;
          await run("POST", `${PERMISSIONS}/create`, {
            auth: ADMIN_AUTH,
            body: { secret_id: id, username: "alice", permission: "USE" },
          });
          const token = await run<{ token: string; token_id: string }>(
            "POST",
            "/api/3.0/mlflow-secrets/tokens/create",
            {
              auth: alice2,
              body: { name: "svc" },
            },
          );
          secrets.push(token.body.token, token.body.token.slice(4));
          const viaToken = await call("POST", `${SECRETS}/value`, {
            auth: `Bearer ${token.body.token}`,
            body: { secret_id: id },
          });
          assert.equal(viaToken.status, 200);
          const rotated = "sk-rotated-SECRET-987654321";
          secrets.push(rotated);
          await run("PATCH", `${SECRETS}/update`, {
            auth: alice2,
            body: { secret_id: id, secret_value: { api_key: rotated } },
          });
          await run("POST", `${SECRETS}/update`, {
            auth: ADMIN_AUTH,
            body: { secret_id: id, secret_value: { api_key: rotated } },
          });
          // Failures of every kind: wrong passwords, bad tokens, malformed bodies quoting secrets, a 500.
          const wrong = "wrong-password-LEAK-1";
          secrets.push(wrong);
          await run("GET", `${SECRETS}/list`, { auth: basic("alice", wrong) });
          await run("GET", `${SECRETS}/list`, { auth: "Bearer mls_BOGUS-TOKEN-LEAK" });
          secrets.push("mls_BOGUS-TOKEN-LEAK", "BODY-SECRET-LEAK");
          await run("POST", `${SECRETS}/create`, {
            auth: ADMIN_AUTH,
            raw: '{"secret_name": "x", "secret_value": {"api_key": "BODY-SECRET-LEAK"} oops',
            headers: { "content-type": "application/json" },
          });
          await run("POST", `${SECRETS}/create`, {
            auth: ADMIN_AUTH,
            raw: '{"secret_name": 5, "secret_value": {"api_key": "BODY-SECRET-LEAK"}}',
            headers: { "content-type": "application/json" },
          });
          await run("POST", "/api/2.0/mlflow/users/create", {
            auth: ADMIN_AUTH,
            body: { username: "bob", password: "BODY-SECRET-LEAK" },
          });
          await db.query(
            "ALTER TABLE mlflow_secrets_audit_log RENAME TO mlflow_secrets_audit_gone",
          );
          const failed = await run("POST", `${SECRETS}/create`, {
            auth: ADMIN_AUTH,
            body: { secret_name: "fails", secret_value: { api_key: "BODY-SECRET-LEAK" } },
          });
          assert.equal(failed.status, 500);
          await db.query(
            "ALTER TABLE mlflow_secrets_audit_gone RENAME TO mlflow_secrets_audit_log",
          );
          await run("POST", `${SECRETS}/value`, { auth: ADMIN_AUTH, body: { secret_id: id } });
          await run("DELETE", "/api/3.0/mlflow-secrets/tokens/revoke", {
            auth: alice2,
            body: { token_id: token.body.token_id },
          });

          // What the database holds encrypted must never be shown, in any encoding.
          const rows = await db.query<{
            encrypted_value: Buffer | string;
            wrapped_dek: Buffer | string;
          }>("SELECT encrypted_value, wrapped_dek FROM secrets");
          const blobs = rows
            .flatMap((r) => [r.encrypted_value, r.wrapped_dek])
            .map((b) => Buffer.from(b as Buffer));
          const encodings = blobs.flatMap((b) => [
            b.toString("hex"),
            b.toString("base64"),
            b.toString("base64url"),
          ]);
          const hashes = await db.query<{ password_hash: string }>(
            "SELECT password_hash FROM mlflow_secrets_users",
          );

          const logText = logs.join("");
          assert.ok(logs.length >= responses.length, "the scenario was logged");
          // Two answers may hold a secret: the token at its creation, and the authorised value read.
          const shownOnce = [token, ...responses.filter((r) => r.text.includes(rotated))];
          assert.equal(shownOnce.length, 2);
          const responseText = responses
            .filter((r) => !shownOnce.includes(r))
            .map((r) => `${JSON.stringify(r.headers)}${r.text}`)
            .join("\n");
          for (const [where, text] of [
            ["logs", logText],
            ["responses", responseText],
          ] as const) {
            for (const secret of secrets)
              assert.ok(
                !text.includes(secret),
                `${where} contain '${secret.slice(0, 12)}…' in ${text.slice(Math.max(0, text.indexOf(secret) - 300), text.indexOf(secret) + 20)}`,
              );
            for (const encoded of encodings)
              assert.ok(!text.includes(encoded.slice(0, 24)), `${where} contain ciphertext`);
            for (const { password_hash: hash } of hashes)
              assert.ok(!text.includes(hash.split("$")[5]!), `${where} contain a password hash`);
            assert.ok(
              !/authorization/i.test(where === "logs" ? text : ""),
              "no Authorization in logs",
            );
          }

          // One JSON line per request, with the documented fields; errors logged without their input.
          const requestLines = logs
            .map((l) => JSON.parse(l) as Record<string, unknown>)
            .filter((l) => l.msg === "request");
          assert.ok(requestLines.length >= responses.length);
          for (const line of requestLines) {
            for (const field of ["reqId", "method", "route", "status", "ms"])
              assert.ok(field in line, `${field} in ${JSON.stringify(line)}`);
          }
          assert.ok(requestLines.some((l) => l.user === "alice" && l.status === 200));
          const errorLine = logs
            .map((l) => JSON.parse(l) as { msg: string; err?: { message: string } })
            .find((l) => l.msg === "request failed");
          assert.ok(errorLine?.err?.message, "the 500 is logged with its cause");
        },
        { logLevel: "trace" },
      ));
  });
}
