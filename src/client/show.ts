/**
 * What `creds show` prints: the auth mode a request would use and where each field comes from,
 * the proxy and CA bundle it would use, every secret masked. Nothing is sent over the network and
 * no provider module is loaded.
 */
import { access, stat } from "node:fs/promises";
import {
  readAwsEnv,
  readCaBundleEnv,
  readProxyEnv,
  readEnvString,
  TRACKING_AUTH_PROVIDER_MODULE_ENV_VAR,
  type Env,
} from "../config.js";
import { isKubernetesAuth, knownRequestAuthProviders } from "./auth-providers.js";
import { resolveHostCreds } from "./creds.js";
import type { ResolvedHostCreds } from "./host-creds.js";
import { netrcCredentialsFor, type NetrcCredentials } from "./netrc.js";
import { DATABRICKS_OAUTH_SCOPE, DATABRICKS_OAUTH_TOKEN_PATH } from "./oauth.js";
import { maskedProxyUrl, proxyFor, shouldBypassProxies } from "./proxy.js";
import { SECRET_MASK, hideUserInfo } from "./redact.js";
import { resolveAwsRegion } from "./sigv4.js";

/** One line of the report. */
interface CredsReportField {
  readonly field: string;
  /** The value, masked for secrets; `undefined` when not set. */
  readonly value: string | undefined;
  readonly source: string | undefined;
}

/** The whole report. */
interface CredsReport {
  readonly trackingUri: string;
  readonly authMode: string;
  readonly fields: readonly CredsReportField[];
  readonly notes: readonly string[];
}

