/** Shared helpers of the client tests: temp dirs, local HTTP(S) servers, a fake clock, a fake CLI io. */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http, {
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after } from "node:test";
import { inspect } from "node:util";
import type { HttpClock } from "../../src/client/http.js";
import type { CliIo, Prompts } from "../../src/cli/io.js";

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "client");
const TLS_DIR = join(FIXTURES, "tls");

export function tlsFile(name: string): string {
  return join(TLS_DIR, name);
}

/** A temporary directory removed when the test file ends. */
export function tempDir(prefix = "client-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** One request as the server saw it. */
export interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
}

export type Handler = (
  req: Recorded,
  res: ServerResponse,
  raw: IncomingMessage,
) => void | Promise<void>;

interface TestServer {
  url: string;
  port: number;
  requests: Recorded[];
  close(): Promise<void>;
}

/** An HTTP (or, with `tls`, HTTPS) server on 127.0.0.1 with an ephemeral port. */
export async function startServer(
  handler: Handler,
  tls?: https.ServerOptions,
): Promise<TestServer> {
  const requests: Recorded[] = [];
  const listener = (raw: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    raw.on("data", (c: Buffer) => chunks.push(c));
    raw.on("end", () => {
      const recorded: Recorded = {
        method: raw.method ?? "",
        url: raw.url ?? "",
        headers: raw.headers,
        rawHeaders: raw.rawHeaders,
        body: Buffer.concat(chunks),
      };
      requests.push(recorded);
      Promise.resolve(handler(recorded, res, raw)).catch((err: unknown) => {
        res.statusCode = 599;
        res.end(String(err));
      });
    });
  };
  const server = tls ? https.createServer(tls, listener) : http.createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const close = (): Promise<void> =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  after(close);
  return {
    url: `${tls ? "https" : "http"}://127.0.0.1:${port}`,
    port,
    requests,
    close,
  };
}

/** The TLS options of a server with the test CA's certificate. */
export function serverTls(extra: https.ServerOptions = {}): https.ServerOptions {
  return {
    cert: readFileSync(tlsFile("server.pem")),
    key: readFileSync(tlsFile("server.key")),
    ...extra,
  };
}

export function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

/** A clock that records the sleeps instead of waiting. */
export function fakeClock(random = 0.5): HttpClock & { sleeps: number[] } {
  const sleeps: number[] = [];
  return {
    sleeps,
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    random: () => random,
    now: () => Date.parse("2026-01-01T00:00:00Z"),
  };
}

/** Scripted prompt answers, recording the questions and whether the input was hidden. */
export function scriptedPrompts(
  answers: string[],
): Prompts & { asked: { message: string; hidden: boolean }[] } {
  const asked: { message: string; hidden: boolean }[] = [];
  const next = (message: string, hidden: boolean): Promise<string> => {
    asked.push({ message, hidden });
    const answer = answers.shift();
    if (answer === undefined) return Promise.reject(new Error(`unexpected prompt: ${message}`));
    return Promise.resolve(answer);
  };
  return {
    asked,
    text: (message) => next(message, false),
    password: (message) => next(message, true),
    confirm: () => Promise.resolve(false),
  };
}

/** An in-memory CLI io. */
export function fakeIo(
  env: Record<string, string | undefined>,
  prompts: Prompts = scriptedPrompts([]),
  tty = true,
): CliIo & { out: () => string; err: () => string } {
  let out = "";
  let err = "";
  return {
    stdout: { write: (c: string) => (out += c), isTTY: tty },
    stderr: { write: (c: string) => (err += c), isTTY: tty },
    stdin: { isTTY: tty, [Symbol.asyncIterator]: async function* () {} },
    env,
    prompts,
    out: () => out,
    err: () => err,
  };
}

/**
 * Everything an error exposes: message, name, code, stack, every own property (inspected), and
 * the same for its causes.
 */
export function everythingIn(err: unknown, depth = 0): string {
  if (depth > 5 || err === undefined || err === null) return "";
  if (typeof err !== "object") return typeof err === "string" ? err : JSON.stringify(err);
  const e = err as Error & { cause?: unknown };
  return [
    e.message,
    e.stack ?? "",
    inspect(err, { depth: 5, showHidden: true }),
    JSON.stringify(Object.fromEntries(Object.entries(e))),
    everythingIn(e.cause, depth + 1),
  ].join("\n");
}

/** Asserts that none of `secrets` appears in `text` (nor its base64 of `user:password`). */
export function assertNoSecrets(text: string, secrets: readonly string[], where: string): void {
  for (const secret of secrets) {
    assert.ok(!text.includes(secret), `${where} reveals a secret (${secret.slice(0, 3)}…)`);
  }
}

/** Rejects and returns the error. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  assert.fail("expected a rejection");
}
