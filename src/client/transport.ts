/**
 * One HTTP exchange over `node:http(s)`, with the TLS options applied to the real connection: a CA
 * bundle, a client certificate (one PEM holding certificate and key, or a separate key file), or
 * verification off. Connections are pooled per TLS configuration; the files are read for every
 * request, so a renewed certificate is picked up (a new pool when their content changes).
 */
import { createHash } from "node:crypto";
import { readFile, readdir, stat } from "node:fs/promises";
import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  TRACKING_CLIENT_CERT_PATH_ENV_VAR,
  TRACKING_CLIENT_KEY_PATH_ENV_VAR,
  TRACKING_SERVER_CERT_PATH_ENV_VAR,
} from "../config.js";
import { MlflowSecretsError } from "../errors.js";
import type { MlflowHostCreds } from "./host-creds.js";

/** TLS settings of one request (the contents of the files, not their paths). */
export interface TlsMaterial {
  readonly ca?: string;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly rejectUnauthorized: boolean;
}

/** The request as it goes on the wire. */
export interface WireRequest {
  readonly url: URL;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body?: Uint8Array | Readable;
}

/** No byte arrived for `timeoutMs` (connecting, sending, or waiting for the response). */
export class RequestTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no response within ${timeoutMs / 1000} seconds`);
    this.name = "RequestTimeoutError";
  }
}

async function readPem(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "error";
    throw new MlflowSecretsError(
      `Cannot read ${what} '${path}' (${code})`,
      "INVALID_PARAMETER_VALUE",
      {
        cause: err,
      },
    );
  }
}

async function readCaBundle(path: string): Promise<string> {
  const what = `the CA bundle (${TRACKING_SERVER_CERT_PATH_ENV_VAR})`;
  let isDirectory = false;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch {
    /* readPem reports it */
  }
  if (!isDirectory) return (await readPem(path, what)).toString("utf8");
  // A directory of certificates (as `requests` accepts): every PEM certificate in it.
  const names = (await readdir(path)).sort();
  const parts: string[] = [];
  for (const name of names) {
    const file = join(path, name);
    if (!(await stat(file)).isFile()) continue;
    const text = (await readPem(file, what)).toString("utf8");
    if (text.includes("-----BEGIN CERTIFICATE-----")) parts.push(text);
  }
  if (parts.length === 0) {
    throw new MlflowSecretsError(
      `${what} directory '${path}' holds no PEM certificate`,
      "INVALID_PARAMETER_VALUE",
    );
  }
  return parts.join("\n");
}

/** Reads the TLS files named by the credentials (undefined when no TLS option is set). */
export async function loadTlsMaterial(creds: MlflowHostCreds): Promise<TlsMaterial | undefined> {
  if (!creds.serverCertPath && !creds.clientCertPath && !creds.ignoreTlsVerification) {
    return undefined;
  }
  const ca = creds.serverCertPath ? await readCaBundle(creds.serverCertPath) : undefined;
  let cert: Buffer | undefined;
  let key: Buffer | undefined;
  if (creds.clientCertPath) {
    cert = await readPem(
      creds.clientCertPath,
      `the client certificate (${TRACKING_CLIENT_CERT_PATH_ENV_VAR})`,
    );
    // One PEM with both (MLflow's convention) unless a separate key file is given.
    key = creds.clientKeyPath
      ? await readPem(creds.clientKeyPath, `the client key (${TRACKING_CLIENT_KEY_PATH_ENV_VAR})`)
      : cert;
    if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key.toString("latin1"))) {
      throw new MlflowSecretsError(
        `No private key in '${creds.clientKeyPath ?? creds.clientCertPath}': put the key in the ` +
          `certificate's PEM file or set ${TRACKING_CLIENT_KEY_PATH_ENV_VAR}`,
        "INVALID_PARAMETER_VALUE",
      );
    }
  }
  return { ca, cert, key, rejectUnauthorized: !creds.ignoreTlsVerification };
}

const MAX_POOLS = 16;
const httpAgent = new http.Agent({ keepAlive: true });
const httpsAgents = new Map<string, https.Agent>();

