/**
 * The web console's files, served at `<prefix>/console/` (and `<prefix>/` redirects there). The
 * few built files are read and gzipped once, at start-up, and answered from memory. Every
 * answer under the console — pages, assets, redirects, not-found — carries a strict CSP (no
 * inline script or style, nothing from another origin, no framing, Trusted Types), no referrer
 * and nosniff.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

/** Where `npm run build` puts the console (the same place from src/ and from dist/). */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(
  new URL("../../../dist/console/", import.meta.url),
);

export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join("; ");

/** The headers on every console answer. */
const CONSOLE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "content-security-policy": CONSOLE_CSP,
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
});

const FILES: Readonly<Record<string, string>> = {
  "index.html": "text/html; charset=utf-8",
  "console.js": "text/javascript; charset=utf-8",
  "console.css": "text/css; charset=utf-8",
  "favicon.svg": "image/svg+xml",
};

interface Asset {
  type: string;
  body: Buffer;
  gzip: Buffer;
  etag: string;
}

/** The built console in memory, or undefined when it has not been built. */
function loadConsoleAssets(dir: string): ReadonlyMap<string, Asset> | undefined {
  if (!existsSync(`${dir}/index.html`)) return undefined;
  const assets = new Map<string, Asset>();
  for (const [name, type] of Object.entries(FILES)) {
    const body = readFileSync(`${dir}/${name}`);
    assets.set(name, {
      type,
      body,
      gzip: gzipSync(body, { level: 9 }),
      etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`,
    });
  }
  return assets;
}

function send(request: FastifyRequest, reply: FastifyReply, asset: Asset): FastifyReply {
  void reply
    .headers(CONSOLE_HEADERS)
    .header("content-type", asset.type)
    .header("etag", asset.etag)
    .header("vary", "accept-encoding")
    // Names are not content-hashed: always revalidate (a 304 costs nothing).
    .header("cache-control", "no-cache");
  if (request.headers["if-none-match"] === asset.etag) return reply.code(304).send();
  const accepts = request.headers["accept-encoding"];
  if (typeof accepts === "string" && /\bgzip\b/.test(accepts)) {
    return reply.header("content-encoding", "gzip").send(asset.gzip);
  }
  return reply.send(asset.body);
}

function redirect(reply: FastifyReply, location: string): FastifyReply {
  return reply.headers(CONSOLE_HEADERS).header("cache-control", "no-store").redirect(location, 302);
}

/**
 * Registers the console's routes under the static prefix.
 *
 * @example
 * ```ts
 * registerConsole(app, { staticPrefix: "/mlflow", dir: DEFAULT_CONSOLE_DIR });
 * // GET /mlflow/ → 302 /mlflow/console/; GET /mlflow/console/ → the page
 * ```
 */
export function registerConsole(
  app: FastifyInstance,
  options: { staticPrefix: string; dir: string },
): { built: boolean } {
  const assets = loadConsoleAssets(options.dir);
  const base = `${options.staticPrefix}/console/`;
  const notBuilt = (reply: FastifyReply) =>
    reply
      .code(404)
      .headers(CONSOLE_HEADERS)
      .type("text/plain; charset=utf-8")
      .send("The console has not been built: run `npm run build`.\n");

  const toConsole = async (_request: FastifyRequest, reply: FastifyReply) => redirect(reply, base);
  app.get(`${options.staticPrefix}/`, toConsole);
  if (options.staticPrefix !== "") app.get(options.staticPrefix, toConsole);
  app.get(`${options.staticPrefix}/console`, toConsole);

  app.get(base, async (request, reply) => {
    const index = assets?.get("index.html");
    return index ? send(request, reply, index) : notBuilt(reply);
  });
  app.get(`${base}:file`, async (request, reply) => {
    const { file } = request.params as { file: string };
    const asset = file === "index.html" ? undefined : assets?.get(file);
    if (asset !== undefined) return send(request, reply, asset);
    if (assets === undefined) return notBuilt(reply);
    return reply
      .code(404)
      .headers(CONSOLE_HEADERS)
      .type("text/plain; charset=utf-8")
      .send("Not found\n");
  });
  return { built: assets !== undefined };
}
