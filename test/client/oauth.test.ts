/**
 * Databricks OAuth machine-to-machine against a local HTTPS workspace whose token endpoint
 * (`/oidc/v1/token`) checks the client-credentials grant as RFC 6749 requires — HTTP Basic client
 * authentication (§2.3.1, form-encoded ID and secret), a form body with
 * `grant_type=client_credentials` and `scope=all-apis`, nothing else — and counts the tokens it
 * issues: one per expiry window under 50 concurrent calls, one refresh on a 401.
 */
import assert from "node:assert/strict";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { MlflowSecretsError, RestError, getDefaultHostCreds } from "../../src/index.js";
import { callEndpointWithClock, type HttpClock } from "../../src/client/http.js";
import { loginWith, validateDatabricksCreds, validateMlflowCreds } from "../../src/client/login.js";
import { describeHostCreds, formatCredsReport } from "../../src/client/show.js";
import { closeIdleConnections } from "../../src/client/transport.js";
import { TINYPROXY_MISSING, startTinyproxy } from "../helpers/tinyproxy.js";
import {
  assertNoSecrets,
  everythingIn,
  json,
  rejection,
  scriptedPrompts,
  serverTls,
  startServer,
  tempDir,
  tlsFile,
} from "./helpers.js";

after(closeIdleConnections);

// A secret with characters that form encoding changes (RFC 6749 Appendix B).
const CLIENT_SECRET = "dose-S3cr:t+/=%&secret";
let clientCounter = 0;
/** A client ID per test: the token cache is per client, and tests must not share tokens. */
const newClientId = () => `sp-${process.pid}-${(clientCounter += 1)}-0000`;

function formDecode(text: string): string {
  return decodeURIComponent(text.replace(/\+/g, " "));
}

interface Workspace {
  url: string;
  port: number;
  /** Token requests received (valid or not). */
  tokenRequests: number;
  /** Tokens issued. */
  issued: string[];
  /** API requests received, with the token they carried. */
  apiTokens: (string | undefined)[];
  /** Tokens the API no longer accepts. */
  revoked: Set<string>;
  /** Problems the token endpoint found in a request (a test asserts there are none). */
  violations: string[];
  /** The distinct connections requests arrived on. */
  connections: Set<unknown>;
}

async function workspace(
  clientId: string,
  options: { expiresIn?: number; rejectAll?: boolean } = {},
): Promise<Workspace> {
  const state = {
    tokenRequests: 0,
    issued: [] as string[],
    apiTokens: [] as (string | undefined)[],
    revoked: new Set<string>(),
    violations: [] as string[],
    connections: new Set<unknown>(),
  };
  const server = await startServer((req, res, raw) => {
    state.connections.add(raw.socket);
    const path = req.url.split("?")[0];
    if (path === "/oidc/v1/token") {
      state.tokenRequests += 1;
      const problems: string[] = [];
      if (req.method !== "POST") problems.push(`method ${req.method}`);
      if (req.headers["content-type"] !== "application/x-www-form-urlencoded") {
        problems.push(`content-type ${req.headers["content-type"]}`);
      }
      const form = new URLSearchParams(req.body.toString("utf8"));
      const fields = [...form.keys()].sort().join(",");
      if (fields !== "grant_type,scope") problems.push(`form fields ${fields}`);
      if (form.get("grant_type") !== "client_credentials") problems.push("grant_type");
      if (form.get("scope") !== "all-apis") problems.push("scope");
      // RFC 6749 §2.3.1: Basic, with the form-encoded client ID and secret.
      const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? "")?.[1];
      const decoded = basic ? Buffer.from(basic, "base64").toString("utf8") : "";
      const colon = decoded.indexOf(":");
      const id = colon < 0 ? "" : formDecode(decoded.slice(0, colon));
      const secret = colon < 0 ? "" : formDecode(decoded.slice(colon + 1));
      if (id !== clientId || secret !== CLIENT_SECRET) {
        json(res, 401, {
          error: "invalid_client",
          error_description: "Client authentication failed",
        });
        return;
      }
      state.violations.push(...problems);
      if (problems.length > 0) {
        json(res, 400, { error: "invalid_request", error_description: problems.join("; ") });
        return;
      }
      const token = `dbx-access-${clientId}-${state.issued.length + 1}-secret`;
      state.issued.push(token);
      json(res, 200, {
        access_token: token,
        token_type: "Bearer",
        expires_in: options.expiresIn ?? 3600,
        scope: "all-apis",
      });
      return;
    }
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    state.apiTokens.push(token);
    if (
      options.rejectAll ||
      token === undefined ||
      !state.issued.includes(token) ||
      state.revoked.has(token)
    ) {
      json(res, 401, { error_code: "UNAUTHENTICATED", message: "Invalid access token" });
      return;
    }
    json(res, 200, { ok: true });
  }, serverTls());
  return Object.assign(state, { url: server.url, port: server.port });
}

