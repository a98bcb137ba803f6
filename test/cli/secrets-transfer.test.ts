/**
 * `secrets export` and `secrets import`: JSON, dotenv and the encrypted bundle, directly on every
 * database and through a real server (permissions, audit rows).
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { cli } from "../helpers/cli.js";
import { DIALECTS } from "../helpers/databases.js";
import { ADMIN, SECRETS, auditRows, basic, withServer } from "../helpers/server.js";
import { PASSPHRASE, withDatabase } from "../helpers/store.js";

const sqlite = DIALECTS.find((d) => d.name === "sqlite")!;

function dir(): string {
  return mkdtempSync(join(tmpdir(), "transfer-"));
}

function envFor(uri: string): Record<string, string> {
  return { MLFLOW_BACKEND_STORE_URI: uri, MLFLOW_CRYPTO_KEK_PASSPHRASE: PASSPHRASE };
}

const VALUES = {
  "openai-prod": { api_key: "sk-proj-openai-000111" },
  bedrock: {
    aws_access_key_id: "AKIA00001111",
    aws_secret_access_key: 'it\'s "quoted" $HOME\nline2',
  },
  "ünï-名前": { api_key: "välue-🔑-ütf8-0000" },
} as const;

async function seed(env: Record<string, string>): Promise<void> {
  for (const [name, value] of Object.entries(VALUES)) {
    const args = ["secrets", "create", "--name", name, "--value-stdin"];
    if (name === "openai-prod") {
      args.push(
        "--provider",
        "openai",
        "--auth-config",
        '{"api_base": "https://api.openai.com/v1"}',
      );
    }
    const created = await cli(args, { env, stdin: JSON.stringify(value) });
    assert.equal(created.code, 0, created.stderr);
  }
}

/** Exports `uri`'s secrets as a bundle for a passphrase; returns the files written. */
async function exportBundle(
  uri: string,
  passphrase: string,
): Promise<{ folder: string; passFile: string; file: string }> {
  const folder = dir();
  const passFile = join(folder, "pass");
  writeFileSync(passFile, passphrase, { mode: 0o600 });
  const file = join(folder, "move.bundle.json");
  const exported = await cli(
    [
      "secrets",
      "export",
      "--format",
      "bundle",
      "--recipient-passphrase-file",
      passFile,
      "--file",
      file,
    ],
    { env: envFor(uri) },
  );
  assert.equal(exported.code, 0, exported.stderr);
  return { folder, passFile, file };
}

interface Listed {
  secret_name: string;
  provider?: string;
  auth_config?: unknown;
  secret_id: string;
}

/** name → { value, provider, auth_config } of every secret, read back through the CLI. */
async function snapshot(env: Record<string, string>): Promise<Record<string, unknown>> {
  const listed = await cli(["secrets", "list", "--output", "json"], { env });
  assert.equal(listed.code, 0, listed.stderr);
  const out: Record<string, unknown> = {};
  for (const s of (JSON.parse(listed.stdout) as { secrets: Listed[] }).secrets) {
    const revealed = await cli(["secrets", "reveal", "--id", s.secret_id, "--output", "json"], {
      env,
    });
    out[s.secret_name] = {
      value: (JSON.parse(revealed.stdout) as { secret_value: unknown }).secret_value,
      provider: s.provider ?? null,
      auth_config: s.auth_config ?? null,
    };
  }
  return out;
}

