/**
 * The server as a process: first start, graceful shutdown on real sockets, `--workers`, and
 * several servers sharing one database.
 */
import assert from "node:assert/strict";
import { request as httpRequest, Agent } from "node:http";
import { describe, it } from "node:test";
import { DIALECTS, SKIPPED_DIALECTS } from "../helpers/databases.js";
import { request, startServerProcess, type ServerProcess } from "../helpers/processes.js";
import { basic } from "../helpers/server.js";
import { withDatabase } from "../helpers/store.js";

const PASSPHRASE = "process test passphrase";
const SECRETS = "/api/3.0/mlflow/gateway/secrets";
const ADMIN_PASSWORD = "process-admin-password-1";
const ADMIN = basic("admin", ADMIN_PASSWORD);

function env(uri: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    MLFLOW_BACKEND_STORE_URI: uri,
    MLFLOW_CRYPTO_KEK_PASSPHRASE: PASSPHRASE,
    ...extra,
  };
}

async function stopAll(servers: ServerProcess[]): Promise<void> {
  await Promise.all(servers.map((s) => s.stop()));
}

describe("the server process", () => {
  const sqlite = DIALECTS.find((d) => d.name === "sqlite")!;

  it("creates the first admin with a generated password printed once on stderr, storing only its hash", () =>
    withDatabase(sqlite, async (db) => {
      const first = await startServerProcess([], env(db.uri));
      try {
        const banner = /created the first admin user 'admin' with the password\n\s+(\S+)\n/.exec(
          first.stderr(),
        );
        assert.ok(banner, first.stderr());
        const password = banner[1]!;
        assert.ok(password.length >= 20);
        assert.equal(
          (await request(`${first.url}${SECRETS}/list`, "GET", basic("admin", password))).status,
          200,
        );
        assert.ok(!first.stdout().includes(password), "not in the JSON log");
        const [row] = await db.query<{ password_hash: string }>(
          "SELECT password_hash FROM mlflow_secrets_users",
        );
        assert.match(row!.password_hash, /^scrypt\$15\$8\$1\$/);
        assert.ok(!row!.password_hash.includes(password));
        assert.equal(await first.stop(), 0);
        // A second start finds the admin and prints no password.
        const second = await startServerProcess([], env(db.uri));
        assert.ok(!second.stderr().includes("with the password"));
        assert.equal(await second.stop("SIGINT"), 0);
      } finally {
        await first.stop();
      }
    }));

  it("on SIGTERM stops accepting, finishes in-flight requests, closes idle connections, exits 0", () =>
    withDatabase(sqlite, async (db) => {
      const server = await startServerProcess(
        [],
        env(db.uri, { MLFLOW_SECRETS_ADMIN_PASSWORD: ADMIN_PASSWORD }),
      );
      try {
        // An idle keep-alive connection must not hold the shutdown up.
        const agent = new Agent({ keepAlive: true });
        await new Promise<void>((resolve, reject) =>
          httpRequest(`${server.url}/health`, { agent }, (res) => {
            res.resume();
            res.on("end", resolve);
          })
            .on("error", reject)
            .end(),
        );
        // A request whose body is still arriving when the signal comes.
        const body = JSON.stringify({
          secret_name: "in-flight",
          secret_value: { api_key: "sk-in-flight-0123" },
        });
        const inFlight = new Promise<{ status: number; text: string }>((resolve, reject) => {
          const req = httpRequest(
            `${server.url}${SECRETS}/create`,
            {
              method: "POST",
              headers: {
                authorization: ADMIN,
                "content-type": "application/json",
                "content-length": Buffer.byteLength(body),
              },
            },
            (res) => {
              let text = "";
              res.on("data", (d: Buffer) => (text += d.toString()));
              res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
            },
          );
          req.on("error", reject);
          req.write(body.slice(0, 10));
          setTimeout(() => {
            server.child.kill("SIGTERM");
            setTimeout(() => req.end(body.slice(10)), 500);
          }, 300);
        });
        const started = Date.now();
        const answer = await inFlight;
        assert.equal(answer.status, 200, answer.text);
        assert.equal(await server.exited, 0);
        assert.ok(Date.now() - started < 5_000, "stopped promptly");
        assert.match(server.stderr(), /SIGTERM received, finishing in-flight requests/);
        await assert.rejects(fetch(`${server.url}/health`));
        agent.destroy();
        const rows = await db.query(
          "SELECT secret_id FROM secrets WHERE secret_name = 'in-flight'",
        );
        assert.equal(rows.length, 1);
      } finally {
        await server.stop();
      }
    }));

  it("fails to start, with one line and exit 1, on a KEK that cannot read the stored secrets", () =>
    withDatabase(sqlite, async (db) => {
      const server = await startServerProcess(
        [],
        env(db.uri, { MLFLOW_SECRETS_ADMIN_PASSWORD: ADMIN_PASSWORD }),
      );
      const created = await request(`${server.url}${SECRETS}/create`, "POST", ADMIN, {
        secret_name: "s",
        secret_value: { api_key: "sk-0123456789" },
      });
      assert.equal(created.status, 200);
      assert.equal(await server.stop(), 0);
      await assert.rejects(
        startServerProcess([], env(db.uri, { MLFLOW_CRYPTO_KEK_PASSPHRASE: "another passphrase" })),
        /exited with 1:[\s\S]*Error: Refusing to open .*kek_version 1 does not decrypt/,
      );
    }));
});

