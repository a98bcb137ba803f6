/** The `secrets`, `db` and `crypto status` commands in direct database mode. */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { DIALECTS } from "../helpers/databases.js";
import { REPO_ROOT, cli, cliProcess } from "../helpers/cli.js";
import { withDatabase } from "../helpers/store.js";

const PASSPHRASE = "cli test passphrase";

function envFor(uri: string, extra: Record<string, string> = {}): Record<string, string> {
  return { MLFLOW_BACKEND_STORE_URI: uri, MLFLOW_CRYPTO_KEK_PASSPHRASE: PASSPHRASE, ...extra };
}

function json<T>(text: string): T {
  return JSON.parse(text) as T;
}

interface SecretBody {
  secret: {
    secret_id: string;
    secret_name: string;
    masked_values: Record<string, string>;
    provider?: string;
    auth_config?: unknown;
  };
}

for (const dialect of DIALECTS) {
  describe(`secrets commands on ${dialect.name}`, () => {
    it("create, get, list, update, reveal and delete, printing REST bodies with --output json", () =>
      withDatabase(dialect, async (db) => {
        const env = envFor(db.uri);
        const created = await cli(
          [
            "secrets",
            "create",
            "--name",
            "openai-prod",
            "--provider",
            "openai",
            "--value",
            "api_key=sk-proj-1234567890abcd",
            "--auth-config",
            '{"api_base":"https://api.openai.com"}',
            "--output",
            "json",
          ],
          { env },
        );
        assert.equal(created.code, 0, created.stderr);
        const body = json<SecretBody>(created.stdout);
        assert.match(body.secret.secret_id, /^s-[0-9a-f]{32}$/);
        assert.deepEqual(body.secret.masked_values, { api_key: "sk-...abcd" });
        assert.deepEqual(body.secret.auth_config, { api_base: "https://api.openai.com" });
        assert.ok(!created.stdout.includes("sk-proj-1234567890abcd"));
        const id = body.secret.secret_id;

        const viaStdin = await cli(
          ["secrets", "create", "--name", "anthropic", "--value-stdin", "--output", "json"],
          { env, stdin: "sk-ant-api03-abcdefgh\n" },
        );
        assert.equal(viaStdin.code, 0, viaStdin.stderr);
        assert.deepEqual(json<SecretBody>(viaStdin.stdout).secret.masked_values, {
          api_key: "sk-...efgh",
        });
        const viaJson = await cli(
          ["secrets", "create", "--name", "aws", "--value-stdin", "--output", "json"],
          {
            env,
            stdin:
              '{"aws_access_key_id": "AKIA0000000000", "aws_secret_access_key": "abcdefghijkl"}',
          },
        );
        assert.deepEqual(Object.keys(json<SecretBody>(viaJson.stdout).secret.masked_values), [
          "aws_access_key_id",
          "aws_secret_access_key",
        ]);
        const viaPrompt = await cli(["secrets", "create", "--name", "prompted", "--key", "token"], {
          env,
          tty: true,
          answers: ["tok-1234567890"],
        });
        assert.equal(viaPrompt.code, 0, viaPrompt.stderr);
        assert.deepEqual(viaPrompt.prompts, ["Value for 'token' (hidden)"]);
        assert.ok(!viaPrompt.stdout.includes("tok-1234567890"));

        const got = await cli(["secrets", "get", "--name", "openai-prod", "--output", "json"], {
          env,
        });
        assert.deepEqual(json<SecretBody>(got.stdout), body);
        const table = await cli(["secrets", "get", "--id", id], { env });
        assert.match(table.stdout, /^secret_id: +s-/m);
        assert.match(table.stdout, /masked_values: +api_key=sk-\.\.\.abcd/);

        const listed = json<{ secrets: { secret_name: string }[] }>(
          (await cli(["secrets", "list", "--output", "json"], { env })).stdout,
        );
        assert.deepEqual(
          listed.secrets.map((s) => s.secret_name),
          ["anthropic", "aws", "openai-prod", "prompted"],
        );
        const listTable = await cli(["secrets", "list", "--provider", "openai"], { env });
        assert.deepEqual(listTable.stdout.trim().split("\n").length, 2);
        assert.match(listTable.stdout, /^SECRET_ID +NAME +PROVIDER +MASKED +UPDATED$/m);

        const updated = await cli(
          [
            "secrets",
            "update",
            "--id",
            id,
            "--value-json",
            '{"api_key": "sk-proj-NEW-000000000"}',
            "--output",
            "json",
          ],
          { env },
        );
        assert.equal(updated.code, 0, updated.stderr);
        assert.deepEqual(json<SecretBody>(updated.stdout).secret.masked_values, {
          api_key: "sk-...0000",
        });
        const cleared = await cli(
          ["secrets", "update", "--id", id, "--auth-config", "{}", "--output", "json"],
          { env },
        );
        assert.equal(json<SecretBody>(cleared.stdout).secret.auth_config, undefined);

        const revealed = await cli(["secrets", "reveal", "--id", id, "--output", "json"], { env });
        assert.deepEqual(json(revealed.stdout), {
          secret_id: id,
          secret_value: { api_key: "sk-proj-NEW-000000000" },
        });
        assert.equal(
          (await cli(["secrets", "reveal", "--id", id], { env })).stdout,
          "api_key=sk-proj-NEW-000000000\n",
        );
        // Direct-mode changes and reads go through the server's secrets service: audited, as `cli:<user>`.
        const audited = await db.query<{ action: string; username: string }>(
          "SELECT action, username FROM mlflow_secrets_audit_log WHERE secret_id = ? ORDER BY event_id",
          [id],
        );
        assert.deepEqual(
          audited.map((r) => r.action),
          ["secret.create", "secret.update", "secret.update", "secret.value", "secret.value"],
        );
        assert.ok(audited.every((r) => r.username.startsWith("cli:")));

        const refused = await cli(["secrets", "delete", "--id", id], { env });
        assert.equal(refused.code, 2);
        assert.equal(
          refused.stderr,
          "Error: Refusing to delete without --yes when not on a terminal\n",
        );
        const declined = await cli(["secrets", "delete", "--id", id], {
          env,
          tty: true,
          answers: [false],
        });
        assert.equal(declined.code, 0);
        assert.equal((await cli(["secrets", "get", "--id", id], { env })).code, 0);
        const deleted = await cli(["secrets", "delete", "--id", id, "--yes", "--output", "json"], {
          env,
        });
        assert.equal(deleted.stdout, "{}\n");
        const missing = await cli(["secrets", "get", "--id", id], { env });
        assert.equal(missing.code, 1);
        assert.equal(missing.stderr, `Error: Secret with ID '${id}' not found\n`);
      }));
  });
}

