/**
 * No password, token, signature, session token, proxy credential, `.netrc` password, OAuth client
 * secret or access token in any error (message, stack, properties, causes), log line or `creds
 * show` output — including when a server or proxy echoes them back. Also: the token file is re-read
 * on every request.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  MlflowHostCreds,
  callEndpoint,
  getDefaultHostCreds,
  httpRequest,
  registerRequestAuthProvider,
} from "../../src/index.js";
import { loginWith, validateDatabricksCreds, validateMlflowCreds } from "../../src/client/login.js";
import { runCli } from "../../src/cli/run.js";
import {
  assertNoSecrets,
  everythingIn,
  fakeIo,
  json,
  rejection,
  scriptedPrompts,
  serverTls,
  startServer,
  tempDir,
  tlsFile,
} from "./helpers.js";

const PASSWORD = "pw-Zq8!secret-password";
const TOKEN = "tok-Xy7-secret-bearer-token";
const FILE_TOKEN = "tok-from-file-secret-1";
const AWS_SECRET = "aws/secret+ACCESS-key-value";
const SESSION = "aws-session-token-secret-value";
const DBX_TOKEN = "dapi0123456789abcdef-secret";
const PROVIDER_TOKEN = "provider-issued-secret-token";
const SECRETS = [PASSWORD, TOKEN, FILE_TOKEN, AWS_SECRET, SESSION, DBX_TOKEN, PROVIDER_TOKEN];
const BASIC_BLOB = Buffer.from(`alice:${PASSWORD}`).toString("base64");
const ALL = [...SECRETS, BASIC_BLOB];
const NO_RETRY = { MLFLOW_HTTP_REQUEST_MAX_RETRIES: "0" };

before(() => {
  process.env.AWS_EC2_METADATA_DISABLED = "true";
  registerRequestAuthProvider({
    name: "issuer",
    authenticate(request) {
      request.headers.set("authorization", `Bearer ${PROVIDER_TOKEN}`);
    },
  });
});

/** A server that echoes every request header back in its error body (a worst case). */
async function echoingServer(asJson: boolean) {
  return startServer((req, res) => {
    const echo = `denied; you sent ${JSON.stringify(req.headers)}`;
    if (asJson) json(res, 401, { error_code: "UNAUTHENTICATED", message: echo });
    else {
      res.writeHead(401, { "content-type": "text/plain" });
      res.end(echo);
    }
  });
}

