/**
 * The console's files as the server answers them: where (`/console/`, the redirect from `/`,
 * `--static-prefix`, `--no-console`), with which headers (a strict CSP and friends on every
 * console answer, `no-store` on API answers), compressed and revalidated; and the build itself
 * (no inline script or style, the gzip budget).
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { before, describe, it } from "node:test";
import { JS_BUDGET_GZIP_BYTES } from "../../scripts/build-console.js";
import { CONSOLE_CSP } from "../../src/server/http/console.js";
import { builtConsole } from "../helpers/console.js";
import { DIALECTS } from "../helpers/databases.js";
import { ADMIN_AUTH, SECRETS, withServer, type Reply } from "../helpers/server.js";

const sqlite = DIALECTS[0]!;
let consoleDir = "";

before(async () => {
  consoleDir = (await builtConsole()).outDir;
});

function assertConsoleHeaders(reply: Reply, what: string): void {
  assert.equal(reply.headers["content-security-policy"], CONSOLE_CSP, what);
  assert.equal(reply.headers["referrer-policy"], "no-referrer", what);
  assert.equal(reply.headers["x-content-type-options"], "nosniff", what);
  assert.equal(reply.headers["x-frame-options"], "DENY", what);
}

describe("the console's files", () => {
  it("is built within budget, with no inline script or style and nothing from elsewhere", async () => {
    const build = await builtConsole();
    assert.ok(
      build.jsGzipBytes <= JS_BUDGET_GZIP_BYTES,
      `console.js is ${build.jsGzipBytes} bytes gzipped`,
    );
    const html = readFileSync(join(build.outDir, "index.html"), "utf8");
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, "every script has a src");
    assert.doesNotMatch(html, /<style|\sstyle=/i, "no inline style");
    assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//i, "nothing from another origin");
    const js = readFileSync(join(build.outDir, "console.js"), "utf8");
    assert.doesNotMatch(
      js,
      /localStorage|sessionStorage|document\.cookie/,
      "no storage, no cookies",
    );
    // The CSP: self only, no inline, no framing.
    for (const directive of [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self'",
      "frame-ancestors 'none'",
    ]) {
      assert.ok(CONSOLE_CSP.includes(directive), directive);
    }
    assert.doesNotMatch(CONSOLE_CSP, /unsafe-inline|unsafe-eval|\*/);
  });

  it("serves the page at /console/ with the security headers; / and /console redirect there", () =>
    withServer(
      sqlite,
      async ({ call }) => {
        for (const path of ["/", "/console"]) {
          const redirect = await call("GET", path);
          assert.equal(redirect.status, 302, path);
          assert.equal(redirect.headers.location, "/console/", path);
          assertConsoleHeaders(redirect, path);
        }
        const page = await call("GET", "/console/");
        assert.equal(page.status, 200);
        assert.equal(page.headers["content-type"], "text/html; charset=utf-8");
        assertConsoleHeaders(page, "page");
        assert.match(page.text, /<div id="app"><\/div>/);
        for (const [file, type] of [
          ["console.js", "text/javascript; charset=utf-8"],
          ["console.css", "text/css; charset=utf-8"],
          ["favicon.svg", "image/svg+xml"],
        ] as const) {
          const asset = await call("GET", `/console/${file}`);
          assert.equal(asset.status, 200, file);
          assert.equal(asset.headers["content-type"], type, file);
          assertConsoleHeaders(asset, file);
          assert.equal(asset.text, readFileSync(join(consoleDir, file), "utf8"), file);
        }
        const missing = await call("GET", "/console/secrets.txt");
        assert.equal(missing.status, 404);
        assertConsoleHeaders(missing, "404");
        const traversal = await call("GET", "/console/..%2f..%2fpackage.json");
        assert.equal(traversal.status, 404);
      },
      {},
      { consoleDir },
    ));

  it("answers gzip when asked, and 304 for an unchanged file", () =>
    withServer(
      sqlite,
      async ({ app }) => {
        const plain = await app.inject({ method: "GET", url: "/console/console.js" });
        const zipped = await app.inject({
          method: "GET",
          url: "/console/console.js",
          headers: { "accept-encoding": "gzip, deflate, br" },
        });
        assert.equal(zipped.headers["content-encoding"], "gzip");
        assert.equal(zipped.headers.vary, "accept-encoding");
        assert.ok(zipped.rawPayload.length < plain.rawPayload.length / 2);
        assert.equal(gunzipSync(zipped.rawPayload).toString("utf8"), plain.body);
        const etag = plain.headers.etag as string;
        assert.match(etag, /^"[\w-]+"$/);
        const again = await app.inject({
          method: "GET",
          url: "/console/console.js",
          headers: { "if-none-match": etag },
        });
        assert.equal(again.statusCode, 304);
        assert.equal(again.body, "");
        assert.equal(again.headers["content-security-policy"], CONSOLE_CSP);
      },
      {},
      { consoleDir },
    ));

  it("honours --static-prefix", () =>
    withServer(
      sqlite,
      async ({ call }) => {
        for (const path of ["/mlflow", "/mlflow/", "/mlflow/console"]) {
          const redirect = await call("GET", path);
          assert.equal(redirect.status, 302, path);
          assert.equal(redirect.headers.location, "/mlflow/console/", path);
        }
        assert.equal((await call("GET", "/mlflow/console/")).status, 200);
        assert.equal((await call("GET", "/mlflow/console/console.js")).status, 200);
        assert.equal((await call("GET", "/console/")).status, 404);
        assert.equal((await call("GET", "/")).status, 404);
      },
      { staticPrefix: "/mlflow" },
      { consoleDir },
    ));

  it("serves nothing with --no-console", () =>
    withServer(
      sqlite,
      async ({ call }) => {
        for (const path of ["/", "/console", "/console/", "/console/console.js"]) {
          const reply = await call("GET", path);
          assert.equal(reply.status, 404, path);
          assert.equal((reply.body as { error_code: string }).error_code, "ENDPOINT_NOT_FOUND");
        }
        assert.equal((await call("GET", "/health")).text, "OK");
      },
      { console: false },
      { consoleDir },
    ));

  it("says how to build it when it has not been built, and warns at start-up", async () => {
    const empty = mkdtempSync(join(tmpdir(), "mlflow-secrets-no-console-"));
    try {
      await withServer(
        sqlite,
        async ({ call, logs }) => {
          const page = await call("GET", "/console/");
          assert.equal(page.status, 404);
          assert.match(page.text, /npm run build/);
          assertConsoleHeaders(page, "not built");
          assert.ok(logs.some((line) => /console has not been built/.test(line)));
        },
        {},
        { consoleDir: empty },
      );
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it("marks API answers no-store, and leaves out the Basic challenge for the console", () =>
    withServer(
      sqlite,
      async ({ call, secret }) => {
        const id = await secret("cache-me-not");
        const value = await call("POST", `${SECRETS}/value`, {
          auth: ADMIN_AUTH,
          body: { secret_id: id },
        });
        assert.equal(value.status, 200);
        assert.equal(value.headers["cache-control"], "no-store");
        const list = await call("GET", `${SECRETS}/list`, { auth: ADMIN_AUTH });
        assert.equal(list.headers["cache-control"], "no-store");
        const refused = await call("GET", `${SECRETS}/list`);
        assert.equal(refused.status, 401);
        assert.equal(refused.headers["cache-control"], "no-store");
        assert.match(String(refused.headers["www-authenticate"]), /^Basic /);
        const fromConsole = await call("GET", `${SECRETS}/list`, {
          headers: { "x-requested-with": "mlflow-secrets-console" },
        });
        assert.equal(fromConsole.status, 401);
        assert.equal(fromConsole.headers["www-authenticate"], undefined);
      },
      {},
      { consoleDir },
    ));
});