for (const dialect of DIALECTS) {
  describe(`secrets export and import on ${dialect.name}`, () => {
    it("JSON: exported 0600 with an audit row per secret, imported elsewhere identically, re-imported idempotently", () =>
      withDatabase(dialect, (first) =>
        withDatabase(dialect, async (second) => {
          await seed(envFor(first.uri));
          const file = join(dir(), "secrets.json");
          const exported = await cli(["secrets", "export", "--file", file], {
            env: envFor(first.uri),
          });
          assert.equal(exported.code, 0, exported.stderr);
          assert.match(
            exported.stderr,
            /Exported 3 secret\(s\) to .* \(mode 0600\): plaintext values/,
          );
          assert.equal(statSync(file).mode & 0o777, 0o600);
          assert.equal(exported.stdout, "");
          const document = JSON.parse(readFileSync(file, "utf8")) as {
            format: string;
            secrets: { name: string }[];
          };
          assert.equal(document.format, "mlflow-secrets-export");
          assert.deepEqual(document.secrets.map((s) => s.name).sort(), Object.keys(VALUES).sort());
          const reads = await auditRows(first, "action = 'secret.value'");
          assert.equal(reads.length, 3);
          assert.ok(
            reads.every((r) => r.outcome === "success" && r.details === '{"operation":"export"}'),
          );

          const imported = await cli(["secrets", "import", "--file", file, "--output", "json"], {
            env: envFor(second.uri),
          });
          assert.equal(imported.code, 0, imported.stderr);
          const body = JSON.parse(imported.stdout) as {
            secrets: { name: string; action: string; secret_id: string }[];
          };
          assert.deepEqual(
            body.secrets.map((s) => s.action),
            ["create", "create", "create"],
          );
          assert.ok(body.secrets.every((s) => /^s-[0-9a-f]{32}$/.test(s.secret_id)));
          assert.deepEqual(await snapshot(envFor(second.uri)), await snapshot(envFor(first.uri)));
          const creates = await auditRows(second, "action = 'secret.create'");
          assert.equal(creates.length, 3);
          assert.ok(creates.every((r) => r.details === '{"operation":"import"}'));

          // Again: fail (the default) writes nothing; skip and update change nothing.
          const again = await cli(["secrets", "import", "--file", file], {
            env: envFor(second.uri),
          });
          assert.equal(again.code, 1);
          assert.match(again.stderr, /3 secret\(s\) already exist: .*; nothing was imported/);
          for (const [policy, action] of [
            ["skip", "skip"],
            ["update", "unchanged"],
          ] as const) {
            const rerun = await cli(
              ["secrets", "import", "--file", file, "--on-conflict", policy, "--output", "json"],
              { env: envFor(second.uri) },
            );
            assert.equal(rerun.code, 0, rerun.stderr);
            assert.deepEqual(
              (JSON.parse(rerun.stdout) as { secrets: { action: string }[] }).secrets.map(
                (s) => s.action,
              ),
              [action, action, action],
            );
          }
          assert.equal((await auditRows(second, "action = 'secret.update'")).length, 0);

          // A changed value is updated (only that one), with its audit row.
          const changed = document.secrets[0]!.name;
          document.secrets[0] = { name: changed, value: { api_key: "sk-changed-000000" } } as never;
          writeFileSync(file, JSON.stringify(document), { mode: 0o600 });
          const updated = await cli(
            ["secrets", "import", "--file", file, "--on-conflict", "update", "--output", "json"],
            {
              env: envFor(second.uri),
            },
          );
          assert.equal(updated.code, 0, updated.stderr);
          assert.deepEqual(
            (JSON.parse(updated.stdout) as { secrets: { action: string }[] }).secrets.map(
              (s) => s.action,
            ),
            ["update", "unchanged", "unchanged"],
          );
          assert.equal((await auditRows(second, "action = 'secret.update'")).length, 1);
          assert.deepEqual(
            ((await snapshot(envFor(second.uri)))[changed] as { value: unknown }).value,
            { api_key: "sk-changed-000000" },
          );
        }),
      ));

    it("dotenv: exported with annotations, imported back as the same secrets", () =>
      withDatabase(dialect, (first) =>
        withDatabase(dialect, async (second) => {
          await seed(envFor(first.uri));
          const file = join(dir(), "secrets.env");
          const exported = await cli(["secrets", "export", "--format", "dotenv", "--file", file], {
            env: envFor(first.uri),
          });
          assert.equal(exported.code, 0, exported.stderr);
          const text = readFileSync(file, "utf8");
          assert.match(text, /^OPENAI_PROD_API_KEY='sk-proj-openai-000111'$/m);
          assert.match(
            text,
            /^BEDROCK_AWS_SECRET_ACCESS_KEY="it's \\"quoted\\" \\\$HOME\\nline2"$/m,
          );
          const imported = await cli(["secrets", "import", "--file", file], {
            env: envFor(second.uri),
          });
          assert.equal(imported.code, 0, imported.stderr);
          assert.deepEqual(await snapshot(envFor(second.uri)), await snapshot(envFor(first.uri)));
        }),
      ));

    it("bundle: no plaintext in the file; opens only with the recipient passphrase; imported identically", () =>
      withDatabase(dialect, (first) =>
        withDatabase(dialect, async (second) => {
          await seed(envFor(first.uri));
          const { folder, passFile, file } = await exportBundle(
            first.uri,
            "correct horse battery staple\n",
          );
          const text = readFileSync(file, "utf8");
          for (const value of Object.values(VALUES).flatMap((v) => Object.values(v))) {
            assert.ok(
              !text.includes(value) && !text.includes(JSON.stringify(value).slice(1, -1)),
              "plaintext in the bundle",
            );
          }
          const wrongFile = join(folder, "wrong");
          writeFileSync(wrongFile, "not the passphrase", { mode: 0o600 });
          const wrong = await cli(
            ["secrets", "import", "--file", file, "--recipient-passphrase-file", wrongFile],
            {
              env: envFor(second.uri),
            },
          );
          assert.equal(wrong.code, 1);
          assert.match(wrong.stderr, /does not open with this passphrase/);
          const imported = await cli(
            ["secrets", "import", "--file", file, "--recipient-passphrase-file", passFile],
            {
              env: envFor(second.uri),
            },
          );
          assert.equal(imported.code, 0, imported.stderr);
          assert.deepEqual(await snapshot(envFor(second.uri)), await snapshot(envFor(first.uri)));
        }),
      ));
  });
}

