/** Request auth providers: the registry, module loading, and the Kubernetes providers. */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeEach, describe, it } from "node:test";
import { MlflowHostCreds, httpRequest, registerRequestAuthProvider } from "../../src/index.js";
import { resetRequestAuthProviders } from "../../src/client/auth-providers.js";
import { createKubernetesAuthProvider } from "../../src/client/kubernetes.js";
import { FIXTURES, json, rejection, startServer, tempDir } from "./helpers.js";

beforeEach(() => resetRequestAuthProviders());

async function echoServer() {
  return startServer((_req, res) => json(res, 200, {}));
}

async function send(creds: MlflowHostCreds, env: Record<string, string> = {}): Promise<void> {
  await httpRequest(creds, "/api/2.0/x", "GET", {
    env: { MLFLOW_HTTP_REQUEST_MAX_RETRIES: "0", ...env },
  });
}

describe("registry", () => {
  it("a registered provider is called for every attempt and may set any header", async () => {
    let calls = 0;
    registerRequestAuthProvider({
      name: "counting",
      authenticate(request) {
        calls += 1;
        request.headers.set("authorization", `Token ${calls}`);
      },
    });
    const server = await startServer((req, res) =>
      json(res, server.requests.length === 1 ? 503 : 200, {}),
    );
    await httpRequest(new MlflowHostCreds({ host: server.url, auth: "counting" }), "/x", "GET", {
      env: { MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR: "0", MLFLOW_HTTP_REQUEST_BACKOFF_JITTER: "0" },
    });
    assert.deepEqual(
      server.requests.map((r) => r.headers.authorization),
      ["Token 1", "Token 2"],
    );
  });

  it("runs after Basic/Bearer, so it can see or replace them", async () => {
    const seen: (string | null)[] = [];
    registerRequestAuthProvider({
      name: "observer",
      authenticate(request) {
        seen.push(request.headers.get("authorization"));
      },
    });
    const server = await echoServer();
    await send(new MlflowHostCreds({ host: server.url, auth: "observer", token: "my-token" }));
    assert.deepEqual(seen, ["Bearer my-token"]);
    assert.equal(server.requests[0]!.headers.authorization, "Bearer my-token");
  });

  it("SigV4 wins over MLFLOW_TRACKING_AUTH", async () => {
    let called = false;
    registerRequestAuthProvider({ name: "unused", authenticate: () => void (called = true) });
    const server = await echoServer();
    await send(new MlflowHostCreds({ host: server.url, auth: "unused", awsSigv4: true }), {
      AWS_ACCESS_KEY_ID: "k",
      AWS_SECRET_ACCESS_KEY: "s",
      AWS_REGION: "eu-west-1",
    });
    assert.equal(called, false);
    assert.match(String(server.requests[0]!.headers.authorization), /^AWS4-HMAC-SHA256 /);
  });

  it("an unknown name is an error listing the known providers (MLflow only warns)", async () => {
    const server = await echoServer();
    registerRequestAuthProvider({ name: "mine", authenticate: () => undefined });
    const err = await rejection(send(new MlflowHostCreds({ host: server.url, auth: "nope" })));
    assert.match(
      err.message,
      /^Unknown request auth provider 'nope' \(MLFLOW_TRACKING_AUTH\)\. Known providers: kubernetes, kubernetes-namespaced, mine\./,
    );
    assert.equal(server.requests.length, 0);
  });

  it("rejects malformed providers", () => {
    assert.throws(
      () => registerRequestAuthProvider({ name: "", authenticate: () => undefined }),
      /non-empty 'name'/,
    );
    assert.throws(
      () => registerRequestAuthProvider({ name: "x" } as never),
      /'authenticate\(request\)' function/,
    );
  });
});

