/**
 * Which proxy a request goes through, decided exactly as MLflow's Python client decides it: by
 * `requests` (`should_bypass_proxies`, then `select_proxy`) on top of Python's `urllib`
 * (`getproxies_environment`, `proxy_bypass_environment`). Both layers of `NO_PROXY` matching are
 * kept, because together they define what a `NO_PROXY` entry means to an MLflow user:
 *
 * - `requests`: for an IPv4 host, an entry matches when it is that address or a CIDR block holding
 *   it; for any other host, when it is the host (or `host:port`, when the URL names a port) or a
 *   domain it ends in, with or without a leading dot.
 * - `urllib`: `*` alone matches everything; otherwise the same suffix rules, case-insensitively.
 *
 * No I/O here: the environment arrives parsed (`readProxyEnv`), the connection is the transport's.
 */
import { readProxyEnv, type Env, type ProxyEnv } from "../config.js";
import { invalidParameter } from "../errors.js";
import { SECRET_MASK } from "./redact.js";

/** The proxy chosen for a request. */
export interface ProxyRoute {
  /** The proxy's URL without credentials (`http:` or `https:`). */
  readonly url: URL;
  /** Decoded credentials from the proxy URL, sent as `Proxy-Authorization: Basic …`. */
  readonly username?: string;
  readonly password?: string;
  /** The variable that named it (`HTTPS_PROXY`, `https_proxy`, `ALL_PROXY`, …). */
  readonly source: string;
}

/** The proxy's URL for display: the user name kept, the password masked. */
export function maskedProxyUrl(route: ProxyRoute): string {
  const url = new URL(route.url.href);
  if (route.username !== undefined) {
    url.username = encodeURIComponent(route.username);
    if (route.password) url.password = SECRET_MASK;
  }
  return url.href;
}

/** The proxy's address for messages: no credentials, no path. */
export function proxyLabel(route: ProxyRoute): string {
  return `${route.url.protocol}//${route.url.host} (from ${route.source})`;
}

/**
 * The value `socket.inet_aton` gives for an IPv4 address written as C's `inet_aton` accepts it
 * (1 to 4 parts, each decimal, `0x` hex or `0` octal), or `undefined`.
 */
export function parseInetAton(text: string): number | undefined {
  if (text === "") return undefined;
  const parts = text.split(".");
  if (parts.length > 4) return undefined;
  const values: number[] = [];
  for (const part of parts) {
    let value: number;
    if (/^0[xX][0-9a-fA-F]*$/.test(part)) value = part.length === 2 ? 0 : parseInt(part, 16);
    else if (/^0[0-7]*$/.test(part)) value = parseInt(part, 8);
    else if (/^[1-9][0-9]*$/.test(part)) value = parseInt(part, 10);
    else return undefined;
    if (!Number.isSafeInteger(value)) return undefined;
    values.push(value);
  }
  // The last part fills the remaining bytes.
  const last = values.pop()!;
  if (values.some((v) => v > 0xff) || last >= 2 ** (8 * (4 - values.length))) return undefined;
  let address = 0;
  values.forEach((v, i) => (address += v * 2 ** (8 * (3 - i))));
  return address + last;
}

/** `requests.utils.is_valid_cidr`: `address/bits` with bits 1–32 and an `inet_aton` address. */
function parseCidr(entry: string): { network: number; bits: number } | undefined {
  const slash = entry.split("/");
  if (slash.length !== 2) return undefined;
  // Python's int() accepts a sign and digit-group underscores.
  if (!/^[+-]?\d+(?:_\d+)*$/.test(slash[1]!)) return undefined;
  const bits = Number(slash[1]!.replace(/_/g, ""));
  if (bits < 1 || bits > 32) return undefined;
  const network = parseInetAton(slash[0]!);
  return network === undefined ? undefined : { network, bits };
}

function inNetwork(address: number, cidr: { network: number; bits: number }): boolean {
  const mask = cidr.bits === 32 ? 0xffffffff : (0xffffffff ^ (2 ** (32 - cidr.bits) - 1)) >>> 0;
  return (address & mask) >>> 0 === (cidr.network & mask) >>> 0;
}

/** Python's `str.lstrip(".")`. */
function stripLeadingDots(text: string): string {
  return text.replace(/^\.+/, "");
}

/** The host as Python's `urlparse(url).hostname` gives it: lower case, IPv6 without brackets. */
function hostnameOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();
}

/**
 * The port written in the URL (`urlparse(url).port`): `https://h:443/` names 443 even though a
 * WHATWG `URL` drops it as the default.
 */
