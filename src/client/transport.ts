/**
 * One HTTP exchange over `node:http(s)`, with the TLS options applied to the real connection: a CA
 * bundle, a client certificate (one PEM holding certificate and key, or a separate key file), or
 * verification off; directly or through a proxy. Connections are pooled per TLS configuration and
 * proxy; the files are read for every request, so a renewed certificate is picked up (a new pool
 * when their content changes).
 *
 * Proxies. HTTPS goes through a `CONNECT` tunnel from `https-proxy-agent` (TooTallNate's
 * proxy-agents, which npm itself uses), chosen over undici's `ProxyAgent` because it keeps this
 * transport on `node:https`: the origin's TLS options travel with each request and reach only the
 * TLS session opened *inside* the tunnel, the proxy connection gets none of them, and `NO_PROXY` is
 * decided by our port of `requests` (undici's `EnvHttpProxyAgent` matches differently: no CIDR
 * blocks, no `urllib` layer). Plain `http://` origins are forwarded the way `requests` and curl do
 * it — the request sent to the proxy with the absolute URL as its target (RFC 9112 §3.2.2), which
 * `node:http` does by itself; `http-proxy-agent` would do the same by patching `ClientRequest`
 * internals and prints the request head (with its `Authorization`) to its debug log. Proxy
 * credentials never go into a URL handed to the library (its debug log prints the URL): they are
 * sent as a `Proxy-Authorization` header.
 */
import { createHash } from "node:crypto";
import { readFile, readdir, stat } from "node:fs/promises";
import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import { isIP, type Socket } from "node:net";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import tls, { type PeerCertificate, type SecureContext } from "node:tls";
import type { HttpsProxyAgent } from "https-proxy-agent";
import {
  TRACKING_CLIENT_CERT_PATH_ENV_VAR,
  TRACKING_CLIENT_KEY_PATH_ENV_VAR,
  TRACKING_SERVER_CERT_PATH_ENV_VAR,
  readCaBundleEnv,
  readNodeExtraCaCerts,
  type Env,
} from "../config.js";
import { MlflowSecretsError } from "../errors.js";
import type { MlflowHostCreds } from "./host-creds.js";
import { proxyAuthorization, proxyLabel, type ProxyRoute } from "./proxy.js";
import { scrubSecrets } from "./redact.js";

/** TLS settings of one request (the contents of the files, not their paths). */
export interface TlsMaterial {
  /** PEM CA certificates: they replace Node's roots, or extend them when `caExtendsRoots`. */
  readonly ca?: string;
  /** True for a CA bundle from the environment (`REQUESTS_CA_BUNDLE`, …): added to the roots. */
  readonly caExtendsRoots?: boolean;
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

/**
 * The proxy failed before the request reached the origin: unreachable, timed out, or refused the
 * tunnel. The message names the proxy (never its credentials), not the origin; retrying is left to
 * the caller, who knows the proxy is down.
 */
export class ProxyError extends Error {
  /** The proxy, for messages: no credentials (the route itself is not kept, it holds them). */
  readonly proxy: string;

