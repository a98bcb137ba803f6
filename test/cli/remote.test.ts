/** The `secrets` commands through a server: MLflow's REST paths, methods, bodies and credentials. */
import assert from "node:assert/strict";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { cli } from "../helpers/cli.js";

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  workspace: string | undefined;
  body: string;
}

const SECRET = {
  secret_id: "s-0123456789abcdef0123456789abcdef",
  secret_name: "openai-prod",
  masked_values: { api_key: "sk-...cdef" },
  created_at: 1,
  last_updated_at: 2,
  workspace: "default",
};

describe("secrets commands through a server", () => {
  const seen: Seen[] = [];
  let url = "";
  const server = createServer((req: IncomingMessage, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      seen.push({
        method: req.method ?? "",
        url: req.url ?? "",
        authorization: req.headers.authorization,
        workspace: req.headers["x-mlflow-workspace"] as string | undefined,
        body,
      });
      const path = (req.url ?? "").split("?")[0];
      res.setHeader("content-type", "application/json");
      if (path?.endsWith("/get") && req.url?.includes("missing")) {
        res.statusCode = 404;
        res.end(
          JSON.stringify({
            error_code: "RESOURCE_DOES_NOT_EXIST",
            message: "Secret with ID 'missing' not found",
          }),
        );
      } else if (path?.endsWith("/list")) res.end(JSON.stringify({ secrets: [SECRET] }));
      else if (path?.endsWith("/delete")) res.end("{}");
      else if (path?.endsWith("/value"))
        res.end(
          JSON.stringify({ secret_id: SECRET.secret_id, secret_value: { api_key: "sk-live" } }),
        );
      else res.end(JSON.stringify({ secret: SECRET }));
    });
  });

  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const env = () => ({
    MLFLOW_TRACKING_URI: url,
    MLFLOW_TRACKING_USERNAME: "alice",
    MLFLOW_TRACKING_PASSWORD: "pw-123",
    MLFLOW_HTTP_REQUEST_MAX_RETRIES: "0",
  });

  it("uses an http(s) MLFLOW_TRACKING_URI with Basic credentials, sending MLflow's requests", async () => {
    seen.length = 0;
    const created = await cli(
      [
        "secrets",
        "create",
        "--name",
        "openai-prod",
        "--value",
        "api_key=sk-1",
        "--provider",
        "openai",
        "--workspace",
        "team-a",
        "--output",
        "json",
      ],
      { env: env() },
    );
    assert.equal(created.code, 0, created.stderr);
    assert.deepEqual(JSON.parse(created.stdout), { secret: SECRET });
    assert.equal(seen[0]?.method, "POST");
    assert.equal(seen[0]?.url, "/api/3.0/mlflow/gateway/secrets/create");
    assert.equal(seen[0]?.authorization, `Basic ${Buffer.from("alice:pw-123").toString("base64")}`);
    assert.equal(seen[0]?.workspace, "team-a");
    assert.deepEqual(JSON.parse(seen[0].body), {
      secret_name: "openai-prod",
      secret_value: { api_key: "sk-1" },
      provider: "openai",
    });

    await cli(["secrets", "get", "--name", "openai-prod"], { env: env() });
    assert.equal(seen[1]?.method, "GET");
    assert.equal(seen[1]?.url, "/api/3.0/mlflow/gateway/secrets/get?secret_name=openai-prod");
    const listed = await cli(["secrets", "list", "--provider", "openai", "--output", "json"], {
      env: env(),
    });
    assert.deepEqual(JSON.parse(listed.stdout), { secrets: [SECRET] });
    assert.equal(seen[2]?.url, "/api/3.0/mlflow/gateway/secrets/list?provider=openai");
    await cli(["secrets", "update", "--id", SECRET.secret_id, "--auth-config", "{}"], {
      env: env(),
    });
    assert.deepEqual(
      [seen[3]?.method, seen[3]?.url, JSON.parse(seen[3]!.body)],
      [
        "POST",
        "/api/3.0/mlflow/gateway/secrets/update",
        { secret_id: SECRET.secret_id, auth_config: {} },
      ],
    );
    const deleted = await cli(
      ["secrets", "delete", "--id", SECRET.secret_id, "--yes", "--output", "json"],
      { env: env() },
    );
    assert.equal(deleted.stdout, "{}\n");
    assert.deepEqual(
      [seen[4]?.method, seen[4]?.url, JSON.parse(seen[4]!.body)],
      ["DELETE", "/api/3.0/mlflow/gateway/secrets/delete", { secret_id: SECRET.secret_id }],
    );
    const revealed = await cli(["secrets", "reveal", "--id", SECRET.secret_id], { env: env() });
    assert.equal(revealed.stdout, "api_key=sk-live\n");
    assert.deepEqual(
      [seen[5]?.method, seen[5]?.url],
      ["POST", "/api/3.0/mlflow/gateway/secrets/value"],
    );
  });

  it("--backend-store-uri wins over MLFLOW_TRACKING_URI, and --tracking-uri over MLFLOW_BACKEND_STORE_URI", async () => {
    seen.length = 0;
    const direct = await cli(
      ["secrets", "list", "--backend-store-uri", "sqlite:///:memory:", "--output", "json"],
      { env: { ...env(), MLFLOW_CRYPTO_KEK_PASSPHRASE: "p" } },
    );
    assert.equal(direct.code, 0, direct.stderr);
    assert.deepEqual(JSON.parse(direct.stdout), { secrets: [] });
    assert.equal(seen.length, 0);
    const remote = await cli(["secrets", "list", "--tracking-uri", url, "--output", "json"], {
      env: { MLFLOW_BACKEND_STORE_URI: "sqlite:///:memory:" },
    });
    assert.equal(remote.code, 0, remote.stderr);
    assert.equal(seen.length, 1);
  });

  it("prints the server's error message, exit 1, without the password", async () => {
    const result = await cli(["secrets", "get", "--id", "missing"], { env: env() });
    assert.equal(result.code, 1);
    assert.equal(result.stderr, "Error: Secret with ID 'missing' not found\n");
  });
});