function explicitPort(rawUrl: string, url: URL): string | undefined {
  const match = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?(?:\[[^\]]*\]|[^:/?#]*):(\d+)/i.exec(rawUrl);
  const port = match?.[1] ?? url.port;
  return port && Number(port) !== 0 ? String(Number(port)) : undefined;
}

/** `requests.utils.should_bypass_proxies` (both layers, see the module comment). */
export function shouldBypassProxies(url: URL, rawUrl: string, proxyEnv: ProxyEnv): boolean {
  const hostname = hostnameOf(url);
  if (hostname === "") return true;
  const noProxy = proxyEnv.noProxy?.value;
  if (noProxy) {
    const entries = noProxy.replace(/ /g, "").split(",").filter(Boolean);
    const address = parseInetAton(hostname);
    if (address !== undefined) {
      for (const entry of entries) {
        const cidr = parseCidr(entry);
        if (cidr ? inNetwork(address, cidr) : hostname === entry) return true;
      }
    } else {
      const port = explicitPort(rawUrl, url);
      const hostWithPort = port ? `${hostname}:${port}` : hostname;
      for (const entry of entries) {
        const name = stripLeadingDots(entry);
        if (hostname === name || hostWithPort === name) return true;
        if (hostname.endsWith(`.${name}`) || hostWithPort.endsWith(`.${name}`)) return true;
      }
    }
  }
  return urllibBypass(hostname, proxyEnv.proxies.get("no")?.value);
}

/** Python's `urllib.request.proxy_bypass_environment(host)`. */
function urllibBypass(hostname: string, noProxy: string | undefined): boolean {
  if (noProxy === undefined) return false;
  if (noProxy === "*") return true;
  const host = hostname.toLowerCase();
  // urllib's _splitport: a trailing `:digits` is a port (which, for an IPv6 address, cuts it).
  const split = /^([\s\S]*):([0-9]+)$/.exec(host);
  const hostOnly = split ? split[1]! : host;
  for (const raw of noProxy.split(",")) {
    const trimmed = raw.trim();
    if (trimmed === "") continue;
    const name = stripLeadingDots(trimmed).toLowerCase();
    if (hostOnly === name || host === name) return true;
    if (hostOnly.endsWith(`.${name}`) || host.endsWith(`.${name}`)) return true;
  }
  return false;
}

/** Parses a proxy URL as `requests` does (`http://` is assumed when no scheme is written). */
function parseProxyUrl(value: string, source: string): ProxyRoute {
  // urllib3's rule: a leading `name:` is a scheme (so `localhost:3128` has scheme `localhost`).
  const text = /^(?:[a-zA-Z][a-zA-Z0-9+-]*:|\/)/.test(value)
    ? value.startsWith("//")
      ? `http:${value}`
      : value
    : `http://${value}`;
  const scheme = /^([a-zA-Z][a-zA-Z0-9+-]*):/.exec(text)?.[1]?.toLowerCase();
  if (scheme !== "http" && scheme !== "https") {
    // The value is not quoted: a mistyped proxy URL may hold its password.
    const hint = scheme?.startsWith("socks")
      ? "SOCKS proxies are not supported"
      : "write the proxy URL as http://host:port or https://host:port";
    throw invalidParameter(`${source} names a proxy this client cannot use: ${hint}`);
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalidParameter(`${source} is not a valid proxy URL`);
  }
  if (url.hostname === "") throw invalidParameter(`${source} is not a valid proxy URL (no host)`);
  const decode = (part: string): string => {
    try {
      return decodeURIComponent(part);
    } catch {
      return part;
    }
  };
  // `requests` (get_auth_from_url) sends Proxy-Authorization only when the URL has a user name
  // and a password part (`user:@host` counts, `user@host` does not).
  const userInfo = /^[a-z][a-z0-9+-]*:\/\/([^@/?#]*)@/i.exec(text)?.[1];
  const hasPassword = userInfo?.includes(":") ?? false;
  const username = url.username && hasPassword ? decode(url.username) : undefined;
  const password = username !== undefined ? decode(url.password) : undefined;
  url.username = "";
  url.password = "";
  url.pathname = "/";
  url.search = "";
  url.hash = "";
  return {
    url,
    source,
    ...(username !== undefined ? { username, password } : {}),
  };
}

/**
 * The proxy for a request to `url` (`rawUrl` as written, for its explicit port), or `undefined`
 * for a direct connection: `NO_PROXY` first, then the variable for the URL's scheme
 * (`https_proxy` / `HTTPS_PROXY`, `http_proxy` / `HTTP_PROXY`), then `all_proxy` / `ALL_PROXY`.
 *
 * @example
 * ```ts
 * const env = { HTTPS_PROXY: "http://proxy.corp:3128", NO_PROXY: ".internal,10.0.0.0/8" };
 * proxyFor(new URL("https://mlflow.example.com/api"), "https://mlflow.example.com/api", env)?.source;
 * // "HTTPS_PROXY"
 * proxyFor(new URL("https://10.1.2.3/api"), "https://10.1.2.3/api", env); // undefined
 * ```
 */
export function proxyFor(url: URL, rawUrl: string, env: Env | undefined): ProxyRoute | undefined {
  const proxyEnv = readProxyEnv(env);
  if (proxyEnv.proxies.size === 0) return undefined;
  if (shouldBypassProxies(url, rawUrl, proxyEnv)) return undefined;
  const scheme = url.protocol.replace(/:$/, "");
  const chosen = proxyEnv.proxies.get(scheme) ?? proxyEnv.proxies.get("all");
  return chosen ? parseProxyUrl(chosen.value, chosen.source) : undefined;
}

/** The `Proxy-Authorization` value (ISO-8859-1 bytes when possible, as `requests` encodes them). */
export function proxyAuthorization(route: ProxyRoute): string | undefined {
  if (route.username === undefined) return undefined;
  const text = `${route.username}:${route.password ?? ""}`;
  const encoding = [...text].every((c) => c.charCodeAt(0) <= 0xff) ? "latin1" : "utf8";
  return `Basic ${Buffer.from(text, encoding).toString("base64")}`;
}