describe("secrets commands: input and errors", () => {
  const dir = mkdtempSync(join(tmpdir(), "cli-"));
  const env = envFor(`sqlite:///${join(dir, "cli.db")}`);

  it("refuses ambiguous or missing values with usage errors (exit 2)", async () => {
    const both = await cli(
      ["secrets", "create", "--name", "x", "--value", "a=b", "--value-json", '{"a":"b"}'],
      { env },
    );
    assert.equal(both.code, 2);
    assert.match(both.stderr, /Give the value once/);
    const none = await cli(["secrets", "create", "--name", "x"], { env });
    assert.equal(none.code, 2);
    assert.match(none.stderr, /No secret value given: use --value-stdin/);
    const badPair = await cli(["secrets", "create", "--name", "x", "--value", "novalue"], { env });
    assert.equal(badPair.code, 2);
    const badJson = await cli(["secrets", "create", "--name", "x", "--value-json", "[1]"], { env });
    assert.equal(badJson.code, 2);
    const getBoth = await cli(["secrets", "get", "--id", "a", "--name", "b"], { env });
    assert.equal(getBoth.code, 2);
    const badOutput = await cli(["secrets", "list", "--output", "yaml"], { env });
    assert.equal(badOutput.code, 2);
    const unknown = await cli(["secrets", "frobnicate"], { env });
    assert.equal(unknown.code, 2);
  });

  it("prints one error line without a stack trace, unless MLFLOW_SECRETS_DEBUG=1", async () => {
    const tooBig = await cli(
      ["secrets", "create", "--name", "big", "--value", `api_key=${"k".repeat(70_000)}`],
      { env },
    );
    assert.equal(tooBig.code, 1);
    assert.equal(tooBig.stderr.split("\n").length, 2);
    assert.match(tooBig.stderr, /^Error: secret_value is too large/);
    assert.ok(!tooBig.stderr.includes("kkkk"));
    const debug = await cli(["secrets", "get", "--id", "s-x"], {
      env: { ...env, MLFLOW_SECRETS_DEBUG: "1" },
    });
    assert.match(
      debug.stderr,
      /^Error: Secret with ID 's-x' not found\nMlflowSecretsError: .*\n\s+at /,
    );
  });

  it("never prints a database password", async () => {
    const result = await cli(
      ["secrets", "list", "--backend-store-uri", "postgresql://app:hunter2pass@127.0.0.1:1/x"],
      { env },
    );
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /^Error: Cannot connect to postgresql:\/\/app:\*\*\*@127\.0\.0\.1:1\/x: /,
    );
    assert.ok(!result.stderr.includes("hunter2pass"));
  });

  it("db upgrade and crypto status report the schema and the KEK versions", async () => {
    const upgraded = await cli(["db", "upgrade"], { env });
    assert.equal(upgraded.code, 0, upgraded.stderr);
    assert.match(upgraded.stdout, /mlflow-secrets schema is at version \d+ on sqlite:\/\/\//);
    await cli(["secrets", "create", "--name", "s1", "--value", "api_key=one"], { env });
    // A CLI whose only KEK is v2 refuses to touch a database with rows at v1.
    const refused = await cli(["secrets", "create", "--name", "s2", "--value", "api_key=two"], {
      env: { ...env, MLFLOW_CRYPTO_KEK_PASSPHRASE: "second", MLFLOW_CRYPTO_KEK_VERSION: "2" },
    });
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /^Error: Refusing to open sqlite:.*stored with kek_version 1, but no KEK for that version is configured/,
    );
    const status = await cli(["crypto", "status", "--verify", "--output", "json"], { env });
    const body = json<{
      kek_versions: { kek_version: number; rows: number; readable: boolean }[];
      failures: unknown[];
    }>(status.stdout);
    assert.equal(status.code, 0, status.stderr);
    assert.deepEqual(
      body.kek_versions.map((v) => [v.kek_version, v.readable]),
      [[1, true]],
    );
    assert.deepEqual(body.failures, []);
    // Under a wrong passphrase, status still reports (and --verify fails with exit 1).
    const wrong = await cli(["crypto", "status", "--verify"], {
      env: { ...env, MLFLOW_CRYPTO_KEK_PASSPHRASE: "wrong" },
    });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stdout, /^1 +\d+ +yes +no \(wrong passphrase\)$/m);
    assert.match(wrong.stdout, /secret\(s\) fail:/);
    assert.ok(!wrong.stdout.includes("wrong\n"));
  });
});

