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
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { buildConsole, type ConsoleBuild } from "../../scripts/build-console.js";
import {
  openSecretStore,
  type Keyring,
  resolveServerOptions,
  startServer,
  type SecretStore,
  type ServerOptionsInput,
} from "../../src/index.js";
import { DIALECTS, type DialectUnderTest, type TestDatabase } from "./databases.js";
import { ADMIN, TEST_HASH_COST } from "./server.js";
import { testKeyring } from "./store.js";

/** The browser the e2e tests drive: Debian's `chromium` package (or MLFLOW_SECRETS_TEST_CHROMIUM). */
const CHROMIUM_PATH = process.env.MLFLOW_SECRETS_TEST_CHROMIUM ?? "/usr/bin/chromium";

/**
 * Why the browser tests are skipped, or false when they run. In CI (`.ci/run` sets
 * MLFLOW_SECRETS_REQUIRE_BROWSER=1) they always run: a missing browser there fails the launch
 * loudly instead of hiding the tests.
 */
export const BROWSER_SKIP: string | false =
  existsSync(CHROMIUM_PATH) || process.env.MLFLOW_SECRETS_REQUIRE_BROWSER === "1"
    ? false
    : `no browser at ${CHROMIUM_PATH}: install Debian's chromium package (apt-get install chromium) or set MLFLOW_SECRETS_TEST_CHROMIUM`;

/** The flags the issue names; playwright adds a fresh, empty --user-data-dir of its own. */
const CHROMIUM_ARGS = [
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

interface WatchedPage {
  page: Page;
  /** CSP violations, console errors and uncaught exceptions seen so far. */
  problems: string[];
  /** Fails the test if anything went wrong on the page. */
  assertClean: () => void;
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
  // A missing element fails the test in seconds, not after playwright's default 30 s.
  page.setDefaultTimeout(10_000);
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
  params: { keyring?: Keyring; seed?: (store: SecretStore) => Promise<void> } = {},
): Promise<void> {
  const { outDir } = await builtConsole();
  const db = await dialect.create();
  try {
    if (params.seed) {
      // Rows written before the server starts (e.g. under an older KEK).
      const seeding = await openSecretStore({ uri: db.uri, keyring: await testKeyring() });
      try {
        await params.seed(seeding);
      } finally {
        await seeding.close();
      }
    }
    const store = await openSecretStore({
      uri: db.uri,
      keyring: params.keyring ?? (await testKeyring()),
    });
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

/** The e2e suite runs on SQLite and, when configured, PostgreSQL. */
export const E2E_DIALECTS = DIALECTS.filter((d) => d.name === "sqlite" || d.name === "postgresql");

/** Signs in through the sign-in page and waits for the signed-in shell. */
export async function signIn(page: Page, username: string, password: string): Promise<void> {
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("navigation", { name: "Main" }).waitFor();
}

/** Calls the server's API from the test (HTTP Basic or a Bearer token), as a script would. */
export async function rest<T = Record<string, unknown>>(
  server: { url: string },
  method: string,
  path: string,
  options: { auth?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: T; headers: Headers }> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.auth !== undefined) headers.authorization = options.auth;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers,
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    redirect: "manual",
  });
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: response.status, body: body as T, headers: response.headers };
}

// Code that runs in the page is given as text: the tests' TypeScript has no DOM types.

/**
 * Waits until the page's table body has exactly `n` rows. (Polled from here: playwright's
 * waitForFunction evaluates text with `eval`, which the console's CSP rightly refuses.)
 */
export function waitForRows(page: Page, n: number): Promise<void> {
  return waitForCount(page.locator("tbody tr"), n);
}

