/**
 * Every page of the console, in the light and the dark theme: visible labels, WCAG AA contrast,
 * no CSP violation or console error. With MLFLOW_SECRETS_SCREENSHOTS=DIR the pages are also
 * saved as PNGs there (docs/console/ holds the committed ones). The Keys page follows an online
 * rotation to its end, and warns admins about the default passphrase.
 */
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { KekManager, Keyring, rotateKek, type SecretStore } from "../../src/index.js";
import {
  BROWSER_SKIP,
  E2E_DIALECTS,
  accessibilityProblems,
  launchBrowser,
  rest,
  signIn,
  watchedPage,
  withConsoleServer,
  type ConsoleServer,
} from "../helpers/console.js";
import { kekFor } from "../helpers/keks.js";
import { ADMIN, ADMIN_AUTH, SECRETS } from "../helpers/server.js";
import { PASSPHRASE, testKeyring } from "../helpers/store.js";

const SCREENSHOTS = process.env.MLFLOW_SECRETS_SCREENSHOTS
  ? resolve(process.env.MLFLOW_SECRETS_SCREENSHOTS)
  : undefined;

const PROVIDERS = ["openai", "anthropic", "azure", "bedrock", "gemini", "mistral"];

/** Twelve secrets written under KEK version 1, before the server (at version 2) starts. */
async function seedUnderV1(store: SecretStore): Promise<void> {
  for (let i = 0; i < 12; i++) {
    const provider = PROVIDERS[i % PROVIDERS.length]!;
    await store.createSecret({
      secretName: `${provider}-${i < 6 ? "prod" : "staging"}`,
      secretValue: { api_key: `sk-${provider}-${i}-0123456789abcdefghij` },
      provider,
      ...(provider === "azure"
        ? {
            authConfig: { api_base: "https://example.openai.azure.com", api_version: "2024-10-21" },
          }
        : {}),
      createdBy: "admin",
    });
  }
}

async function audit(page: Page, what: string): Promise<void> {
  assert.deepEqual(await accessibilityProblems(page), [], what);
}