describe("secrets export and import: files", () => {
  it("refuses plaintext to a terminal without --yes (a bundle is fine)", () =>
    withDatabase(sqlite, async (db) => {
      await seed(envFor(db.uri));
      const refused = await cli(["secrets", "export"], { env: envFor(db.uri), tty: true });
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, /Refusing to print plaintext secret values to a terminal/);
      assert.equal(refused.stdout, "");
      assert.equal((await auditRows(db, "action = 'secret.value'")).length, 0);
      const forced = await cli(["secrets", "export", "--format", "dotenv", "--yes"], {
        env: envFor(db.uri),
        tty: true,
      });
      assert.equal(forced.code, 0, forced.stderr);
      assert.match(forced.stdout, /OPENAI_PROD_API_KEY='sk-proj-openai-000111'/);
      const bundle = await cli(["secrets", "export", "--format", "bundle"], {
        env: envFor(db.uri),
        tty: true,
        answers: ["recipient passphrase 1", "recipient passphrase 1"],
      });
      assert.equal(bundle.code, 0, bundle.stderr);
      assert.match(bundle.stdout, /"format": "mlflow-secrets-bundle"/);
    }));

  it("--provider and --name-prefix choose what is exported", () =>
    withDatabase(sqlite, async (db) => {
      await seed(envFor(db.uri));
      const byProvider = await cli(["secrets", "export", "--provider", "openai"], {
        env: envFor(db.uri),
      });
      assert.deepEqual(
        (JSON.parse(byProvider.stdout) as { secrets: { name: string }[] }).secrets.map(
          (s) => s.name,
        ),
        ["openai-prod"],
      );
      const byPrefix = await cli(["secrets", "export", "--name-prefix", "bed"], {
        env: envFor(db.uri),
      });
      assert.deepEqual(
        (JSON.parse(byPrefix.stdout) as { secrets: { name: string }[] }).secrets.map((s) => s.name),
        ["bedrock"],
      );
    }));

  it("a JSON file with bad entries: every one reported by index, nothing written", () =>
    withDatabase(sqlite, async (db) => {
      const file = join(dir(), "bad.json");
      writeFileSync(
        file,
        JSON.stringify({
          secrets: [
            { name: "fine", value: { api_key: "sk-fine-000000" } },
            { name: "no-value" },
            { name: "x".repeat(256), value: { api_key: "sk-1" } },
            { name: "numbers", value: { api_key: 12345 } },
            { name: "fine", value: { api_key: "sk-twice" } },
            { name: "typo", value: { api_key: "k" }, authconfig: {} },
          ],
        }),
        { mode: 0o600 },
      );
      const result = await cli(["secrets", "import", "--file", file], { env: envFor(db.uri) });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /secrets\[1\]: "value" must be an object of strings/);
      assert.match(result.stderr, /secrets\[5\]: unknown field\(s\) "authconfig"/);
      const again = (text: string) =>
        cli(["secrets", "import", "--file", "-"], { env: envFor(db.uri), stdin: text });
      const semantic = await again(
        JSON.stringify([
          { name: "fine", value: { api_key: "sk-fine-000000" } },
          { name: "x".repeat(256), value: { api_key: "sk-1" } },
          { name: "numbers", value: { api_key: 12345 } },
          { name: "fine", value: { api_key: "sk-twice" } },
        ]),
      );
      assert.equal(semantic.code, 1);
      assert.match(
        semantic.stderr,
        /-: secrets\[1\]: secret_name must be at most 255 characters, got 256/,
      );
      assert.match(
        semantic.stderr,
        /-: secrets\[2\]: secret_value\['api_key'\] must be a string, got number/,
      );
      assert.match(
        semantic.stderr,
        /-: secrets\[3\]: secret 'fine' appears twice \(also at secrets\[0\]\)/,
      );
      assert.ok(!semantic.stderr.includes("sk-fine") && !semantic.stderr.includes("sk-twice"));
      const broken = await again(
        '{"secrets": [\n  {"name": "a", "value": {"api_key": "sk-secret-in-broken"}},\n  }\n]}',
      );
      assert.equal(broken.code, 1);
      assert.match(broken.stderr, /-: line 3, column \d+: not valid JSON/);
      assert.ok(!broken.stderr.includes("sk-secret-in-broken"));
      const listed = await cli(["secrets", "list", "--output", "json"], { env: envFor(db.uri) });
      assert.deepEqual(JSON.parse(listed.stdout), { secrets: [] });
    }));

  it("a plain dotenv file: quoting, export, comments, multi-line values; bad lines reported by number", () =>
    withDatabase(sqlite, async (db) => {
      const file = join(dir(), ".env");
      writeFileSync(
        file,
        [
          "# a comment",
          "OPENAI_API_KEY=sk-plain-0000000 # trailing comment",
          "export ANTHROPIC_API_KEY='sk-ant-single#not-a-comment'",
          'MULTI="line one',
          'line two \\"quoted\\""',
          "",
        ].join("\n"),
        { mode: 0o600 },
      );
      const dry = await cli(
        ["secrets", "import", "--file", file, "--dry-run", "--output", "json"],
        { env: envFor(db.uri) },
      );
      assert.equal(dry.code, 0, dry.stderr);
      assert.deepEqual(
        (
          JSON.parse(dry.stdout) as {
            dry_run: boolean;
            secrets: { name: string; action: string }[];
          }
        ).secrets,
        [
          { name: "OPENAI_API_KEY", action: "create" },
          { name: "ANTHROPIC_API_KEY", action: "create" },
          { name: "MULTI", action: "create" },
        ],
      );
      assert.deepEqual(
        JSON.parse(
          (await cli(["secrets", "list", "--output", "json"], { env: envFor(db.uri) })).stdout,
        ),
        { secrets: [] },
      );
      const imported = await cli(["secrets", "import", "--file", file, "--key", "token"], {
        env: envFor(db.uri),
      });
      assert.equal(imported.code, 0, imported.stderr);
      const values = await snapshot(envFor(db.uri));
      assert.deepEqual(values.OPENAI_API_KEY, {
        value: { token: "sk-plain-0000000" },
        provider: null,
        auth_config: null,
      });
      assert.deepEqual((values.ANTHROPIC_API_KEY as { value: unknown }).value, {
        token: "sk-ant-single#not-a-comment",
      });
      assert.deepEqual((values.MULTI as { value: unknown }).value, {
        token: 'line one\nline two "quoted"',
      });

      const bad = join(dir(), "bad.env");
      writeFileSync(
        bad,
        [
          "GOOD=sk-good-00000",
          "not an assignment",
          "GOOD=again",
          "1BAD=x",
          "OPEN='never closed",
        ].join("\n"),
        { mode: 0o644 },
      );
      const result = await cli(["secrets", "import", "--file", bad, "--format", "dotenv"], {
        env: envFor(db.uri),
      });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /can be read by group or others/);
      assert.match(result.stderr, /bad\.env: line 2: expected NAME=value/);
      assert.match(result.stderr, /bad\.env: line 4: expected NAME=value/);
      assert.match(result.stderr, /bad\.env: line 5: OPEN: the single quote is never closed/);
      assert.match(result.stderr, /bad\.env: line 3: GOOD is also set on line 1/);
      assert.ok(!result.stderr.includes("sk-good"));
    }));

  it("a tampered bundle does not import: a changed api_base, swapped names, a dropped entry", () =>
    withDatabase(sqlite, async (db) => {
      await seed(envFor(db.uri));
      const { folder, passFile, file } = await exportBundle(db.uri, "recipient passphrase");
      const original = JSON.parse(readFileSync(file, "utf8")) as {
        secrets: { name: string; auth_config: Record<string, unknown> | null }[];
      };
      const tryImport = async (bundle: unknown): Promise<string> => {
        const path = join(folder, "tampered.json");
        writeFileSync(path, JSON.stringify(bundle), { mode: 0o600 });
        let stderr = "";
        await withDatabase(sqlite, async (target) => {
          const result = await cli(
            ["secrets", "import", "--file", path, "--recipient-passphrase-file", passFile],
            { env: envFor(target.uri) },
          );
          assert.equal(result.code, 1, result.stdout);
          const listed = await cli(["secrets", "list", "--output", "json"], {
            env: envFor(target.uri),
          });
          assert.deepEqual(JSON.parse(listed.stdout), { secrets: [] });
          stderr = result.stderr;
        });
        return stderr;
      };
      const redirected = structuredClone(original);
      const openai = redirected.secrets.find((s) => s.name === "openai-prod")!;
      openai.auth_config = { api_base: "https://attacker.example" };
      assert.match(
        await tryImport(redirected),
        /secrets\[\d\]: does not open: altered, moved, or from another bundle/,
      );
      const swapped = structuredClone(original);
      [swapped.secrets[0]!.name, swapped.secrets[1]!.name] = [
        swapped.secrets[1]!.name,
        swapped.secrets[0]!.name,
      ];
      assert.match(await tryImport(swapped), /secrets\[0\]: does not open/);
      const dropped = structuredClone(original);
      dropped.secrets.pop();
      assert.match(
        await tryImport(dropped),
        /does not open with this passphrase \(or every entry was altered\)/,
      );
    }));
});

