/**
 * SigV4: the AWS test-suite vectors through our signing path, then real signed requests checked by
 * an independent verifier on a local server (query strings, JSON, streamed bodies, session tokens),
 * and the region/credential resolution.
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { before, describe, it } from "node:test";
import {
  MlflowHostCreds,
  callEndpoint,
  getDefaultHostCreds,
  httpRequest,
} from "../../src/index.js";
import { payloadSha256, resolveAwsRegion, signInput } from "../../src/client/sigv4.js";
import { FIXTURES, json, rejection, startServer, tempDir } from "./helpers.js";
import { verifySigV4 } from "./sigv4-checker.js";

interface Suite {
  region: string;
  service: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  signingDate: string;
  cases: {
    name: string;
    request: {
      method: string;
      path: string;
      query: Record<string, string>;
      headers: Record<string, string>;
      body?: string;
    };
    authorization: string;
  }[];
}

const suite = JSON.parse(readFileSync(join(FIXTURES, "sigv4-suite.json"), "utf8")) as Suite;
const KEY_ID = "AKIDTESTCLIENT";
const SECRET = "test/secret+key/for-the-local-checker";
const SESSION_TOKEN = "session-token-FwoGZXIvYXdzEXAMPLE";

before(() => {
  // Tests never reach instance metadata, whatever the machine.
  process.env.AWS_EC2_METADATA_DISABLED = "true";
});

describe("AWS SigV4 test suite", () => {
  for (const { name, request, authorization } of suite.cases) {
    it(name, async () => {
      const signed = await signInput(
        {
          method: request.method,
          protocol: "https:",
          hostname: request.headers.host!,
          path: request.path,
          query: request.query,
          headers: request.headers,
          ...(request.body !== undefined ? { body: request.body } : {}),
        },
        {
          service: suite.service,
          region: suite.region,
          credentials: suite.credentials,
          signingDate: new Date(suite.signingDate),
          applyChecksum: false,
        },
      );
      assert.equal(signed.authorization, authorization);
    });
  }
});

describe("signed requests verify against a local checker", () => {
  const env = { AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET, AWS_REGION: "eu-west-1" };

  async function checkingServer() {
    return startServer((req, res) => {
      const result = verifySigV4(req, { [KEY_ID]: SECRET });
      json(
        res,
        result.ok ? 200 : 403,
        result.ok ? result : { error_code: "PERMISSION_DENIED", message: result.reason },
      );
    });
  }

  it("a GET with query parameters and a path that needs encoding", async () => {
    const server = await checkingServer();
    const creds = new MlflowHostCreds({ host: server.url, awsSigv4: true });
    const answer = (await callEndpoint(creds, "/api/2.0/mlflow/runs/get", "GET", {
      env,
      json: { run_id: "a b/c", tags: ["x=1", "ü"] },
      params: { "key*": "(v)!" },
    })) as { ok: boolean; service: string; region: string; signedHeaders: string[] };
    assert.equal(answer.ok, true);
    assert.equal(answer.service, "execute-api");
    assert.equal(answer.region, "eu-west-1");
    assert.ok(answer.signedHeaders.includes("x-amz-content-sha256"));
    assert.ok(answer.signedHeaders.includes("host"));
    const path = await httpRequest(creds, "/api/2.0/odd path/ü", "GET", { env });
    assert.equal(path.status, 200);
  });

  it("a JSON POST, with the workspace header and a session token", async () => {
    const server = await checkingServer();
    const creds = new MlflowHostCreds({ host: server.url, awsSigv4: true, workspace: "team-a" });
    const res = await httpRequest(creds, "/api/2.0/mlflow/experiments/create", "POST", {
      env: { ...env, AWS_SESSION_TOKEN: SESSION_TOKEN },
      json: { name: "exp" },
    });
    assert.equal(res.status, 200);
    const req = server.requests[0]!;
    assert.equal(req.headers["x-amz-security-token"], SESSION_TOKEN);
    const signed = String(req.headers.authorization);
    assert.match(signed, /SignedHeaders=[^,]*x-amz-security-token/);
    assert.match(signed, /SignedHeaders=[^,]*x-mlflow-workspace/);
  });

  it("a streamed body is hashed (buffered first), so it verifies and can be retried", async () => {
    const server = await checkingServer();
    const creds = new MlflowHostCreds({ host: server.url, awsSigv4: true });
    const chunks = [Buffer.from("artifact part 1\n"), Buffer.from("artifact part 2\n")];
    const res = await httpRequest(creds, "/api/2.0/mlflow-artifacts/artifacts/model.pkl", "PUT", {
      env,
      body: Readable.from(chunks),
    });
    assert.equal(res.status, 200);
    const req = server.requests[0]!;
    assert.equal(req.body.toString(), "artifact part 1\nartifact part 2\n");
    assert.equal(req.headers["x-amz-content-sha256"], payloadSha256(Buffer.concat(chunks)));
    assert.notEqual(req.headers["x-amz-content-sha256"], "UNSIGNED-PAYLOAD");
  });

  it("the checker rejects a tampered body (it is not a checker that always says yes)", async () => {
    const server = await startServer((req, res) => {
      const tampered = { ...req, body: Buffer.concat([req.body, Buffer.from("!")]) };
      const forged = {
        ...req,
        headers: { ...req.headers, "x-amz-content-sha256": payloadSha256(tampered.body) },
        body: tampered.body,
      };
      json(res, 200, {
        original: verifySigV4(req, { [KEY_ID]: SECRET }).ok,
        forged: verifySigV4(forged, { [KEY_ID]: SECRET }).ok,
      });
    });
    const res = await httpRequest(
      new MlflowHostCreds({ host: server.url, awsSigv4: true }),
      "/x",
      "POST",
      { env, body: "payload" },
    );
    assert.deepEqual(await res.json(), { original: true, forged: false });
  });

  it("MLFLOW_TRACKING_AWS_SIGV4_SERVICE changes the service (e.g. SageMaker)", async () => {
    const server = await checkingServer();
    const creds = await getDefaultHostCreds(server.url, {
      env: {
        HOME: tempDir(),
        MLFLOW_TRACKING_AWS_SIGV4: "true",
        MLFLOW_TRACKING_AWS_SIGV4_SERVICE: "sagemaker",
      },
    });
    const answer = (await callEndpoint(creds, "/api/2.0/x", "GET", { env })) as { service: string };
    assert.equal(answer.service, "sagemaker");
  });
});

describe("region and credentials", () => {
  it("reads a profile's credentials and region from the shared files (AWS_PROFILE)", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, ".aws"));
    writeFileSync(
      join(dir, ".aws", "credentials"),
      `[ci]\naws_access_key_id = ${KEY_ID}\naws_secret_access_key = ${SECRET}\n`,
    );
    writeFileSync(join(dir, ".aws", "config"), "[profile ci]\nregion = ap-south-1\n");
    const env = {
      AWS_PROFILE: "ci",
      AWS_SHARED_CREDENTIALS_FILE: join(dir, ".aws", "credentials"),
      AWS_CONFIG_FILE: join(dir, ".aws", "config"),
    };
    assert.deepEqual(await resolveAwsRegion(env), {
      region: "ap-south-1",
      source: `${join(dir, ".aws", "config")} [ci] region`,
    });
    const server = await startServer((req, res) =>
      json(res, 200, verifySigV4(req, { [KEY_ID]: SECRET })),
    );
    const res = await httpRequest(
      new MlflowHostCreds({ host: server.url, awsSigv4: true }),
      "/x",
      "GET",
      { env },
    );
    assert.deepEqual(await res.json(), {
      ok: true,
      signedHeaders: ["host", "x-amz-content-sha256", "x-amz-date"],
      service: "execute-api",
      region: "ap-south-1",
    });
  });

  it("AWS_REGION wins over AWS_DEFAULT_REGION", async () => {
    assert.equal(
      (await resolveAwsRegion({ AWS_REGION: "us-east-2", AWS_DEFAULT_REGION: "eu-west-1" }))
        ?.region,
      "us-east-2",
    );
    assert.equal(
      (await resolveAwsRegion({ AWS_DEFAULT_REGION: "eu-west-1" }))?.source,
      "AWS_DEFAULT_REGION",
    );
  });

  it("a missing region is an error naming what to set, before anything is sent", async () => {
    const server = await startServer((_req, res) => json(res, 200, {}));
    const dir = tempDir();
    const err = await rejection(
      httpRequest(new MlflowHostCreds({ host: server.url, awsSigv4: true }), "/x", "GET", {
        env: { HOME: dir, AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET },
      }),
    );
    assert.match(err.message, /needs a region: set AWS_REGION \(or AWS_DEFAULT_REGION\)/);
    assert.equal(server.requests.length, 0);
  });

  it("missing credentials are an error naming what to set", async () => {
    const dir = tempDir();
    const err = await rejection(
      httpRequest(
        new MlflowHostCreds({ host: "http://127.0.0.1:9", awsSigv4: true }),
        "/x",
        "GET",
        {
          env: {
            HOME: dir,
            AWS_REGION: "eu-west-1",
            AWS_PROFILE: "nope",
            AWS_SHARED_CREDENTIALS_FILE: join(dir, "c"),
            AWS_CONFIG_FILE: join(dir, "k"),
          },
        },
      ),
    );
    assert.match(
      err.message,
      /found no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE/,
    );
  });
});
