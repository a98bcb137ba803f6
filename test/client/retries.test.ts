/** Retries, backoff, Retry-After and timeouts, against local servers with an injected clock. */
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import fc from "fast-check";
import { MlflowHostCreds, MlflowSecretsError, RestError, httpRequest } from "../../src/index.js";
import { callEndpointWithClock, performRequest } from "../../src/client/http.js";
import { backoffSeconds, parseRetryAfter } from "../../src/client/retry.js";
import { fakeClock, json, rejection, startServer } from "./helpers.js";

const NO_JITTER = { MLFLOW_HTTP_REQUEST_BACKOFF_JITTER: "0" };

/** A server answering the given statuses in turn (then 200), with optional headers per answer. */
async function sequence(answers: [number, Record<string, string>?][]) {
  const queue = [...answers];
  return startServer((_req, res) => {
    const [status, headers] = queue.shift() ?? [200, {}];
    json(
      res,
      status,
      status === 200 ? { ok: true } : { error_code: "TEMPORARILY_UNAVAILABLE", message: "busy" },
      headers ?? {},
    );
  });
}

describe("retries", () => {
  it("retries 429 and 503 without Retry-After with urllib3's backoff: 0, then factor × 2^(n−1)", async () => {
    const server = await sequence([[429], [503], [503], [200]]);
    const clock = fakeClock();
    const { response } = await performRequest(
      new MlflowHostCreds({ host: server.url }),
      "/e",
      "GET",
      { env: NO_JITTER },
      clock,
    );
    assert.equal(response.status, 200);
    assert.equal(server.requests.length, 4);
    assert.deepEqual(clock.sleeps, [0, 4000, 8000]);
  });

  it("adds random × jitter and caps the wait at 120 s", async () => {
    const server = await sequence([[500], [502], [504], [408], [200]]);
    const clock = fakeClock(0.5);
    await performRequest(
      new MlflowHostCreds({ host: server.url }),
      "/e",
      "GET",
      { env: {}, backoffFactor: 50, backoffJitter: 3 },
      clock,
    );
    // n=1: 0; n=2: 100 + 1.5; n=3: 200 + 1.5 → 120; n=4 → 120
    assert.deepEqual(clock.sleeps, [0, 101500, 120000, 120000]);
  });

  it("honours Retry-After (seconds and HTTP date) on 429 and 503", async () => {
    const clock = fakeClock();
    const inTwentySeconds = new Date(clock.now() + 20_000).toUTCString();
    const server = await sequence([
      [429, { "retry-after": "7" }],
      [503, { "retry-after": inTwentySeconds }],
      [200],
    ]);
    await performRequest(
      new MlflowHostCreds({ host: server.url }),
      "/e",
      "GET",
      { env: NO_JITTER },
      clock,
    );
    assert.deepEqual(clock.sleeps, [7000, 20000]);
  });

  it("ignores Retry-After when MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER=false, on 500, and when 0; caps it at 120 s", async () => {
    const clock = fakeClock();
    const server = await sequence([
      [429, { "retry-after": "7" }],
      [503, { "retry-after": "9" }],
      [200],
    ]);
    await performRequest(
      new MlflowHostCreds({ host: server.url }),
      "/e",
      "GET",
      { env: { ...NO_JITTER, MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER: "false" } },
      clock,
    );
    assert.deepEqual(clock.sleeps, [0, 4000]);

    const clock2 = fakeClock();
    const server2 = await sequence([
      [500, { "retry-after": "7" }],
      [429, { "retry-after": "0" }],
      [503, { "retry-after": "100000" }],
      [200],
    ]);
    await performRequest(
      new MlflowHostCreds({ host: server2.url }),
      "/e",
      "GET",
      { env: NO_JITTER },
      clock2,
    );
    assert.deepEqual(clock2.sleeps, [0, 4000, 120000]);
  });

  it("does not retry 400 (or any status outside 408/429/500/502/503/504)", async () => {
    for (const status of [400, 401, 403, 404, 409, 501]) {
      const server = await sequence([[status]]);
      const clock = fakeClock();
      const { response } = await performRequest(
        new MlflowHostCreds({ host: server.url }),
        "/e",
        "GET",
        { env: {} },
        clock,
      );
      assert.equal(response.status, status);
      assert.equal(server.requests.length, 1, String(status));
      assert.deepEqual(clock.sleeps, []);
    }
  });

  it("after the last retry returns the last answer; callEndpoint turns it into a RestError", async () => {
    const server = await sequence([[503], [503], [503]]);
    const err = await rejection(
      callEndpointWithClock(
        new MlflowHostCreds({ host: server.url }),
        "/e",
        "GET",
        { env: {}, maxRetries: 2 },
        fakeClock(),
      ),
    );
    assert.equal(server.requests.length, 3);
    assert.ok(err instanceof RestError);
    assert.equal(err.status, 503);
    assert.equal(err.errorCode, "TEMPORARILY_UNAVAILABLE");
  });

  it("retries POSTs with the same body (as MLflow's allowed_methods=None)", async () => {
    const server = await sequence([[503], [200]]);
    await performRequest(
      new MlflowHostCreds({ host: server.url }),
      "/e",
      "POST",
      { env: {}, json: { x: 1 } },
      fakeClock(),
    );
    assert.deepEqual(
      server.requests.map((r) => r.body.toString()),
      ['{"x":1}', '{"x":1}'],
    );
  });

  it("retries connection errors, then fails naming the URL and the number of attempts", async () => {
    const port = await freePort();
    const clock = fakeClock();
    const err = await rejection(
      performRequest(
        new MlflowHostCreds({ host: `http://127.0.0.1:${port}` }),
        "/e",
        "GET",
        { env: NO_JITTER, maxRetries: 2 },
        clock,
      ),
    );
    assert.ok(err instanceof MlflowSecretsError);
    assert.match(
      err.message,
      new RegExp(
        `^API request to http://127\\.0\\.0\\.1:${port}/e failed with exception ECONNREFUSED: .* after 3 attempts$`,
      ),
    );
    assert.deepEqual(clock.sleeps, [0, 4000]);
  });

  it("a stream body is sent once: no retry", async () => {
    const server = await sequence([[503], [200]]);
    const { response } = await performRequest(
      new MlflowHostCreds({ host: server.url }),
      "/e",
      "PUT",
      { env: {}, body: Readable.from([Buffer.from("chunk-1 "), Buffer.from("chunk-2")]) },
      fakeClock(),
    );
    assert.equal(response.status, 503);
    assert.equal(server.requests.length, 1);
    assert.equal(server.requests[0]!.body.toString(), "chunk-1 chunk-2");
  });

  it("an abort signal stops the request and the waits between retries", async () => {
    const server = await sequence([[503], [503], [503]]);
    const controller = new AbortController();
    const clock = fakeClock();
    clock.sleep = () => {
      controller.abort(new Error("stop"));
      return Promise.resolve();
    };
    const err = await rejection(
      performRequest(
        new MlflowHostCreds({ host: server.url }),
        "/e",
        "GET",
        { env: {}, signal: controller.signal },
        clock,
      ),
    );
    assert.equal(err.message, "stop");
    assert.equal(server.requests.length, 1);
  });
});