for (const dialect of DIALECTS) {
  describe(`secrets export and import through a server (${dialect.name})`, () => {
    it("needs USE on every exported secret (denied rows otherwise), imports as the caller, audited by the server", () =>
      withServer(dialect, async (server) => {
        await server.app.listen({ port: 0, host: "127.0.0.1" });
        const address = server.app.server.address() as { port: number };
        const url = `http://127.0.0.1:${address.port}`;
        const openai = await server.secret("openai-prod", { api_key: "sk-server-0000111" });
        await server.secret("anthropic", { api_key: "sk-ant-server-0000" });
        await server.user("carol");
        const as = (username: string, password: string) => ({
          MLFLOW_TRACKING_URI: url,
          MLFLOW_TRACKING_USERNAME: username,
          MLFLOW_TRACKING_PASSWORD: password,
          MLFLOW_HTTP_REQUEST_MAX_RETRIES: "0",
        });
        const carol = as("carol", "carol-password-01");

        const refused = await cli(["secrets", "export"], { env: carol });
        assert.equal(refused.code, 1);
        assert.match(refused.stderr, /USE permission/);
        assert.equal(refused.stdout, "");
        assert.ok(
          (await auditRows(server.db, "action = 'secret.value' AND outcome = 'denied'")).length >=
            1,
        );

        const granted = await server.call("POST", `${SECRETS}/permissions/create`, {
          auth: basic(ADMIN.username, ADMIN.password),
          body: { secret_id: openai, username: "carol", permission: "USE" },
        });
        assert.equal(granted.status, 200, granted.text);
        const mine = await cli(["secrets", "export", "--name-prefix", "openai"], { env: carol });
        assert.equal(mine.code, 0, mine.stderr);
        assert.deepEqual((JSON.parse(mine.stdout) as { secrets: unknown[] }).secrets, [
          {
            name: "openai-prod",
            value: { api_key: "sk-server-0000111" },
            provider: "openai",
            auth_config: null,
          },
        ]);
        const reads = await auditRows(server.db, "action = 'secret.value' AND outcome = 'success'");
        assert.deepEqual(
          reads.map((r) => [r.username, r.secret_name]),
          [["carol", "openai-prod"]],
        );

        const file = join(dir(), "in.json");
        writeFileSync(
          file,
          JSON.stringify([{ name: "new-one", value: { api_key: "sk-new-00000000" } }]),
          { mode: 0o600 },
        );
        const notAllowed = await cli(["secrets", "import", "--file", file], { env: carol });
        assert.equal(notAllowed.code, 1);
        assert.match(
          notAllowed.stderr,
          /0 secret\(s\) were imported before 'new-one' failed: .*only admins may create secrets/,
        );
        const admin = as(ADMIN.username, ADMIN.password);
        const imported = await cli(["secrets", "import", "--file", file], { env: admin });
        assert.equal(imported.code, 0, imported.stderr);
        const created = await auditRows(
          server.db,
          "action = 'secret.create' AND secret_name = 'new-one'",
        );
        assert.deepEqual(
          created.map((r) => [r.username, r.outcome]),
          [
            ["carol", "denied"],
            [ADMIN.username, "success"],
          ],
        );
      }));
  });
}