  constructor(
    message: string,
    route: ProxyRoute,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "ProxyError";
    this.proxy = proxyLabel(route);
  }
}

/**
 * TLS files are checked on every request (so a renewed certificate is used at once) but read only
 * when they changed: a stat decides, and the same content object comes back otherwise, so that
 * its digest and its TLS context are not recomputed either (a system CA bundle is ~200 KB).
 */
interface CachedFile {
  readonly version: string;
  readonly bytes: Buffer;
  text?: string;
}

const MAX_CACHED_FILES = 64;
const fileCache = new Map<string, CachedFile>();

function remember<K, V>(map: Map<K, V>, key: K, value: V, limit: number): V {
  if (!map.has(key) && map.size >= limit) map.delete(map.keys().next().value as K);
  map.set(key, value);
  return value;
}

async function readCached(path: string): Promise<CachedFile> {
  const info = await stat(path);
  const version = `${info.dev}:${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}`;
  const hit = fileCache.get(path);
  if (hit?.version === version) return hit;
  return remember(fileCache, path, { version, bytes: await readFile(path) }, MAX_CACHED_FILES);
}

function pemError(path: string, what: string, err: unknown): MlflowSecretsError {
  const code = (err as NodeJS.ErrnoException).code ?? "error";
  return new MlflowSecretsError(
    `Cannot read ${what} '${path}' (${code})`,
    "INVALID_PARAMETER_VALUE",
    {
      cause: err,
    },
  );
}

async function readPem(path: string, what: string): Promise<Buffer> {
  try {
    return (await readCached(path)).bytes;
  } catch (err) {
    throw pemError(path, what, err);
  }
}

async function readPemText(path: string, what: string): Promise<string> {
  try {
    const file = await readCached(path);
    file.text ??= file.bytes.toString("utf8");
    return file.text;
  } catch (err) {
    throw pemError(path, what, err);
  }
}

const directoryCache = new Map<string, { version: string; text: string }>();

async function readCaBundle(path: string, source: string): Promise<string> {
  const what = `the CA bundle (${source})`;
  let isDirectory = false;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch {
    /* readPemText reports it */
  }
  if (!isDirectory) return readPemText(path, what);
  // A directory of certificates (as `requests` accepts): every PEM certificate in it.
  const names = (await readdir(path)).sort();
  const parts: string[] = [];
  const versions: string[] = [];
  for (const name of names) {
    const file = join(path, name);
    if (!(await stat(file)).isFile()) continue;
    const text = await readPemText(file, what);
    if (!text.includes("-----BEGIN CERTIFICATE-----")) continue;
    parts.push(text);
    versions.push(`${name}=${fileCache.get(file)?.version ?? ""}`);
  }
  if (parts.length === 0) {
    throw new MlflowSecretsError(
      `${what} directory '${path}' holds no PEM certificate`,
      "INVALID_PARAMETER_VALUE",
    );
  }
  // Unchanged files give the same joined text object (see the file cache).
  const version = versions.join("/");
  const hit = directoryCache.get(path);
  if (hit?.version === version) return hit.text;
  return remember(directoryCache, path, { version, text: parts.join("\n") }, MAX_CACHED_FILES).text;
}

/**
 * The PEM certificates of the environment's CA bundle (`REQUESTS_CA_BUNDLE`, `CURL_CA_BUNDLE`,
 * `SSL_CERT_FILE`), to be added to Node's roots; `undefined` when none is set. The certificates of
 * `NODE_EXTRA_CA_CERTS` come along: Node adds them to its default roots only, which the explicit CA
 * list built from this replaces, and setting a bundle must not take trust away.
 */
export async function loadEnvCaBundle(env: Env | undefined): Promise<string | undefined> {
  const bundle = readCaBundleEnv(env);
  if (bundle === undefined) return undefined;
  const pem = await readCaBundle(bundle.value, bundle.source);
  const nodeExtra = readNodeExtraCaCerts(env);
  if (nodeExtra === undefined) return pem;
  // Node itself only warns when this file cannot be read; so does skipping it here.
  const extra = await readPemText(nodeExtra, "NODE_EXTRA_CA_CERTS").catch(() => "");
  if (!extra.includes("-----BEGIN CERTIFICATE-----")) return pem;
  if (lastJoined?.extra !== extra || lastJoined.pem !== pem) {
    lastJoined = { extra, pem, text: `${extra}\n${pem}` };
  }
  return lastJoined.text;
}

let lastJoined: { extra: string; pem: string; text: string } | undefined;

/**
 * Reads the TLS files named by the credentials (undefined when no TLS option is set). With
 * verification on and no `MLFLOW_TRACKING_SERVER_CERT_PATH`, a CA bundle from the environment
 * (`REQUESTS_CA_BUNDLE`, then `CURL_CA_BUNDLE`, then `SSL_CERT_FILE`) is added to Node's roots.
 */
export async function loadTlsMaterial(
  creds: MlflowHostCreds,
  env: Env | undefined,
): Promise<TlsMaterial | undefined> {
  const envCa =
    creds.serverCertPath || creds.ignoreTlsVerification ? undefined : await loadEnvCaBundle(env);
  if (
    !creds.serverCertPath &&
    !creds.clientCertPath &&
    !creds.ignoreTlsVerification &&
    envCa === undefined
  ) {
    return undefined;
  }
  const ca = creds.serverCertPath
    ? await readCaBundle(creds.serverCertPath, TRACKING_SERVER_CERT_PATH_ENV_VAR)
    : envCa;
  const caExtendsRoots = !creds.serverCertPath && envCa !== undefined;
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
  return { ca, caExtendsRoots, cert, key, rejectUnauthorized: !creds.ignoreTlsVerification };
}

const MAX_POOLS = 16;

/** A bounded map whose oldest entry is dropped (and closed) when it is full. */
class Pools<T> {
  readonly #entries = new Map<string, T>();
  constructor(private readonly close: (value: T) => void) {}