async function shoot(page: Page, name: string, scheme: string, fullPage = false): Promise<void> {
  if (SCREENSHOTS === undefined) return;
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}-${scheme}.png`), fullPage });
}

/** Users, grants, a token and audit rows, so that every page has something to show. */
async function furnish(server: ConsoleServer): Promise<void> {
  for (const username of ["alice", "bob"]) {
    await rest(server, "POST", "/api/2.0/mlflow/users/create", {
      auth: ADMIN_AUTH,
      body: { username, password: `${username}-password-0001` },
    });
  }
  const list = await rest<{ secrets: { secret_id: string; secret_name: string }[] }>(
    server,
    "GET",
    `${SECRETS}/list`,
    { auth: ADMIN_AUTH },
  );
  // Five secrets updated: re-encrypted under version 2, so a rotation is under way.
  for (const secret of list.body.secrets.slice(0, 5)) {
    await rest(server, "PATCH", `${SECRETS}/update`, {
      auth: ADMIN_AUTH,
      body: { secret_id: secret.secret_id, secret_value: { api_key: "sk-rotated-0123456789abcd" } },
    });
  }
  const first = list.body.secrets[0]!;
  for (const [username, permission] of [
    ["alice", "USE"],
    ["bob", "READ"],
  ] as const) {
    await rest(server, "POST", "/api/3.0/mlflow/gateway/secrets/permissions/create", {
      auth: ADMIN_AUTH,
      body: { secret_id: first.secret_id, username, permission },
    });
  }
  await rest(server, "POST", `${SECRETS}/value`, {
    auth: ADMIN_AUTH,
    body: { secret_id: first.secret_id },
  });
  await rest(server, "GET", `${SECRETS}/list`, {
    auth: `Basic ${Buffer.from("bob:not-his-password").toString("base64")}`,
  });
  await rest(server, "POST", "/api/3.0/mlflow-secrets/tokens/create", {
    auth: ADMIN_AUTH,
    body: { name: "gateway-prod" },
  });
}

for (const dialect of E2E_DIALECTS) {
  describe(`console pages on ${dialect.name}`, { skip: BROWSER_SKIP }, () => {
    let browser: Browser;
    before(async () => {
      browser = await launchBrowser();
    });
    after(async () => {
      await browser?.close();
    });

    it("every page, light and dark: labels, contrast, no CSP violation or console error", async () =>
      withConsoleServer(
        dialect,
        async (server) => {
          await furnish(server);
          for (const scheme of ["light", "dark"] as const) {
            const context = await browser.newContext({
              colorScheme: scheme,
              viewport: { width: 1180, height: 760 },
            });
            const { page, assertClean } = await watchedPage(context);
            const open = async (link: string, heading: string) => {
              const scope = link === "New secret" ? page : page.getByRole("navigation");
              await scope.getByRole("link", { name: link, exact: true }).click();
              await page.getByRole("heading", { name: heading, exact: true }).waitFor();
            };

            await page.goto(server.consoleUrl);
            await page
              .getByRole("heading", { name: "Sign in to mlflow-secrets", exact: true })
              .waitFor();
            await audit(page, `sign-in, ${scheme}`);
            await shoot(page, "sign-in", scheme);
            await signIn(page, ADMIN.username, ADMIN.password);

            await page.locator("tbody tr").nth(11).waitFor();
            await audit(page, `secrets, ${scheme}`);
            await shoot(page, "secrets", scheme);

            await open("New secret", "New secret");
            await page.getByLabel("Auth config (JSON, optional)").fill('{"api_base": ');
            await page.getByText("Not valid JSON").waitFor();
            await audit(page, `new secret, ${scheme}`);
            await shoot(page, "new-secret", scheme);

            await open("Secrets", "Secrets");
            await page.getByRole("link", { name: "anthropic-prod" }).click();
            await page.getByRole("heading", { name: "Permissions", exact: true }).waitFor();
            await page.getByLabel("Permission of alice").waitFor();
            await audit(page, `secret, ${scheme}`);
            await shoot(page, "secret", scheme, true);

            await open("Users", "Users");
            await page.locator("tbody tr").nth(2).waitFor();
            await audit(page, `users, ${scheme}`);
            await shoot(page, "users", scheme);

            await open("Tokens", "API tokens");
            await page.getByLabel("Token name").fill("notebook");
            await page.getByRole("button", { name: "Create token" }).click();
            await page.getByText("Copy it now").waitFor();
            await page.locator("tbody tr").nth(1).waitFor();
            await audit(page, `tokens, ${scheme}`);
            await shoot(page, "tokens", scheme);

            await open("Audit log", "Audit log");
            await page.locator("tbody tr").nth(5).waitFor();
            await audit(page, `audit log, ${scheme}`);
            await shoot(page, "audit", scheme);

            await open("Keys", "Keys");
            await page.getByText("5 of 12 secrets").waitFor();
            await audit(page, `keys, ${scheme}`);
            await shoot(page, "keys", scheme);

            assertClean();
            await context.close();
          }
        },
        {},
        { keyring: await testKeyring(2, [1]), seed: seedUnderV1 },
      ));

    it("the page watcher catches inline script, inline style and console errors", () =>
      withConsoleServer(dialect, async (server) => {
        const context = await browser.newContext();
        const watched = await watchedPage(context);
        await watched.page.goto(server.consoleUrl);
        await watched.page
          .getByRole("heading", { name: "Sign in to mlflow-secrets", exact: true })
          .waitFor();
        watched.assertClean();
        // What a careless change to the console could do; the CSP refuses each, and says so.
        await watched.page
          .evaluate(
            `(() => { const s = document.createElement("script"); s.textContent = "1"; document.body.append(s); })()`,
          )
          .catch(() => undefined);
        await watched.page.evaluate(
          `document.querySelector("h1").setAttribute("style", "color: red")`,
        );
        await watched.page.evaluate(`console.error("something broke")`);
        await watched.page.waitForTimeout(200);
        const seen = watched.problems.join("\n");
        assert.match(seen, /CSP violation: require-trusted-types-for/);
        assert.match(seen, /CSP violation: style-src-attr blocked inline/);
        assert.match(seen, /console error: something broke/);
        assert.throws(() => watched.assertClean());
        await context.close();
      }));

    it("Keys follows an online rotation to its end", async () =>
      withConsoleServer(
        dialect,
        async (server) => {
          const context = await browser.newContext();
          const { page, assertClean } = await watchedPage(context);
          await page.goto(server.consoleUrl);
          await signIn(page, ADMIN.username, ADMIN.password);
          await page
            .getByRole("navigation", { name: "Main" })
            .getByRole("link", { name: "Keys" })
            .click();
          await page.getByText("0 of 12 secrets (0%) re-wrapped").waitFor();
          const rows = page.locator("tbody tr");
          assert.match(await rows.nth(0).innerText(), /^1\s+12\s+Yes\s+Yes$/);
          assert.equal(await page.locator("progress").getAttribute("value"), "0");

          const result = await rotateKek({
            store: server.store,
            oldKek: await kekFor(PASSPHRASE, 1),
            newKek: await kekFor(PASSPHRASE, 2),
            mode: "online",
            batchSize: 5,
          });
          assert.equal(result.rotated, 12);
          // The page polls while rows remain; no reload needed.
          await page.getByText("Every secret is at the current KEK version 2").waitFor();
          assert.match(await rows.nth(0).innerText(), /^2 \(current\)\s+12\s+Yes\s+Yes$/);
          assert.equal(await page.locator("progress").count(), 0);
          assertClean();
          await context.close();
        },
        {},
        { keyring: await testKeyring(2, [1]), seed: seedUnderV1 },
      ));

    it("warns admins on the Keys page when the default passphrase is in use", async () => {
      const defaultKek = await KekManager.create({ passphrase: "", kekVersion: 1 });
      await withConsoleServer(
        dialect,
        async (server) => {
          const context = await browser.newContext();
          const { page, assertClean } = await watchedPage(context);
          await page.goto(server.consoleUrl);
          await signIn(page, ADMIN.username, ADMIN.password);
          await page
            .getByRole("navigation", { name: "Main" })
            .getByRole("link", { name: "Keys" })
            .click();
          await page.getByText("The default KEK passphrase is in use.").waitFor();
          assert.equal(await page.getByText("No secrets stored.").count(), 1);
          assertClean();
          await context.close();
        },
        {},
        { keyring: Keyring.of(defaultKek) },
      );
    });
  });
}
