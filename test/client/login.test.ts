/**
 * login: MLflow's test_mlflow_login cases (Databricks), our fixes (https host re-asked, the old file
 * restored after a failed validation), the mlflow backend against a local server, and the CLI.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { MlflowHostCreds, login, readMlflowCreds } from "../../src/index.js";
import {
  loginWith,
  validateDatabricksCreds,
  validateMlflowCreds,
  type LoginValidators,
} from "../../src/client/login.js";
import { runCli } from "../../src/cli/run.js";
import {
  fakeIo,
  json,
  rejection,
  scriptedPrompts,
  serverTls,
  startServer,
  tempDir,
  tlsFile,
} from "./helpers.js";

/** Validators that fail `failures` times, then succeed; they record the credentials they saw. */
function validators(failures: number): LoginValidators & { seen: MlflowHostCreds[] } {
  const seen: MlflowHostCreds[] = [];
  let left = failures;
  const check = (creds: MlflowHostCreds): Promise<void> => {
    seen.push(creds);
    if (left > 0) {
      left -= 1;
      return Promise.reject(new Error("Invalid access token. (403)"));
    }
    return Promise.resolve();
  };
  return { seen, databricks: check, mlflow: check };
}

function databricksEnv(): { env: Record<string, string>; file: string } {
  const dir = tempDir("login-");
  const file = join(dir, ".databrickscfg");
  return {
    env: { HOME: dir, DATABRICKS_CONFIG_FILE: file, DATABRICKS_CONFIG_PROFILE: "TEST" },
    file,
  };
}

describe("login (databricks): MLflow's tests", () => {
  it("test_mlflow_login: community host → username and hidden password, written as MLflow writes them", async () => {
    const { env, file } = databricksEnv();
    // The current profile exists but does not validate (MLflow's mock fails once, then succeeds).
    writeFileSync(file, "[TEST]\nhost = https://old.cloud.databricks.com\ntoken = dapi-expired\n");
    const prompts = scriptedPrompts([
      "https://community.cloud.databricks.com/",
      "weirdmouse@gmail.com",
      "mlflow-pw",
    ]);
    const checks = validators(1);
    const log: string[] = [];
    await loginWith({ env, prompts, log: (l) => log.push(l) }, checks);
    const lines = readFileSync(file, "utf8").split(/(?<=\n)/);
    assert.equal(lines[0], "[TEST]\n");
    assert.equal(lines[1], "host = https://community.cloud.databricks.com/\n");
    assert.equal(lines[2], "username = weirdmouse@gmail.com\n");
    assert.equal(lines[3], "password = mlflow-pw\n");
    assert.deepEqual(prompts.asked, [
      { message: "Databricks Host (should begin with https://)", hidden: false },
      { message: "Username", hidden: false },
      { message: "Password", hidden: true },
    ]);
    assert.equal(checks.seen.length, 2);
    assert.equal(checks.seen[0]!.token, "dapi-expired");
    assert.equal(checks.seen[1]!.username, "weirdmouse@gmail.com");
    assert.match(log.at(-1)!, /Saved profile \[TEST\] to .*MLFLOW_TRACKING_URI=databricks/);
  });

  it("a non-community host asks for a hidden token", async () => {
    const { env, file } = databricksEnv();
    const prompts = scriptedPrompts(["https://adb-1.azuredatabricks.net", "dapi-secret"]);
    // No file yet: the current credentials fail to resolve, so the validator runs once, after writing.
    await loginWith({ env, prompts, log: () => undefined }, validators(0));
    assert.equal(
      readFileSync(file, "utf8"),
      "[TEST]\nhost = https://adb-1.azuredatabricks.net\ntoken = dapi-secret\n\n",
    );
    assert.deepEqual(prompts.asked.at(-1), {
      message: "Token (leave empty to use an OAuth service principal)",
      hidden: true,
    });
    assert.equal(statSync(file).mode & 0o777, 0o600);
  });

  it("test_mlflow_login_noninteractive: invalid credentials raise", async () => {
    const { env } = databricksEnv();
    await assert.rejects(
      loginWith({ env, interactive: false }, validators(1)),
      /No valid Databricks credentials found while running in non-interactive mode\./,
    );
  });

  it("test_mlflow_login_unsupported_backend", async () => {
    await assert.rejects(login({ backend: "foo" as never, env: {} }), /received `backend=foo`/);
  });

  it("valid current credentials: nothing is asked or written", async () => {
    const { env, file } = databricksEnv();
    writeFileSync(file, "[TEST]\nhost = https://h\ntoken = dapi-ok\n");
    const checks = validators(0);
    const log: string[] = [];
    await loginWith({ env, prompts: scriptedPrompts([]), log: (l) => log.push(l) }, checks);
    assert.equal(checks.seen[0]!.token, "dapi-ok");
    assert.match(
      log[0]!,
      /^Successfully connected to MLflow hosted tracking server! Host: https:\/\/h\/?\.$/,
    );
    assert.equal(readFileSync(file, "utf8"), "[TEST]\nhost = https://h\ntoken = dapi-ok\n");
  });
});

