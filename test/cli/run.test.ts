/**
 * `mlflow-secrets run` with real child processes: values in the environment and nowhere else,
 * exit codes and signals passed through, nothing started when a secret or key is missing.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { REPO_ROOT, cli } from "../helpers/cli.js";
import { DIALECTS } from "../helpers/databases.js";
import { ADMIN, auditRows, withServer } from "../helpers/server.js";
import { PASSPHRASE, withDatabase } from "../helpers/store.js";

const sqlite = DIALECTS.find((d) => d.name === "sqlite")!;
const OPENAI = "sk-proj-run-test-0123456789";
const AWS = { aws_access_key_id: "AKIARUNTEST0000", aws_secret_access_key: "run/test+secret=0000" };

interface Started {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout: () => string;
  stderr: () => string;
}

/** `mlflow-secrets run …` as a process of its own (the child is its grandchild). */
function startRun(args: string[], env: Record<string, string>): Started {
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "run", ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal })),
  );
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}

async function finished(args: string[], env: Record<string, string>) {
  const run = startRun(args, env);
  const { code } = await run.exited;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

function envFor(uri: string): Record<string, string> {
  return { MLFLOW_BACKEND_STORE_URI: uri, MLFLOW_CRYPTO_KEK_PASSPHRASE: PASSPHRASE };
}

async function seed(env: Record<string, string>): Promise<void> {
  for (const [name, value] of [
    ["openai-prod", { api_key: OPENAI }],
    ["bedrock", AWS],
  ] as const) {
    const created = await cli(["secrets", "create", "--name", name, "--value-stdin"], {
      env,
      stdin: JSON.stringify(value),
    });
    assert.equal(created.code, 0, created.stderr);
  }
}

const sha = (text: string) => createHash("sha256").update(text).digest("hex");

/**
 * The child reports, without printing any value: a hash of each variable, whether its own and
 * its parent's command lines hold a value, and whether the KEK passphrase reached it.
 */
const REPORTER = `
const fs = require("node:fs");
const crypto = require("node:crypto");
const h = (t) => t === undefined ? null : crypto.createHash("sha256").update(t).digest("hex");
const values = Object.entries(process.env).filter(([k]) => /^(OPENAI_API_KEY|X_.*|AWS_.*)$/.test(k));
const argv = fs.readFileSync("/proc/self/cmdline", "utf8") + fs.readFileSync("/proc/" + process.ppid + "/cmdline", "utf8");
console.log(JSON.stringify({
  hashes: Object.fromEntries(values.map(([k, v]) => [k, h(v)])),
  onArgv: values.some(([, v]) => argv.includes(v)),
  kek: "MLFLOW_CRYPTO_KEK_PASSPHRASE" in process.env,
}));
`;

for (const dialect of DIALECTS) {
  describe(`run on ${dialect.name}`, () => {
    it("puts the values in the child's environment only, and passes its exit code through", () =>
      withDatabase(dialect, async (db) => {
        const env = envFor(db.uri);
        await seed(env);
        const result = await finished(
          [
            "--env",
            "OPENAI_API_KEY=openai-prod:api_key",
            "--secret",
            "bedrock",
            "--",
            "node",
            "-e",
            REPORTER,
          ],
          env,
        );
        assert.equal(result.code, 0, result.stderr);
        const report = JSON.parse(result.stdout) as {
          hashes: Record<string, string>;
          onArgv: boolean;
          kek: boolean;
        };
        assert.deepEqual(report.hashes, {
          OPENAI_API_KEY: sha(OPENAI),
          AWS_ACCESS_KEY_ID: sha(AWS.aws_access_key_id),
          AWS_SECRET_ACCESS_KEY: sha(AWS.aws_secret_access_key),
        });
        assert.equal(report.onArgv, false);
        assert.equal(report.kek, false, "the KEK passphrase must not reach the child");
        for (const value of [OPENAI, ...Object.values(AWS)]) {
          assert.ok(!result.stdout.includes(value) && !result.stderr.includes(value));
        }
        // Audited as value reads.
        const reads = await auditRows(db, "action = 'secret.value'");
        assert.deepEqual(reads.map((r) => r.secret_name).sort(), ["bedrock", "openai-prod"]);

        const exit = await finished(
          ["--env", "K=openai-prod", "--", "node", "-e", "process.exit(7)"],
          env,
        );
        assert.equal(exit.code, 7, exit.stderr);
      }));
  });
}

describe("run", () => {
  it("exits 128 + n when a signal ends the child", () =>
    withDatabase(sqlite, async (db) => {
      const env = envFor(db.uri);
      await seed(env);
      for (const [signal, code] of [
        ["SIGTERM", 143],
        ["SIGKILL", 137],
      ] as const) {
        const result = await finished(
          ["--env", "K=openai-prod", "--", "node", "-e", `process.kill(process.pid, "${signal}")`],
          env,
        );
        assert.equal(result.code, code, result.stderr);
      }
    }));

  it("passes SIGINT and SIGTERM on to the child, and exits as the child does", () =>
    withDatabase(sqlite, async (db) => {
      const env = envFor(db.uri);
      await seed(env);
      for (const [signal, code] of [
        ["SIGINT", 42],
        ["SIGTERM", 43],
      ] as const) {
        const run = startRun(
          [
            "--env",
            "K=openai-prod",
            "--",
            "node",
            "-e",
            `process.on("${signal}", () => { console.log("child got ${signal}"); process.exit(${code}); }); console.log("ready"); setInterval(() => {}, 1000);`,
          ],
          env,
        );
        const deadline = Date.now() + 60_000;
        while (!run.stdout().includes("ready")) {
          if (Date.now() > deadline || run.child.exitCode !== null) throw new Error(run.stderr());
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        run.child.kill(signal); // to `run` only: the child hears of it from `run`
        const { code: exitCode } = await run.exited;
        assert.equal(exitCode, code, run.stderr());
        assert.match(run.stdout(), new RegExp(`child got ${signal}`));
      }
    }));

  it("a missing secret or key stops before the child starts, naming it", () =>
    withDatabase(sqlite, async (db) => {
      const env = envFor(db.uri);
      await seed(env);
      const marker = join(mkdtempSync(join(tmpdir(), "run-")), "started");
      const child = [
        "--",
        "node",
        "-e",
        `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "x")`,
      ];
      const missing = await finished(
        ["--env", "A=openai-prod:api_key", "--env", "B=nope:api_key", ...child],
        env,
      );
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /Secret\(s\) not found: 'nope': nothing was run/);
      const noKey = await finished(["--env", "A=openai-prod:apikey", ...child], env);
      assert.equal(noKey.code, 1);
      assert.match(noKey.stderr, /Secret 'openai-prod' has no key 'apikey' \(its keys: api_key\)/);
      const ambiguous = await finished(["--env", "A=bedrock", ...child], env);
      assert.equal(ambiguous.code, 1);
      assert.match(
        ambiguous.stderr,
        /the secret has 2 keys \(aws_access_key_id, aws_secret_access_key\)/,
      );
      const twice = await finished(
        ["--secret", "bedrock", "--env", "AWS_ACCESS_KEY_ID=openai-prod", ...child],
        env,
      );
      assert.equal(twice.code, 2);
      assert.match(twice.stderr, /AWS_ACCESS_KEY_ID would be set twice/);
      const notFound = await finished(
        ["--env", "A=openai-prod", "--", "no-such-command-here"],
        env,
      );
      assert.equal(notFound.code, 127);
      assert.match(notFound.stderr, /Cannot run 'no-such-command-here': command not found/);
      assert.equal(existsSync(marker), false);
      for (const output of [missing, noKey, ambiguous, twice, notFound]) {
        assert.ok(!output.stderr.includes(OPENAI) && !output.stdout.includes(OPENAI));
      }
    }));

  it("--secret with --prefix; usage errors", () =>
    withDatabase(sqlite, async (db) => {
      const env = envFor(db.uri);
      await seed(env);
      const result = await finished(
        ["--secret", "openai-prod", "--prefix", "X_OPENAI_", "--", "node", "-e", REPORTER],
        env,
      );
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual((JSON.parse(result.stdout) as { hashes: unknown }).hashes, {
        X_OPENAI_API_KEY: sha(OPENAI),
      });
      const none = await cli(["run", "--", "true"], { env });
      assert.equal(none.code, 2);
      assert.match(none.stderr, /Give at least one --env/);
      const bad = await cli(["run", "--env", "1X=openai-prod", "--", "true"], { env });
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--env takes VAR=secret-name:key/);
    }));

  it("through a server: needs USE (audited there), and starts nothing without it", () =>
    withServer(sqlite, async (server) => {
      await server.app.listen({ port: 0, host: "127.0.0.1" });
      const url = `http://127.0.0.1:${(server.app.server.address() as { port: number }).port}`;
      await server.secret("openai-prod", { api_key: OPENAI });
      await server.user("erin");
      const as = (username: string, password: string) => ({
        MLFLOW_TRACKING_URI: url,
        MLFLOW_TRACKING_USERNAME: username,
        MLFLOW_TRACKING_PASSWORD: password,
        MLFLOW_HTTP_REQUEST_MAX_RETRIES: "0",
      });
      const marker = join(mkdtempSync(join(tmpdir(), "run-")), "started");
      const refused = await finished(
        [
          "--env",
          "OPENAI_API_KEY=openai-prod",
          "--",
          "node",
          "-e",
          `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "x")`,
        ],
        as("erin", "erin-password-01"),
      );
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /USE permission/);
      assert.equal(existsSync(marker), false);
      const allowed = await finished(
        ["--env", "OPENAI_API_KEY=openai-prod", "--", "node", "-e", REPORTER],
        as(ADMIN.username, ADMIN.password),
      );
      assert.equal(allowed.code, 0, allowed.stderr);
      assert.deepEqual((JSON.parse(allowed.stdout) as { hashes: unknown }).hashes, {
        OPENAI_API_KEY: sha(OPENAI),
      });
      const rows = await auditRows(server.db, "action = 'secret.value'");
      assert.deepEqual(
        rows.map((r) => [r.username, r.outcome]),
        [
          ["erin", "denied"],
          [ADMIN.username, "success"],
        ],
      );
    }));
});