if (SKIPPED_DIALECTS.length > 0) {
  it(
    `multi-process suite skips ${SKIPPED_DIALECTS.join(", ")}`,
    { skip: "database not configured" },
    () => {},
  );
}

for (const dialect of DIALECTS.filter((d) => d.name !== "sqlite")) {
  describe(`several servers on one ${dialect.name} database`, () => {
    it("stay consistent: one winner per name, shared grants, revocations and password changes take effect everywhere", () =>
      withDatabase(dialect, async (db) => {
        // Three servers start at once on an empty database without an admin password: one admin, one banner.
        const servers = await Promise.all([1, 2, 3].map(() => startServerProcess([], env(db.uri))));
        try {
          const banners = servers
            .map((s) => /with the password\n\s+(\S+)\n/.exec(s.stderr())?.[1])
            .filter(Boolean);
          assert.equal(banners.length, 1, servers.map((s) => s.stderr()).join("\n---\n"));
          const admin = basic("admin", banners[0]!);
          const [a, b, c] = servers.map((s) => s.url) as [string, string, string];
          assert.equal((await db.query("SELECT user_id FROM mlflow_secrets_users")).length, 1);

          // Racing creators: exactly one wins each name.
          const racing = await Promise.all(
            [a, b, c, a, b, c].map((url) =>
              request(`${url}${SECRETS}/create`, "POST", admin, {
                secret_name: "contested",
                secret_value: { api_key: "sk-0123456789" },
              }),
            ),
          );
          assert.equal(racing.filter((r) => r.status === 200).length, 1);
          assert.ok(
            racing
              .filter((r) => r.status !== 200)
              .every((r) => r.body.error_code === "RESOURCE_ALREADY_EXISTS"),
          );
          const created = await Promise.all(
            Array.from({ length: 24 }, (_, i) =>
              request(`${[a, b, c][i % 3]}${SECRETS}/create`, "POST", admin, {
                secret_name: `spread-${String(i).padStart(2, "0")}`,
                secret_value: { api_key: `sk-spread-${i}-0123456789` },
              }),
            ),
          );
          assert.ok(created.every((r) => r.status === 200));
          for (const url of [a, b, c]) {
            const listed = await request(`${url}${SECRETS}/list`, "GET", admin);
            assert.equal((listed.body.secrets as unknown[]).length, 25);
          }

          // A user and a grant made through one server apply on the others at once.
          assert.equal(
            (
              await request(`${a}/api/2.0/mlflow/users/create`, "POST", admin, {
                username: "svc",
                password: "svc-password-0001",
              })
            ).status,
            200,
          );
          const svc = basic("svc", "svc-password-0001");
          const id = (created[0]!.body.secret as { secret_id: string }).secret_id;
          assert.equal(
            (await request(`${b}${SECRETS}/value`, "POST", svc, { secret_id: id })).status,
            403,
          );
          await request(`${a}${SECRETS}/permissions/create`, "POST", admin, {
            secret_id: id,
            username: "svc",
            permission: "USE",
          });
          assert.equal(
            (await request(`${b}${SECRETS}/value`, "POST", svc, { secret_id: id })).status,
            200,
          );
          assert.equal(
            (await request(`${c}${SECRETS}/value`, "POST", svc, { secret_id: id })).status,
            200,
          );

          // A password changed on one server ends the cached verification on the others.
          await request(`${a}/api/2.0/mlflow/users/update-password`, "PATCH", svc, {
            username: "svc",
            password: "svc-password-0002",
          });
          assert.equal((await request(`${b}${SECRETS}/list`, "GET", svc)).status, 401);
          assert.equal(
            (await request(`${c}${SECRETS}/list`, "GET", basic("svc", "svc-password-0002"))).status,
            200,
          );

          // A token revoked on one server stops working on the others.
          const token = await request(`${a}/api/3.0/mlflow-secrets/tokens/create`, "POST", admin, {
            name: "t",
            username: "svc",
          });
          const bearer = `Bearer ${token.body.token as string}`;
          assert.equal(
            (await request(`${b}${SECRETS}/value`, "POST", bearer, { secret_id: id })).status,
            200,
          );
          await request(`${c}/api/3.0/mlflow-secrets/tokens/revoke`, "DELETE", admin, {
            token_id: token.body.token_id,
          });
          assert.equal(
            (await request(`${b}${SECRETS}/value`, "POST", bearer, { secret_id: id })).status,
            401,
          );

          // Concurrent value reads through all three: one audit row each.
          const reads = await Promise.all(
            Array.from({ length: 30 }, (_, i) =>
              request(`${[a, b, c][i % 3]}${SECRETS}/value`, "POST", admin, { secret_id: id }),
            ),
          );
          assert.ok(reads.every((r) => r.status === 200));
          const [{ n }] = (await db.query<{ n: number | string }>(
            "SELECT COUNT(*) AS n FROM mlflow_secrets_audit_log WHERE action = 'secret.value' AND secret_id = ? AND username = 'admin'",
            [id],
          )) as [{ n: number | string }];
          assert.equal(Number(n), 30);
        } finally {
          await stopAll(servers);
        }
        assert.deepEqual(
          servers.map((s) => s.child.exitCode),
          [0, 0, 0],
        );
      }));

    it("--workers 2 serves from two processes and stops them all on SIGTERM", () =>
      withDatabase(dialect, async (db) => {
        const server = await startServerProcess(
          ["--workers", "2"],
          env(db.uri, { MLFLOW_SECRETS_ADMIN_PASSWORD: ADMIN_PASSWORD }),
        );
        try {
          // Wait for the second worker too.
          for (
            let i = 0;
            i < 100 && (server.stderr().match(/listening on/g) ?? []).length < 2;
            i++
          ) {
            await new Promise((r) => setTimeout(r, 100));
          }
          const replies = await Promise.all(
            Array.from({ length: 40 }, () => request(`${server.url}${SECRETS}/list`, "GET", ADMIN)),
          );
          assert.ok(replies.every((r) => r.status === 200));
          const pids = new Set(
            server
              .stdout()
              .split("\n")
              .filter((l) => l.includes('"msg":"request"'))
              .map((l) => (JSON.parse(l) as { pid: number }).pid),
          );
          assert.equal(pids.size, 2, server.stderr());
          assert.equal(await server.stop(), 0);
          assert.match(server.stderr(), /stopping 2 workers/);
        } finally {
          await server.stop();
        }
      }));
  });
}
