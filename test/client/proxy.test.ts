/**
 * Requests through a real proxy (Debian's tinyproxy, started per test on a free local port): HTTPS
 * through a CONNECT tunnel with the tracking server's TLS options applied to the origin only,
 * plain HTTP forwarded, NO_PROXY bypassing the proxy, proxy credentials, and a proxy that is down
 * or refuses — with errors that name the proxy and never its credentials.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer, type TLSSocket } from "node:tls";
import { createServer as createHttpsServer } from "node:https";
import { after, describe, it } from "node:test";
import { MlflowHostCreds, MlflowSecretsError, callEndpoint, httpRequest } from "../../src/index.js";
import { closeIdleConnections } from "../../src/client/transport.js";
import { REPO_ROOT } from "../helpers/cli.js";
import {
  TINYPROXY_MISSING,
  freePort,
  startTinyproxy,
  type Tinyproxy,
} from "../helpers/tinyproxy.js";
import {
  assertNoSecrets,
  everythingIn,
  json,
  rejection,
  serverTls,
  startServer,
  tlsFile,
  type Handler,
} from "./helpers.js";

const PROXY_USER = "proxy-user";
// tinyproxy's BasicAuth takes a plain token; the URL-encoding case is covered without it below.
const PROXY_PASSWORD = "proxy-Pa55w0rd-secret";
const ENCODED_PASSWORD = "proxy:pw/with%reserved chars";
const PROXY_CREDENTIALS = `${PROXY_USER}:${encodeURIComponent(PROXY_PASSWORD)}`;
const PROXY_BLOB_PLAIN = Buffer.from(`${PROXY_USER}:${PROXY_PASSWORD}`).toString("base64");
const ENCODED_CREDENTIALS = `${PROXY_USER}:${encodeURIComponent(ENCODED_PASSWORD)}`;
const ENCODED_BLOB = Buffer.from(`${PROXY_USER}:${ENCODED_PASSWORD}`, "latin1").toString("base64");
const ENCODED_SECRETS = [ENCODED_PASSWORD, encodeURIComponent(ENCODED_PASSWORD), ENCODED_BLOB];

/** A tinyproxy for this test, stopped when the test ends. */
async function proxy(options: Parameters<typeof startTinyproxy>[0] = {}): Promise<Tinyproxy> {
  const started = await startTinyproxy(options);
  after(() => started.stop());
  return started;
}

/** An HTTPS origin answering with what it saw: the client certificate's CN and the headers. */
function echo(): Handler {
  return (req, res, raw) => {
    const peer = (raw.socket as TLSSocket).getPeerCertificate?.();
    json(res, 200, {
      path: req.url,
      clientCN: peer && "subject" in peer ? (peer.subject?.CN ?? null) : null,
      proxyAuthorization: req.headers["proxy-authorization"] ?? null,
      via: req.headers.via ?? null,
    });
  };
}

const httpsOrigin = (requireClientCert = false) =>
  startServer(
    echo(),
    serverTls(
      requireClientCert
        ? { requestCert: true, rejectUnauthorized: true, ca: readFileSync(tlsFile("ca.pem")) }
        : {},
    ),
  );

const NO_RETRY = { MLFLOW_HTTP_REQUEST_MAX_RETRIES: "0" };

