/**
 * TLS options on the real connection, against local HTTPS servers whose certificate is issued by a
 * test CA (test/fixtures/client/tls, made by make-certs.sh).
 */
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import type { TLSSocket } from "node:tls";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  MlflowHostCreds,
  MlflowSecretsError,
  getDefaultHostCreds,
  httpRequest,
} from "../../src/index.js";
import { json, rejection, serverTls, startServer, tempDir, tlsFile } from "./helpers.js";

const ENV = { MLFLOW_HTTP_REQUEST_MAX_RETRIES: "0" };

async function httpsServer(requireClientCert = false) {
  return startServer(
    (_req, res, raw) => {
      const socket = raw.socket as TLSSocket;
      const peer = socket.getPeerCertificate();
      json(res, 200, { clientCN: peer && "subject" in peer ? (peer.subject?.CN ?? null) : null });
    },
    serverTls(
      requireClientCert
        ? { requestCert: true, rejectUnauthorized: true, ca: readFileSync(tlsFile("ca.pem")) }
        : {},
    ),
  );
}

describe("TLS", () => {
  it("verifies the server with the CA bundle from MLFLOW_TRACKING_SERVER_CERT_PATH", async () => {
    const server = await httpsServer();
    const creds = await getDefaultHostCreds(server.url, {
      env: { HOME: tempDir(), MLFLOW_TRACKING_SERVER_CERT_PATH: tlsFile("ca.pem") },
    });
    const res = await httpRequest(creds, "/x", "GET", { env: ENV });
    assert.equal(res.status, 200);
  });

  it("accepts a directory of CA certificates", async () => {
    const server = await httpsServer();
    const dir = tempDir();
    mkdirSync(join(dir, "cas"));
    copyFileSync(tlsFile("other-ca.pem"), join(dir, "cas", "a.pem"));
    copyFileSync(tlsFile("ca.pem"), join(dir, "cas", "b.pem"));
    const res = await httpRequest(
      new MlflowHostCreds({ host: server.url, serverCertPath: join(dir, "cas") }),
      "/x",
      "GET",
      { env: ENV },
    );
    assert.equal(res.status, 200);
  });

  it("fails with a clear error when the server's certificate is not from the given CA", async () => {
    const server = await httpsServer();
    const err = await rejection(
      httpRequest(
        new MlflowHostCreds({ host: server.url, serverCertPath: tlsFile("other-ca.pem") }),
        "/x",
        "GET",
        { env: {} },
      ),
    );
    assert.ok(err instanceof MlflowSecretsError);
    assert.match(
      err.message,
      /^API request to https:\/\/127\.0\.0\.1:\d+\/x failed: TLS error [A-Z_]+ \(.+\); the server's certificate is not issued by a CA in MLFLOW_TRACKING_SERVER_CERT_PATH \('.*other-ca\.pem'\)$/,
    );
    assert.equal(server.requests.length, 0);
  });

  it("fails without a CA bundle (self-signed test CA), telling what to set; does not retry", async () => {
    const server = await httpsServer();
    const started = Date.now();
    const err = await rejection(
      httpRequest(new MlflowHostCreds({ host: server.url }), "/x", "GET", { env: {} }),
    );
    assert.ok(Date.now() - started < 3000, "a certificate error must not be retried with backoff");
    assert.match(err.message, /TLS error .*set MLFLOW_TRACKING_SERVER_CERT_PATH to the CA bundle/);
  });

  it("with verification off (MLFLOW_TRACKING_INSECURE_TLS=true) connects anyway", async () => {
    const server = await httpsServer();
    const creds = await getDefaultHostCreds(server.url, {
      env: { HOME: tempDir(), MLFLOW_TRACKING_INSECURE_TLS: "true" },
    });
    assert.equal(creds.ignoreTlsVerification, true);
    const res = await httpRequest(creds, "/x", "GET", { env: ENV });
    assert.equal(res.status, 200);
  });

  it("presents a client certificate from one PEM holding certificate and key (MLflow's form)", async () => {
    const server = await httpsServer(true);
    const creds = new MlflowHostCreds({
      host: server.url,
      serverCertPath: tlsFile("ca.pem"),
      clientCertPath: tlsFile("client-combined.pem"),
    });
    const res = await httpRequest(creds, "/x", "GET", { env: ENV });
    assert.deepEqual(await res.json(), { clientCN: "test-client" });
  });

  it("presents a client certificate with a separate key (MLFLOW_TRACKING_CLIENT_KEY_PATH)", async () => {
    const server = await httpsServer(true);
    const creds = await getDefaultHostCreds(server.url, {
      env: {
        HOME: tempDir(),
        MLFLOW_TRACKING_SERVER_CERT_PATH: tlsFile("ca.pem"),
        MLFLOW_TRACKING_CLIENT_CERT_PATH: tlsFile("client.pem"),
        MLFLOW_TRACKING_CLIENT_KEY_PATH: tlsFile("client.key"),
      },
    });
    const res = await httpRequest(creds, "/x", "GET", { env: ENV });
    assert.deepEqual(await res.json(), { clientCN: "test-client" });
  });

  it("is refused by a server that requires a client certificate when none is given", async () => {
    const server = await httpsServer(true);
    const err = await rejection(
      httpRequest(
        new MlflowHostCreds({ host: server.url, serverCertPath: tlsFile("ca.pem") }),
        "/x",
        "GET",
        { env: ENV },
      ),
    );
    assert.ok(err instanceof MlflowSecretsError);
    assert.match(err.message, /^API request to https:\/\/127\.0\.0\.1:\d+\/x failed/);
    // TLS 1.3 reports the refusal as an alert; with some timings only as a reset connection.
    if (/TLS error/.test(err.message)) {
      assert.match(
        err.message,
        /the server requires a client certificate: set MLFLOW_TRACKING_CLIENT_CERT_PATH/,
      );
    }
    assert.equal(server.requests.length, 0);
  });

  it("a certificate PEM without a key, or a missing file, is a clear error", async () => {
    const server = await httpsServer(true);
    await assert.rejects(
      httpRequest(
        new MlflowHostCreds({ host: server.url, clientCertPath: tlsFile("client.pem") }),
        "/x",
        "GET",
        { env: ENV },
      ),
      /No private key in '.*client\.pem': put the key in the certificate's PEM file or set MLFLOW_TRACKING_CLIENT_KEY_PATH/,
    );
    await assert.rejects(
      httpRequest(
        new MlflowHostCreds({ host: server.url, serverCertPath: "/nonexistent/ca.pem" }),
        "/x",
        "GET",
        { env: ENV },
      ),
      /Cannot read the CA bundle \(MLFLOW_TRACKING_SERVER_CERT_PATH\) '\/nonexistent\/ca\.pem' \(ENOENT\)/,
    );
  });
});