async function readable(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

async function describeAuth(
  resolved: ResolvedHostCreds,
  env: Env | undefined,
  notes: string[],
  netrc: NetrcCredentials | undefined,
): Promise<string> {
  const { creds } = resolved;
  const basic = Boolean(creds.username && creds.password);
  const bearer = Boolean(creds.token || creds.tokenFile);
  if (creds.awsSigv4) {
    const region = await resolveAwsRegion(env).catch(() => undefined);
    const aws = readAwsEnv(env);
    const credentialSource =
      aws.accessKeyId && aws.secretAccessKey && aws.profile === undefined
        ? "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY"
        : `the AWS default credential chain${aws.profile ? ` (profile ${aws.profile})` : ""}`;
    if (basic || bearer) notes.push("SigV4 replaces the Basic/Bearer Authorization header.");
    if (creds.auth) notes.push(`MLFLOW_TRACKING_AUTH=${creds.auth} is ignored while SigV4 is on.`);
    return (
      `AWS SigV4 (service ${creds.awsSigv4Service ?? "execute-api"}, region ` +
      `${region ? `${region.region} from ${region.source}` : "NOT SET: set AWS_REGION"}, ` +
      `credentials from ${credentialSource})`
    );
  }
  if (creds.auth) {
    const kubernetes = isKubernetesAuth(creds.auth);
    const module = readEnvString(env, TRACKING_AUTH_PROVIDER_MODULE_ENV_VAR);
    const known = knownRequestAuthProviders().includes(creds.auth);
    if (!known && module === undefined) {
      notes.push(
        `No provider named '${creds.auth}' is registered (known: ${knownRequestAuthProviders().join(", ")}); requests will fail.`,
      );
    }
    if (module !== undefined)
      notes.push(`Providers are loaded from ${module} on the first request.`);
    if (kubernetes && basic) notes.push("Username and password are ignored with Kubernetes auth.");
    if (kubernetes && bearer) return `bearer token (the explicit token wins over ${creds.auth})`;
    if (!kubernetes && (basic || bearer)) {
      notes.push(
        `The ${creds.auth} provider runs after the ${basic ? "Basic" : "Bearer"} header is set.`,
      );
    }
    return `auth provider '${creds.auth}'${kubernetes ? " (service-account token, else kubeconfig)" : ""}`;
  }
  if (basic) {
    if (bearer)
      notes.push("A token is also set; Basic wins when both username and password are set.");
    return "basic (username and password)";
  }
  if (creds.username || creds.password) {
    notes.push(
      `Only the ${creds.username ? "username" : "password"} is set, so Basic auth is not used.`,
    );
  }
  if (creds.tokenFile) {
    if (!(await readable(creds.tokenFile)))
      notes.push(`The token file ${creds.tokenFile} is not readable.`);
    return "bearer token (read from the token file on every request)";
  }
  if (creds.token) return "bearer token";
  if (creds.clientId) {
    const endpoint = `${creds.host.replace(/\/$/, "")}${DATABRICKS_OAUTH_TOKEN_PATH}`;
    return (
      `Databricks OAuth machine-to-machine (client-credentials grant at ${hideUserInfo(endpoint)}, ` +
      `scope ${DATABRICKS_OAUTH_SCOPE}; the token is kept in memory until shortly before it expires)`
    );
  }
  if (netrc !== undefined) {
    return `basic from .netrc (${netrc.path}, ${netrc.machine === "default" ? "the default entry" : `machine ${netrc.machine}`})`;
  }
  return "none (no credentials configured)";
}

/** `.netrc` credentials apply when no other credential does (as `requests` applies them). */
async function netrcFor(
  resolved: ResolvedHostCreds,
  env: Env | undefined,
  notes: string[],
): Promise<NetrcCredentials | undefined> {
  const { creds } = resolved;
  if (
    (creds.username && creds.password) ||
    creds.token ||
    creds.tokenFile ||
    creds.clientId ||
    creds.awsSigv4 ||
    creds.auth
  ) {
    return undefined;
  }
  const hostname = new URL(creds.host).hostname.replace(/^\[(.*)\]$/, "$1");
  const { credentials, warnings } = await netrcCredentialsFor(hostname, env);
  notes.push(...warnings.map((w) => w.message));
  if (credentials !== undefined && (creds.username || creds.password)) {
    notes.push(
      `The lone ${creds.username ? "username" : "password"} is replaced by the .netrc entry.`,
    );
  }
  return credentials;
}

/** The proxy line: the proxy `requests` would pick for the host, or why there is none. */
function proxyField(resolved: ResolvedHostCreds, env: Env | undefined): CredsReportField {
  const url = new URL(resolved.creds.host);
  let route;
  try {
    route = proxyFor(url, resolved.creds.host, env);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return { field: "proxy", value: `INVALID: ${reason}`, source: undefined };
  }
  if (route !== undefined) {
    return { field: "proxy", value: maskedProxyUrl(route), source: route.source };
  }
  const proxyEnv = readProxyEnv(env);
  const bypassed =
    proxyEnv.proxies.size > 0 && shouldBypassProxies(url, resolved.creds.host, proxyEnv);
  return bypassed
    ? {
        field: "proxy",
        value: "none (the host matches NO_PROXY)",
        source: proxyEnv.noProxy?.source ?? proxyEnv.proxies.get("no")?.source,
      }
    : { field: "proxy", value: "none (direct connection)", source: "default" };
}

/** Files named in the sources (`<path> [section] key`) that others can read. */
async function looseFiles(sources: readonly (string | undefined)[]): Promise<string[]> {
  const paths = new Set<string>();
  for (const source of sources) {
    const path = / \[[^\]]*\] \S+$/.test(source ?? "")
      ? source!.replace(/ \[[^\]]*\] \S+$/, "")
      : undefined;
    if (path !== undefined) paths.add(path);
  }
  const notes: string[] = [];
  for (const path of paths) {
    try {
      const mode = (await stat(path)).mode & 0o777;
      if ((mode & 0o077) !== 0) {
        notes.push(
          `${path} is readable by other users (mode ${mode.toString(8)}); run: chmod 600 ${path}`,
        );
      }
    } catch {
      /* gone since it was read */
    }
  }
  return notes;
}