describe("MLFLOW_TRACKING_AUTH_PROVIDER_MODULE", () => {
  it("loads the module's default export (an array of providers) and passes the environment", async () => {
    const server = await echoServer();
    const module = join(FIXTURES, "auth-provider.mjs");
    await send(new MlflowHostCreds({ host: server.url, auth: "fixture-header" }), {
      MLFLOW_TRACKING_AUTH_PROVIDER_MODULE: module,
    });
    await send(new MlflowHostCreds({ host: server.url, auth: "fixture-async" }), {
      MLFLOW_TRACKING_AUTH_PROVIDER_MODULE: module,
      FIXTURE_VALUE: "from-env",
    });
    assert.equal(server.requests[0]!.headers.authorization, "Fixture GET /api/2.0/x");
    assert.equal(server.requests[1]!.headers["x-fixture-env"], "from-env");
  });

  it("a module that cannot be loaded, or exports no provider, is a clear error", async () => {
    const creds = new MlflowHostCreds({ host: "http://127.0.0.1:9", auth: "x" });
    await assert.rejects(
      send(creds, { MLFLOW_TRACKING_AUTH_PROVIDER_MODULE: join(FIXTURES, "missing.mjs") }),
      /^MlflowSecretsError: Cannot load MLFLOW_TRACKING_AUTH_PROVIDER_MODULE '.*missing\.mjs'/,
    );
    await assert.rejects(
      send(creds, {
        MLFLOW_TRACKING_AUTH_PROVIDER_MODULE: join(FIXTURES, "bad-auth-provider.mjs"),
      }),
      /bad-auth-provider\.mjs': a request auth provider is an object with a non-empty 'name' and an 'authenticate\(request\)' function/,
    );
  });
});