describe("errors never carry credentials", () => {
  const sigEnv = {
    AWS_ACCESS_KEY_ID: "AKIDSCAN",
    AWS_SECRET_ACCESS_KEY: AWS_SECRET,
    AWS_SESSION_TOKEN: SESSION,
    AWS_REGION: "eu-west-1",
  };
  const cases: [string, (host: string) => MlflowHostCreds, Record<string, string>][] = [
    ["basic", (host) => new MlflowHostCreds({ host, username: "alice", password: PASSWORD }), {}],
    ["bearer", (host) => new MlflowHostCreds({ host, token: TOKEN }), {}],
    ["sigv4", (host) => new MlflowHostCreds({ host, awsSigv4: true }), sigEnv],
    ["provider", (host) => new MlflowHostCreds({ host, auth: "issuer" }), {}],
  ];

  for (const asJson of [false, true]) {
    for (const [mode, make, env] of cases) {
      it(`${mode}: a server echoing the request headers in a ${asJson ? "JSON" : "text"} error`, async () => {
        const server = await echoingServer(asJson);
        const err = await rejection(
          callEndpoint(make(server.url), "/api/2.0/x", "POST", {
            env: { ...env, ...NO_RETRY },
            json: {},
          }),
        );
        assert.match(err.message, /denied; you sent/);
        assertNoSecrets(everythingIn(err), ALL, `${mode} error`);
        const auth = String(server.requests[0]!.headers.authorization);
        const signature = /Signature=([0-9a-f]+)/.exec(auth)?.[1];
        if (signature) assertNoSecrets(everythingIn(err), [signature, auth], "sigv4 error");
      });
    }
  }

  it("timeouts, refused connections and TLS failures", async () => {
    const silent = await startServer(() => undefined);
    const tls = await startServer((_req, res) => json(res, 200, {}), serverTls());
    const failures = await Promise.all([
      rejection(
        httpRequest(new MlflowHostCreds({ host: silent.url, token: TOKEN }), "/x", "GET", {
          env: { ...NO_RETRY, MLFLOW_HTTP_REQUEST_TIMEOUT: "0.1" },
        }),
      ),
      rejection(
        httpRequest(
          new MlflowHostCreds({ host: `http://alice:${encodeURIComponent(PASSWORD)}@127.0.0.1:9` }),
          "/x",
          "GET",
          { env: NO_RETRY },
        ),
      ),
      rejection(
        httpRequest(
          new MlflowHostCreds({ host: tls.url, username: "alice", password: PASSWORD }),
          "/x",
          "GET",
          { env: NO_RETRY },
        ),
      ),
    ]);
    for (const err of failures)
      assertNoSecrets(everythingIn(err), [...ALL, encodeURIComponent(PASSWORD)], err.message);
  });

  it("bad header values, unreadable or empty token files, malformed credential files", async () => {
    const dir = tempDir();
    const emptyTokenFile = join(dir, "empty-token");
    writeFileSync(emptyTokenFile, "\n");
    mkdirSync(join(dir, ".mlflow"));
    writeFileSync(join(dir, ".mlflow", "credentials"), `${PASSWORD}\n[mlflow]\n`);
    const failures = await Promise.all([
      rejection(
        httpRequest(
          new MlflowHostCreds({ host: "http://127.0.0.1:9", token: `${TOKEN}\r\nX-Evil: 1` }),
          "/x",
          "GET",
          { env: NO_RETRY },
        ),
      ),
      rejection(
        httpRequest(new MlflowHostCreds({ host: "http://127.0.0.1:9" }), "/x", "GET", {
          env: NO_RETRY,
          headers: { "X-Api-Key": `${TOKEN}\nX-Evil: 1` },
        }),
      ),
      rejection(
        httpRequest(
          new MlflowHostCreds({ host: "http://127.0.0.1:9", tokenFile: emptyTokenFile }),
          "/x",
          "GET",
          { env: NO_RETRY },
        ),
      ),
      rejection(
        httpRequest(
          new MlflowHostCreds({ host: "http://127.0.0.1:9", tokenFile: join(dir, "missing") }),
          "/x",
          "GET",
          { env: NO_RETRY },
        ),
      ),
      rejection(getDefaultHostCreds("https://h", { env: { HOME: dir } })),
      rejection(
        getDefaultHostCreds("https://h", {
          env: { HOME: dir, MLFLOW_TRACKING_INSECURE_TLS: TOKEN },
        }),
      ),
    ]);
    assert.match(failures[0].message, /bearer token contains characters not allowed/);
    assert.match(failures[1].message, /header 'X-Api-Key' contains characters not allowed/);
    assert.match(failures[2].message, /is empty/);
    assert.match(
      failures[3].message,
      /Cannot read MLFLOW_TRACKING_TOKEN_FILE file '.*missing' \(ENOENT\)/,
    );
    assert.match(
      failures[4].message,
      /line 1: an option comes before|line 1: not a \[section\] header/,
    );
    for (const err of failures) assertNoSecrets(everythingIn(err), ALL, err.message);
  });
});