describe("login (databricks): fixes", () => {
  it("asks again until the host starts with https:// (MLflow accepts any host)", async () => {
    const { env, file } = databricksEnv();
    const prompts = scriptedPrompts([
      "http://h.example.com",
      "h.example.com",
      "https://h.example.com",
      "dapi-t",
    ]);
    const log: string[] = [];
    await loginWith({ env, prompts, log: (l) => log.push(l) }, validators(0));
    assert.equal(prompts.asked.filter((q) => q.message.startsWith("Databricks Host")).length, 3);
    assert.equal(
      log.filter((l) =>
        l.startsWith("Invalid host: http://h.example.com, host must begin with https://"),
      ).length,
      1,
    );
    assert.ok(readFileSync(file, "utf8").includes("host = https://h.example.com\n"));
  });

  it("a failed validation restores the previous file byte for byte, and says 'login failed with error'", async () => {
    const { env, file } = databricksEnv();
    const before =
      "# mine\n[TEST]\nhost = https://old\ntoken = dapi-old\n[keep]\nhost = https://k\ntoken = k\n";
    writeFileSync(file, before, { mode: 0o600 });
    const err = await rejection(
      loginWith(
        {
          env,
          prompts: scriptedPrompts(["https://new.example.com", "dapi-wrong"]),
          log: () => undefined,
        },
        validators(2),
      ),
    );
    assert.equal(err.message, "login failed with error: Invalid access token. (403)");
    assert.equal(readFileSync(file, "utf8"), before);
  });

  it("a failed validation removes a file that did not exist before", async () => {
    const { env, file } = databricksEnv();
    await rejection(
      loginWith(
        { env, prompts: scriptedPrompts(["https://n", "dapi-wrong"]), log: () => undefined },
        validators(1),
      ),
    );
    assert.equal(existsSync(file), false);
  });

  it("--profile overrides DATABRICKS_CONFIG_PROFILE", async () => {
    const { env, file } = databricksEnv();
    await loginWith(
      {
        env,
        profile: "other",
        prompts: scriptedPrompts(["https://h", "dapi-t"]),
        log: () => undefined,
      },
      validators(0),
    );
    assert.ok(readFileSync(file, "utf8").startsWith("[other]\n"));
  });
});

describe("validators against local servers", () => {
  it("Databricks: GET /api/2.0/preview/scim/v2/Me with the token (HTTPS, test CA)", async () => {
    const server = await startServer(
      (req, res) =>
        req.headers.authorization === "Bearer dapi-good"
          ? json(res, 200, { userName: "a" })
          : json(res, 401, { error_code: "UNAUTHENTICATED", message: "bad token" }),
      serverTls(),
    );
    const creds = (token: string) =>
      new MlflowHostCreds({ host: server.url, token, serverCertPath: tlsFile("ca.pem") });
    await validateDatabricksCreds(creds("dapi-good"), {});
    assert.equal(server.requests[0]!.url, "/api/2.0/preview/scim/v2/Me");
    await assert.rejects(
      validateDatabricksCreds(creds("dapi-bad"), {}),
      /^MlflowSecretsError: Failed to validate databricks credentials: bad token$/,
    );
  });

  it("MLflow: GET /api/2.0/mlflow/users/get?username=… with Basic auth", async () => {
    const server = await startServer((req, res) =>
      json(res, 200, {
        user: { username: new URL(req.url, "http://x").searchParams.get("username") },
      }),
    );
    await validateMlflowCreds(
      new MlflowHostCreds({ host: server.url, username: "al ice", password: "p" }),
      {},
    );
    assert.equal(server.requests[0]!.url, "/api/2.0/mlflow/users/get?username=al%20ice");
    assert.equal(
      server.requests[0]!.headers.authorization,
      `Basic ${Buffer.from("al ice:p").toString("base64")}`,
    );
  });
});

