/** `users`, `tokens`, `permissions`, `audit list` and `server --help`, directly on each database. */
import assert from "node:assert/strict";
import { userInfo } from "node:os";
import { describe, it } from "node:test";
import { createServer, openSecretStore, resolveServerOptions } from "../../src/index.js";
import { cli } from "../helpers/cli.js";
import { DIALECTS } from "../helpers/databases.js";
import { basic } from "../helpers/server.js";
import { testKeyring, withDatabase } from "../helpers/store.js";

const PASSPHRASE = "store test passphrase";

function envFor(uri: string, extra: Record<string, string> = {}): Record<string, string> {
  return { MLFLOW_BACKEND_STORE_URI: uri, MLFLOW_CRYPTO_KEK_PASSPHRASE: PASSPHRASE, ...extra };
}

function json<T>(text: string): T {
  return JSON.parse(text) as T;
}

for (const dialect of DIALECTS) {
  describe(`admin commands on ${dialect.name}`, () => {
    it("manage users, tokens, permissions and read the audit log, printing REST bodies", () =>
      withDatabase(dialect, async (db) => {
        const env = envFor(db.uri);
        const created = await cli(
          [
            "users",
            "create",
            "--username",
            "alice",
            "--password-stdin",
            "--admin",
            "--output",
            "json",
          ],
          {
            env,
            stdin: "alice-password-0001\n",
          },
        );
        assert.equal(created.code, 0, created.stderr);
        const user = json<{ user: Record<string, unknown> }>(created.stdout).user;
        assert.deepEqual(
          { ...user, id: "u" },
          {
            id: "u",
            username: "alice",
            is_admin: true,
            experiment_permissions: [],
            registered_model_permissions: [],
          },
        );
        // A hidden prompt, asked twice, on a terminal; never a flag.
        const prompted = await cli(["users", "create", "--username", "bob"], {
          env,
          tty: true,
          answers: ["bob-password-0001", "bob-password-0001"],
        });
        assert.equal(prompted.code, 0, prompted.stderr);
        assert.deepEqual(prompted.prompts, ["Password for 'bob' (hidden)", "Repeat it"]);
        assert.match(prompted.stdout, /^Created user 'bob' \(u-[0-9a-f]{32}\)\n$/);
        const mismatch = await cli(["users", "create", "--username", "carol"], {
          env,
          tty: true,
          answers: ["a-password-0001", "b-password-0001"],
        });
        assert.equal(mismatch.code, 2);
        const noTty = await cli(["users", "create", "--username", "carol"], { env });
        assert.equal(noTty.code, 2);
        assert.match(noTty.stderr, /--password-stdin/);
        const weak = await cli(["users", "create", "--username", "carol", "--password-stdin"], {
          env,
          stdin: "short",
        });
        assert.equal(weak.code, 1);
        assert.match(
          weak.stderr,
          /^Error: Parameter 'password' must be 12–1024 characters long\n$/,
        );

        const listed = await cli(["users", "list", "--output", "json"], { env });
        assert.deepEqual(
          json<{ users: { username: string; is_admin: boolean }[] }>(listed.stdout).users.map(
            (u) => [u.username, u.is_admin],
          ),
          [
            ["alice", true],
            ["bob", false],
          ],
        );
        const table = await cli(["users", "list"], { env });
        assert.match(table.stdout, /^USER_ID\s+USERNAME\s+ADMIN\n/);
        assert.equal(
          (
            await cli(
              [
                "users",
                "update-admin",
                "--username",
                "bob",
                "--is-admin",
                "true",
                "--output",
                "json",
              ],
              { env },
            )
          ).stdout,
          "{}\n",
        );
        assert.equal(
          (
            await cli(["users", "update-password", "--username", "bob", "--password-stdin"], {
              env,
              stdin: "bob-password-0002",
            })
          ).code,
          0,
        );

        // A secret to grant on, made with the secrets command.
        const secret = await cli(
          [
            "secrets",
            "create",
            "--name",
            "shared",
            "--value",
            "api_key=sk-shared-0123456789",
            "--output",
            "json",
          ],
          { env },
        );
        assert.equal(secret.code, 0, secret.stderr);
        const secretId = json<{ secret: { secret_id: string } }>(secret.stdout).secret.secret_id;
        const granted = await cli(
          [
            "permissions",
            "grant",
            "--secret-id",
            secretId,
            "--username",
            "bob",
            "--permission",
            "use",
            "--output",
            "json",
          ],
          { env },
        );
        assert.equal(granted.code, 0, granted.stderr);
        assert.deepEqual(
          {
            ...json<{ secret_permission: Record<string, string> }>(granted.stdout)
              .secret_permission,
            user_id: "u",
          },
          { secret_id: secretId, user_id: "u", username: "bob", permission: "USE" },
        );
        const got = await cli(
          ["permissions", "get", "--secret-id", secretId, "--username", "bob"],
          { env },
        );
        assert.match(got.stdout, /permission:\s+USE/);
        assert.equal(
          (
            await cli(
              [
                "permissions",
                "update",
                "--secret-id",
                secretId,
                "--username",
                "bob",
                "--permission",
                "EDIT",
              ],
              { env },
            )
          ).code,
          0,
        );
        const bad = await cli(
          [
            "permissions",
            "update",
            "--secret-id",
            secretId,
            "--username",
            "bob",
            "--permission",
            "OWNER",
          ],
          { env },
        );
        assert.equal(bad.code, 1);
        assert.match(bad.stderr, /must be one of NO_PERMISSIONS, READ, USE, EDIT, MANAGE/);

        const token = await cli(
          ["tokens", "create", "--username", "bob", "--name", "gateway", "--output", "json"],
          { env },
        );
        assert.equal(token.code, 0, token.stderr);
        const { token_id: tokenId, token: value } = json<{ token_id: string; token: string }>(
          token.stdout,
        );
        assert.match(value, /^mls_/);
        const plain = await cli(["tokens", "create", "--username", "bob", "--name", "second"], {
          env,
        });
        assert.match(plain.stdout, /^mls_[\w-]{43}\n$/);
        assert.match(plain.stderr, /shown only this once/);
        const tokens = await cli(["tokens", "list", "--username", "bob", "--output", "json"], {
          env,
        });
        assert.deepEqual(
          json<{ tokens: { name: string }[] }>(tokens.stdout).tokens.map((t) => t.name),
          ["gateway", "second"],
        );
        assert.ok(!tokens.stdout.includes(value));

        // What the CLI made works on a server over the same database.
        const store = await openSecretStore({ uri: db.uri, keyring: await testKeyring() });
        try {
          const app = await createServer({
            store,
            options: resolveServerOptions({ logLevel: "silent" }),
          });
          try {
            const viaToken = await app.inject({
              method: "POST",
              url: "/api/3.0/mlflow/gateway/secrets/value",
              headers: { authorization: `Bearer ${value}` },
              payload: { secret_id: secretId },
            });
            assert.equal(viaToken.statusCode, 200, viaToken.body);
            const viaPassword = await app.inject({
              method: "GET",
              url: "/api/3.0/mlflow/gateway/secrets/list",
              headers: { authorization: basic("bob", "bob-password-0002") },
            });
            assert.equal(viaPassword.statusCode, 200);
          } finally {
            await app.close();
          }
        } finally {
          await store.close();
        }

        assert.equal(
          (await cli(["tokens", "revoke", "--token-id", tokenId], { env })).stdout,
          `Revoked token ${tokenId}\n`,
        );
        assert.equal(
          (
            await cli(["permissions", "revoke", "--secret-id", secretId, "--username", "bob"], {
              env,
            })
          ).code,
          0,
        );
        const gone = await cli(
          ["permissions", "get", "--secret-id", secretId, "--username", "bob"],
          { env },
        );
        assert.equal(gone.code, 1);
        assert.match(gone.stderr, /No permission for user 'bob'/);
        const refused = await cli(["users", "delete", "--username", "bob"], { env });
        assert.equal(refused.code, 2);
        assert.equal(
          (await cli(["users", "delete", "--username", "bob", "--yes"], { env })).code,
          0,
        );
        const lastAdmin = await cli(["users", "delete", "--username", "alice", "--yes"], { env });
        assert.match(lastAdmin.stderr, /last admin/);

        // Every change above is in the audit log, by the CLI's user (the direct-mode
        // `secrets create` included: it goes through the same secrets service as the API).
        const audit = await cli(["audit", "list", "--output", "json", "--max-results", "1000"], {
          env,
        });
        assert.equal(audit.code, 0, audit.stderr);
        const events = json<{ events: { action: string; username?: string; outcome: string }[] }>(
          audit.stdout,
        ).events;
        assert.deepEqual(events.map((e) => e.action).reverse(), [
          "user.create",
          "user.create",
          "user.update_admin",
          "user.update_password",
          "secret.create",
          "permission.create",
          "permission.update",
          "token.create",
          "token.create",
          "secret.value",
          "token.revoke",
          "permission.delete",
          "user.delete",
        ]);
        const cliUser = `cli:${userInfo().username}`;
        assert.ok(
          events
            .filter((e) => e.action !== "secret.value")
            .every((e) => e.username === cliUser && e.outcome === "success"),
        );
        const forSecret = await cli(
          ["audit", "list", "--secret-id", secretId, "--output", "json"],
          { env },
        );
        // secret.create, permission.create/update/delete, secret.value
        assert.equal(json<{ events: unknown[] }>(forSecret.stdout).events.length, 5);
        const future = await cli(
          ["audit", "list", "--since", "2999-01-01T00:00:00Z", "--output", "json"],
          { env },
        );
        assert.equal(future.stdout, '{"events":[]}\n');
        const badSince = await cli(["audit", "list", "--since", "last week"], { env });
        assert.equal(badSince.code, 1);
        const paged = await cli(["audit", "list", "--max-results", "5"], { env });
        assert.match(paged.stdout, /^TIME\s+USER\s+ACTION\s+OUTCOME\s+SECRET\s+ADDRESS\n/);
        assert.match(paged.stderr, /^More: --page-token \S+\n$/);
      }));
  });
}