/**
 * Resolves credentials for `trackingUri` and describes them without revealing any secret.
 *
 * @example
 * ```ts
 * const report = await describeHostCreds("https://mlflow.example.com");
 * console.log(formatCredsReport(report));
 * ```
 */
export async function describeHostCreds(
  trackingUri: string,
  options: { env: Env },
): Promise<CredsReport> {
  const resolved = await resolveHostCreds(trackingUri, options);
  const { creds, sources } = resolved;
  const notes: string[] = [];
  const netrc = await netrcFor(resolved, options.env, notes);
  const authMode = await describeAuth(resolved, options.env, notes, netrc);
  notes.push(
    ...(await looseFiles([
      sources.password,
      sources.token,
      sources.username,
      sources.clientSecret,
    ])),
  );
  const secret = (value: string | undefined): string | undefined =>
    value === undefined ? undefined : SECRET_MASK;
  const caBundle = readCaBundleEnv(options.env);
  const tls = creds.ignoreTlsVerification
    ? "verification OFF"
    : creds.serverCertPath
      ? `verify with CA bundle ${creds.serverCertPath}`
      : caBundle
        ? `verify with Node's CAs plus CA bundle ${caBundle.value}`
        : "verify with the system CAs";
  const tlsSource =
    sources.ignoreTlsVerification ??
    sources.serverCertPath ??
    (!creds.ignoreTlsVerification && caBundle ? caBundle.source : "default");
  const netrcSource = netrc
    ? `${netrc.path} ${netrc.machine === "default" ? "default" : `machine ${netrc.machine}`}`
    : undefined;
  const fields: CredsReportField[] = [
    { field: "host", value: creds.host, source: sources.host ?? "tracking URI" },
    netrc
      ? { field: "username", value: netrc.username, source: netrcSource }
      : { field: "username", value: creds.username, source: sources.username },
    netrc
      ? { field: "password", value: secret(netrc.password), source: netrcSource }
      : { field: "password", value: secret(creds.password), source: sources.password },
    { field: "token", value: secret(creds.token), source: sources.token },
    { field: "client id", value: creds.clientId, source: sources.clientId },
    { field: "client secret", value: secret(creds.clientSecret), source: sources.clientSecret },
    { field: "token file", value: creds.tokenFile, source: sources.tokenFile },
    { field: "aws sigv4", value: creds.awsSigv4 ? "on" : undefined, source: sources.awsSigv4 },
    { field: "auth provider", value: creds.auth, source: sources.auth },
    { field: "tls", value: tls, source: tlsSource },
    { field: "client cert", value: creds.clientCertPath, source: sources.clientCertPath },
    { field: "client key", value: creds.clientKeyPath, source: sources.clientKeyPath },
    { field: "workspace", value: creds.workspace, source: sources.workspace },
    proxyField(resolved, options.env),
  ];
  return { trackingUri: hideUserInfo(resolved.trackingUri), authMode, fields, notes };
}

/** The report as aligned text lines. */
export function formatCredsReport(report: CredsReport): string {
  const rows = report.fields.map((f) => [
    f.field,
    f.value ?? "-",
    f.value === undefined ? "" : (f.source ?? ""),
  ]);
  const width0 = Math.max(...rows.map((r) => r[0]!.length));
  const width1 = Math.max(...rows.map((r) => r[1]!.length));
  const lines = [
    `Tracking URI: ${report.trackingUri}`,
    `Auth mode:    ${report.authMode}`,
    "",
    ...rows.map(([field, value, source]) =>
      `  ${field!.padEnd(width0)}  ${value!.padEnd(width1)}  ${source}`.trimEnd(),
    ),
  ];
  if (report.notes.length > 0) lines.push("", ...report.notes.map((n) => `Note: ${n}`));
  return `${lines.join("\n")}\n`;
}