describe("login logs and errors", () => {
  it("databricks and mlflow validation failures against echoing servers", async () => {
    const text = await echoingServer(false);
    const tlsEcho = await startServer(
      (req, res) =>
        json(res, 403, {
          error_code: "PERMISSION_DENIED",
          message: `bad ${String(req.headers.authorization)}`,
        }),
      serverTls(),
    );
    const errors = await Promise.all([
      rejection(
        validateMlflowCreds(
          new MlflowHostCreds({ host: text.url, username: "alice", password: PASSWORD }),
          NO_RETRY,
        ),
      ),
      rejection(
        validateDatabricksCreds(
          new MlflowHostCreds({
            host: tlsEcho.url,
            token: DBX_TOKEN,
            serverCertPath: tlsFile("ca.pem"),
          }),
          NO_RETRY,
        ),
      ),
    ]);
    for (const err of errors) assertNoSecrets(everythingIn(err), ALL, err.message);

    const dir = tempDir();
    const log: string[] = [];
    const err = await rejection(
      loginWith(
        {
          env: { HOME: dir, DATABRICKS_CONFIG_FILE: join(dir, "cfg") },
          prompts: scriptedPrompts(["https://h", DBX_TOKEN]),
          log: (l) => log.push(l),
        },
        {
          databricks: (creds) =>
            validateDatabricksCreds(
              new MlflowHostCreds({
                host: tlsEcho.url,
                token: creds.token!,
                serverCertPath: tlsFile("ca.pem"),
              }),
              NO_RETRY,
            ),
          mlflow: () => Promise.resolve(),
        },
      ),
    );
    assert.match(
      err.message,
      /^login failed with error: Failed to validate databricks credentials: bad/,
    );
    assertNoSecrets(`${everythingIn(err)}\n${log.join("\n")}`, ALL, "databricks login");
  });
});

