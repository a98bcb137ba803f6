/**
 * The web console under test: built from console/ into a temporary folder (once per test file,
 * so a test never runs a stale build), served by a real listening server, and driven by
 * Debian's Chromium through playwright-core. Every page opened here fails its test on any CSP
 * violation, console error or uncaught exception.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { buildConsole, type ConsoleBuild } from "../../scripts/build-console.js";
import {
  openSecretStore,
  resolveServerOptions,
  startServer,
  type SecretStore,
  type ServerOptionsInput,
} from "../../src/index.js";
import type { DialectUnderTest, TestDatabase } from "./databases.js";
import { ADMIN, TEST_HASH_COST } from "./server.js";
import { testKeyring } from "./store.js";

/** The browser the e2e tests drive: Debian's `chromium` package (or MLFLOW_SECRETS_TEST_CHROMIUM). */
export const CHROMIUM_PATH = process.env.MLFLOW_SECRETS_TEST_CHROMIUM ?? "/usr/bin/chromium";

/**
 * Why the browser tests are skipped, or false when they run. In CI they always run: a missing
 * browser there fails the launch loudly instead of hiding the tests.
 */
export const BROWSER_SKIP: string | false =
  existsSync(CHROMIUM_PATH) || process.env.CI
    ? false
    : `no browser at ${CHROMIUM_PATH}: install Debian's chromium package (apt-get install chromium) or set MLFLOW_SECRETS_TEST_CHROMIUM`;

/** The flags the issue names; playwright adds a fresh, empty --user-data-dir of its own. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
] as const;

let built: Promise<ConsoleBuild> | undefined;

/** The console built from source into a temporary folder (once per process). */
export function builtConsole(): Promise<ConsoleBuild> {
  built ??= (async () => {
    const outDir = mkdtempSync(join(tmpdir(), "mlflow-secrets-console-"));
    process.once("exit", () => rmSync(outDir, { recursive: true, force: true }));
    return buildConsole({ outDir });
  })();
  return built;
}

/** One Chromium for a whole test file. */
export async function launchBrowser(): Promise<Browser> {
  const { chromium } = await import("playwright-core");
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [...CHROMIUM_ARGS],
    timeout: 30_000,
  });
}

export interface WatchedPage {
  page: Page;
  /** CSP violations, console errors and uncaught exceptions seen so far. */
  problems: string[];
  /** Fails the test if anything went wrong on the page. */
  assertClean(): void;
}

/**
 * A page that records every CSP violation (from the `securitypolicyviolation` event: Chromium
 * reports those in its log, not as console calls), console error and uncaught exception.
 * `allowedConsoleErrors` lists messages a test provokes on purpose.
 */
export async function watchedPage(
  context: BrowserContext,
  allowedConsoleErrors: readonly RegExp[] = [],
): Promise<WatchedPage> {
  const page = await context.newPage();
  const problems: string[] = [];
  await page.exposeBinding("__reportCspViolation", (_source, text: string) => {
    problems.push(`CSP violation: ${text}`);
  });
  // Runs in the page before its own scripts (injected by the browser, so the CSP allows it).
  await page.addInitScript({
    content: `document.addEventListener("securitypolicyviolation", (event) => {
      window.__reportCspViolation(
        event.violatedDirective + " blocked " + (event.blockedURI || "inline") + " in " + event.sourceFile,
      );
    });`,
  });
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    const text = message.text();
    if (!allowedConsoleErrors.some((re) => re.test(text))) problems.push(`console error: ${text}`);
  });
  page.on("pageerror", (error) => problems.push(`uncaught: ${error.message}`));
  return {
    page,
    problems,
    assertClean() {
      assert.deepEqual(problems, [], `problems on ${page.url()}`);
    },
  };
}

export interface ConsoleServer {
  /** e.g. http://127.0.0.1:43121 */
  url: string;
  /** The console's address (with the static prefix, if any). */
  consoleUrl: string;
  store: SecretStore;
  db: TestDatabase;
}

/** A real, listening server on a fresh database of one dialect, with the console built. */
export async function withConsoleServer(
  dialect: DialectUnderTest,
  fn: (server: ConsoleServer) => Promise<void>,
  options: ServerOptionsInput = {},
): Promise<void> {
  const { outDir } = await builtConsole();
  const db = await dialect.create();
  try {
    const store = await openSecretStore({ uri: db.uri, keyring: await testKeyring() });
    try {
      const resolved = resolveServerOptions({
        port: 0,
        adminPassword: ADMIN.password,
        passwordHashCost: TEST_HASH_COST,
        logLevel: "silent",
        ...options,
      });
      const running = await startServer({ store, options: resolved, consoleDir: outDir });
      try {
        await fn({
          url: running.url,
          consoleUrl: `${running.url}${resolved.staticPrefix}/console/`,
          store,
          db,
        });
      } finally {
        await running.close();
      }
    } finally {
      await store.close();
    }
  } finally {
    await db.drop();
  }
}
