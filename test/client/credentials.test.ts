/**
 * Credential resolution: MLflow's `tests/utils/test_credentials.py` (file and env cases), plus the
 * precedence rules, boolean parsing and validation this package adds or fixes.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { getDefaultHostCreds, MlflowHostCreds, readMlflowCreds } from "../../src/index.js";
import { resolveHostCreds } from "../../src/client/creds.js";
import { MlflowSecretsError } from "../../src/errors.js";
import { tempDir } from "./helpers.js";

function credentialsFile(content: string | undefined): { home: string; path: string } {
  const home = tempDir("home-");
  const path = join(home, ".mlflow", "credentials");
  if (content !== undefined) {
    mkdirSync(join(home, ".mlflow"), { recursive: true });
    writeFileSync(path, content);
  }
  return { home, path };
}

describe("readMlflowCreds: MLflow's test_credentials.py", () => {
  it("a missing file (and no env) gives no username and no password", async () => {
    const { home } = credentialsFile(undefined);
    assert.deepEqual(await readMlflowCreds({ env: { HOME: home } }), {});
  });

  it("an empty file gives none either", async () => {
    const { home } = credentialsFile("");
    assert.deepEqual(await readMlflowCreds({ env: { HOME: home } }), {});
  });

  it("a file with only the username", async () => {
    const { path } = credentialsFile("[mlflow]\nmlflow_tracking_username = username\n");
    assert.deepEqual(await readMlflowCreds({ env: {}, credentialsPath: path }), {
      username: "username",
    });
  });

  it("a file with only the password", async () => {
    const { path } = credentialsFile("[mlflow]\nmlflow_tracking_password = password\n");
    assert.deepEqual(await readMlflowCreds({ env: {}, credentialsPath: path }), {
      password: "password",
    });
  });

  it("a file with both", async () => {
    const { home } = credentialsFile(
      "[mlflow]\nmlflow_tracking_username = username\nmlflow_tracking_password = password\n",
    );
    assert.deepEqual(await readMlflowCreds({ env: { HOME: home } }), {
      username: "username",
      password: "password",
    });
  });

  for (const username of ["username", undefined]) {
    for (const password of ["password", undefined]) {
      it(`env only: username ${username ? "set" : "unset"}, password ${password ? "set" : "unset"}`, async () => {
        const { home } = credentialsFile(undefined);
        const env = {
          HOME: home,
          MLFLOW_TRACKING_USERNAME: username,
          MLFLOW_TRACKING_PASSWORD: password,
        };
        const expected: Record<string, string> = {};
        if (username) expected.username = username;
        if (password) expected.password = password;
        assert.deepEqual(await readMlflowCreds({ env }), expected);
      });
    }
  }

  it("the env takes precedence over the file", async () => {
    const { home } = credentialsFile(
      "[mlflow]\nmlflow_tracking_username = username_file\nmlflow_tracking_password = password_file\n",
    );
    const env = {
      HOME: home,
      MLFLOW_TRACKING_USERNAME: "username_env",
      MLFLOW_TRACKING_PASSWORD: "password_env",
    };
    assert.deepEqual(await readMlflowCreds({ env }), {
      username: "username_env",
      password: "password_env",
    });
  });
});

describe("precedence", () => {
  const FILE =
    "[mlflow]\nmlflow_tracking_username = file-user\nmlflow_tracking_password = file-pass\n";

  it("resolves field by field: username from the env, password from the file", async () => {
    const { home, path } = credentialsFile(FILE);
    const resolved = await resolveHostCreds("https://h", {
      env: { HOME: home, MLFLOW_TRACKING_USERNAME: "env-user" },
    });
    assert.equal(resolved.creds.username, "env-user");
    assert.equal(resolved.creds.password, "file-pass");
    assert.equal(resolved.sources.username, "MLFLOW_TRACKING_USERNAME");
    assert.equal(resolved.sources.password, `${path} [mlflow] mlflow_tracking_password`);
  });

  it("an empty variable falls through to the file", async () => {
    const { home } = credentialsFile(FILE);
    const creds = await readMlflowCreds({
      env: { HOME: home, MLFLOW_TRACKING_USERNAME: "", MLFLOW_TRACKING_PASSWORD: "env-pass" },
    });
    assert.deepEqual(creds, { username: "file-user", password: "env-pass" });
  });

  it("reads the file again on every call (credentials are resolved per request)", async () => {
    const { home, path } = credentialsFile(FILE);
    assert.equal(
      (await getDefaultHostCreds("https://h", { env: { HOME: home } })).password,
      "file-pass",
    );
    writeFileSync(path, FILE.replace("file-pass", "rotated-pass"));
    assert.equal(
      (await getDefaultHostCreds("https://h", { env: { HOME: home } })).password,
      "rotated-pass",
    );
  });

  it("inherits [DEFAULT] and applies configparser's % interpolation", async () => {
    const { path } = credentialsFile(
      "[DEFAULT]\nmlflow_tracking_username = shared\n[mlflow]\nmlflow_tracking_password = 50%%-off-%(mlflow_tracking_username)s\n",
    );
    assert.deepEqual(await readMlflowCreds({ env: {}, credentialsPath: path }), {
      username: "shared",
      password: "50%-off-shared",
    });
  });

  it("a lone % in the password is an error naming the key, not quoting the value", async () => {
    const { path } = credentialsFile("[mlflow]\nmlflow_tracking_password = 100%secret\n");
    await assert.rejects(readMlflowCreds({ env: {}, credentialsPath: path }), (err: Error) => {
      assert.match(err.message, /mlflow_tracking_password: a '%' must be followed by '%'/);
      assert.ok(!err.message.includes("100%secret"));
      return true;
    });
  });

  it("ignores other sections and a file without [mlflow]", async () => {
    const { path } = credentialsFile("[other]\nmlflow_tracking_username = nope\n");
    assert.deepEqual(await readMlflowCreds({ env: {}, credentialsPath: path }), {});
  });

  it("takes every other field from its variable", async () => {
    const { home } = credentialsFile(undefined);
    const creds = await getDefaultHostCreds("https://h", {
      env: {
        HOME: home,
        MLFLOW_TRACKING_TOKEN: "tok",
        MLFLOW_TRACKING_AWS_SIGV4: "TRUE",
        MLFLOW_TRACKING_AWS_SIGV4_SERVICE: "sagemaker",
        MLFLOW_TRACKING_AUTH: "kubernetes",
        MLFLOW_TRACKING_INSECURE_TLS: "0",
        MLFLOW_TRACKING_CLIENT_CERT_PATH: "/c.pem",
        MLFLOW_TRACKING_CLIENT_KEY_PATH: "/k.pem",
        MLFLOW_TRACKING_SERVER_CERT_PATH: "/ca.pem",
        MLFLOW_WORKSPACE: "team-a",
      },
    });
    assert.equal(creds.host, "https://h");
    assert.equal(creds.token, "tok");
    assert.equal(creds.awsSigv4, true);
    assert.equal(creds.awsSigv4Service, "sagemaker");
    assert.equal(creds.auth, "kubernetes");
    assert.equal(creds.ignoreTlsVerification, false);
    assert.equal(creds.clientCertPath, "/c.pem");
    assert.equal(creds.clientKeyPath, "/k.pem");
    assert.equal(creds.serverCertPath, "/ca.pem");
    assert.equal(creds.workspace, "team-a");
  });
});

describe("variables are validated", () => {
  it("booleans accept true/false/1/0 in any case and reject the rest, naming the variable", async () => {
    const { home } = credentialsFile(undefined);
    for (const [raw, expected] of [
      ["True", true],
      ["FALSE", false],
      ["1", true],
      ["0", false],
      [" true ", true],
    ] as const) {
      const creds = await getDefaultHostCreds("https://h", {
        env: { HOME: home, MLFLOW_TRACKING_AWS_SIGV4: raw },
      });
      assert.equal(creds.awsSigv4, expected, raw);
    }
    for (const name of ["MLFLOW_TRACKING_AWS_SIGV4", "MLFLOW_TRACKING_INSECURE_TLS"]) {
      for (const raw of ["yes", "on", "2", "truee"]) {
        await assert.rejects(
          getDefaultHostCreds("https://h", { env: { HOME: home, [name]: raw } }),
          (err: Error) => {
            assert.ok(err instanceof MlflowSecretsError);
            assert.equal(err.errorCode, "INVALID_PARAMETER_VALUE");
            assert.match(
              err.message,
              new RegExp(`^${name} must be one of 'true', 'false', '1' or '0'`),
            );
            return true;
          },
        );
      }
    }
  });

  it("insecure TLS together with a server certificate path is MLflow's error", async () => {
    const { home } = credentialsFile(undefined);
    await assert.rejects(
      getDefaultHostCreds("https://h", {
        env: {
          HOME: home,
          MLFLOW_TRACKING_INSECURE_TLS: "true",
          MLFLOW_TRACKING_SERVER_CERT_PATH: "/ca.pem",
        },
      }),
      /When 'ignore_tls_verification' is true then 'server_cert_path' must not be set! This error may have occurred because the 'MLFLOW_TRACKING_INSECURE_TLS' and 'MLFLOW_TRACKING_SERVER_CERT_PATH' environment variables are both set - only one of these environment variables may be set\./,
    );
  });

  it("rejects a token and a token file together, and a key without a certificate", async () => {
    const { home } = credentialsFile(undefined);
    await assert.rejects(
      getDefaultHostCreds("https://h", {
        env: { HOME: home, MLFLOW_TRACKING_TOKEN: "t", MLFLOW_TRACKING_TOKEN_FILE: "/f" },
      }),
      /Set only one of MLFLOW_TRACKING_TOKEN and MLFLOW_TRACKING_TOKEN_FILE/,
    );
    await assert.rejects(
      getDefaultHostCreds("https://h", {
        env: { HOME: home, MLFLOW_TRACKING_CLIENT_KEY_PATH: "/k" },
      }),
      /needs clientCertPath/,
    );
  });

  it("accepts only http(s) and databricks tracking URIs", async () => {
    await assert.rejects(
      getDefaultHostCreds("file:///tmp/mlruns", { env: {} }),
      /apply to http:\/\/, https:\/\/ and databricks/,
    );
    await assert.rejects(getDefaultHostCreds("databricks-uc", { env: {} }), /registry URIs/);
    await assert.rejects(getDefaultHostCreds("", { env: {} }), /tracking URI is required/);
  });
});

describe("MlflowHostCreds", () => {
  it("validates as MLflow: host required, insecure excludes a CA path", () => {
    assert.throws(
      () => new MlflowHostCreds({ host: "" }),
      /host is a required parameter for MlflowHostCreds/,
    );
    assert.throws(
      () =>
        new MlflowHostCreds({
          host: "http://my-host",
          ignoreTlsVerification: true,
          serverCertPath: "/some/path",
        }),
      /When 'ignore_tls_verification' is true then 'server_cert_path' must not be set/,
    );
    assert.throws(() => new MlflowHostCreds({ host: "ftp://x" }), /http:\/\/ or https:\/\//);
  });

  it("is frozen and never shows its secrets when printed or serialised", async () => {
    const creds = new MlflowHostCreds({
      host: "https://u:hostpw@h",
      username: "u",
      password: "pw-123456",
      token: "tok-123456",
    });
    assert.ok(Object.isFrozen(creds));
    assert.equal(creds.password, "pw-123456");
    const { inspect } = await import("node:util");
    for (const shown of [
      JSON.stringify(creds),
      inspect(creds),
      String(Object.keys(creds)),
      `${JSON.stringify({ ...creds })}`,
    ]) {
      assert.ok(
        !shown.includes("pw-123456") && !shown.includes("tok-123456") && !shown.includes("hostpw"),
        shown,
      );
    }
  });
});
