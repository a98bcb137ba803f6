/**
 * The CLI's remote commands behind a proxy: `secrets list` against a real mlflow-secrets server
 * (listening on a socket) through a real proxy (tinyproxy) that requires credentials, in-process
 * and as a separate process; NO_PROXY
 * goes around it; a dead proxy is a one-line error naming the proxy, without its password.
 */
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { closeIdleConnections } from "../../src/client/transport.js";
import { cli, cliProcess } from "../helpers/cli.js";
import { DIALECTS } from "../helpers/databases.js";
import { ADMIN, withServer } from "../helpers/server.js";
import { TINYPROXY_MISSING, freePort, startTinyproxy } from "../helpers/tinyproxy.js";

const sqlite = DIALECTS.find((d) => d.name === "sqlite")!;
const PROXY_PASSWORD = "cli-proxy-pw-secret";

describe("secrets commands through a proxy", { skip: TINYPROXY_MISSING }, () => {
  it("secrets list goes through HTTP_PROXY (with its credentials) to a real server", async () => {
    await withServer(sqlite, async (server) => {
      await server.secret("openai-prod");
      await server.app.listen({ port: 0, host: "127.0.0.1" });
      const url = `http://127.0.0.1:${(server.app.server.address() as AddressInfo).port}`;
      const tinyproxy = await startTinyproxy({
        basicAuth: { username: "cli", password: PROXY_PASSWORD },
      });
      try {
        const env = {
          MLFLOW_TRACKING_URI: url,
          MLFLOW_TRACKING_USERNAME: ADMIN.username,
          MLFLOW_TRACKING_PASSWORD: ADMIN.password,
          MLFLOW_HTTP_REQUEST_MAX_RETRIES: "0",
          HOME: "/nonexistent",
        };
        const proxied = await cli(["secrets", "list", "--output", "json"], {
          env: { ...env, HTTP_PROXY: `http://cli:${PROXY_PASSWORD}@127.0.0.1:${tinyproxy.port}` },
        });
        assert.equal(proxied.code, 0, proxied.stderr);
        const listed = JSON.parse(proxied.stdout) as { secrets: { secret_name: string }[] };
        assert.deepEqual(
          listed.secrets.map((s) => s.secret_name),
          ["openai-prod"],
        );
        const through = tinyproxy.requests();
        assert.equal(through.length, 1);
        assert.match(through[0]!, new RegExp(`^GET ${url}/api/3\\.0/mlflow/gateway/secrets/list`));

        // The same from a separate process, whose environment is the real one.
        const child = await cliProcess(["secrets", "list", "--output", "json"], {
          ...env,
          HTTP_PROXY: `http://cli:${PROXY_PASSWORD}@127.0.0.1:${tinyproxy.port}`,
        });
        assert.equal(child.code, 0, child.stderr);
        assert.match(child.stdout, /openai-prod/);
        assert.equal(tinyproxy.requests().length, 2);

        const table = await cli(["secrets", "list"], {
          env: { ...env, HTTP_PROXY: tinyproxy.url, NO_PROXY: "localhost,127.0.0.1" },
        });
        assert.equal(table.code, 0, table.stderr);
        assert.match(table.stdout, /openai-prod/);
        assert.equal(tinyproxy.requests().length, 2, "NO_PROXY went around the proxy");

        const dead = await freePort();
        const failed = await cli(["secrets", "list"], {
          env: { ...env, HTTP_PROXY: `http://cli:${PROXY_PASSWORD}@127.0.0.1:${dead}` },
        });
        assert.equal(failed.code, 1);
        assert.equal(
          failed.stderr,
          `Error: Cannot connect to the proxy http://127.0.0.1:${dead} (from HTTP_PROXY): ECONNREFUSED. ` +
            "Check that the proxy is up, or list the tracking server's host in NO_PROXY to connect directly.\n",
        );
        assert.ok(!`${failed.stdout}${failed.stderr}`.includes(PROXY_PASSWORD));
      } finally {
        closeIdleConnections();
        await tinyproxy.stop();
      }
    });
  });
});
