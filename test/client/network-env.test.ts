/**
 * What `requests` takes from the environment, on real requests: `.netrc` credentials (below every
 * MLflow credential source), CA bundles from `REQUESTS_CA_BUNDLE` / `CURL_CA_BUNDLE` /
 * `SSL_CERT_FILE` (below `MLFLOW_TRACKING_SERVER_CERT_PATH`), and how `creds show` reports them and
 * the proxy.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { MlflowHostCreds, getDefaultHostCreds, httpRequest } from "../../src/index.js";
import { registerRequestAuthProvider } from "../../src/client/auth-providers.js";
import { loadTlsMaterial, closeIdleConnections } from "../../src/client/transport.js";
import { runCli } from "../../src/cli/run.js";
import { fakeIo, json, rejection, serverTls, startServer, tempDir, tlsFile } from "./helpers.js";

after(closeIdleConnections);

const NO_RETRY = { MLFLOW_HTTP_REQUEST_MAX_RETRIES: "0" };
const NETRC_PASSWORD = "netrc-pw-secret-7";

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

/** A home directory with a `.netrc` for 127.0.0.1 (mode 0600 unless asked). */
function homeWithNetrc(content: string, mode = 0o600): string {
  const home = tempDir("netrc-home-");
  writeFileSync(join(home, ".netrc"), content);
  chmodSync(join(home, ".netrc"), mode);
  return home;
}

const NETRC = `machine 127.0.0.1 login netrc-user password ${NETRC_PASSWORD}\n`;

async function authorizationSent(
  env: Record<string, string>,
  creds?: (host: string) => MlflowHostCreds,
) {
  const server = await startServer((_req, res) => json(res, 200, {}));
  const hostCreds = creds ? creds(server.url) : await getDefaultHostCreds(server.url, { env });
  const res = await httpRequest(hostCreds, "/x", "GET", { env: { ...env, ...NO_RETRY } });
  await res.body?.cancel();
  return server.requests[0]!.headers.authorization;
}