describe("creds show", () => {
  it("masks every secret and names each source", async () => {
    const home = tempDir();
    mkdirSync(join(home, ".mlflow"));
    writeFileSync(
      join(home, ".mlflow", "credentials"),
      `[mlflow]\nmlflow_tracking_password = ${PASSWORD}\n`,
      { mode: 0o600 },
    );
    const io = fakeIo({
      HOME: home,
      MLFLOW_TRACKING_URI: `https://alice:${encodeURIComponent(PASSWORD)}@mlflow.example.com`,
      MLFLOW_TRACKING_USERNAME: "alice",
      MLFLOW_TRACKING_TOKEN: TOKEN,
      AWS_SECRET_ACCESS_KEY: AWS_SECRET,
      AWS_SESSION_TOKEN: SESSION,
    });
    assert.equal(await runCli(["creds", "show"], io), 0, io.err());
    const out = io.out();
    assertNoSecrets(out + io.err(), [...ALL, encodeURIComponent(PASSWORD)], "creds show");
    assert.match(
      out,
      /^Tracking URI: https:\/\/mlflow\.example\.com\nAuth mode: {4}basic \(username and password\)\n/,
    );
    assert.match(out, /username +alice +MLFLOW_TRACKING_USERNAME\n/);
    assert.match(
      out,
      new RegExp(
        `password +\\*{8} +${join(home, ".mlflow", "credentials").replace(/[.]/g, "\\.")} \\[mlflow\\] mlflow_tracking_password\\n`,
      ),
    );
    assert.match(out, /token +\*{8} +MLFLOW_TRACKING_TOKEN\n/);
    assert.match(out, /Note: A token is also set; Basic wins/);
    assert.doesNotMatch(out, /readable by other users/);
    chmodSync(join(home, ".mlflow", "credentials"), 0o644);
    const loose = fakeIo({ HOME: home, MLFLOW_TRACKING_URI: "https://m" });
    assert.equal(await runCli(["creds", "show"], loose), 0);
    assert.match(
      loose.out(),
      /Note: .*credentials is readable by other users \(mode 644\); run: chmod 600 /,
    );
  });

  it("describes SigV4, token files, Databricks profiles and Kubernetes without secrets", async () => {
    const home = tempDir();
    const tokenFile = join(home, "token");
    writeFileSync(tokenFile, FILE_TOKEN);
    writeFileSync(
      join(home, ".databrickscfg"),
      `[DEFAULT]\nhost = https://dbc.example.com\ntoken = ${DBX_TOKEN}\n`,
    );
    const runs: [string[], Record<string, string>, RegExp][] = [
      [
        ["creds", "show", "--tracking-uri", "https://m"],
        {
          MLFLOW_TRACKING_AWS_SIGV4: "true",
          AWS_REGION: "eu-west-1",
          AWS_ACCESS_KEY_ID: "AKID",
          AWS_SECRET_ACCESS_KEY: AWS_SECRET,
          AWS_SESSION_TOKEN: SESSION,
        },
        /Auth mode: +AWS SigV4 \(service execute-api, region eu-west-1 from AWS_REGION, credentials from AWS_ACCESS_KEY_ID \/ AWS_SECRET_ACCESS_KEY\)/,
      ],
      [
        ["creds", "show", "--tracking-uri", "https://m"],
        { MLFLOW_TRACKING_TOKEN_FILE: tokenFile },
        /Auth mode: +bearer token \(read from the token file on every request\)[\s\S]*token file +.*token +MLFLOW_TRACKING_TOKEN_FILE/,
      ],
      [
        ["creds", "show", "--tracking-uri", "databricks"],
        {},
        /host +https:\/\/dbc\.example\.com +.*\.databrickscfg \[DEFAULT\] host\n +username +-\n +password +-\n +token +\*{8} +.*\.databrickscfg \[DEFAULT\] token/,
      ],
      [
        ["creds", "show", "--tracking-uri", "https://m"],
        {
          MLFLOW_TRACKING_AUTH: "kubernetes",
          MLFLOW_TRACKING_USERNAME: "u",
          MLFLOW_TRACKING_PASSWORD: PASSWORD,
        },
        /Auth mode: +auth provider 'kubernetes' \(service-account token, else kubeconfig\)[\s\S]*Note: Username and password are ignored with Kubernetes auth\./,
      ],
      [
        ["creds", "show", "--tracking-uri", "https://m"],
        { MLFLOW_TRACKING_AUTH: "nobody" },
        /Note: No provider named 'nobody' is registered \(known: (issuer, )?kubernetes, kubernetes-namespaced\); requests will fail\./,
      ],
    ];
    for (const [argv, env, expected] of runs) {
      const io = fakeIo({ HOME: home, ...env });
      assert.equal(await runCli(argv, io), 0, io.err());
      assert.match(io.out(), expected);
      assertNoSecrets(io.out() + io.err(), ALL, argv.join(" "));
    }
  });

  it("a bad variable is one 'Error:' line naming it (exit 1); no URI is a usage error (exit 2)", async () => {
    const io = fakeIo({
      HOME: tempDir(),
      MLFLOW_TRACKING_URI: "https://m",
      MLFLOW_TRACKING_AWS_SIGV4: "yes",
    });
    assert.equal(await runCli(["creds", "show"], io), 1);
    assert.equal(
      io.err(),
      "Error: MLFLOW_TRACKING_AWS_SIGV4 must be one of 'true', 'false', '1' or '0' (any case), got 'yes'\n",
    );
    const none = fakeIo({ HOME: tempDir() });
    assert.equal(await runCli(["creds", "show"], none), 2);
    assert.equal(none.err(), "Error: Pass --tracking-uri or set MLFLOW_TRACKING_URI\n");
  });
});