  get(key: string, create: () => T): T {
    let value = this.#entries.get(key);
    if (value === undefined) {
      value = create();
      if (this.#entries.size >= MAX_POOLS) {
        const [oldestKey, oldest] = this.#entries.entries().next().value as [string, T];
        this.#entries.delete(oldestKey);
        this.close(oldest);
      }
      this.#entries.set(key, value);
    }
    return value;
  }

  clear(): void {
    for (const value of this.#entries.values()) this.close(value);
    this.#entries.clear();
  }
}

// Digests of file contents, by content object (strings by value, buffers by identity): the file
// cache hands back the same objects while the files are unchanged.
const partDigests = new Map<string | Buffer, string>();

function partDigest(part: string | Buffer): string {
  if (part.length < 1024) return createHash("sha256").update(part).digest("hex");
  return (
    partDigests.get(part) ??
    remember(partDigests, part, createHash("sha256").update(part).digest("hex"), MAX_CACHED_FILES)
  );
}

function digestOf(parts: readonly (string | Buffer | undefined)[]): string {
  const digest = createHash("sha256");
  for (const part of parts) digest.update(part === undefined ? "-" : partDigest(part));
  return digest.digest("hex");
}

/** What identifies a TLS configuration (file contents, not paths). */
function tlsKey(material: TlsMaterial | undefined): string {
  return digestOf([
    material?.ca,
    material?.caExtendsRoots ? "roots+ca" : "ca",
    material?.cert,
    material?.key,
    material?.rejectUnauthorized === false ? "insecure" : "verify",
  ]);
}

/** Node's roots plus `extra` (what `REQUESTS_CA_BUNDLE` and friends mean here). */
function rootsPlus(extra: string): string[] {
  return [...tls.rootCertificates, extra];
}

// Building a context parses every CA certificate: done once per configuration, not per connection.
const secureContexts = new Pools<SecureContext | undefined>(() => undefined);

function secureContextFor(
  material: TlsMaterial | undefined,
  key: string,
): SecureContext | undefined {
  if (material?.ca === undefined && material?.cert === undefined) return undefined;
  return secureContexts.get(key, () => {
    try {
      return tls.createSecureContext({
        ...(material.ca !== undefined
          ? { ca: material.caExtendsRoots ? rootsPlus(material.ca) : material.ca }
          : {}),
        ...(material.cert !== undefined ? { cert: material.cert, key: material.key } : {}),
      });
    } catch (err) {
      throw new MlflowSecretsError(
        `Invalid TLS material: ${err instanceof Error ? err.message : String(err)}`,
        "INVALID_PARAMETER_VALUE",
        { cause: err },
      );
    }
  });
}

/** The TLS options for the origin's TLS session (direct, or inside a tunnel). */
interface OriginTls {
  readonly key: string;
  readonly secureContext: SecureContext | undefined;
  readonly rejectUnauthorized: boolean;
}

function originTls(material: TlsMaterial | undefined): OriginTls {
  const key = tlsKey(material);
  return {
    key,
    secureContext: secureContextFor(material, key),
    rejectUnauthorized: material?.rejectUnauthorized ?? true,
  };
}

const httpAgent = new http.Agent({ keepAlive: true });
const httpsAgents = new Pools<https.Agent>((agent) => agent.destroy());

function directAgent(url: URL, origin: OriginTls): http.Agent {
  if (url.protocol === "http:") return httpAgent;
  return httpsAgents.get(
    origin.key,
    () =>
      new https.Agent({
        keepAlive: true,
        ...(origin.secureContext ? { secureContext: origin.secureContext } : {}),
        rejectUnauthorized: origin.rejectUnauthorized,
      }),
  );
}

/**
 * How to verify an `https://` proxy: Node's roots plus the environment's CA bundle. The tracking
 * server's own TLS settings (its CA path, client certificate, insecure flag) are not the proxy's.
 */
export interface ProxyTls {
  /** PEM certificates added to Node's roots. */
  readonly extraCa?: string;
}

function proxyKey(route: ProxyRoute, proxyTls: ProxyTls): string {
  return digestOf([route.url.href, route.username, route.password, proxyTls.extraCa]);
}

function proxyCa(route: ProxyRoute, proxyTls: ProxyTls): { ca?: string[] } {
  return route.url.protocol === "https:" && proxyTls.extraCa !== undefined
    ? { ca: rootsPlus(proxyTls.extraCa) }
    : {};
}

function proxyHeaders(route: ProxyRoute): Record<string, string> {
  const authorization = proxyAuthorization(route);
  return authorization ? { "Proxy-Authorization": authorization } : {};
}

/** An agent that opens `CONNECT` tunnels (see {@link loadTunnelAgent}). */
type TunnelAgent = HttpsProxyAgent<string>;
type TunnelAgentClass = new (route: ProxyRoute, proxyTls: ProxyTls) => TunnelAgent;
let TunnelAgentClass: TunnelAgentClass | undefined;

/**
 * `https-proxy-agent`, loaded by the first request that goes through a proxy (it costs ~100 ms to
 * load, which nobody without a proxy should pay), with failures of the proxy told apart from
 * failures of the origin: anything that goes wrong before the tunnel is open, or a tunnel the
 * proxy refuses, is a {@link ProxyError}.
 */
async function loadTunnelAgent(): Promise<TunnelAgentClass> {
  if (TunnelAgentClass !== undefined) return TunnelAgentClass;
  const { HttpsProxyAgent } = await import("https-proxy-agent");
  class ProxyTunnelAgent extends HttpsProxyAgent<string> {
    constructor(
      private readonly route: ProxyRoute,
      proxyTls: ProxyTls,
    ) {
      super(route.url.href, {
        keepAlive: true,
        headers: proxyHeaders(route),
        ...proxyCa(route, proxyTls),
      });
    }

    override async connect(
      req: http.ClientRequest,
      opts: Parameters<HttpsProxyAgent<string>["connect"]>[1],
    ): Promise<Socket> {
      let answer: { statusCode?: number; statusText?: string } | undefined;
      const onProxyConnect = (connect: { statusCode?: number; statusText?: string }): void => {
        answer = connect;
      };
      req.once("proxyConnect", onProxyConnect);
      // The request's timeout bounds reaching the proxy and its CONNECT answer: the library has no
      // timeout of its own, so its socket to the proxy gets an abort signal (read synchronously by
      // `super.connect`, before its first await) that the timer fires.
      const timeoutMs = typeof opts.timeout === "number" ? opts.timeout : undefined;
      const abort = new AbortController();
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => abort.abort(new RequestTimeoutError(timeoutMs)), timeoutMs);
      const connectOpts = this.connectOpts as { signal?: AbortSignal };
      let pending: Promise<Socket>;
      connectOpts.signal = abort.signal;
      try {
        pending = super.connect(req, opts);
      } finally {
        delete connectOpts.signal;
      }
      let socket: Socket;
      try {
        socket = await pending;
      } catch (err) {
        throw unreachableProxy(this.route, abort.signal.aborted ? abort.signal.reason : err);
      } finally {
        clearTimeout(timer);
        req.off("proxyConnect", onProxyConnect);
      }
      if (answer?.statusCode !== 200) {
        socket.destroy();
        throw refusedTunnel(this.route, answer?.statusCode, answer?.statusText);
      }
      return socket;
    }
  }
  TunnelAgentClass = ProxyTunnelAgent;
  return TunnelAgentClass;
}

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}