describe("login (mlflow backend) and the CLI", () => {
  async function authServer() {
    return startServer((req, res) => {
      const ok =
        req.headers.authorization === `Basic ${Buffer.from("alice:right-pw").toString("base64")}`;
      if (ok) json(res, 200, { user: { username: "alice" } });
      else
        json(res, 401, {
          error_code: "UNAUTHENTICATED",
          message: "Incorrect username or password",
        });
    });
  }

  it("mlflow-secrets login --backend mlflow: validates, then writes [mlflow] (0600)", async () => {
    const server = await authServer();
    const home = tempDir();
    const prompts = scriptedPrompts([server.url, "alice", "right-pw"]);
    const io = fakeIo({ HOME: home, MLFLOW_HTTP_REQUEST_MAX_RETRIES: "0" }, prompts);
    assert.equal(await runCli(["login", "--backend", "mlflow"], io), 0, io.err());
    assert.deepEqual(await readMlflowCreds({ env: { HOME: home } }), {
      username: "alice",
      password: "right-pw",
    });
    assert.equal(statSync(join(home, ".mlflow", "credentials")).mode & 0o777, 0o600);
    assert.deepEqual(
      prompts.asked.map((q) => q.hidden),
      [false, false, true],
    );
    assert.match(
      io.err(),
      /Saved credentials for alice to .*credentials\. Use them with MLFLOW_TRACKING_URI=http:\/\/127\.0\.0\.1:\d+\./,
    );
  });

  it("wrong password: nothing written, exit 1, one 'Error: login failed with error: …' line", async () => {
    const server = await authServer();
    const home = tempDir();
    const io = fakeIo({ HOME: home }, scriptedPrompts([server.url, "alice", "wrong-pw"]));
    assert.equal(await runCli(["login", "--backend", "mlflow"], io), 1);
    assert.match(
      io.err(),
      /\nError: login failed with error: Failed to validate MLflow credentials: Incorrect username or password\n$/,
    );
    assert.equal(existsSync(join(home, ".mlflow", "credentials")), false);
  });

  it("already valid credentials for MLFLOW_TRACKING_URI: nothing asked", async () => {
    const server = await authServer();
    const io = fakeIo({
      HOME: tempDir(),
      MLFLOW_TRACKING_URI: server.url,
      MLFLOW_TRACKING_USERNAME: "alice",
      MLFLOW_TRACKING_PASSWORD: "right-pw",
    });
    assert.equal(await runCli(["login", "--backend", "mlflow"], io), 0, io.err());
    assert.match(io.err(), /Already logged in to http:\/\/127\.0\.0\.1:\d+\/? as alice\./);
  });

  it("plain http is accepted only for this machine", async () => {
    const home = tempDir();
    const prompts = scriptedPrompts([
      "http://mlflow.example.com",
      "https://mlflow.example.com",
      "alice",
      "pw",
    ]);
    const checks = validators(0);
    await loginWith(
      { backend: "mlflow", env: { HOME: home }, prompts, log: () => undefined },
      checks,
    );
    assert.equal(checks.seen[0]!.host, "https://mlflow.example.com");
  });

  it("--no-interactive and a terminal-less run fail instead of asking", async () => {
    for (const [argv, tty] of [
      [["login", "--no-interactive"], true],
      [["login"], false],
    ] as const) {
      const dir = tempDir();
      const io = fakeIo(
        { HOME: dir, DATABRICKS_CONFIG_FILE: join(dir, "cfg") },
        scriptedPrompts([]),
        tty,
      );
      assert.equal(await runCli([...argv], io), 1);
      assert.equal(
        io.err(),
        "Error: No valid Databricks credentials found while running in non-interactive mode.\n",
      );
    }
  });

  it("usage errors exit 2; --help has examples", async () => {
    const io = fakeIo({});
    assert.equal(await runCli(["login", "--backend", "foo"], io), 2);
    const help = fakeIo({});
    assert.equal(await runCli(["login", "--help"], help), 0);
    assert.match(help.out(), /Examples:\n {2}\$ mlflow-secrets login/);
    const mlflowProfile = fakeIo({ HOME: tempDir() });
    assert.equal(
      await runCli(["login", "--backend", "mlflow", "--profile", "x"], mlflowProfile),
      1,
    );
    assert.match(mlflowProfile.err(), /--profile applies to the databricks backend only/);
  });
});