describe("proxies, .netrc and Databricks OAuth", () => {
  const PROXY_PW = "proxy:secret/pw-4711";
  const PROXY_URL_PW = encodeURIComponent(PROXY_PW);
  const PROXY_BLOB = Buffer.from(`pu:${PROXY_PW}`, "latin1").toString("base64");
  const NETRC_PW = "netrc-secret-pw-0815";
  const NETRC_BLOB = Buffer.from(`nu:${NETRC_PW}`).toString("base64");
  const CLIENT_SECRET = "dose-oauth-client-secret-1";
  const NETWORK = [PROXY_PW, PROXY_URL_PW, PROXY_BLOB, NETRC_PW, NETRC_BLOB, CLIENT_SECRET];

  it("errors from dead, refusing or malformed proxies", async () => {
    // A listener that answers every CONNECT with 407 and echoes the request head in the reason.
    const { createServer } = await import("node:net");
    const refusing = createServer((socket) =>
      socket.once("data", (head: Buffer) =>
        socket.end(
          `HTTP/1.1 407 ${head.toString("latin1").replace(/\r\n/g, " ")}\r\nContent-Length: 0\r\n\r\n`,
        ),
      ),
    );
    await new Promise<void>((resolve) => refusing.listen(0, "127.0.0.1", resolve));
    after(() => refusing.close());
    const refusingPort = (refusing.address() as { port: number }).port;
    const proxyAt = (port: number) => `http://pu:${PROXY_URL_PW}@127.0.0.1:${port}`;
    const failures = await Promise.all([
      rejection(
        httpRequest(
          new MlflowHostCreds({ host: "https://h.example.com", token: TOKEN }),
          "/x",
          "GET",
          {
            env: { HTTPS_PROXY: proxyAt(9), ...NO_RETRY },
          },
        ),
      ),
      rejection(
        httpRequest(
          new MlflowHostCreds({
            host: "http://h.example.com",
            username: "alice",
            password: PASSWORD,
          }),
          "/x",
          "GET",
          {
            env: { HTTP_PROXY: proxyAt(9), ...NO_RETRY },
          },
        ),
      ),
      rejection(
        httpRequest(
          new MlflowHostCreds({ host: "https://h.example.com", token: TOKEN }),
          "/x",
          "GET",
          {
            env: { HTTPS_PROXY: proxyAt(refusingPort), ...NO_RETRY },
          },
        ),
      ),
      rejection(
        httpRequest(new MlflowHostCreds({ host: "https://h.example.com" }), "/x", "GET", {
          env: { HTTPS_PROXY: `socks5://pu:${PROXY_URL_PW}@127.0.0.1:1080`, ...NO_RETRY },
        }),
      ),
      rejection(
        httpRequest(new MlflowHostCreds({ host: "https://h.example.com" }), "/x", "GET", {
          env: { HTTPS_PROXY: `pu:${PROXY_URL_PW}@proxy:3128`, ...NO_RETRY },
        }),
      ),
    ]);
    assert.match(
      failures[0].message,
      /^Cannot connect to the proxy http:\/\/127\.0\.0\.1:9 \(from HTTPS_PROXY\)/,
    );
    assert.match(
      failures[2].message,
      /refused the connection with 407: it rejected the credentials/,
    );
    assert.doesNotMatch(everythingIn(failures[2]), /Proxy-Authorization|CONNECT/);
    for (const err of failures) {
      assertNoSecrets(everythingIn(err), [...ALL, ...NETWORK], err.message);
    }
  });

  it(".netrc and OAuth credentials against servers that echo what they receive", async () => {
    const home = tempDir();
    const echo = await echoingServer(true);
    writeFileSync(join(home, ".netrc"), `machine 127.0.0.1 login nu password ${NETRC_PW}\n`, {
      mode: 0o600,
    });
    const netrcErr = await rejection(
      callEndpoint(new MlflowHostCreds({ host: echo.url }), "/api/2.0/x", "GET", {
        env: { HOME: home, ...NO_RETRY },
      }),
    );
    assert.match(netrcErr.message, /denied; you sent/);
    assert.equal(echo.requests[0]!.headers.authorization, `Basic ${NETRC_BLOB}`);
    assertNoSecrets(everythingIn(netrcErr), NETWORK, "netrc");

    // A workspace whose token endpoint and API both echo the request headers back.
    let issued = "";
    const workspace = await startServer((req, res) => {
      if (req.url.startsWith("/oidc/v1/token") && issued === "") {
        issued = "dbx-access-token-secret-42";
        json(res, 200, { access_token: issued, token_type: "Bearer", expires_in: 3600 });
        return;
      }
      const echoed = JSON.stringify(req.headers) + req.body.toString("utf8");
      if (req.url.startsWith("/oidc"))
        json(res, 401, { error: "invalid_client", error_description: echoed });
      else json(res, 401, { error_code: "UNAUTHENTICATED", message: echoed });
    }, serverTls());
    const env = {
      HOME: home,
      DATABRICKS_HOST: workspace.url,
      DATABRICKS_CLIENT_ID: `sp-no-secrets-${process.pid}`,
      DATABRICKS_CLIENT_SECRET: CLIENT_SECRET,
      REQUESTS_CA_BUNDLE: tlsFile("ca.pem"),
      ...NO_RETRY,
    };
    // The API refuses the token: one refresh, whose grant is refused with an echo of the request.
    const oauthErr = await rejection(
      callEndpoint(() => getDefaultHostCreds("databricks", { env }), "/api/2.0/x", "GET", { env }),
    );
    assert.match(oauthErr.message, /refused the client credentials: invalid_client/);
    const secretBlob = Buffer.from(`${env.DATABRICKS_CLIENT_ID}:${CLIENT_SECRET}`).toString(
      "base64",
    );
    assertNoSecrets(everythingIn(oauthErr), [...NETWORK, issued, secretBlob], "oauth");

    const io = fakeIo({
      ...env,
      MLFLOW_TRACKING_URI: "databricks",
      HTTPS_PROXY: `http://pu:${PROXY_URL_PW}@proxy.corp:3128`,
    });
    assert.equal(await runCli(["creds", "show"], io), 0, io.err());
    assert.match(io.out(), /client secret +\*{8} +DATABRICKS_CLIENT_SECRET/);
    assert.match(io.out(), /proxy +http:\/\/pu:\*{8}@proxy\.corp:3128\/ +HTTPS_PROXY/);
    assertNoSecrets(io.out() + io.err(), [...NETWORK, issued], "creds show");
    const shown = fakeIo({ HOME: home, MLFLOW_TRACKING_URI: echo.url });
    assert.equal(await runCli(["creds", "show"], shown), 0, shown.err());
    assert.match(shown.out(), /Auth mode: +basic from \.netrc/);
    assertNoSecrets(shown.out() + shown.err(), NETWORK, "creds show netrc");
  });
});