describe("server and admin command options", () => {
  it("documents the server command with examples and rejects bad flags and settings", async () => {
    const help = await cli(["server", "--help"]);
    assert.equal(help.code, 0);
    for (const flag of [
      "--host",
      "--port",
      "--backend-store-uri",
      "--workers",
      "--static-prefix",
      "--log-level",
      "Examples:",
    ]) {
      assert.ok(help.stdout.includes(flag), flag);
    }
    for (const group of ["users", "tokens", "permissions", "audit"]) {
      const groupHelp = await cli([group, "--help"]);
      assert.equal(groupHelp.code, 0);
    }
    assert.match((await cli(["users", "create", "--help"])).stdout, /Example:\n {2}\$ printf/);
    assert.equal((await cli(["server", "--port", "99999"])).code, 2);
    assert.equal((await cli(["server", "--workers", "0"])).code, 2);
    assert.equal((await cli(["server", "--log-level", "loud"])).code, 2);
    const badPermission = await cli(["server"], {
      env: { MLFLOW_SECRETS_DEFAULT_PERMISSION: "ALL" },
    });
    assert.equal(badPermission.code, 1);
    assert.equal(
      badPermission.stderr,
      "Error: MLFLOW_SECRETS_DEFAULT_PERMISSION must be one of NO_PERMISSIONS, READ, USE, EDIT, MANAGE, got 'ALL'\n",
    );
    const badBoolean = await cli(["users", "list"], {
      env: { MLFLOW_SECRETS_USERS_CAN_CREATE: "maybe" },
    });
    assert.match(
      badBoolean.stderr,
      /^Error: MLFLOW_SECRETS_USERS_CAN_CREATE must be one of 'true', 'false', '1' or '0' \(any case\), got 'maybe'\n$/,
    );
    const badPrefix = await cli(["server", "--static-prefix", "/a b"]);
    assert.equal(badPrefix.code, 1);
    assert.match(badPrefix.stderr, /--static-prefix must be a URL path/);
  });
});
