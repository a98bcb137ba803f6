/**
 * Sharing in Chromium: an admin creates a user and grants them USE on one secret; that user
 * sees and reveals only that secret, and is offered nothing they may not do; revoking takes it
 * away. Users (make admin, reset password, delete) and tokens (create — shown once — and
 * revoke), with the audit rows for all of it.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import {
  BROWSER_SKIP,
  E2E_DIALECTS,
  launchBrowser,
  rest,
  signIn,
  waitForCount,
  waitForRows,
  watchedPage,
  webStorageCount,
  withConsoleServer,
} from "../helpers/console.js";
import { ADMIN, ADMIN_AUTH, SECRETS, auditRows, basic } from "../helpers/server.js";

const BOB = { username: "bob", password: "bob-password-0001" };
const SHARED = "sk-shared-0123456789abcdef";
const PRIVATE = "sk-private-0123456789abcdef";

for (const dialect of E2E_DIALECTS) {
  describe(`console sharing on ${dialect.name}`, { skip: BROWSER_SKIP }, () => {
    let browser: Browser;
    before(async () => {
      browser = await launchBrowser();
    });
    after(async () => {
      await browser?.close();
    });

    it("grants USE to a second user, who then sees and reveals only that secret", () =>
      withConsoleServer(
        dialect,
        async (server) => {
          const ids: Record<string, string> = {};
          for (const [name, value] of [
            ["shared-key", SHARED],
            ["private-key", PRIVATE],
          ] as const) {
            const created = await rest<{ secret: { secret_id: string } }>(
              server,
              "POST",
              `${SECRETS}/create`,
              { auth: ADMIN_AUTH, body: { secret_name: name, secret_value: { api_key: value } } },
            );
            ids[name] = created.body.secret.secret_id;
          }

          const adminContext = await browser.newContext();
          const admin = await watchedPage(adminContext);
          await admin.page.goto(server.consoleUrl);
          await signIn(admin.page, ADMIN.username, ADMIN.password);

          // The admin creates bob on the Users page…
          await admin.page
            .getByRole("navigation", { name: "Main" })
            .getByRole("link", { name: "Users" })
            .click();
          await admin.page.getByRole("heading", { name: "Users", exact: true }).waitFor();
          await admin.page.getByLabel("Username").fill(BOB.username);
          await admin.page.getByLabel("Password").fill(BOB.password);
          await admin.page.getByRole("button", { name: "Create user" }).click();
          await admin.page.getByText("User bob was created.").waitFor();

          // …and grants him USE on one secret.
          await admin.page
            .getByRole("navigation", { name: "Main" })
            .getByRole("link", { name: "Secrets" })
            .click();
          await admin.page.getByRole("link", { name: "shared-key" }).click();
          await admin.page.getByRole("heading", { name: "Permissions", exact: true }).waitFor();
          await admin.page.getByLabel("Username").fill(BOB.username);
          await admin.page.getByLabel("Permission", { exact: true }).selectOption("USE");
          await admin.page.getByRole("button", { name: "Grant" }).click();
          await admin.page.getByText("bob now has USE.").waitFor();
          assert.equal(await admin.page.getByLabel("Permission of bob").inputValue(), "USE");

          const bobContext = await browser.newContext();
          const bob = await watchedPage(bobContext);
          await bob.page.goto(server.consoleUrl);
          await signIn(bob.page, BOB.username, BOB.password);
          await waitForRows(bob.page, 1);
          assert.deepEqual(await bob.page.locator("tbody tr td:first-child").allInnerTexts(), [
            "shared-key",
          ]);
          const nav = await bob.page.getByRole("navigation", { name: "Main" }).innerText();
          assert.doesNotMatch(nav, /Users|Audit log|Keys/, "no admin pages for bob");
          assert.equal(await bob.page.getByRole("link", { name: "New secret" }).count(), 0);
          await bob.page.getByRole("link", { name: "shared-key" }).click();
          await bob.page.getByText("Your permission").waitFor();
          assert.equal(
            await bob.page.getByRole("heading", { name: "Permissions", exact: true }).count(),
            0,
          );
          assert.equal(
            await bob.page.getByRole("heading", { name: "Delete", exact: true }).count(),
            0,
          );
          assert.equal(
            await bob.page.getByRole("heading", { name: "Update value", exact: true }).count(),
            0,
          );
          await bob.page.getByRole("button", { name: "Reveal" }).click();
          await bob.page.getByText(SHARED, { exact: true }).waitFor();
          assert.ok(!(await bob.page.content()).includes(PRIVATE));

          // Revoked: the list is empty on the next visit.
          await admin.page.getByRole("button", { name: "Revoke bob's permission" }).click();
          await admin.page.getByText("bob's USE grant was revoked.").waitFor();
          await bob.page
            .getByRole("navigation", { name: "Main" })
            .getByRole("link", { name: "Secrets" })
            .click();
          await bob.page.getByText("No secrets yet.").waitFor();

          const grants = await auditRows(server.db, "action LIKE 'permission.%'");
          assert.deepEqual(
            grants.map((r) => [r.action, r.username, r.secret_id]),
            [
              ["permission.create", "admin", ids["shared-key"]],
              ["permission.delete", "admin", ids["shared-key"]],
            ],
          );
          const reveals = await auditRows(server.db, "action = 'secret.value'");
          assert.deepEqual(
            reveals.map((r) => [r.username, r.secret_id]),
            [["bob", ids["shared-key"]]],
          );
          admin.assertClean();
          bob.assertClean();
          await adminContext.close();
          await bobContext.close();
        },
        { defaultPermission: "NO_PERMISSIONS" },
      ));

    it("manages users: make admin, reset a password, delete", () =>
      withConsoleServer(dialect, async (server) => {
        await rest(server, "POST", "/api/2.0/mlflow/users/create", {
          auth: ADMIN_AUTH,
          body: BOB,
        });
        const context = await browser.newContext();
        const { page, assertClean } = await watchedPage(context);
        await page.goto(server.consoleUrl);
        await signIn(page, ADMIN.username, ADMIN.password);
        await page
          .getByRole("navigation", { name: "Main" })
          .getByRole("link", { name: "Users" })
          .click();
        const bobRow = page.locator("tbody tr").filter({ hasText: "bob" });
        await bobRow.waitFor();
        await bobRow.getByRole("button", { name: "Make admin (bob)" }).click();
        await page.getByText("bob is now an admin.").waitFor();
        await bobRow.getByRole("button", { name: "Remove admin (bob)" }).waitFor();
        assert.match(await bobRow.locator("td").nth(1).innerText(), /^Admin$/);
        await bobRow.getByRole("button", { name: "Remove admin (bob)" }).click();
        await page.getByText("bob is no longer an admin.").waitFor();

        await bobRow.getByRole("button", { name: "Reset password (bob)" }).click();
        await page.getByLabel("New password for bob").fill("bob-new-password-02");
        await page.getByRole("button", { name: "Set password", exact: true }).click();
        await page.getByText("bob's password was reset.").waitFor();
        const old = await rest(server, "GET", `${SECRETS}/list`, {
          auth: basic(BOB.username, BOB.password),
        });
        assert.equal(old.status, 401);
        const renewed = await rest(server, "GET", `${SECRETS}/list`, {
          auth: basic(BOB.username, "bob-new-password-02"),
        });
        assert.equal(renewed.status, 200);

        await bobRow.getByRole("button", { name: "Delete (bob)" }).click();
        await page.getByRole("button", { name: "Delete bob" }).click();
        await page.getByText("User bob was deleted.").waitFor();
        await waitForCount(page.locator("tbody tr").filter({ hasText: "bob" }), 0);

        const rows = await auditRows(server.db, "action LIKE 'user.%' AND details LIKE ?", [
          '%"bob"%',
        ]);
        assert.deepEqual(
          rows.map((r) => r.action),
          [
            "user.create",
            "user.update_admin",
            "user.update_admin",
            "user.update_password",
            "user.delete",
          ],
        );
        // The password check above failed once on purpose; the console caused no other failure.
        assertClean();
        await context.close();
      }));

    it("creates a token (shown once) and revokes it", () =>
      withConsoleServer(dialect, async (server) => {
        const context = await browser.newContext();
        const { page, assertClean } = await watchedPage(context);
        await page.goto(server.consoleUrl);
        await signIn(page, ADMIN.username, ADMIN.password);
        await page
          .getByRole("navigation", { name: "Main" })
          .getByRole("link", { name: "Tokens" })
          .click();
        await page.getByRole("heading", { name: "API tokens", exact: true }).waitFor();
        await page.getByLabel("Token name").fill("gateway-prod");
        await page.getByRole("button", { name: "Create token" }).click();
        await page.getByText("Copy it now: it is shown this once.").waitFor();
        const token = await page.locator(".created code.secret-value").innerText();
        assert.match(token, /^mls_[\w-]{40,}$/);
        const used = await rest(server, "GET", `${SECRETS}/list`, {
          auth: `Bearer ${token}`,
        });
        assert.equal(used.status, 200, "the new token works");
        assert.equal(await webStorageCount(page), 0);
        assert.ok(!page.url().includes(token));

        await page.getByRole("button", { name: "Done" }).click();
        assert.ok(!(await page.content()).includes(token), "gone once dismissed");
        const row = page.locator("tbody tr").filter({ hasText: "gateway-prod" });
        await row.waitFor();
        await row.getByRole("button", { name: "Revoke gateway-prod" }).click();
        await page.getByText("Token gateway-prod was revoked.").waitFor();
        await page.getByText("You have no tokens.").waitFor();
        const revoked = await rest(server, "GET", `${SECRETS}/list`, {
          auth: `Bearer ${token}`,
        });
        assert.equal(revoked.status, 401, "the revoked token no longer works");

        const rows = await auditRows(server.db, "action LIKE 'token.%'");
        assert.deepEqual(
          rows.map((r) => [r.action, r.username]),
          [
            ["token.create", "admin"],
            ["token.revoke", "admin"],
          ],
        );
        assertClean();
        await context.close();
      }));
  });
}