/** Waits until `locator` matches exactly `n` elements. */
export async function waitForCount(rows: Locator, n: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let count = await rows.count();
  while (count !== n) {
    if (Date.now() > deadline) throw new Error(`expected ${n} elements, found ${count}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    count = await rows.count();
  }
}

/** Entries in localStorage and sessionStorage together. */
export function webStorageCount(page: Page): Promise<number> {
  return page.evaluate<number>("localStorage.length + sessionStorage.length");
}

/** What the focused element is: its tag, name attribute and text. */
export function focused(page: Page): Promise<{ tag: string; name: string | null; text: string }> {
  return page.evaluate(
    `({ tag: document.activeElement.tagName, name: document.activeElement.getAttribute("name"), text: document.activeElement.textContent })`,
  );
}

/** The page's HTML and what its inputs hold (typed values are not in the HTML). */
export function pageText(page: Page): Promise<string> {
  return page.evaluate<string>(
    `document.documentElement.outerHTML + Array.from(document.querySelectorAll("input, textarea"), (el) => el.value).join("\\n")`,
  );
}

/**
 * Accessibility checks run in the page (as text, see above); resolves to a list of problems:
 * - every visible form control has a visible label (a control in a table cell may be labelled
 *   by its visible column header);
 * - every visible piece of text meets WCAG AA contrast against the background it sits on
 *   (4.5:1, or 3:1 for large text), disabled controls excepted;
 * - the border of every text field meets 3:1 against its surroundings (WCAG 1.4.11).
 */
export function accessibilityProblems(page: Page): Promise<string[]> {
  return page.evaluate<string[]>(`(() => {
    const problems = [];
    const visible = (el) => {
      const r = el.getBoundingClientRect();
      return r.width > 1 && r.height > 1 && getComputedStyle(el).visibility !== "hidden" && !el.closest(".visually-hidden");
    };
    const parse = (text) => {
      const m = text.match(/rgba?\\(([^)]+)\\)/);
      if (!m) return [0, 0, 0, 0];
      const parts = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
      return [parts[0], parts[1], parts[2], parts.length > 3 ? parts[3] : 1];
    };
    const over = (top, bottom) => {
      const a = top[3];
      return [0, 1, 2].map((i) => top[i] * a + bottom[i] * (1 - a)).concat(1);
    };
    const background = (el) => {
      const layers = [];
      for (let node = el; node; node = node.parentElement) {
        const c = parse(getComputedStyle(node).backgroundColor);
        if (c[3] > 0) layers.push(c);
        if (c[3] === 1) break;
      }
      let color = [255, 255, 255, 1];
      if (layers.length && layers[layers.length - 1][3] === 1) color = layers.pop();
      while (layers.length) color = over(layers.pop(), color);
      return color;
    };
    const luminance = (c) => {
      const [r, g, b] = c.slice(0, 3).map((v) => {
        const s = v / 255;
        return s <= 0.03928 ? s / 12.92 : Math.pow((s + 0.055) / 1.055, 2.4);
      });
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const ratio = (a, b) => {
      const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
      return (hi + 0.05) / (lo + 0.05);
    };
    const describe = (el) => el.tagName.toLowerCase() + (el.className ? "." + String(el.className).split(" ").join(".") : "") + ' "' + (el.textContent || el.getAttribute("name") || "").trim().slice(0, 40) + '"';

    for (const control of document.querySelectorAll("input, select, textarea")) {
      if (control.type === "hidden" || !visible(control)) continue;
      const labelled = Array.from(control.labels || []).some(visible);
      const cell = control.closest("td");
      const header = cell && cell.closest("table").querySelectorAll("thead th")[cell.cellIndex];
      if (!labelled && !(header && visible(header) && header.textContent.trim())) {
        problems.push("no visible label: " + describe(control));
      }
      const bg = background(control.parentElement);
      const border = parse(getComputedStyle(control).borderTopColor);
      const r = ratio(over(border, bg), bg);
      if (r < 3) problems.push("field border contrast " + r.toFixed(2) + ": " + describe(control));
    }

    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const seen = new Set();
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const el = node.parentElement;
      if (!el || seen.has(el) || !node.textContent.trim() || !visible(el)) continue;
      seen.add(el);
      if (el.closest("button:disabled, select:disabled, input:disabled, option")) continue;
      const style = getComputedStyle(el);
      const fg = parse(style.color);
      const bg = background(el);
      const r = ratio(over(fg, bg), bg);
      const size = parseFloat(style.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
      if (r < (large ? 3 : 4.5)) problems.push("text contrast " + r.toFixed(2) + ": " + describe(el));
    }
    return problems;
  })()`);
}
