/**
 * MLflow's `tests/utils/test_rest_utils.py`, ported: where MLflow mocks `requests.Session.request`,
 * these send real requests to a local server and assert what arrived.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  MlflowHostCreds,
  MlflowSecretsError,
  RestError,
  callEndpoint,
  httpRequest,
  registerRequestAuthProvider,
} from "../../src/index.js";
import {
  USER_AGENT,
  callEndpoints,
  performRequest,
  verifyRestResponse,
} from "../../src/client/http.js";
import { VERSION } from "../../src/version.js";
import { fakeClock, json, rejection, startServer, type Recorded } from "./helpers.js";

const ENV = {}; // no MLFLOW_HTTP_* variables: MLflow's defaults

async function okServer(): Promise<{ url: string; requests: Recorded[] }> {
  return startServer((_req, res) => json(res, 200, {}));
}

function only(requests: Recorded[]): Recorded {
  assert.equal(requests.length, 1);
  return requests[0]!;
}

describe("http_request", () => {
  it("host only: GET host + endpoint with the default headers and no Authorization", async () => {
    const server = await okServer();
    const res = await httpRequest(
      new MlflowHostCreds({ host: server.url }),
      "/my/endpoint",
      "GET",
      { env: ENV },
    );
    assert.equal(res.status, 200);
    const req = only(server.requests);
    assert.equal(req.method, "GET");
    assert.equal(req.url, "/my/endpoint");
    assert.equal(req.headers["user-agent"], `mlflow-secrets/${VERSION}`);
    assert.equal(USER_AGENT, `mlflow-secrets/${VERSION}`);
    assert.equal(req.headers.authorization, undefined);
    assert.equal(req.headers["x-mlflow-workspace"], undefined);
  });

  it("removes one trailing slash from the host", async () => {
    const server = await okServer();
    await httpRequest(new MlflowHostCreds({ host: `${server.url}/` }), "/my/endpoint", "GET", {
      env: ENV,
    });
    assert.equal(only(server.requests).url, "/my/endpoint");
  });

  it("basic auth: user/pass → Basic dXNlcjpwYXNz", async () => {
    const server = await okServer();
    await httpRequest(
      new MlflowHostCreds({ host: server.url, username: "user", password: "pass" }),
      "/my/endpoint",
      "GET",
      { env: ENV },
    );
    assert.equal(only(server.requests).headers.authorization, "Basic dXNlcjpwYXNz");
  });

  it("token → Bearer my-token", async () => {
    const server = await okServer();
    await httpRequest(
      new MlflowHostCreds({ host: server.url, token: "my-token" }),
      "/my/endpoint",
      "GET",
      { env: ENV },
    );
    assert.equal(only(server.requests).headers.authorization, "Bearer my-token");
  });

  it("Basic wins over the token when both username and password are set (MLflow's code, not its docs)", async () => {
    const server = await okServer();
    await httpRequest(
      new MlflowHostCreds({
        host: server.url,
        username: "user",
        password: "pass",
        token: "my-token",
      }),
      "/x",
      "GET",
      { env: ENV },
    );
    assert.equal(only(server.requests).headers.authorization, "Basic dXNlcjpwYXNz");
  });

  it("a username alone does not make Basic auth: the token is used", async () => {
    const server = await okServer();
    await httpRequest(
      new MlflowHostCreds({ host: server.url, username: "user", token: "my-token" }),
      "/x",
      "GET",
      { env: ENV },
    );
    assert.equal(only(server.requests).headers.authorization, "Bearer my-token");
  });

  it("credentials in the URL are used for Basic auth and never sent in the URL", async () => {
    const server = await okServer();
    const host = server.url.replace("http://", "http://url-user:url%20pass@");
    const creds = new MlflowHostCreds({ host });
    assert.equal(creds.host, server.url);
    await httpRequest(creds, "/x", "GET", { env: ENV });
    assert.equal(
      only(server.requests).headers.authorization,
      `Basic ${Buffer.from("url-user:url pass").toString("base64")}`,
    );
  });

  it("auth=<name> calls the named provider for the request", async () => {
    const server = await okServer();
    const seen: string[] = [];
    registerRequestAuthProvider({
      name: "test_auth_name",
      authenticate(request) {
        seen.push(`${request.method} ${request.url.pathname}`);
        request.headers.set("authorization", "test_auth_value");
      },
    });
    await httpRequest(
      new MlflowHostCreds({ host: server.url, auth: "test_auth_name" }),
      "/my/endpoint",
      "GET",
      { env: ENV },
    );
    assert.deepEqual(seen, ["GET /my/endpoint"]);
    assert.equal(only(server.requests).headers.authorization, "test_auth_value");
  });

  it("SigV4 replaces Basic/Bearer (env AWS keys and AWS_DEFAULT_REGION=eu-west-1)", async () => {
    const server = await okServer();
    const env = {
      AWS_ACCESS_KEY_ID: "access-key",
      AWS_SECRET_ACCESS_KEY: "secret-key",
      AWS_DEFAULT_REGION: "eu-west-1",
    };
    await httpRequest(
      new MlflowHostCreds({ host: server.url, awsSigv4: true, token: "my-token" }),
      "/my/endpoint",
      "GET",
      { env },
    );
    const auth = String(only(server.requests).headers.authorization);
    assert.match(
      auth,
      /^AWS4-HMAC-SHA256 Credential=access-key\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[^,]+, Signature=[0-9a-f]{64}$/,
    );
  });

  it("extra headers are merged with the Authorization header", async () => {
    const server = await okServer();
    await httpRequest(
      new MlflowHostCreds({ host: server.url, token: "my-token" }),
      "/my/endpoint",
      "GET",
      {
        env: ENV,
        headers: { "Content-Type": "text/plain" },
      },
    );
    const req = only(server.requests);
    assert.equal(req.headers["content-type"], "text/plain");
    assert.equal(req.headers.authorization, "Bearer my-token");
  });

  it("an Authorization header passed by the caller is replaced when credentials apply, kept otherwise", async () => {
    const server = await okServer();
    await httpRequest(new MlflowHostCreds({ host: server.url, token: "t" }), "/a", "GET", {
      env: ENV,
      headers: { Authorization: "mine" },
    });
    await httpRequest(new MlflowHostCreds({ host: server.url }), "/b", "GET", {
      env: ENV,
      headers: { Authorization: "mine" },
    });
    assert.deepEqual(
      server.requests.map((r) => r.headers.authorization),
      ["Bearer t", "mine"],
    );
  });

  it("sends X-MLFLOW-WORKSPACE when a workspace is set", async () => {
    const server = await okServer();
    await httpRequest(new MlflowHostCreds({ host: server.url, workspace: "team-a" }), "/x", "GET", {
      env: ENV,
    });
    assert.equal(only(server.requests).headers["x-mlflow-workspace"], "team-a");
  });

  it("sends JSON bodies and query parameters (strict percent-encoding)", async () => {
    const server = await okServer();
    await httpRequest(new MlflowHostCreds({ host: server.url }), "/x?a=1", "POST", {
      env: ENV,
      json: { name: "n" },
      params: { q: "a b&c", ids: ["1", "2"] },
    });
    const req = only(server.requests);
    assert.equal(req.url, "/x?a=1&q=a%20b%26c&ids=1&ids=2");
    assert.equal(req.headers["content-type"], "application/json");
    assert.deepEqual(JSON.parse(req.body.toString()), { name: "n" });
  });

  it("an invalid URL is 'Invalid url: …' (an MlflowSecretsError)", async () => {
    const err = await rejection(
      httpRequest(new MlflowHostCreds({ host: "http://my-host" }), ":80:/invalid_url", "GET", {
        env: ENV,
      }),
    );
    assert.ok(err instanceof MlflowSecretsError);
    assert.match(err.message, /^Invalid url: http:\/\/my-host:80:\/invalid_url/);
  });

  it("allowRedirects=false returns the redirect itself", async () => {
    const server = await startServer((req, res) => {
      if (req.url === "/my/endpoint") {
        res.writeHead(302, { location: "/elsewhere" });
        res.end("mock response");
      } else json(res, 200, {});
    });
    const res = await httpRequest(
      new MlflowHostCreds({ host: server.url }),
      "/my/endpoint",
      "GET",
      { env: ENV, allowRedirects: false },
    );
    assert.equal(res.status, 302);
    assert.equal(await res.text(), "mock response");
    assert.equal(server.requests.length, 1);
  });

  it("follows redirects by default; credentials go along only to the same origin", async () => {
    const other = await startServer((_req, res) => json(res, 200, { where: "other" }));
    const server = await startServer((req, res) => {
      if (req.url === "/start") {
        res.writeHead(307, { location: "/next" });
        res.end();
      } else if (req.url === "/next") {
        res.writeHead(302, { location: `${other.url}/final` });
        res.end();
      }
    });
    const res = await httpRequest(
      new MlflowHostCreds({ host: server.url, token: "my-token" }),
      "/start",
      "POST",
      {
        env: ENV,
        json: { a: 1 },
      },
    );
    assert.deepEqual(await res.json(), { where: "other" });
    assert.equal(server.requests[1]!.method, "POST"); // 307 keeps the method and body
    assert.equal(server.requests[1]!.headers.authorization, "Bearer my-token");
    assert.equal(server.requests[1]!.body.toString(), '{"a":1}');
    assert.equal(other.requests[0]!.method, "GET"); // 302 → GET
    assert.equal(other.requests[0]!.headers.authorization, undefined);
  });

  it("the insecure-TLS flag needs no CA path and has no effect on http://", async () => {
    const server = await okServer();
    await httpRequest(
      new MlflowHostCreds({ host: server.url, ignoreTlsVerification: true }),
      "/x",
      "GET",
      { env: ENV },
    );
    assert.equal(server.requests.length, 1);
  });
});

describe("call_endpoint / verify_rest_response", () => {
  it("a well-formed JSON error without a code is INTERNAL_ERROR", async () => {
    const server = await startServer((_req, res) => json(res, 400, {}));
    const err = await rejection(
      callEndpoint(new MlflowHostCreds({ host: server.url }), "/my/endpoint", "GET", { env: ENV }),
    );
    assert.ok(err instanceof RestError);
    assert.equal(err.errorCode, "INTERNAL_ERROR");
    assert.equal(err.status, 400);
  });

  it("a JSON error keeps the server's code and message", async () => {
    const server = await startServer((_req, res) =>
      json(res, 404, { error_code: "RESOURCE_DOES_NOT_EXIST", message: "Node type not supported" }),
    );
    const err = await rejection(
      callEndpoint(new MlflowHostCreds({ host: server.url }), "/my/endpoint", "GET", { env: ENV }),
    );
    assert.ok(err instanceof RestError && err instanceof MlflowSecretsError);
    assert.equal(err.errorCode, "RESOURCE_DOES_NOT_EXIST");
    assert.equal(err.message, "Node type not supported");
    assert.equal(err.status, 404);
    assert.equal(err.httpStatus, 404);
  });

  for (const body of ["Error message but not a JSON string", ""]) {
    it(`a 400 with a non-JSON body (${JSON.stringify(body)}) names the endpoint and status`, async () => {
      const server = await startServer((_req, res) => {
        res.writeHead(400);
        res.end(body);
      });
      const err = await rejection(
        callEndpoint(new MlflowHostCreds({ host: server.url }), "/my/endpoint", "GET", {
          env: ENV,
        }),
      );
      assert.ok(err instanceof RestError);
      assert.match(
        err.message,
        /^API request to endpoint \/my\/endpoint failed with error code 400 != 200\. Response body: '/,
      );
      assert.equal(err.errorCode, "BAD_REQUEST");
    });
  }

  it("a 200 that is not a JSON object on /api/2.0 is an error", async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(200);
      res.end("<html></html>");
    });
    await assert.rejects(
      callEndpoint(new MlflowHostCreds({ host: server.url }), "/api/2.0/fetch-model", "GET", {
        env: ENV,
      }),
      /API request to endpoint was successful but the response body was not in a valid JSON format/,
    );
  });

  it("http_request_safe cases: {} and non-JSON 200s pass outside /api, an empty 400 and a JSON 400 fail", () => {
    assert.deepEqual(verifyRestResponse(200, "{}", "/my/endpoint"), {});
    assert.equal(verifyRestResponse(200, "non json", "/my/endpoint"), "non json");
    assert.deepEqual(verifyRestResponse(200, "200 OK", "/api/2.0/x"), {});
    assert.throws(() => verifyRestResponse(400, "", "/my/endpoint"), /Response body/);
    assert.throws(
      () =>
        verifyRestResponse(
          400,
          '{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "Node type not supported"}',
          "/my/endpoint",
        ),
      (err: RestError) =>
        err.errorCode === "RESOURCE_DOES_NOT_EXIST" && err.message === "Node type not supported",
    );
  });

  it("only JSON objects count as MLflow JSON (_can_parse_as_json_object)", () => {
    for (const body of ["{}", '{"a": "b"}', '{"a": {"b": "c"}}']) {
      assert.throws(
        () => verifyRestResponse(500, body, "/e"),
        (err: RestError) =>
          err.errorCode === "INTERNAL_ERROR" && !err.message.includes("Response body"),
      );
    }
    for (const body of ["[0, 1, 2]", '"abc"', "123"]) {
      assert.throws(() => verifyRestResponse(500, body, "/e"), /Response body/);
    }
  });

  it("GET json becomes query parameters; other methods send it as the body", async () => {
    const server = await startServer((req, res) => json(res, 200, { echo: req.url }));
    const creds = new MlflowHostCreds({ host: server.url });
    assert.deepEqual(
      await callEndpoint(creds, "/api/2.0/x", "GET", {
        env: ENV,
        json: { experiment_id: "0", ids: [1, 2], flag: true },
      }),
      {
        echo: "/api/2.0/x?experiment_id=0&ids=1&ids=2&flag=true",
      },
    );
    await callEndpoint(creds, "/api/2.0/y", "POST", { env: ENV, json: { a: 1 } });
    assert.equal(server.requests[1]!.body.toString(), '{"a":1}');
  });

  it("call_endpoints falls through on ENDPOINT_NOT_FOUND only", async () => {
    const creds = new MlflowHostCreds({ host: "http://my-host" });
    const calls: string[] = [];
    const notFound = new RestError("nope", "ENDPOINT_NOT_FOUND", 404);
    let answers: unknown[] = [notFound, { ok: true }];
    const call = (_c: unknown, endpoint: string, method: string): Promise<unknown> => {
      calls.push(`${method} ${endpoint}`);
      const next = answers.shift();
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
    };
    const endpoints = [
      ["/my/endpoint", "POST"],
      ["/my/endpoint", "GET"],
    ] as const;
    assert.deepEqual(await callEndpoints(creds, endpoints, {}, call), { ok: true });
    assert.deepEqual(calls, ["POST /my/endpoint", "GET /my/endpoint"]);
    answers = [notFound, notFound];
    await assert.rejects(
      callEndpoints(creds, endpoints, {}, call),
      (err: RestError) => err.errorCode === "ENDPOINT_NOT_FOUND",
    );
    answers = [new RestError("", "INTERNAL_ERROR", 500), { ok: true }];
    await assert.rejects(
      callEndpoints(creds, endpoints, {}, call),
      (err: RestError) => err.errorCode === "INTERNAL_ERROR",
    );
  });
});

describe("retry settings (test_http_request_customize_config and the limits)", () => {
  async function attemptsWith(
    env: Record<string, string>,
    options = {},
  ): Promise<{ attempts: number; sleeps: number[] }> {
    const server = await startServer((_req, res) => json(res, 503, {}));
    const clock = fakeClock(0);
    await performRequest(
      new MlflowHostCreds({ host: server.url }),
      "/e",
      "GET",
      { env, ...options },
      clock,
    );
    return { attempts: server.requests.length, sleeps: clock.sleeps };
  }

  it("defaults: 7 retries, factor 2", async () => {
    const { attempts, sleeps } = await attemptsWith({ MLFLOW_HTTP_REQUEST_BACKOFF_JITTER: "0" });
    assert.equal(attempts, 8);
    assert.deepEqual(sleeps, [0, 4000, 8000, 16000, 32000, 64000, 120000]);
  });

  it("env 8/3/1.0/300/false is used", async () => {
    const env = {
      MLFLOW_HTTP_REQUEST_MAX_RETRIES: "8",
      MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR: "3",
      MLFLOW_HTTP_REQUEST_BACKOFF_JITTER: "1.0",
      MLFLOW_HTTP_REQUEST_TIMEOUT: "300",
      MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER: "false",
    };
    const { attempts, sleeps } = await attemptsWith(env);
    assert.equal(attempts, 9);
    assert.deepEqual(sleeps.slice(0, 3), [0, 6000, 12000]); // random() = 0 in this clock
  });

  it("a max_retries above _MLFLOW_HTTP_REQUEST_MAX_RETRIES_LIMIT raises before any request; 3 works", async () => {
    const server = await okServer();
    const creds = new MlflowHostCreds({ host: server.url });
    const env = { _MLFLOW_HTTP_REQUEST_MAX_RETRIES_LIMIT: "15" };
    await assert.rejects(
      httpRequest(creds, "/endpoint", "GET", { env, maxRetries: 16 }),
      /The configured max_retries value \(16\) is in excess of the maximum allowable retries \(15\)/,
    );
    assert.equal(server.requests.length, 0);
    await httpRequest(creds, "/endpoint", "GET", { env, maxRetries: 3 });
    assert.equal(server.requests.length, 1);
  });

  it("a backoff_factor above _MLFLOW_HTTP_REQUEST_MAX_BACKOFF_FACTOR_LIMIT raises before any request; 10 works", async () => {
    const server = await okServer();
    const creds = new MlflowHostCreds({ host: server.url });
    const env = { _MLFLOW_HTTP_REQUEST_MAX_BACKOFF_FACTOR_LIMIT: "200" };
    await assert.rejects(
      httpRequest(creds, "/endpoint", "GET", { env, backoffFactor: 250 }),
      /The configured backoff_factor/,
    );
    assert.equal(server.requests.length, 0);
    await httpRequest(creds, "/endpoint", "GET", { env, backoffFactor: 10 });
    assert.equal(server.requests.length, 1);
  });

  it("negative max_retries or backoff_factor raise before any request", async () => {
    const server = await okServer();
    const creds = new MlflowHostCreds({ host: server.url });
    await assert.rejects(
      httpRequest(creds, "/endpoint", "GET", { env: ENV, maxRetries: -1 }),
      /The max_retries value must be either/,
    );
    await assert.rejects(
      httpRequest(creds, "/endpoint", "GET", { env: ENV, backoffFactor: -1 }),
      /The backoff_factor value must be/,
    );
    assert.equal(server.requests.length, 0);
  });

  it("bad variables are errors naming the variable; 10 retries is over the default limit", async () => {
    const creds = new MlflowHostCreds({ host: "http://127.0.0.1:9" });
    await assert.rejects(
      httpRequest(creds, "/e", "GET", { env: { MLFLOW_HTTP_REQUEST_MAX_RETRIES: "abc" } }),
      /^MlflowSecretsError: MLFLOW_HTTP_REQUEST_MAX_RETRIES must be an integer, got 'abc'/,
    );
    await assert.rejects(
      httpRequest(creds, "/e", "GET", { env: { MLFLOW_HTTP_REQUEST_MAX_RETRIES: "10" } }),
      /in excess of the maximum allowable retries \(10\) \(set by MLFLOW_HTTP_REQUEST_MAX_RETRIES\)/,
    );
    await assert.rejects(
      httpRequest(creds, "/e", "GET", { env: { MLFLOW_HTTP_REQUEST_TIMEOUT: "0" } }),
      /positive number of seconds.*MLFLOW_HTTP_REQUEST_TIMEOUT/,
    );
    await assert.rejects(
      httpRequest(creds, "/e", "GET", { env: { MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER: "maybe" } }),
      /MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER must be one of/,
    );
  });
});