function unreachableProxy(route: ProxyRoute, err: unknown): ProxyError {
  if (err instanceof ProxyError) return err;
  const code = errorCode(err);
  const timedOut = err instanceof RequestTimeoutError;
  // A system error (a code) is safe to keep; any other message may quote the proxy's answer, which
  // may echo our Proxy-Authorization: kept only when plainly free of it, and never as the cause.
  const message = err instanceof Error ? err.message : String(err);
  const plain = /authori[sz]ation|basic |bearer /i.test(message)
    ? undefined
    : scrubSecrets(message.slice(0, 120), [
        route.password,
        proxyAuthorization(route)?.replace(/^Basic /, ""),
      ]);
  const reason = timedOut
    ? `no answer within ${err.timeoutMs / 1000} seconds`
    : (code ?? plain ?? "an invalid answer");
  const advice = isTlsError(err)
    ? "The proxy's certificate is checked against Node's CAs plus REQUESTS_CA_BUNDLE, " +
      "CURL_CA_BUNDLE or SSL_CERT_FILE (not MLFLOW_TRACKING_SERVER_CERT_PATH, which is the server's)."
    : "Check that the proxy is up, or list the tracking server's host in NO_PROXY to connect directly.";
  return new ProxyError(
    `Cannot connect to the proxy ${proxyLabel(route)}: ${reason}. ${advice}`,
    route,
    undefined,
    code !== undefined || timedOut ? { cause: err } : undefined,
  );
}