describe("a long-lived process and the CLI on one SQLite file", () => {
  it("serve reads and writes while CLI processes create and list, without SQLITE_BUSY errors", async () => {
    const dir = mkdtempSync(join(tmpdir(), "shared-"));
    const uri = `sqlite:///${join(dir, "shared.db")}`;
    const env = envFor(uri);
    // A server-like process: holds the store open and writes and reads continuously for a while.
    const worker = new Promise<{ code: number; out: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        [
          "--import",
          "tsx",
          "--input-type=module",
          "-e",
          `
        import { openSecretStore } from "./src/index.ts";
        const store = await openSecretStore();
        let n = 0;
        const until = Date.now() + 4000;
        while (Date.now() < until) {
          const info = await store.createSecret({ secretName: "server-" + n++, secretValue: { api_key: "sk-" + n } });
          await store.getSecretValue({ secretId: info.secretId });
          await store.listSecretInfos({ maxResults: 5 });
          await new Promise((r) => setTimeout(r, 2));
        }
        await store.close();
        console.log(n);
      `,
        ],
        { cwd: REPO_ROOT, env: { ...process.env, ...env } },
      );
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr.on("data", (d: Buffer) => (out += d.toString()));
      child.on("close", (code) => resolve({ code: code ?? -1, out }));
    });
    await new Promise((r) => setTimeout(r, 1000));
    const results = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        cliProcess(
          ["secrets", "create", "--name", `cli-${i}`, "--value", `api_key=cli-value-${i}`],
          env,
        ),
      ),
    );
    // Two separate processes race to create the same name: exactly one wins.
    const racers = await Promise.all(
      [0, 1, 2].map(() =>
        cliProcess(["secrets", "create", "--name", "raced", "--value", "api_key=x"], env),
      ),
    );
    const listed = await cliProcess(["secrets", "list", "--output", "json"], env);
    const done = await worker;
    assert.equal(done.code, 0, done.out);
    assert.ok(
      Number(done.out.trim()) > 20,
      `server-like process made only ${done.out.trim()} rounds`,
    );
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(racers.map((r) => r.code).sort(), [0, 1, 1]);
    for (const r of racers.filter((x) => x.code === 1))
      assert.equal(r.stderr, "Error: Secret with name 'raced' already exists\n");
    assert.equal(listed.code, 0, listed.stderr);
    const names = json<{ secrets: { secret_name: string }[] }>(listed.stdout).secrets.map(
      (s) => s.secret_name,
    );
    for (let i = 0; i < 4; i++) assert.ok(names.includes(`cli-${i}`));
  });
});