function agentFor(url: URL, tls: TlsMaterial | undefined): http.Agent {
  if (url.protocol === "http:") return httpAgent;
  const digest = createHash("sha256");
  for (const part of [tls?.ca, tls?.cert, tls?.key]) {
    digest.update(part === undefined ? "-" : createHash("sha256").update(part).digest("hex"));
  }
  digest.update(tls?.rejectUnauthorized === false ? "insecure" : "verify");
  const key = digest.digest("hex");
  let agent = httpsAgents.get(key);
  if (agent === undefined) {
    try {
      agent = new https.Agent({
        keepAlive: true,
        ...(tls?.ca !== undefined ? { ca: tls.ca } : {}),
        ...(tls?.cert !== undefined ? { cert: tls.cert, key: tls.key } : {}),
        rejectUnauthorized: tls?.rejectUnauthorized ?? true,
      });
    } catch (err) {
      throw new MlflowSecretsError(
        `Invalid TLS material: ${err instanceof Error ? err.message : String(err)}`,
        "INVALID_PARAMETER_VALUE",
        { cause: err },
      );
    }
    if (httpsAgents.size >= MAX_POOLS) {
      const [oldestKey, oldest] = httpsAgents.entries().next().value as [string, https.Agent];
      httpsAgents.delete(oldestKey);
      oldest.destroy();
    }
    httpsAgents.set(key, agent);
  }
  return agent;
}

/**
 * Sends one request and resolves with the response head (the body still streaming). The timeout is
 * per socket inactivity — connecting, sending and waiting — like `requests`' timeout.
 */
export function sendOnce(
  request: WireRequest,
  options: { tls: TlsMaterial | undefined; timeoutMs: number; signal?: AbortSignal },
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const agent = agentFor(request.url, options.tls);
    const send = request.url.protocol === "https:" ? https.request : http.request;
    let settled = false;
    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      reject(err instanceof Error ? err : new Error(String(err)));
    };
    let req: http.ClientRequest;
    try {
      req = send(request.url, {
        method: request.method,
        headers: request.headers,
        agent,
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (err) {
      fail(err);
      return;
    }
    req.setTimeout(options.timeoutMs, () =>
      req.destroy(new RequestTimeoutError(options.timeoutMs)),
    );
    req.on("error", fail);
    req.on("response", (res) => {
      if (settled) {
        res.resume();
        return;
      }
      settled = true;
      resolve(res);
    });
    const body = request.body;
    if (body === undefined) {
      req.end();
    } else if (body instanceof Uint8Array) {
      req.end(body);
    } else {
      pipeline(body, req).catch((err: unknown) => req.destroy(err as Error));
    }
  });
}

const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/** Wraps a response head as a WHATWG `Response` whose body streams from the socket. */
export function toWebResponse(res: IncomingMessage, url: URL, method: string): Response {
  const status = res.statusCode ?? 0;
  if (status < 200 || status > 599) {
    res.resume();
    throw new MlflowSecretsError(
      `The server answered with an invalid HTTP status ${status}`,
      "INTERNAL_ERROR",
    );
  }
  const headers = new Headers();
  for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
    try {
      headers.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
    } catch {
      /* a header value fetch would reject: drop it */
    }
  }
  let body: ReadableStream<Uint8Array> | null = null;
  if (NULL_BODY_STATUSES.has(status) || method === "HEAD") {
    res.resume();
  } else {
    body = Readable.toWeb(res);
  }
  const response = new Response(body, { status, statusText: res.statusMessage ?? "", headers });
  Object.defineProperty(response, "url", { value: url.href });
  return response;
}

/** True for a failed certificate check or TLS handshake (retrying cannot help). */
export function isTlsError(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return (
    typeof code === "string" &&
    (code.startsWith("ERR_SSL_") ||
      code.startsWith("ERR_TLS_") ||
      /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(code))
  );
}

const CONNECTION_ERROR_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "EAI_AGAIN",
  "ENOTFOUND",
  "UND_ERR_SOCKET",
]);

/** True for errors before a response that a retry may fix: connection failures and timeouts. */
export function isRetryableTransportError(err: unknown): boolean {
  if (err instanceof RequestTimeoutError) return true;
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === "string" && CONNECTION_ERROR_CODES.has(code);
}