function refusedTunnel(
  route: ProxyRoute,
  status: number | undefined,
  statusText: string | undefined,
): ProxyError {
  // The reason phrase is the proxy's text: shown only when it is a plain phrase, so that a proxy
  // echoing the request (with its Proxy-Authorization) cannot put a credential into the message.
  const phrase = statusText?.trim();
  const answer = `${status ?? "no status"}${phrase && /^[\w .,'()/-]{1,60}$/.test(phrase) && !/basic|bearer|authori[sz]ation/i.test(phrase) ? ` ${phrase}` : ""}`;
  // 407 is the standard answer; some proxies (tinyproxy) answer 401 to wrong credentials.
  const hint =
    status === 407 || (status === 401 && route.username !== undefined)
      ? route.username === undefined
        ? ": it requires credentials; put them in the proxy URL (http://user:password@host:port)"
        : ": it rejected the credentials in the proxy URL"
      : "";
  return new ProxyError(
    `The proxy ${proxyLabel(route)} refused the connection with ${answer}${hint}`,
    route,
    status,
  );
}

const tunnelAgents = new Pools<TunnelAgent>((agent) => agent.destroy());
const forwardAgents = new Pools<http.Agent>((agent) => agent.destroy());

function tunnelAgent(route: ProxyRoute, proxyTls: ProxyTls, origin: OriginTls): TunnelAgent {
  // One pool per proxy and origin TLS configuration: pooled tunnels never cross configurations.
  return tunnelAgents.get(
    `${proxyKey(route, proxyTls)}:${origin.key}`,
    () => new TunnelAgentClass!(route, proxyTls),
  );
}

function forwardAgent(route: ProxyRoute, proxyTls: ProxyTls): http.Agent {
  return forwardAgents.get(proxyKey(route, proxyTls), () =>
    route.url.protocol === "https:"
      ? new https.Agent({ keepAlive: true, ...proxyCa(route, proxyTls) })
      : new http.Agent({ keepAlive: true }),
  );
}

/** Closes every pooled connection (tests; a process exits fine without it). */
export function closeIdleConnections(): void {
  httpAgent.destroy();
  httpsAgents.clear();
  tunnelAgents.clear();
  forwardAgents.clear();
}

/** The name the origin's certificate must carry: its host, whatever connection carries the TLS. */
function originIdentityCheck(hostname: string) {
  const host = hostname.replace(/^\[(.*)\]$/, "$1");
  // https-proxy-agent opens the origin's TLS session without a host name (and, for an address,
  // without a servername), so Node would check the certificate against "localhost".
  return (_ignored: string, cert: PeerCertificate): Error | undefined =>
    tls.checkServerIdentity(host, cert);
}

/** Options of {@link sendOnce}. */
interface SendOptions {
  readonly tls: TlsMaterial | undefined;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /** The proxy to go through (none: a direct connection). */
  readonly proxy?: ProxyRoute;
  /** How to verify an `https://` proxy (default: Node's roots). */
  readonly proxyTls?: ProxyTls;
}

function requestOptions(
  request: WireRequest,
  options: SendOptions,
): { send: typeof http.request; target: URL | string; init: https.RequestOptions } {
  const { url } = request;
  const origin = originTls(options.tls);
  const common = {
    method: request.method,
    ...(options.signal ? { signal: options.signal } : {}),
  };
  const route = options.proxy;
  if (route === undefined) {
    return {
      send: url.protocol === "https:" ? https.request : http.request,
      target: url,
      init: { ...common, headers: request.headers, agent: directAgent(url, origin) },
    };
  }
  const proxyTls = options.proxyTls ?? {};
  if (url.protocol === "https:") {
    const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
    return {
      send: https.request,
      target: url,
      init: {
        ...common,
        headers: request.headers,
        agent: tunnelAgent(route, proxyTls, origin),
        timeout: options.timeoutMs,
        ...(origin.secureContext ? { secureContext: origin.secureContext } : {}),
        rejectUnauthorized: origin.rejectUnauthorized,
        ...(isIP(hostname) === 0 ? { servername: hostname } : {}),
        checkServerIdentity: originIdentityCheck(url.hostname),
      },
    };
  }
  // Plain http: the whole request goes to the proxy, the absolute URL as its target.
  return {
    send: route.url.protocol === "https:" ? https.request : http.request,
    target: route.url,
    init: {
      ...common,
      path: url.href,
      headers: { ...request.headers, host: url.host, ...lowerCased(proxyHeaders(route)) },
      agent: forwardAgent(route, proxyTls),
    },
  };
}