describe("kubernetes providers", () => {
  function serviceAccount(token?: string, namespace?: string): string {
    const dir = tempDir("sa-");
    if (token !== undefined) writeFileSync(join(dir, "token"), `${token}\n`);
    if (namespace !== undefined) writeFileSync(join(dir, "namespace"), namespace);
    return dir;
  }

  function useServiceAccount(dir: string): void {
    for (const name of ["kubernetes", "kubernetes-namespaced"]) {
      registerRequestAuthProvider(
        createKubernetesAuthProvider({
          name,
          namespaced: name === "kubernetes-namespaced",
          serviceAccountDir: dir,
        }),
      );
    }
  }

  it("sends the service-account token, re-read on every request (rotation)", async () => {
    const sa = serviceAccount("sa-token-1");
    useServiceAccount(sa);
    const server = await echoServer();
    const creds = new MlflowHostCreds({ host: server.url, auth: "kubernetes" });
    await send(creds);
    writeFileSync(join(sa, "token"), "sa-token-2");
    await send(creds);
    assert.deepEqual(
      server.requests.map((r) => r.headers.authorization),
      ["Bearer sa-token-1", "Bearer sa-token-2"],
    );
    assert.equal(server.requests[0]!.headers["x-mlflow-workspace"], undefined);
  });

  it("ignores Basic credentials (MLflow PR #25131) but lets an explicit token win", async () => {
    useServiceAccount(serviceAccount("sa-token"));
    const server = await echoServer();
    await send(
      new MlflowHostCreds({ host: server.url, auth: "kubernetes", username: "u", password: "p" }),
    );
    await send(new MlflowHostCreds({ host: server.url, auth: "kubernetes", token: "explicit" }));
    assert.deepEqual(
      server.requests.map((r) => r.headers.authorization),
      ["Bearer sa-token", "Bearer explicit"],
    );
  });

  it("kubernetes-namespaced adds the namespace as X-MLFLOW-WORKSPACE unless a workspace is set", async () => {
    useServiceAccount(serviceAccount("sa-token", "team-ns"));
    const server = await echoServer();
    await send(new MlflowHostCreds({ host: server.url, auth: "kubernetes-namespaced" }));
    await send(
      new MlflowHostCreds({
        host: server.url,
        auth: "kubernetes-namespaced",
        workspace: "explicit-ws",
        token: "t",
      }),
    );
    assert.equal(server.requests[0]!.headers["x-mlflow-workspace"], "team-ns");
    assert.equal(server.requests[1]!.headers["x-mlflow-workspace"], "explicit-ws");
    assert.equal(server.requests[1]!.headers.authorization, "Bearer t");
  });

  it("falls back to kubeconfig: token, tokenFile, namespace of the current context (KUBECONFIG list)", async () => {
    useServiceAccount(serviceAccount());
    const dir = tempDir("kube-");
    writeFileSync(join(dir, "token-file"), "file-token\n");
    writeFileSync(
      join(dir, "a.yaml"),
      "current-context: dev\ncontexts:\n- name: dev\n  context: {cluster: c, user: dev-user, namespace: dev-ns}\n",
    );
    writeFileSync(
      join(dir, "b.yaml"),
      "users:\n- name: dev-user\n  user:\n    tokenFile: token-file\n- name: other\n  user: {token: other-token}\n",
    );
    const server = await echoServer();
    await send(new MlflowHostCreds({ host: server.url, auth: "kubernetes-namespaced" }), {
      KUBECONFIG: `${join(dir, "a.yaml")}:${join(dir, "b.yaml")}`,
    });
    assert.equal(server.requests[0]!.headers.authorization, "Bearer file-token");
    assert.equal(server.requests[0]!.headers["x-mlflow-workspace"], "dev-ns");
    writeFileSync(
      join(dir, "config"),
      "current-context: o\ncontexts:\n- name: o\n  context: {user: other}\nusers:\n- name: other\n  user: {token: other-token}\n",
    );
    await send(new MlflowHostCreds({ host: server.url, auth: "kubernetes" }), {
      HOME: dir,
      KUBECONFIG: join(dir, "config"),
    });
    assert.equal(server.requests[1]!.headers.authorization, "Bearer other-token");
  });

  it("runs a kubeconfig exec credential plugin and keeps its token until it expires", async () => {
    useServiceAccount(serviceAccount());
    const dir = tempDir("kube-");
    const count = join(dir, "count");
    writeFileSync(count, "");
    writeFileSync(
      join(dir, "config"),
      [
        "current-context: eks",
        "contexts:",
        "- name: eks",
        "  context: {user: eks-user}",
        "users:",
        "- name: eks-user",
        "  user:",
        "    exec:",
        "      apiVersion: client.authentication.k8s.io/v1",
        `      command: ${JSON.stringify(process.execPath)}`,
        `      args: [${JSON.stringify(join(FIXTURES, "exec-credential.mjs"))}, exec-token]`,
        "      env:",
        "      - name: EXEC_COUNT_FILE",
        `        value: ${JSON.stringify(count)}`,
        "",
      ].join("\n"),
    );
    const server = await echoServer();
    const creds = new MlflowHostCreds({ host: server.url, auth: "kubernetes" });
    await send(creds, { KUBECONFIG: join(dir, "config") });
    await send(creds, { KUBECONFIG: join(dir, "config") });
    assert.deepEqual(
      server.requests.map((r) => r.headers.authorization),
      ["Bearer exec-token", "Bearer exec-token"],
    );
    assert.equal(readFileSync(count, "utf8"), "x");
  });

  it("no token anywhere, or no namespace, is an error saying where it looked", async () => {
    const sa = serviceAccount();
    useServiceAccount(sa);
    const home = tempDir();
    const creds = new MlflowHostCreds({ host: "http://127.0.0.1:9", auth: "kubernetes" });
    await assert.rejects(send(creds, { HOME: home }), (err: Error) => {
      assert.match(
        err.message,
        /^Could not determine Kubernetes credentials: no service-account token at .*token and no token for the current context in kubeconfig \(.*\.kube\/config\)$/,
      );
      return true;
    });
    writeFileSync(join(sa, "token"), "t");
    await assert.rejects(
      send(new MlflowHostCreds({ host: "http://127.0.0.1:9", auth: "kubernetes-namespaced" }), {
        HOME: home,
      }),
      /Could not determine the Kubernetes namespace for kubernetes-namespaced: set MLFLOW_WORKSPACE/,
    );
  });
});
