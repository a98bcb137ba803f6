/**
 * Signing in and out of the console in Chromium: a good password, a wrong one, throttling (429
 * with the wait, audited like Basic auth), an API token, the keyboard alone; the session cookie's
 * attributes; signing out ends the session on the server (the old cookie stops working); a
 * cross-site form post is refused; and the first page is usable within a second.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import {
  BROWSER_SKIP,
  E2E_DIALECTS,
  focused,
  launchBrowser,
  rest,
  signIn,
  watchedPage,
  webStorageCount,
  withConsoleServer,
} from "../helpers/console.js";
import { ADMIN, ADMIN_AUTH, auditRows } from "../helpers/server.js";

const SESSION_COOKIE = "mlflow_secrets_session";
/** What Chromium logs for an answer a test provokes on purpose. */
const STATUS = (code: number) => new RegExp(`status of ${code}`);

for (const dialect of E2E_DIALECTS) {
  describe(`console sign-in on ${dialect.name}`, { skip: BROWSER_SKIP }, () => {
    let browser: Browser;
    before(async () => {
      browser = await launchBrowser();
    });
    after(async () => {
      await browser?.close();
    });

    it("signs in with a good password; says so for a wrong one; throttles with the wait", () =>
      withConsoleServer(
        dialect,
        async (server) => {
          const context = await browser.newContext();
          const { page, assertClean } = await watchedPage(context, [STATUS(401), STATUS(429)]);
          await page.goto(server.consoleUrl);
          await page
            .getByRole("heading", { name: "Sign in to mlflow-secrets", exact: true })
            .waitFor();

          for (let i = 0; i < 3; i++) {
            await page.getByLabel("Username").fill(ADMIN.username);
            await page.getByLabel("Password").fill(`wrong-password-${i}`);
            await page.getByRole("button", { name: "Sign in" }).click();
            await page
              .getByRole("alert")
              .filter({ hasText: "Invalid username or password" })
              .waitFor();
          }
          // Throttled: even the right password now waits, exactly as over Basic auth.
          await page.getByLabel("Password").fill(ADMIN.password);
          await page.getByRole("button", { name: "Sign in" }).click();
          const alert = page.getByRole("alert");
          await alert.filter({ hasText: "Too many failed attempts" }).waitFor();
          assert.match(await alert.innerText(), /Try again in \d+ seconds?\./);
          const basic = await rest(server, "GET", "/api/3.0/mlflow/gateway/secrets/list", {
            auth: ADMIN_AUTH,
          });
          // Basic verified before the attack would be cached; this one was not: same throttle.
          assert.equal(basic.status, 429);

          const failed = await auditRows(server.db, "action = 'login.failed'");
          assert.equal(failed.length, 3);
          assert.ok(failed.every((row) => row.username === ADMIN.username));
          assertClean();
          await context.close();
        },
        { loginThrottle: { maxFailures: 3, windowMs: 60_000 } },
      ));

    it("holds the session in an HttpOnly, SameSite=Strict cookie; signing out ends it", () =>
      withConsoleServer(dialect, async (server) => {
        const context = await browser.newContext();
        const { page, assertClean } = await watchedPage(context);
        await page.goto(server.consoleUrl);
        await signIn(page, ADMIN.username, ADMIN.password);
        await page.getByRole("heading", { name: "Secrets", exact: true }).waitFor();
        assert.match(await page.getByText("Signed in as").innerText(), /admin/);

        const cookies = await context.cookies();
        const cookie = cookies.find((c) => c.name === SESSION_COOKIE);
        assert.ok(cookie, `cookies: ${cookies.map((c) => c.name).join(", ")}`);
        assert.equal(cookie.httpOnly, true);
        assert.equal(cookie.sameSite, "Strict");
        assert.equal(cookie.secure, false, "plain HTTP: no Secure flag");
        assert.equal(cookie.path, "/");
        assert.equal(await page.evaluate<string>("document.cookie"), "", "invisible to scripts");
        assert.equal(await webStorageCount(page), 0, "nothing in web storage");
        assert.doesNotMatch(page.url(), new RegExp(ADMIN.password));

        const asCookie = { cookie: `${SESSION_COOKIE}=${cookie.value}` };
        const before = await rest(server, "GET", "/api/3.0/mlflow/gateway/secrets/list", {
          headers: asCookie,
        });
        assert.equal(before.status, 200, "the cookie authenticates API reads");

        await page.getByRole("button", { name: "Sign out" }).click();
        await page
          .getByRole("heading", { name: "Sign in to mlflow-secrets", exact: true })
          .waitFor();
        await page.getByText("You have signed out.").waitFor();
        assert.equal(
          (await context.cookies()).find((c) => c.name === SESSION_COOKIE),
          undefined,
          "the browser dropped the cookie",
        );
        const afterSignOut = await rest(server, "GET", "/api/3.0/mlflow/gateway/secrets/list", {
          headers: asCookie,
        });
        assert.equal(afterSignOut.status, 401, "the old cookie no longer works");
        const rows = await server.db.query<{ n: number | string }>(
          "SELECT COUNT(*) AS n FROM mlflow_secrets_sessions",
        );
        assert.equal(Number(rows[0]!.n), 0, "the session row is gone");
        assertClean();
        await context.close();
      }));

    it("signs in with an API token, and with the keyboard alone", () =>
      withConsoleServer(dialect, async (server) => {
        const created = await rest<{ token: string }>(
          server,
          "POST",
          "/api/3.0/mlflow-secrets/tokens/create",
          { auth: ADMIN_AUTH, body: { name: "console" } },
        );
        assert.equal(created.status, 200);
        const context = await browser.newContext();
        const { page, assertClean } = await watchedPage(context);
        await page.goto(server.consoleUrl);
        await page.getByRole("button", { name: "Use an API token" }).click();
        await page.getByLabel("API token").fill(created.body.token);
        await page.getByRole("button", { name: "Sign in" }).click();
        await page.getByRole("navigation", { name: "Main" }).waitFor();
        assert.doesNotMatch(await page.content(), new RegExp(created.body.token));
        await page.getByRole("button", { name: "Sign out" }).click();
        await page
          .getByRole("heading", { name: "Sign in to mlflow-secrets", exact: true })
          .waitFor();

        // Keyboard only: the page focuses its heading; Tab walks the form; Enter submits.
        await page.getByRole("heading", { name: "Sign in to mlflow-secrets", exact: true }).focus();
        await page.keyboard.press("Tab");
        assert.equal((await focused(page)).name, "username");
        await page.keyboard.type(ADMIN.username);
        await page.keyboard.press("Tab");
        await page.keyboard.type(ADMIN.password);
        await page.keyboard.press("Enter");
        const heading = page.getByRole("heading", { name: "Secrets", exact: true });
        await heading.waitFor();
        assert.deepEqual(await focused(page), { tag: "H1", name: null, text: "Secrets" });
        await page.keyboard.press("Tab");
        assert.equal((await focused(page)).text, "New secret");
        await page.keyboard.press("Enter");
        await page.getByRole("heading", { name: "New secret", exact: true }).waitFor();
        assertClean();
        await context.close();
      }));

    it("refuses a cross-site form post, and a same-site one without the CSRF token", () =>
      withConsoleServer(dialect, async (server) => {
        const target = `${server.url}/api/3.0/mlflow-secrets/tokens/create`;
        const attacker = await startAttacker(target);
        try {
          const context = await browser.newContext();
          const { page, assertClean } = await watchedPage(context);
          await page.goto(server.consoleUrl);
          await signIn(page, ADMIN.username, ADMIN.password);
          assertClean();

          const evil = await context.newPage();
          // localhost is another site than 127.0.0.1: SameSite=Strict keeps the cookie home.
          const crossSite = evil.waitForResponse(target);
          await evil.goto(`http://localhost:${attacker.port}/`);
          assert.equal((await crossSite).status(), 401);
          // Another port of the same host is the same site: the cookie goes, the token does not.
          const sameSite = evil.waitForResponse(target);
          await evil.goto(`http://127.0.0.1:${attacker.port}/`);
          const refused = await sameSite;
          assert.equal(refused.status(), 403);
          assert.match(await refused.text(), /CSRF/);

          const tokens = await rest<{ tokens: { name: string }[] }>(
            server,
            "GET",
            "/api/3.0/mlflow-secrets/tokens/list",
            { auth: ADMIN_AUTH },
          );
          assert.deepEqual(tokens.body.tokens, [], "no token was created");
          await context.close();
        } finally {
          attacker.server.close();
        }
      }));

    it("makes the first page usable within a second", async (t) => {
      await withConsoleServer(dialect, async (server) => {
        const context = await browser.newContext();
        const { page, assertClean } = await watchedPage(context);
        const measure = async (mark: string) => {
          const times: number[] = [];
          for (let i = 0; i < 5; i++) {
            await page.goto(server.consoleUrl);
            await page.waitForFunction(
              (name) => performance.getEntriesByName(name, "mark").length > 0,
              mark,
            );
            times.push(
              await page.evaluate(
                (name) => performance.getEntriesByName(name, "mark")[0]!.startTime,
                mark,
              ),
            );
          }
          return times.sort((a, b) => a - b)[2]!;
        };
        const signInPage = await measure("mlflow-secrets:sign-in-ready");
        await signIn(page, ADMIN.username, ADMIN.password);
        const secretsPage = await measure("mlflow-secrets:secrets-ready");
        t.diagnostic(
          `navigation start → usable (median of 5): sign-in page ${signInPage.toFixed(0)} ms, secrets list ${secretsPage.toFixed(0)} ms`,
        );
        assert.ok(signInPage < 1000, `sign-in page usable after ${signInPage} ms`);
        assert.ok(secretsPage < 1000, `secrets list usable after ${secretsPage} ms`);
        assertClean();
        await context.close();
      });
    });
  });
}

/** A page on another origin that posts a form to `target` as soon as it loads. */
async function startAttacker(target: string): Promise<{ server: Server; port: number }> {
  const html = `<!doctype html><form method="POST" action="${target}" enctype="text/plain">
<input type="hidden" name='{"name":"stolen","x":"' value='"}'></form>
<script>document.forms[0].submit()</script>`;
  const server = createServer((_request, response) => {
    response.writeHead(200, { "content-type": "text/html" }).end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port };
}
