/**
 * Request bodies: JSON only, strictly UTF-8, at most `bodyLimit` bytes and 64 levels deep, and
 * no `__proto__` / `constructor.prototype` keys (secure-json-parse). Parser messages are never
 * passed on: V8's can quote the body, which may hold a password or a secret value.
 */
import type { FastifyInstance } from "fastify";
import secureJson from "secure-json-parse";
import { MlflowSecretsError } from "../../errors.js";

const MAX_JSON_DEPTH = 64;

const utf8 = new TextDecoder("utf-8", { fatal: true });

function malformed(message: string): MlflowSecretsError {
  return new MlflowSecretsError(message, "MALFORMED_REQUEST");
}

/** True when brackets outside strings nest deeper than `limit` (a linear scan before parsing). */
function nestsTooDeep(bytes: Uint8Array, limit = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (inString) {
      if (b === 0x5c)
        i++; // backslash: skip the escaped byte
      else if (b === 0x22) inString = false;
    } else if (b === 0x22) {
      inString = true;
    } else if (b === 0x5b || b === 0x7b) {
      if (++depth > limit) return true;
    } else if (b === 0x5d || b === 0x7d) {
      depth--;
    }
  }
  return false;
}

/**
 * Parses JSON text that came from a client (a body, or `auth_config_json`), refusing prototype
 * keys and excessive nesting. `what` names it in the message.
 */
export function parseClientJson(text: string, what: string): unknown {
  if (nestsTooDeep(Buffer.from(text, "utf8"))) {
    throw malformed(`${what} nests deeper than ${MAX_JSON_DEPTH} levels`);
  }
  try {
    return secureJson.parse(text, undefined, { protoAction: "error", constructorAction: "error" });
  } catch {
    throw malformed(`${what} is not valid JSON (or has a __proto__ or constructor.prototype key)`);
  }
}

/** Replaces fastify's parsers: JSON (`application/json`, `application/*+json`) only. */
export function registerJsonBodyParser(app: FastifyInstance, bodyLimit: number): void {
  app.removeAllContentTypeParsers();
  const parse = (
    _request: unknown,
    body: Buffer,
    done: (err: Error | null, value?: unknown) => void,
  ) => {
    if (body.length === 0) return done(null, undefined);
    let text: string;
    try {
      text = utf8.decode(body);
    } catch {
      return done(malformed("The request body is not valid UTF-8"));
    }
    try {
      done(null, parseClientJson(text, "The request body"));
    } catch (err) {
      done(err as Error);
    }
  };
  for (const contentType of ["application/json", /^application\/[\w.+-]+\+json$/]) {
    app.addContentTypeParser(contentType, { parseAs: "buffer", bodyLimit }, parse);
  }
}