function dbxEnv(ws: Workspace, clientId: string, extra: Record<string, string> = {}) {
  return {
    HOME: tempDir("oauth-home-"),
    DATABRICKS_HOST: ws.url,
    DATABRICKS_CLIENT_ID: clientId,
    DATABRICKS_CLIENT_SECRET: CLIENT_SECRET,
    // The workspace's certificate is issued by the test CA: the requests-compatible variable.
    REQUESTS_CA_BUNDLE: tlsFile("ca.pem"),
    MLFLOW_HTTP_REQUEST_MAX_RETRIES: "0",
    ...extra,
  };
}

/** A clock the test moves. */
function movableClock(
  start = Date.parse("2026-06-01T00:00:00Z"),
): HttpClock & { advance(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    sleep: () => Promise.resolve(),
    random: () => 0,
    advance: (ms) => {
      now += ms;
    },
  };
}

const call = (
  env: Record<string, string>,
  clock: HttpClock,
  endpoint = "/api/2.0/mlflow/experiments/search",
) =>
  callEndpointWithClock(
    () => getDefaultHostCreds("databricks", { env }),
    endpoint,
    "POST",
    { json: {}, env },
    clock,
  );

describe("Databricks OAuth machine-to-machine", () => {
  it("fetches a token with the client-credentials grant exactly as the protocol requires", async () => {
    const clientId = newClientId();
    const ws = await workspace(clientId);
    const env = dbxEnv(ws, clientId);
    assert.deepEqual(await call(env, movableClock()), { ok: true });
    assert.equal(ws.tokenRequests, 1);
    assert.deepEqual(ws.violations, []);
    assert.deepEqual(ws.apiTokens, [ws.issued[0]]);
  });

  it("50 concurrent calls share one token; a new token only when the window ends", async () => {
    const clientId = newClientId();
    const ws = await workspace(clientId, { expiresIn: 3600 });
    const env = dbxEnv(ws, clientId);
    const clock = movableClock();
    const burst = () => Promise.all(Array.from({ length: 50 }, () => call(env, clock)));
    await burst();
    assert.equal(ws.tokenRequests, 1, "one token for 50 concurrent calls");
    // Still inside the window (the token is replaced 60 s before it expires).
    clock.advance(3539_000);
    await burst();
    assert.equal(ws.tokenRequests, 1);
    clock.advance(2_000);
    await burst();
    assert.equal(ws.tokenRequests, 2, "one new token for the next window");
    assert.equal(ws.apiTokens.length, 150);
    assert.deepEqual(new Set(ws.apiTokens), new Set(ws.issued));
    assert.deepEqual(ws.violations, []);
  });

  it("a 401 drops the token and retries once with a new one (50 concurrent callers: one refresh)", async () => {
    const clientId = newClientId();
    const ws = await workspace(clientId);
    const env = dbxEnv(ws, clientId);
    const clock = movableClock();
    await call(env, clock);
    ws.revoked.add(ws.issued[0]!); // revoked early, before its expiry
    const results = await Promise.all(Array.from({ length: 50 }, () => call(env, clock)));
    assert.ok(results.every((r) => (r as { ok: boolean }).ok));
    assert.equal(ws.tokenRequests, 2);
    assert.equal(ws.apiTokens.filter((t) => t === ws.issued[1]).length, 50);
  });

  it("refreshes only once: a server that refuses every token gets the 401 back", async () => {
    const clientId = newClientId();
    const ws = await workspace(clientId, { rejectAll: true });
    const env = dbxEnv(ws, clientId);
    const err = await rejection(call(env, movableClock()));
    assert.ok(err instanceof RestError);
    assert.equal(err.status, 401);
    assert.equal(ws.tokenRequests, 2);
    assert.equal(ws.apiTokens.length, 2);
    assertNoSecrets(everythingIn(err), [CLIENT_SECRET, ...ws.issued], "401 after refresh");
  });

  it("reads client_id / client_secret from a ~/.databrickscfg profile (auth_type = oauth-m2m)", async () => {
    const clientId = newClientId();
    const ws = await workspace(clientId);
    const home = tempDir("oauth-cfg-");
    writeFileSync(
      join(home, ".databrickscfg"),
      `[sp]\nhost = ${ws.url}\nclient_id = ${clientId}\nclient_secret = ${CLIENT_SECRET}\nauth_type = oauth-m2m\n`,
      { mode: 0o600 },
    );
    const env = {
      HOME: home,
      REQUESTS_CA_BUNDLE: tlsFile("ca.pem"),
      MLFLOW_HTTP_REQUEST_MAX_RETRIES: "0",
    };
    const result = await callEndpointWithClock(
      () => getDefaultHostCreds("databricks://sp", { env }),
      "/api/2.0/preview/scim/v2/Me",
      "GET",
      { env },
      movableClock(),
    );
    assert.deepEqual(result, { ok: true });
    assert.equal(ws.tokenRequests, 1);

    const report = formatCredsReport(await describeHostCreds("databricks://sp", { env }));
    assert.match(
      report,
      /Auth mode: {4}Databricks OAuth machine-to-machine \(client-credentials grant at https:\/\/127\.0\.0\.1:\d+\/oidc\/v1\/token, scope all-apis/,
    );
    assert.match(
      report,
      new RegExp(`client id +${clientId} +.*\\.databrickscfg \\[sp\\] client_id`),
    );
    assert.match(report, /client secret +\*{8} +.*\.databrickscfg \[sp\] client_secret/);
    assert.match(
      report,
      /tls +verify with Node's CAs plus CA bundle .*ca\.pem +REQUESTS_CA_BUNDLE/,
    );
    assertNoSecrets(report, [CLIENT_SECRET, ...ws.issued], "creds show");
  });

  it("a token or username/password wins over the OAuth client unless auth_type says otherwise", async () => {
    const home = tempDir("oauth-order-");
    writeFileSync(
      join(home, ".databrickscfg"),
      [
        "[both]",
        "host = https://h.example.com",
        "token = dapi-pat",
        "client_id = id",
        "client_secret = s",
        "[forced]",
        "host = https://h.example.com",
        "token = dapi-pat",
        "client_id = id",
        "client_secret = s",
        "auth_type = oauth-m2m",
        "[half]",
        "host = https://h.example.com",
        "client_id = id",
        "[cli]",
        "host = https://h.example.com",
        "auth_type = databricks-cli",
        "[azure]",
        "host = https://h.example.com",
        "azure_client_id = a",
        "azure_client_secret = b",
        "",
      ].join("\n"),
    );
    const env = { HOME: home };
    const both = await getDefaultHostCreds("databricks://both", { env });
    assert.deepEqual([both.token, both.clientId], ["dapi-pat", undefined]);
    const forced = await getDefaultHostCreds("databricks://forced", { env });
    assert.deepEqual([forced.token, forced.clientId, forced.clientSecret], [undefined, "id", "s"]);
    await assert.rejects(
      getDefaultHostCreds("databricks://half", { env }),
      /lacks client_secret \(OAuth needs both\)/,
    );
    await assert.rejects(
      getDefaultHostCreds("databricks://cli", { env }),
      /use auth_type = databricks-cli, which needs the Databricks SDK/,
    );
    await assert.rejects(
      getDefaultHostCreds("databricks://azure", { env }),
      /use azure_client_id, which needs the Databricks SDK/,
    );
    const fromEnv = await getDefaultHostCreds("databricks", {
      env: {
        HOME: home,
        DATABRICKS_HOST: "https://e.example.com",
        DATABRICKS_CLIENT_ID: "i",
        DATABRICKS_CLIENT_SECRET: "s",
      },
    });
    assert.deepEqual(
      [fromEnv.clientId, fromEnv.clientSecret, fromEnv.token],
      ["i", "s", undefined],
    );
  });

  it("a refused client is a clear error naming the endpoint, never the secret", async () => {
    const ws = await workspace("the-real-client");
    const env = dbxEnv(ws, newClientId());
    const err = await rejection(call(env, movableClock()));
    assert.ok(err instanceof MlflowSecretsError);
    assert.equal(err.errorCode, "UNAUTHENTICATED");
    assert.match(
      err.message,
      /^The Databricks OAuth token endpoint https:\/\/127\.0\.0\.1:\d+\/oidc\/v1\/token refused the client credentials: invalid_client: Client authentication failed \(check DATABRICKS_CLIENT_ID/,
    );
    assertNoSecrets(
      everythingIn(err),
      [CLIENT_SECRET, encodeURIComponent(CLIENT_SECRET)],
      "invalid_client",
    );
    assert.deepEqual(ws.apiTokens, [], "no API call without a token");
  });

  it("an answer without a usable token is an error that does not quote the body", async () => {
    for (const body of [
      '{"access_token": "", "leak": "dbx-leaky-secret-1"}',
      "dbx-leaky-secret-1 not json",
      '{"access_token": "dbx-leaky-secret-1", "token_type": "mac"}',
    ]) {
      const server = await startServer((req, res) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(req.url.startsWith("/oidc") ? body : "{}");
      }, serverTls());
      const env = {
        HOME: tempDir(),
        DATABRICKS_HOST: server.url,
        DATABRICKS_CLIENT_ID: newClientId(),
        DATABRICKS_CLIENT_SECRET: CLIENT_SECRET,
        REQUESTS_CA_BUNDLE: tlsFile("ca.pem"),
      };
      const err = await rejection(call(env, movableClock()));
      assert.match(
        err.message,
        /^The Databricks OAuth token endpoint .* (answered without an access_token|granted a 'mac' token)/,
      );
      assertNoSecrets(everythingIn(err), ["dbx-leaky-secret-1", CLIENT_SECRET], body);
    }
  });

  it("an aborted call stops waiting for a slow token endpoint", async () => {
    const server = await startServer(async (_req, res) => {
      await new Promise((resolve) => setTimeout(resolve, 3000));
      json(res, 200, { access_token: "late-token", expires_in: 60 });
    }, serverTls());
    const env = {
      HOME: tempDir(),
      DATABRICKS_HOST: server.url,
      DATABRICKS_CLIENT_ID: newClientId(),
      DATABRICKS_CLIENT_SECRET: CLIENT_SECRET,
      REQUESTS_CA_BUNDLE: tlsFile("ca.pem"),
      MLFLOW_HTTP_REQUEST_MAX_RETRIES: "0",
    };
    const started = Date.now();
    const err = await rejection(
      callEndpointWithClock(
        () => getDefaultHostCreds("databricks", { env }),
        "/api/2.0/x",
        "GET",
        { env, signal: AbortSignal.timeout(200) },
        movableClock(),
      ),
    );
    assert.equal(err.name, "TimeoutError");
    assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
  });

  it("login --backend databricks writes an OAuth profile when the token is left empty", async () => {
    const clientId = newClientId();
    const ws = await workspace(clientId);
    const home = tempDir("oauth-login-");
    const file = join(home, ".databrickscfg");
    const env = { HOME: home, DATABRICKS_CONFIG_FILE: file, REQUESTS_CA_BUNDLE: tlsFile("ca.pem") };
    const prompts = scriptedPrompts([ws.url, "", clientId, CLIENT_SECRET]);
    const log: string[] = [];
    await loginWith(
      { env, prompts, profile: "sp", log: (line) => log.push(line) },
      { databricks: validateDatabricksCreds, mlflow: validateMlflowCreds },
    );
    assert.equal(
      readFileSync(file, "utf8"),
      `[sp]\nhost = ${ws.url}\nclient_id = ${clientId}\nclient_secret = ${CLIENT_SECRET}\nauth_type = oauth-m2m\n\n`,
    );
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(
      prompts.asked.map((q) => [q.message, q.hidden]),
      [
        ["Databricks Host (should begin with https://)", false],
        ["Token (leave empty to use an OAuth service principal)", true],
        ["Client ID", false],
        ["Client secret", true],
      ],
    );
    assert.equal(ws.tokenRequests, 1, "validated with a real token");
    assertNoSecrets(log.join("\n"), [CLIENT_SECRET, ...ws.issued], "login log");
  });

  it(
    "the token request goes through the proxy, like every other request",
    { skip: TINYPROXY_MISSING },
    async () => {
      const clientId = newClientId();
      const ws = await workspace(clientId);
      const tinyproxy = await startTinyproxy();
      after(() => tinyproxy.stop());
      const env = dbxEnv(ws, clientId, { HTTPS_PROXY: tinyproxy.url });
      assert.deepEqual(await call(env, movableClock()), { ok: true });
      // Every connection the workspace saw is a tunnel the proxy opened: the token request did not
      // go around it.
      const tunnels = tinyproxy.requests();
      assert.ok(tunnels.every((r) => r === `CONNECT 127.0.0.1:${ws.port} HTTP/1.1`));
      assert.equal(ws.connections.size, tunnels.length);
      assert.equal(ws.tokenRequests, 1);
    },
  );
});