describe("through a real proxy (tinyproxy)", { skip: TINYPROXY_MISSING }, () => {
  after(closeIdleConnections);

  it("HTTPS goes through a CONNECT tunnel; the CA bundle and client certificate apply to the origin", async () => {
    const origin = await httpsOrigin(true);
    const tinyproxy = await proxy({ connectPorts: [origin.port] });
    const creds = new MlflowHostCreds({
      host: origin.url,
      serverCertPath: tlsFile("ca.pem"),
      clientCertPath: tlsFile("client-combined.pem"),
    });
    const body = (await callEndpoint(creds, "/api/2.0/x", "GET", {
      env: { HTTPS_PROXY: tinyproxy.url, ...NO_RETRY },
    })) as { clientCN: string; path: string };
    // The origin verified our client certificate and we verified its certificate with the test CA:
    // TLS ran end to end inside the tunnel.
    assert.equal(body.clientCN, "test-client");
    assert.equal(body.path, "/api/2.0/x");
    assert.deepEqual(tinyproxy.requests(), [`CONNECT 127.0.0.1:${origin.port} HTTP/1.1`]);
  });

  it("lower-case https_proxy is honoured, and ALL_PROXY when no scheme-specific variable is set", async () => {
    const origin = await httpsOrigin();
    const tinyproxy = await proxy();
    const creds = new MlflowHostCreds({ host: origin.url, serverCertPath: tlsFile("ca.pem") });
    for (const env of [{ https_proxy: tinyproxy.url }, { ALL_PROXY: tinyproxy.url }]) {
      const res = await httpRequest(creds, "/y", "GET", { env: { ...env, ...NO_RETRY } });
      assert.equal(res.status, 200);
      await res.body?.cancel();
    }
    assert.equal(tinyproxy.requests().length, 2);
  });

  it("checks an address origin's certificate against that address (not 'localhost')", async () => {
    // https-proxy-agent opens the tunnel's TLS session without a host name, so for an address
    // origin Node would check the certificate against "localhost". This origin's certificate
    // names only 127.0.0.1 (and the proxy listens elsewhere, on 127.0.0.2).
    const origin = await startServer(echo(), {
      cert: readFileSync(tlsFile("ip-server.pem")),
      key: readFileSync(tlsFile("ip-server.key")),
    });
    const tinyproxy = await proxy({ listen: "127.0.0.2" });
    const creds = new MlflowHostCreds({ host: origin.url, serverCertPath: tlsFile("ip-ca.pem") });
    const res = await httpRequest(creds, "/z", "GET", {
      env: { HTTPS_PROXY: tinyproxy.url, ...NO_RETRY },
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    assert.deepEqual(tinyproxy.requests(), [`CONNECT 127.0.0.1:${origin.port} HTTP/1.1`]);
  });

  it("still rejects an origin whose certificate does not name it, inside the tunnel", async () => {
    // An origin on 127.0.0.2 with the test certificate, which names localhost and 127.0.0.1 only.
    let served = 0;
    const origin = createHttpsServer(serverTls(), (_req, res) => {
      served += 1;
      res.end("{}");
    });
    await new Promise<void>((resolve) => origin.listen(0, "127.0.0.2", resolve));
    after(() => {
      origin.closeAllConnections();
      origin.close();
    });
    const port = (origin.address() as { port: number }).port;
    const tinyproxy = await proxy();
    const creds = new MlflowHostCreds({
      host: `https://127.0.0.2:${port}`,
      serverCertPath: tlsFile("ca.pem"),
    });
    const err = await rejection(
      httpRequest(creds, "/z", "GET", { env: { HTTPS_PROXY: tinyproxy.url, ...NO_RETRY } }),
    );
    assert.match(err.message, /TLS error ERR_TLS_CERT_ALTNAME_INVALID/);
    assert.match(err.message, /does not name this host/);
    assert.deepEqual(tinyproxy.requests(), [`CONNECT 127.0.0.2:${port} HTTP/1.1`]);
    assert.equal(served, 0);
  });

  it("MLFLOW_TRACKING_INSECURE_TLS turns verification off for the origin only", async () => {
    const origin = await httpsOrigin();
    const tinyproxy = await proxy();
    const creds = new MlflowHostCreds({ host: origin.url, ignoreTlsVerification: true });
    const res = await httpRequest(creds, "/z", "GET", {
      env: { HTTPS_PROXY: tinyproxy.url, ...NO_RETRY },
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
  });

  it("plain HTTP is forwarded with the absolute URL (no tunnel), as requests does", async () => {
    const origin = await startServer(echo());
    const tinyproxy = await proxy({
      basicAuth: { username: PROXY_USER, password: PROXY_PASSWORD },
    });
    const body = (await callEndpoint(
      new MlflowHostCreds({ host: origin.url, username: "alice", password: "pw-origin" }),
      "/api/2.0/q",
      "GET",
      {
        json: { a: "1" },
        env: { HTTP_PROXY: `http://${PROXY_CREDENTIALS}@${tinyproxy.host}:${tinyproxy.port}` },
      },
    )) as { path: string; proxyAuthorization: string | null; via: string | null };
    assert.equal(body.path, "/api/2.0/q?a=1");
    assert.match(body.via ?? "", /tinyproxy/);
    // The proxy's credentials stop at the proxy; the origin's Basic header reaches the origin.
    assert.equal(body.proxyAuthorization, null);
    assert.equal(
      origin.requests[0]!.headers.authorization,
      `Basic ${Buffer.from("alice:pw-origin").toString("base64")}`,
    );
    assert.deepEqual(tinyproxy.requests(), [`GET ${origin.url}/api/2.0/q?a=1 HTTP/1.1`]);
  });

  it("NO_PROXY bypasses the proxy: an address, a CIDR block, '*', and lower-case no_proxy", async () => {
    const origin = await httpsOrigin();
    const tinyproxy = await proxy();
    const creds = new MlflowHostCreds({ host: origin.url, serverCertPath: tlsFile("ca.pem") });
    for (const bypass of [
      { NO_PROXY: "127.0.0.1" },
      { NO_PROXY: "example.com, 127.0.0.0/8" },
      { NO_PROXY: "*" },
      { no_proxy: "10.0.0.0/8,127.0.0.1", NO_PROXY: "nothing.example" },
    ]) {
      const res = await httpRequest(creds, "/direct", "GET", {
        env: { HTTPS_PROXY: tinyproxy.url, ...bypass, ...NO_RETRY },
      });
      assert.equal(res.status, 200, JSON.stringify(bypass));
      await res.body?.cancel();
    }
    assert.deepEqual(tinyproxy.requests(), []);
    assert.equal(origin.requests.length, 4);
    // A list that does not match leaves the proxy in place.
    const res = await httpRequest(creds, "/proxied", "GET", {
      env: {
        HTTPS_PROXY: tinyproxy.url,
        NO_PROXY: "127.0.0.2,10.0.0.0/8,.example.com",
        ...NO_RETRY,
      },
    });
    await res.body?.cancel();
    assert.equal(tinyproxy.requests().length, 1);
  });

  it("an https:// proxy is verified with the CA-bundle variables, never with the server's CA path", async () => {
    // tinyproxy behind a TLS front (the test CA's certificate): an https:// proxy.
    const tinyproxy = await proxy();
    const front = createTlsServer(serverTls(), (client) => {
      const upstream = connect(tinyproxy.port, "127.0.0.1");
      client.pipe(upstream).pipe(client);
      client.on("error", () => upstream.destroy());
      upstream.on("error", () => client.destroy());
    });
    await new Promise<void>((resolve) => front.listen(0, "127.0.0.1", resolve));
    after(() => front.close());
    const proxyUrl = `https://127.0.0.1:${(front.address() as { port: number }).port}`;
    // The server's certificate is from another CA, named by MLFLOW_TRACKING_SERVER_CERT_PATH.
    const origin = await startServer(echo(), {
      cert: readFileSync(tlsFile("ip-server.pem")),
      key: readFileSync(tlsFile("ip-server.key")),
    });
    const creds = new MlflowHostCreds({ host: origin.url, serverCertPath: tlsFile("ip-ca.pem") });
    const env = { HTTPS_PROXY: proxyUrl, REQUESTS_CA_BUNDLE: tlsFile("ca.pem"), ...NO_RETRY };
    const res = await httpRequest(creds, "/tls-in-tls", "GET", { env });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    assert.deepEqual(tinyproxy.requests(), [`CONNECT 127.0.0.1:${origin.port} HTTP/1.1`]);
    // Plain http forwarded through the https:// proxy.
    const plain = await startServer(echo());
    const forwarded = await httpRequest(new MlflowHostCreds({ host: plain.url }), "/fwd", "GET", {
      env: { HTTP_PROXY: proxyUrl, REQUESTS_CA_BUNDLE: tlsFile("ca.pem"), ...NO_RETRY },
    });
    assert.equal(forwarded.status, 200);
    await forwarded.body?.cancel();

    // Without the bundle the proxy is not trusted — the server's CA path does not vouch for it.
    for (const [variable, url] of [
      ["HTTPS_PROXY", origin.url],
      ["HTTP_PROXY", plain.url],
    ] as const) {
      const err = await rejection(
        httpRequest(
          new MlflowHostCreds({
            host: url,
            ...(url.startsWith("https") ? { serverCertPath: tlsFile("ip-ca.pem") } : {}),
          }),
          "/x",
          "GET",
          { env: { [variable]: proxyUrl, ...NO_RETRY } },
        ),
      );
      assert.match(
        err.message,
        new RegExp(
          `^Cannot connect to the proxy ${proxyUrl.replace(/[.]/g, "\\.")} \\(from ${variable}\\): [A-Z_]+\\. The proxy's certificate is checked against Node's CAs plus REQUESTS_CA_BUNDLE`,
        ),
      );
    }
  });

  it("a proxy that needs credentials gets them from the proxy URL (Basic, on the CONNECT only)", async () => {
    const origin = await httpsOrigin();
    const tinyproxy = await proxy({
      basicAuth: { username: PROXY_USER, password: PROXY_PASSWORD },
      connectPorts: [origin.port],
    });
    const creds = new MlflowHostCreds({ host: origin.url, serverCertPath: tlsFile("ca.pem") });
    const proxyUrl = `http://${PROXY_CREDENTIALS}@${tinyproxy.host}:${tinyproxy.port}`;
    const body = (await callEndpoint(creds, "/api/2.0/auth", "GET", {
      env: { HTTPS_PROXY: proxyUrl, ...NO_RETRY },
    })) as { proxyAuthorization: string | null };
    assert.equal(body.proxyAuthorization, null);
    assert.equal(tinyproxy.requests().length, 1);

    const missing = await rejection(
      httpRequest(creds, "/x", "GET", { env: { HTTPS_PROXY: tinyproxy.url, ...NO_RETRY } }),
    );
    assert.ok(missing instanceof MlflowSecretsError);
    assert.match(
      missing.message,
      new RegExp(
        `^The proxy http://127\\.0\\.0\\.1:${tinyproxy.port} \\(from HTTPS_PROXY\\) refused the connection with 407 .*requires credentials`,
      ),
    );
    const wrong = await rejection(
      httpRequest(creds, "/x", "GET", {
        env: {
          HTTPS_PROXY: `http://${PROXY_USER}:wrong-secret-pw@${tinyproxy.host}:${tinyproxy.port}`,
          ...NO_RETRY,
        },
      }),
    );
    // tinyproxy answers wrong credentials with 401 (a proxy should say 407; both are understood).
    assert.match(wrong.message, /refused the connection with 40[17] .*rejected the credentials/);
    assertNoSecrets(everythingIn(wrong), ["wrong-secret-pw"], "wrong proxy credentials");
    assert.equal(origin.requests.length, 1);
  });

  it("with DEBUG=* the proxy library logs, but never the proxy's credentials", async () => {
    const origin = await httpsOrigin();
    const tinyproxy = await proxy({
      basicAuth: { username: PROXY_USER, password: PROXY_PASSWORD },
    });
    // The debug module reads DEBUG when it loads: a separate process.
    const script = [
      'import { MlflowHostCreds, httpRequest } from "./src/index.js";',
      "const env = JSON.parse(process.env.TEST_ENV);",
      "const res = await httpRequest(new MlflowHostCreds({ host: process.env.TEST_ORIGIN, serverCertPath: process.env.TEST_CA }), '/debug', 'GET', { env });",
      "console.log('status', res.status);",
      "await res.body?.cancel();",
      "process.exit(0);",
    ].join("\n");
    // Asynchronously: the origin and the proxy's peer live in this process.
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", script],
      {
        cwd: REPO_ROOT,
        env: {
          PATH: process.env.PATH ?? "",
          DEBUG: "*",
          TEST_ORIGIN: origin.url,
          TEST_CA: tlsFile("ca.pem"),
          TEST_ENV: JSON.stringify({
            HTTPS_PROXY: `http://${PROXY_CREDENTIALS}@${tinyproxy.host}:${tinyproxy.port}`,
            ...NO_RETRY,
          }),
        },
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const status = await new Promise<number | null>((resolve) => child.on("close", resolve));
    const result = { status, stdout, stderr };
    const output = `${result.stdout}${result.stderr}`;
    assert.equal(result.status, 0, output);
    assert.match(output, /status 200/);
    assert.match(output, /https-proxy-agent/, "the library's debug log is on");
    assertNoSecrets(output, [PROXY_PASSWORD, PROXY_BLOB_PLAIN], "DEBUG=* output");
    assert.equal(tinyproxy.requests().length, 1);
  });

  it("a tunnel the proxy refuses (CONNECT to a port it does not allow) names the proxy", async () => {
    const origin = await httpsOrigin();
    const tinyproxy = await proxy({ connectPorts: [443] });
    const creds = new MlflowHostCreds({ host: origin.url, serverCertPath: tlsFile("ca.pem") });
    const err = await rejection(
      httpRequest(creds, "/x", "GET", { env: { HTTPS_PROXY: tinyproxy.url } }),
    );
    assert.match(
      err.message,
      new RegExp(
        `^The proxy http://127\\.0\\.0\\.1:${tinyproxy.port} \\(from HTTPS_PROXY\\) refused the connection with 403`,
      ),
    );
    assert.equal(origin.requests.length, 0);
  });

  it("HTTP through a proxy that needs credentials: 407 is an error naming the proxy", async () => {
    const origin = await startServer(echo());
    const tinyproxy = await proxy({
      basicAuth: { username: PROXY_USER, password: PROXY_PASSWORD },
    });
    const err = await rejection(
      httpRequest(new MlflowHostCreds({ host: origin.url }), "/x", "GET", {
        env: { http_proxy: tinyproxy.url, ...NO_RETRY },
      }),
    );
    assert.match(
      err.message,
      /^The proxy http:\/\/127\.0\.0\.1:\d+ \(from http_proxy\) refused the connection with 407/,
    );
    assert.equal(origin.requests.length, 0);
  });
});

describe("a proxy that is down", () => {
  after(closeIdleConnections);

  it("fails fast (no retries) with an error naming the proxy, not the origin, and no credential", async () => {
    const origin = await httpsOrigin();
    const deadPort = await freePort();
    const creds = new MlflowHostCreds({
      host: origin.url,
      serverCertPath: tlsFile("ca.pem"),
      token: "tok-origin-secret-1",
    });
    const started = Date.now();
    // Default retry settings (7 retries, factor 2): a retried failure would take minutes.
    const err = await rejection(
      callEndpoint(creds, "/api/2.0/mlflow/experiments/search", "POST", {
        json: {},
        env: { HTTPS_PROXY: `http://${ENCODED_CREDENTIALS}@127.0.0.1:${deadPort}` },
      }),
    );
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
    assert.ok(err instanceof MlflowSecretsError);
    assert.equal(
      err.message,
      `Cannot connect to the proxy http://127.0.0.1:${deadPort} (from HTTPS_PROXY): ECONNREFUSED. ` +
        "Check that the proxy is up, or list the tracking server's host in NO_PROXY to connect directly.",
    );
    assert.ok(!err.message.includes(String(origin.port)), "the origin is not blamed");
    assertNoSecrets(everythingIn(err), [...ENCODED_SECRETS, "tok-origin-secret-1"], "dead proxy");
    assert.equal(origin.requests.length, 0);
  });

  it("the same for plain HTTP (forwarding)", async () => {
    const deadPort = await freePort();
    const err = await rejection(
      httpRequest(new MlflowHostCreds({ host: "http://127.0.0.1:9" }), "/x", "GET", {
        env: { HTTP_PROXY: `http://${ENCODED_CREDENTIALS}@127.0.0.1:${deadPort}` },
      }),
    );
    assert.match(
      err.message,
      new RegExp(
        `^Cannot connect to the proxy http://127\\.0\\.0\\.1:${deadPort} \\(from HTTP_PROXY\\): ECONNREFUSED`,
      ),
    );
    assertNoSecrets(everythingIn(err), ENCODED_SECRETS, "dead proxy");
  });

  it("a proxy that accepts the connection and never answers times out, naming the proxy", async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    after(() => {
      for (const s of sockets) s.destroy();
      silent.close();
    });
    const port = (silent.address() as { port: number }).port;
    const origin = await httpsOrigin();
    const started = Date.now();
    const err = await rejection(
      httpRequest(
        new MlflowHostCreds({ host: origin.url, serverCertPath: tlsFile("ca.pem") }),
        "/x",
        "GET",
        {
          env: { HTTPS_PROXY: `http://127.0.0.1:${port}`, MLFLOW_HTTP_REQUEST_TIMEOUT: "0.3" },
        },
      ),
    );
    assert.ok(Date.now() - started < 5000);
    assert.match(
      err.message,
      new RegExp(
        `^Cannot connect to the proxy http://127\\.0\\.0\\.1:${port} \\(from HTTPS_PROXY\\): no answer within 0\\.3 seconds`,
      ),
    );
  });

  it("credentials in the proxy URL are percent-decoded and sent as Basic on the CONNECT", async () => {
    // A bare TCP listener that records the CONNECT head and refuses it, standing in for a proxy
    // whose answer is not the point here.
    const heads: string[] = [];
    const recorder = createServer((socket) => {
      let head = "";
      socket.on("data", (chunk: Buffer) => {
        head += chunk.toString("latin1");
        if (head.includes("\r\n\r\n")) {
          heads.push(head);
          socket.end("HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n");
        }
      });
    });
    await new Promise<void>((resolve) => recorder.listen(0, "127.0.0.1", resolve));
    after(() => recorder.close());
    const port = (recorder.address() as { port: number }).port;
    const err = await rejection(
      httpRequest(new MlflowHostCreds({ host: "https://mlflow.example.com" }), "/x", "GET", {
        env: { HTTPS_PROXY: `http://${ENCODED_CREDENTIALS}@127.0.0.1:${port}`, ...NO_RETRY },
      }),
    );
    assert.match(err.message, /refused the connection with 407 .*rejected the credentials/);
    assertNoSecrets(everythingIn(err), ENCODED_SECRETS, "407");
    assert.equal(heads.length, 1);
    assert.match(heads[0]!, /^CONNECT mlflow\.example\.com:443 HTTP\/1\.1\r\n/);
    assert.match(
      heads[0]!,
      new RegExp(`\r\nProxy-Authorization: Basic ${ENCODED_BLOB.replace(/[+/=]/g, "\\$&")}\r\n`),
    );
  });

  it("an unusable proxy URL is an error naming the variable, not its value", async () => {
    for (const [value, pattern] of [
      [
        "socks5://user:sockspw-secret@127.0.0.1:1080",
        /HTTPS_PROXY names a proxy this client cannot use: SOCKS proxies are not supported/,
      ],
      [
        "ftp://user:ftppw-secret@127.0.0.1:21",
        /HTTPS_PROXY names a proxy this client cannot use: write the proxy URL as http:\/\/host:port/,
      ],
    ] as const) {
      const err = await rejection(
        httpRequest(new MlflowHostCreds({ host: "https://127.0.0.1:9" }), "/x", "GET", {
          env: { HTTPS_PROXY: value, ...NO_RETRY },
        }),
      );
      assert.match(err.message, pattern);
      assertNoSecrets(everythingIn(err), ["sockspw-secret", "ftppw-secret"], value);
    }
  });
});

describe("pooled connections", () => {
  after(closeIdleConnections);

  it("a kept-alive connection found closed when reused is replaced, not a failed request", async () => {
    // Proxies like tinyproxy close the client's connection after each answer without saying so;
    // a request can race that close onto the dead connection. This server answers the first
    // request of each connection and drops the connection on the second, deterministically.
    let connections = 0;
    const server = createServer((socket) => {
      connections += 1;
      let served = 0;
      let buffer = "";
      socket.on("data", (chunk: Buffer) => {
        buffer += chunk.toString("latin1");
        while (buffer.includes("\r\n\r\n")) {
          buffer = buffer.slice(buffer.indexOf("\r\n\r\n") + 4);
          served += 1;
          if (served > 1) {
            socket.destroy();
            return;
          }
          socket.write(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
          );
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    after(() => server.close());
    const port = (server.address() as { port: number }).port;
    const creds = new MlflowHostCreds({ host: `http://127.0.0.1:${port}` });
    for (let i = 0; i < 5; i += 1) {
      const res = await httpRequest(creds, `/n${i}`, "POST", { body: `b${i}`, env: NO_RETRY });
      assert.equal(res.status, 200);
      await res.text();
    }
    assert.equal(connections, 5);
  });
});