function lowerCased(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

/**
 * Sends one request and resolves with the response head (the body still streaming). The timeout is
 * per socket inactivity — connecting, sending and waiting — like `requests`' timeout; through a
 * proxy it also bounds reaching the proxy and opening the tunnel.
 */
export async function sendOnce(
  request: WireRequest,
  options: SendOptions,
): Promise<IncomingMessage> {
  // A pooled keep-alive connection the server (or a proxy such as tinyproxy) closed without saying
  // so fails when reused, before anything was answered: that is no failed request, so it is sent
  // again on another connection (Node's documented remedy), whatever the retry settings — unless
  // its body was a stream, already consumed.
  const replayable = !(request.body instanceof Readable);
  if (options.proxy !== undefined && request.url.protocol === "https:") await loadTunnelAgent();
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await sendOnAConnection(request, options);
    } catch (err) {
      if (!(err instanceof StaleConnectionError)) throw err;
      if (!replayable || attempt >= MAX_STALE_CONNECTIONS) throw err.cause;
    }
  }
}

/** The most dead pooled connections tried in a row before the error is reported. */
const MAX_STALE_CONNECTIONS = 4;

/** The request failed on a reused connection before any answer (see {@link sendOnce}). */
class StaleConnectionError extends Error {
  constructor(override readonly cause: Error) {
    super("stale pooled connection", { cause });
  }
}

function sendOnAConnection(request: WireRequest, options: SendOptions): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const route = options.proxy;
    let settled = false;
    // Until the connection to the proxy is up (and, for https, the tunnel open), a failure is the
    // proxy's.
    let reachedProxy = route === undefined;
    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      const error = err instanceof Error ? err : new Error(String(err));
      if (req?.reusedSocket && STALE_CONNECTION_CODES.has(errorCode(error) ?? "")) {
        reject(new StaleConnectionError(error));
        return;
      }
      reject(
        route !== undefined && !reachedProxy && !(error instanceof ProxyError)
          ? unreachableProxy(route, error)
          : error,
      );
    };
    let req: http.ClientRequest | undefined;
    let connectTimer: NodeJS.Timeout | undefined;
    try {
      const { send, target, init } = requestOptions(request, options);
      req = send(target, init);
    } catch (err) {
      fail(err);
      return;
    }
    if (route !== undefined) {
      // The socket inactivity timeout starts only once a socket exists; a proxy that accepts the
      // connection and never answers the CONNECT would otherwise hang the request.
      connectTimer = setTimeout(() => {
        // Without a socket, destroying the request emits nothing yet: answer now.
        const timeout = new RequestTimeoutError(options.timeoutMs);
        req.destroy(timeout);
        fail(timeout);
      }, options.timeoutMs);
      req.once("socket", (socket: Socket) => {
        clearTimeout(connectTimer);
        // A tunnel is open when its socket arrives; a forwarding connection once it is connected
        // (over TLS to an https:// proxy: once that handshake is done), unless it is a pooled one.
        if (request.url.protocol === "https:" || !socket.connecting) reachedProxy = true;
        else {
          const ready = route.url.protocol === "https:" ? "secureConnect" : "connect";
          socket.once(ready, () => (reachedProxy = true));
        }
      });
    }
    req.setTimeout(options.timeoutMs, () =>
      req.destroy(new RequestTimeoutError(options.timeoutMs)),
    );
    req.on("error", fail);
    req.on("response", (res) => {
      clearTimeout(connectTimer);
      if (settled) {
        res.resume();
        return;
      }
      if (route !== undefined && request.url.protocol === "http:" && res.statusCode === 407) {
        // A forwarding proxy asking for credentials answers in place of the origin.
        res.resume();
        fail(refusedTunnel(route, 407, res.statusMessage));
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

const STALE_CONNECTION_CODES = new Set(["ECONNRESET", "EPIPE"]);

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
