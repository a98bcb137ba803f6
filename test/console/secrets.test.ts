/**
 * Managing secrets in Chromium: create (with validation of the auth config), list, filter and
 * page, reveal (no plaintext in the page before, nor after it hides again at 30 s), copy,
 * update the value, edit the auth config, delete (confirmed by typing the name) — and the audit
 * log shows all of it.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import {
  BROWSER_SKIP,
  E2E_DIALECTS,
  launchBrowser,
  pageText,
  rest,
  signIn,
  waitForRows,
  watchedPage,
  webStorageCount,
  withConsoleServer,
} from "../helpers/console.js";
import { ADMIN, ADMIN_AUTH, SECRETS, auditRows } from "../helpers/server.js";

const FIRST = "sk-live-FIRST-0123456789abcdefghij";
const SECOND = "sk-live-SECOND-9876543210zyxwvuts";
const ORG = "org-PLAINTEXT-42";

async function assertNoPlaintext(page: Page, values: readonly string[], when: string) {
  const text = await pageText(page);
  for (const value of values) assert.ok(!text.includes(value), `${when}: plaintext in the page`);
  assert.equal(await webStorageCount(page), 0, `${when}: web storage`);
  for (const value of values) assert.ok(!page.url().includes(value), `${when}: URL`);
}

for (const dialect of E2E_DIALECTS) {
  describe(`console secrets on ${dialect.name}`, { skip: BROWSER_SKIP }, () => {
    let browser: Browser;
    before(async () => {
      browser = await launchBrowser();
    });
    after(async () => {
      await browser?.close();
    });

    it("creates, reveals, copies, updates, edits and deletes a secret, all audited", () =>
      withConsoleServer(dialect, async (server) => {
        const context = await browser.newContext();
        await context.grantPermissions(["clipboard-read", "clipboard-write"], {
          origin: server.url,
        });
        const { page, assertClean } = await watchedPage(context);
        await page.clock.install();
        await page.goto(server.consoleUrl);
        await signIn(page, ADMIN.username, ADMIN.password);

        // Create.
        await page.getByRole("link", { name: "New secret", exact: true }).click();
        await page.getByRole("heading", { name: "New secret", exact: true }).waitFor();
        await page.getByLabel("Name", { exact: true }).fill("openai-prod");
        await page.getByLabel("Provider").fill("openai");
        await page.getByLabel("Key 1", { exact: true }).fill("api_key");
        assert.equal(
          await page.getByLabel("Value 1", { exact: true }).getAttribute("type"),
          "password",
        );
        await page.getByLabel("Value 1", { exact: true }).fill(FIRST);
        await page.getByRole("button", { name: "Add another value" }).click();
        await page.getByLabel("Key 2", { exact: true }).fill("organization");
        await page.getByLabel("Value 2", { exact: true }).fill(ORG);
        const authConfig = page.getByLabel("Auth config (JSON, optional)");
        await authConfig.fill('{"api_base": ');
        await page.getByText("Not valid JSON").waitFor();
        await authConfig.fill('["not", "an object"]');
        await page.getByText("Must be a JSON object").waitFor();
        await authConfig.fill('{"api_base": "https://api.openai.com/v1"}');
        await page.getByRole("button", { name: "Create secret" }).click();
        await page.getByRole("heading", { name: "openai-prod", exact: true }).waitFor();
        const secretId = decodeURIComponent(page.url().split("#/secrets/")[1]!);
        assert.match(secretId, /\S/);

        // Metadata only: masked values, never the plaintext.
        assert.match(
          await page.locator("dl.meta pre").innerText(),
          /"api_base": "https:\/\/api\.openai\.com\/v1"/,
        );
        await assertNoPlaintext(page, [FIRST, ORG], "before Reveal");

        // Reveal, copy, and the value leaves the page at 30 s.
        await page.getByRole("button", { name: "Reveal" }).click();
        await page.getByText(FIRST, { exact: true }).waitFor();
        await page.getByText(ORG, { exact: true }).waitFor();
        await page.getByRole("button", { name: "Copy api_key" }).click();
        await page
          .getByRole("button", { name: "Copy api_key" })
          .filter({ hasText: "Copied" })
          .waitFor();
        assert.equal(await page.evaluate<string>("navigator.clipboard.readText()"), FIRST);
        // The page's clock runs on by itself too: margins of 2 s either side of 30 s.
        await page.clock.runFor(28_000);
        assert.equal(
          await page.getByText(FIRST, { exact: true }).count(),
          1,
          "still shown at 28 s",
        );
        await page.clock.runFor(4_000);
        await page.getByRole("button", { name: "Reveal" }).waitFor();
        await assertNoPlaintext(page, [FIRST, ORG], "after it hid");

        // Update the value (re-encrypted), and reveal the new one; Hide hides at once.
        await page.getByLabel("Value 1", { exact: true }).fill(SECOND);
        await page.getByLabel("Value 2", { exact: true }).fill(ORG);
        await page.getByRole("button", { name: "Update value" }).click();
        await page.getByText("The value was updated and re-encrypted.").waitFor();
        await assertNoPlaintext(page, [FIRST, SECOND, ORG], "after the update");
        await page.getByRole("button", { name: "Reveal" }).click();
        await page.getByText(SECOND, { exact: true }).waitFor();
        await page.getByRole("button", { name: "Hide" }).click();
        await assertNoPlaintext(page, [SECOND, ORG], "after Hide");

        // Edit the auth config.
        const editor = page.getByLabel("Auth config (JSON)", { exact: true });
        await editor.fill('{"api_base": "https://proxy.example/v1", "api_version": "2024-10-21"}');
        await page.getByRole("button", { name: "Save auth config" }).click();
        await page.getByText("The auth config was saved.").waitFor();
        await page.getByText('"api_version": "2024-10-21"').waitFor();
        const stored = await rest<{ secret: { auth_config: unknown } }>(
          server,
          "GET",
          `${SECRETS}/get?secret_id=${encodeURIComponent(secretId)}`,
          { auth: ADMIN_AUTH },
        );
        assert.deepEqual(stored.body.secret.auth_config, {
          api_base: "https://proxy.example/v1",
          api_version: "2024-10-21",
        });

        // Delete: only once the name is typed.
        const remove = page.getByRole("button", { name: "Delete secret" });
        assert.equal(await remove.isDisabled(), true);
        const confirm = page.getByLabel("Type the secret's name (openai-prod) to confirm");
        await confirm.fill("openai-pro");
        assert.equal(await remove.isDisabled(), true);
        await confirm.fill("openai-prod");
        await remove.click();
        await page.getByRole("heading", { name: "Secrets", exact: true }).waitFor();
        await page.getByText("No secrets yet.").waitFor();

        // The audit log, in the console and in the table.
        await page
          .getByRole("navigation", { name: "Main" })
          .getByRole("link", { name: "Audit log" })
          .click();
        await page.getByRole("heading", { name: "Audit log", exact: true }).waitFor();
        await page.getByLabel("Action").selectOption("secret.value");
        await page.getByRole("button", { name: "Apply filters" }).click();
        await waitForRows(page, 2); // the two reveals
        await page.getByLabel("Action").selectOption("");
        await page.getByLabel("Secret (name or id)").fill("openai-prod");
        await page.getByRole("button", { name: "Apply filters" }).click();
        await waitForRows(page, 6);
        const shown = await page.locator("tbody tr td:nth-child(3)").allInnerTexts();
        assert.deepEqual(shown, [
          "secret.delete",
          "secret.update",
          "secret.value",
          "secret.update",
          "secret.value",
          "secret.create",
        ]);
        const rows = await auditRows(server.db, "secret_id = ?", [secretId]);
        assert.deepEqual(
          rows.map((r) => [r.action, r.outcome, r.username]),
          [
            ["secret.create", "success", "admin"],
            ["secret.value", "success", "admin"],
            ["secret.update", "success", "admin"],
            ["secret.value", "success", "admin"],
            ["secret.update", "success", "admin"],
            ["secret.delete", "success", "admin"],
          ],
        );
        assertClean();
        await context.close();
      }));

    it("lists with filters by name and provider, a page at a time", () =>
      withConsoleServer(dialect, async (server) => {
        for (let i = 0; i < 23; i++) {
          const name = `team-${String(i).padStart(2, "0")}`;
          const created = await rest(server, "POST", `${SECRETS}/create`, {
            auth: ADMIN_AUTH,
            body: {
              secret_name: name,
              secret_value: { api_key: `sk-${name}-abcdefghijklmnop` },
              provider: i % 2 === 0 ? "anthropic" : "openai",
            },
          });
          assert.equal(created.status, 200);
        }
        const context = await browser.newContext();
        const { page, assertClean } = await watchedPage(context);
        await page.goto(server.consoleUrl);
        await signIn(page, ADMIN.username, ADMIN.password);
        const rows = page.locator("tbody tr");
        const names = () => page.locator("tbody tr td:first-child").allInnerTexts();
        await waitForRows(page, 20);
        assert.equal((await names())[0], "team-00");
        const headers = await page.locator("thead th").allInnerTexts();
        assert.deepEqual(
          headers.map((h) => h.toLowerCase()),
          ["name", "provider", "masked values", "kek version", "updated by", "updated at"],
        );
        assert.match(await rows.first().innerText(), /anthropic\s+api_key sk-\S+\s+1\s+admin/);

        await page.getByRole("button", { name: "Next page" }).click();
        await waitForRows(page, 3);
        assert.deepEqual(await names(), ["team-20", "team-21", "team-22"]);
        assert.equal(await page.getByRole("button", { name: "Next page" }).isDisabled(), true);
        await page.getByRole("button", { name: "Previous page" }).click();
        await waitForRows(page, 20);

        await page.getByLabel("Provider").fill("openai");
        await waitForRows(page, 11);
        await page.getByLabel("Name contains").fill("1");
        await waitForRows(page, 7);
        assert.deepEqual(await names(), [
          "team-01",
          "team-11",
          "team-13",
          "team-15",
          "team-17",
          "team-19",
          "team-21",
        ]);
        await page.getByLabel("Name contains").fill("nothing-like-this");
        await page.getByText("No secret matches these filters.").waitFor();
        assertClean();
        await context.close();
      }));
  });
}