describe(".netrc on requests", () => {
  it("is used (Basic) when no MLflow credential is set", async () => {
    const home = homeWithNetrc(NETRC);
    assert.equal(await authorizationSent({ HOME: home }), basic("netrc-user", NETRC_PASSWORD));
  });

  it("the `default` entry, NETRC and ~/_netrc are honoured", async () => {
    const home = homeWithNetrc(
      "machine elsewhere login a password b\ndefault login d password dp\n",
    );
    assert.equal(await authorizationSent({ HOME: home }), basic("d", "dp"));
    const other = tempDir();
    writeFileSync(join(other, "my-netrc"), NETRC, { mode: 0o600 });
    assert.equal(
      await authorizationSent({ HOME: home, NETRC: join(other, "my-netrc") }),
      basic("netrc-user", NETRC_PASSWORD),
    );
    assert.equal(
      await authorizationSent({ HOME: home, NETRC: "" }),
      undefined,
      "NETRC='' disables it",
    );
    const windowsStyle = tempDir();
    writeFileSync(join(windowsStyle, "_netrc"), NETRC, { mode: 0o600 });
    assert.equal(
      await authorizationSent({ HOME: windowsStyle }),
      basic("netrc-user", NETRC_PASSWORD),
    );
  });

  it("ranks below MLflow's sources: variables, ~/.mlflow/credentials, a token, SigV4 and providers win", async () => {
    const home = homeWithNetrc(NETRC);
    assert.equal(
      await authorizationSent({
        HOME: home,
        MLFLOW_TRACKING_USERNAME: "u",
        MLFLOW_TRACKING_PASSWORD: "p",
      }),
      basic("u", "p"),
    );
    mkdirSync(join(home, ".mlflow"));
    writeFileSync(
      join(home, ".mlflow", "credentials"),
      "[mlflow]\nmlflow_tracking_username = fu\nmlflow_tracking_password = fp\n",
      { mode: 0o600 },
    );
    assert.equal(await authorizationSent({ HOME: home }), basic("fu", "fp"));
    const home2 = homeWithNetrc(NETRC);
    assert.equal(
      await authorizationSent({ HOME: home2, MLFLOW_TRACKING_TOKEN: "tok-1" }),
      "Bearer tok-1",
    );
    registerRequestAuthProvider({
      name: "netrc-test-provider",
      authenticate: (request) => request.headers.set("x-provider", "1"),
    });
    assert.equal(
      await authorizationSent({ HOME: home2, MLFLOW_TRACKING_AUTH: "netrc-test-provider" }),
      undefined,
      "requests gives .netrc only when no auth object is set",
    );
    // A caller's own Authorization header is not overwritten by .netrc.
    const server = await startServer((_req, res) => json(res, 200, {}));
    const res = await httpRequest(new MlflowHostCreds({ host: server.url }), "/x", "GET", {
      env: { HOME: home2, ...NO_RETRY },
      headers: { authorization: "Custom abc" },
    });
    await res.body?.cancel();
    assert.equal(server.requests[0]!.headers.authorization, "Custom abc");
  });

  it("a lone username does not block .netrc (Basic needs both), an entry without password sends an empty one", async () => {
    const home = homeWithNetrc(NETRC);
    assert.equal(
      await authorizationSent({ HOME: home, MLFLOW_TRACKING_USERNAME: "lonely" }),
      basic("netrc-user", NETRC_PASSWORD),
    );
    const tokenOnly = homeWithNetrc("machine 127.0.0.1 login only-a-token\n");
    assert.equal(await authorizationSent({ HOME: tokenOnly }), basic("only-a-token", ""));
  });

  it("a file others can read gets one warning (per file, per process); an unparsable one is skipped with a warning", async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error & { code?: string }) => {
      if (w.code === "MLFLOW_SECRETS_NETRC") warnings.push(w.message);
    };
    process.on("warning", onWarning);
    after(() => process.off("warning", onWarning));
    const loose = homeWithNetrc(NETRC, 0o644);
    assert.equal(await authorizationSent({ HOME: loose }), basic("netrc-user", NETRC_PASSWORD));
    assert.equal(await authorizationSent({ HOME: loose }), basic("netrc-user", NETRC_PASSWORD));
    const broken = homeWithNetrc(
      `machine 127.0.0.1 login x password ${NETRC_PASSWORD}\nstray-token\n`,
    );
    assert.equal(await authorizationSent({ HOME: broken }), undefined);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(warnings, [
      `${join(loose, ".netrc")} is readable by other users (mode 644); run: chmod 600 ${join(loose, ".netrc")}`,
      `${join(broken, ".netrc")} cannot be parsed: bad follower token, line 3; it is ignored`,
    ]);
    assert.ok(!warnings.join("").includes(NETRC_PASSWORD));
  });

  it("creds show names the .netrc entry and masks its password", async () => {
    const home = homeWithNetrc(
      "machine mlflow.example.com login n password " + NETRC_PASSWORD + "\n",
      0o640,
    );
    const io = fakeIo({ HOME: home, MLFLOW_TRACKING_URI: "https://mlflow.example.com" });
    assert.equal(await runCli(["creds", "show"], io), 0, io.err());
    const out = io.out();
    const path = join(home, ".netrc");
    assert.match(
      out,
      new RegExp(
        `Auth mode: {4}basic from \\.netrc \\(${path.replace(/\./g, "\\.")}, machine mlflow\\.example\\.com\\)`,
      ),
    );
    assert.match(
      out,
      new RegExp(`username +n +${path.replace(/\./g, "\\.")} machine mlflow\\.example\\.com\\n`),
    );
    assert.match(out, /password +\*{8} +/);
    assert.match(out, /Note: .*\.netrc is readable by other users \(mode 640\)/);
    assert.ok(!out.includes(NETRC_PASSWORD));
    const withToken = fakeIo({
      HOME: home,
      MLFLOW_TRACKING_URI: "https://mlflow.example.com",
      MLFLOW_TRACKING_TOKEN: "t",
    });
    assert.equal(await runCli(["creds", "show"], withToken), 0);
    assert.match(withToken.out(), /Auth mode: {4}bearer token\n/);
  });
});