describe("MLFLOW_TRACKING_TOKEN_FILE", () => {
  it("is re-read on every request, so a rotated token is used without new credentials", async () => {
    const server = await startServer((_req, res) => json(res, 200, {}));
    const dir = tempDir();
    const tokenFile = join(dir, "token");
    writeFileSync(tokenFile, "rotating-token-1\n");
    const creds = await getDefaultHostCreds(server.url, {
      env: { HOME: dir, MLFLOW_TRACKING_TOKEN_FILE: tokenFile },
    });
    await httpRequest(creds, "/a", "GET", { env: NO_RETRY });
    writeFileSync(tokenFile, "rotating-token-2\n");
    await httpRequest(creds, "/b", "GET", { env: NO_RETRY });
    // And with a resolver function, everything is re-resolved per request, as MLflow's stores do.
    const env = { HOME: dir, MLFLOW_TRACKING_TOKEN_FILE: tokenFile };
    writeFileSync(tokenFile, "rotating-token-3");
    await httpRequest(() => getDefaultHostCreds(server.url, { env }), "/c", "GET", {
      env: NO_RETRY,
    });
    assert.deepEqual(
      server.requests.map((r) => r.headers.authorization),
      ["Bearer rotating-token-1", "Bearer rotating-token-2", "Bearer rotating-token-3"],
    );
  });
});