describe("timeouts", () => {
  it("a server that never answers fails after the timeout, naming MLFLOW_HTTP_REQUEST_TIMEOUT", async () => {
    const server = await startServer(() => {
      /* never answers */
    });
    const started = Date.now();
    const err = await rejection(
      httpRequest(new MlflowHostCreds({ host: server.url }), "/slow", "GET", {
        env: { MLFLOW_HTTP_REQUEST_TIMEOUT: "0.2", MLFLOW_HTTP_REQUEST_MAX_RETRIES: "0" },
      }),
    );
    assert.ok(Date.now() - started < 5000);
    assert.ok(err instanceof MlflowSecretsError);
    assert.match(
      err.message,
      /^API request to http:\/\/127\.0\.0\.1:\d+\/slow failed with timeout exception: no response within 0\.2 seconds\. To increase the timeout, set the environment variable MLFLOW_HTTP_REQUEST_TIMEOUT \(default: 120\) to a larger value\.$/,
    );
  });

  it("timeouts are retried like connection errors", async () => {
    let calls = 0;
    const server = await startServer((_req, res) => {
      calls += 1;
      if (calls > 1) json(res, 200, {});
    });
    const { response } = await performRequest(
      new MlflowHostCreds({ host: server.url }),
      "/e",
      "GET",
      { env: {}, timeoutSeconds: 0.2 },
      fakeClock(),
    );
    assert.equal(response.status, 200);
    assert.equal(calls, 2);
  });
});

describe("backoff and Retry-After parsing", () => {
  it("backoff is 0 first, never negative, never above 120 s (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.double({ min: 0, max: 119, noNaN: true }),
        fc.double({ min: 0, max: 5, noNaN: true }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (n, factor, jitter, r) => {
          const wait = backoffSeconds(n, factor, jitter, () => r);
          if (n === 1) assert.equal(wait, 0);
          else assert.equal(wait, Math.min(120, factor * 2 ** (n - 1) + r * jitter));
          assert.ok(wait >= 0 && wait <= 120);
        },
      ),
    );
  });

  it("parses delta-seconds and HTTP dates; rejects junk", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    assert.equal(parseRetryAfter("120", now), 120);
    assert.equal(parseRetryAfter("Thu, 01 Jan 2026 00:00:30 GMT", now), 30);
    assert.equal(parseRetryAfter("Wed, 31 Dec 2025 00:00:00 GMT", now), 0);
    assert.equal(parseRetryAfter("soon", now), undefined);
    assert.equal(parseRetryAfter("-5", now), undefined);
    assert.equal(parseRetryAfter(null, now), undefined);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