describe("CA bundles from the environment", () => {
  const httpsServer = () => startServer((_req, res) => json(res, 200, {}), serverTls());
  const get = async (url: string, env: Record<string, string>) => {
    const creds = await getDefaultHostCreds(url, { env: { HOME: tempDir(), ...env } });
    const res = await httpRequest(creds, "/x", "GET", { env: { ...env, ...NO_RETRY } });
    await res.body?.cancel();
    return res.status;
  };

  it("REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE or SSL_CERT_FILE verifies the server", async () => {
    const server = await httpsServer();
    for (const name of ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"]) {
      assert.equal(await get(server.url, { [name]: tlsFile("ca.pem") }), 200, name);
    }
    const err = await rejection(get(server.url, {}));
    assert.match(err.message, /TLS error/);
  });

  it("in requests' order: REQUESTS_CA_BUNDLE before CURL_CA_BUNDLE (before SSL_CERT_FILE)", async () => {
    const server = await httpsServer();
    const wrong = tlsFile("other-ca.pem");
    const right = tlsFile("ca.pem");
    assert.equal(await get(server.url, { REQUESTS_CA_BUNDLE: right, CURL_CA_BUNDLE: wrong }), 200);
    await assert.rejects(
      get(server.url, { REQUESTS_CA_BUNDLE: wrong, CURL_CA_BUNDLE: right }),
      /TLS error/,
    );
    await assert.rejects(
      get(server.url, { CURL_CA_BUNDLE: wrong, SSL_CERT_FILE: right }),
      /TLS error/,
    );
    assert.equal(
      await get(server.url, { REQUESTS_CA_BUNDLE: "", CURL_CA_BUNDLE: right }),
      200,
      "empty = unset",
    );
  });

  it("MLFLOW_TRACKING_SERVER_CERT_PATH wins, and insecure TLS ignores them (as requests' verify)", async () => {
    const server = await httpsServer();
    assert.equal(
      await get(server.url, {
        MLFLOW_TRACKING_SERVER_CERT_PATH: tlsFile("ca.pem"),
        REQUESTS_CA_BUNDLE: tlsFile("other-ca.pem"),
      }),
      200,
    );
    await assert.rejects(
      get(server.url, {
        MLFLOW_TRACKING_SERVER_CERT_PATH: tlsFile("other-ca.pem"),
        REQUESTS_CA_BUNDLE: tlsFile("ca.pem"),
      }),
      /not issued by a CA in MLFLOW_TRACKING_SERVER_CERT_PATH/,
    );
    assert.equal(
      await get(server.url, {
        MLFLOW_TRACKING_INSECURE_TLS: "true",
        REQUESTS_CA_BUNDLE: "/does/not/exist.pem",
      }),
      200,
    );
  });

  it("the bundle is added to Node's roots (MLFLOW_TRACKING_SERVER_CERT_PATH replaces them)", async () => {
    const creds = new MlflowHostCreds({ host: "https://h" });
    const added = await loadTlsMaterial(creds, { REQUESTS_CA_BUNDLE: tlsFile("ca.pem") });
    assert.equal(added?.caExtendsRoots, true);
    const replaced = await loadTlsMaterial(
      new MlflowHostCreds({ host: "https://h", serverCertPath: tlsFile("ca.pem") }),
      { REQUESTS_CA_BUNDLE: tlsFile("other-ca.pem") },
    );
    assert.equal(replaced?.caExtendsRoots, false);
    assert.match(replaced.ca!, /BEGIN CERTIFICATE/);
    assert.equal(await loadTlsMaterial(creds, {}), undefined);
  });

  it("NODE_EXTRA_CA_CERTS stays trusted when a bundle variable is set (trust is only added)", async () => {
    const { readFileSync } = await import("node:fs");
    const ipOrigin = await startServer((_req, res) => json(res, 200, {}), {
      cert: readFileSync(tlsFile("ip-server.pem")),
      key: readFileSync(tlsFile("ip-server.key")),
    });
    const both = {
      REQUESTS_CA_BUNDLE: tlsFile("ca.pem"),
      NODE_EXTRA_CA_CERTS: tlsFile("ip-ca.pem"),
    };
    assert.equal(await get(ipOrigin.url, both), 200);
    await assert.rejects(get(ipOrigin.url, { REQUESTS_CA_BUNDLE: tlsFile("ca.pem") }), /TLS error/);
    const server = await httpsServer();
    assert.equal(await get(server.url, both), 200);
  });

  it("a missing bundle is an error naming its variable; a directory of certificates works", async () => {
    const server = await httpsServer();
    await assert.rejects(
      get(server.url, { CURL_CA_BUNDLE: "/no/such/bundle.pem" }),
      /Cannot read the CA bundle \(CURL_CA_BUNDLE\) '\/no\/such\/bundle\.pem' \(ENOENT\)/,
    );
    const dir = tempDir();
    writeFileSync(join(dir, "a.pem"), "not a certificate\n");
    const { readFileSync } = await import("node:fs");
    writeFileSync(join(dir, "b.pem"), readFileSync(tlsFile("ca.pem")));
    assert.equal(await get(server.url, { REQUESTS_CA_BUNDLE: dir }), 200);
  });

  it("a bundle changed on disk takes effect on the next request (files are checked every time)", async () => {
    const { readFileSync } = await import("node:fs");
    const server = await httpsServer();
    const dir = tempDir();
    for (const [name, variable] of [
      ["bundle.pem", "REQUESTS_CA_BUNDLE"],
      ["server-ca.pem", "MLFLOW_TRACKING_SERVER_CERT_PATH"],
    ] as const) {
      const path = join(dir, name);
      writeFileSync(path, readFileSync(tlsFile("other-ca.pem")));
      await assert.rejects(get(server.url, { [variable]: path }), /TLS error/);
      writeFileSync(path, readFileSync(tlsFile("ca.pem")));
      assert.equal(await get(server.url, { [variable]: path }), 200, variable);
      writeFileSync(path, readFileSync(tlsFile("other-ca.pem")));
      await assert.rejects(get(server.url, { [variable]: path }), /TLS error/, variable);
    }
  });

  it("creds show names the bundle's variable", async () => {
    const io = fakeIo({
      HOME: tempDir(),
      MLFLOW_TRACKING_URI: "https://m.example.com",
      CURL_CA_BUNDLE: "/etc/corp/ca.pem",
    });
    assert.equal(await runCli(["creds", "show"], io), 0, io.err());
    assert.match(
      io.out(),
      /tls +verify with Node's CAs plus CA bundle \/etc\/corp\/ca\.pem +CURL_CA_BUNDLE\n/,
    );
  });
});

describe("creds show: the proxy", () => {
  const show = async (env: Record<string, string>) => {
    const io = fakeIo({
      HOME: tempDir(),
      MLFLOW_TRACKING_URI: "https://mlflow.example.com",
      ...env,
    });
    assert.equal(await runCli(["creds", "show"], io), 0, io.err());
    return io.out();
  };

  it("the proxy requests would use, its password masked, its variable named", async () => {
    const out = await show({
      https_proxy: "http://bob:proxy-pw-secret-9@proxy.corp:3128",
      HTTPS_PROXY: "http://x:1",
    });
    assert.match(out, /proxy +http:\/\/bob:\*{8}@proxy\.corp:3128\/ +https_proxy\n/);
    assert.ok(!out.includes("proxy-pw-secret-9"));
  });

  it("a direct connection, and why", async () => {
    assert.match(await show({}), /proxy +none \(direct connection\) +default\n/);
    assert.match(
      await show({ HTTPS_PROXY: "http://proxy.corp:3128", NO_PROXY: ".example.com" }),
      /proxy +none \(the host matches NO_PROXY\) +NO_PROXY\n/,
    );
    assert.match(
      await show({ HTTPS_PROXY: "socks5://p:1080" }),
      /proxy +INVALID: HTTPS_PROXY names a proxy this client cannot use: SOCKS proxies are not supported/,
    );
  });
});
