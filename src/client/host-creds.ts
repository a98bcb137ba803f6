/**
 * `MlflowHostCreds`: where a tracking server is and how to authenticate to it, validated on
 * construction as MLflow validates its `MlflowHostCreds`, then frozen.
 */
import { inspect } from "node:util";
import { invalidParameter } from "../errors.js";
import { SECRET_MASK, redactUrl } from "./redact.js";

/** The fields of {@link MlflowHostCreds}; everything but `host` is optional. */
export interface MlflowHostCredsInit {
  /** The server's base URL, `http://` or `https://`. */
  host: string;
  username?: string;
  password?: string;
  /** A bearer token. */
  token?: string;
  /** Ours: a file holding the bearer token, read again on every request. */
  tokenFile?: string;
  /** Sign requests with AWS SigV4 (credentials and region from the AWS chain). */
  awsSigv4?: boolean;
  /** Ours: the SigV4 service name (default `execute-api`). */
  awsSigv4Service?: string;
  /** The name of a request auth provider (`MLFLOW_TRACKING_AUTH`). */
  auth?: string;
  /** Skip TLS certificate verification. */
  ignoreTlsVerification?: boolean;
  /** A PEM file with the client certificate (and its key, unless `clientKeyPath`). */
  clientCertPath?: string;
  /** Ours: a PEM file with the client certificate's private key. */
  clientKeyPath?: string;
  /** A PEM CA bundle (file or directory) to verify the server's certificate with. */
  serverCertPath?: string;
  /** The MLflow workspace, sent as `X-MLFLOW-WORKSPACE`. */
  workspace?: string;
  /**
   * A Databricks OAuth client (service principal) ID: with `clientSecret`, requests carry a token
   * from the client-credentials grant at `{host}/oidc/v1/token` (OAuth machine-to-machine).
   */
  clientId?: string;
  /** The OAuth client's secret. */
  clientSecret?: string;
}

const INSECURE_WITH_CA_MESSAGE =
  "When 'ignore_tls_verification' is true then 'server_cert_path' must not be set! This error " +
  "may have occurred because the 'MLFLOW_TRACKING_INSECURE_TLS' and " +
  "'MLFLOW_TRACKING_SERVER_CERT_PATH' environment variables are both set - only one of these " +
  "environment variables may be set.";

/** `host` without its `user:password@` part, otherwise as written (no trailing-slash changes). */
function stripUserInfo(host: string, withoutUserInfo: URL): string {
  const at = host.indexOf("@", host.indexOf("//") + 2);
  const rest = at === -1 ? "" : host.slice(at + 1);
  return rest.startsWith(withoutUserInfo.host)
    ? `${withoutUserInfo.protocol}//${rest}`
    : withoutUserInfo.href;
}

function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw invalidParameter(`${field} must be a string`);
  return value;
}

/**
 * Credentials for one MLflow tracking server. Secrets (`password`, `token`, `clientSecret`) are held in private
 * fields: `JSON.stringify`, `console.log` and `util.inspect` show them masked.
 *
 * @example
 * ```ts
 * const creds = new MlflowHostCreds({ host: "https://mlflow.example.com", token: "…" });
 * const res = await httpRequest(creds, "/api/2.0/mlflow/experiments/search", "POST", {
 *   json: { max_results: 10 },
 * });
 * ```
 */
export class MlflowHostCreds {
  readonly host: string;
  readonly username: string | undefined;
  readonly tokenFile: string | undefined;
  readonly awsSigv4: boolean;
  readonly awsSigv4Service: string | undefined;
  readonly auth: string | undefined;
  readonly ignoreTlsVerification: boolean;
  readonly clientCertPath: string | undefined;
  readonly clientKeyPath: string | undefined;
  readonly serverCertPath: string | undefined;
  readonly workspace: string | undefined;
  readonly clientId: string | undefined;
  readonly #password: string | undefined;
  readonly #token: string | undefined;
  readonly #clientSecret: string | undefined;

  constructor(init: MlflowHostCredsInit) {
    const host = optionalString(init?.host, "host");
    if (!host) throw invalidParameter("host is a required parameter for MlflowHostCreds");
    let url: URL;
    try {
      url = new URL(host);
    } catch {
      throw invalidParameter(`host must be an http:// or https:// URL, got '${redactUrl(host)}'`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw invalidParameter(`host must be an http:// or https:// URL, got '${redactUrl(host)}'`);
    }
    if (init.ignoreTlsVerification && init.serverCertPath !== undefined) {
      throw invalidParameter(INSECURE_WITH_CA_MESSAGE);
    }
    const token = optionalString(init.token, "token");
    const tokenFile = optionalString(init.tokenFile, "tokenFile");
    if (token && tokenFile) throw invalidParameter("Set only one of token and tokenFile");
    const clientCertPath = optionalString(init.clientCertPath, "clientCertPath");
    const clientKeyPath = optionalString(init.clientKeyPath, "clientKeyPath");
    if (clientKeyPath && !clientCertPath) {
      throw invalidParameter(
        "clientKeyPath (MLFLOW_TRACKING_CLIENT_KEY_PATH) needs clientCertPath (MLFLOW_TRACKING_CLIENT_CERT_PATH)",
      );
    }
    // Credentials written into the URL (`https://user:pass@host`) are taken out of `host`, so it
    // can be shown, and used for Basic auth when no username and password are given.
    const clientId = optionalString(init.clientId, "clientId") || undefined;
    const clientSecret = optionalString(init.clientSecret, "clientSecret") || undefined;
    if (Boolean(clientId) !== Boolean(clientSecret)) {
      throw invalidParameter("clientId and clientSecret (OAuth) must be set together");
    }
    if (clientId && url.protocol !== "https:") {
      // The token endpoint would receive the client secret in clear text.
      throw invalidParameter("OAuth client credentials need an https:// host");
    }
    const urlUsername = decodeURIComponent(url.username);
    const urlPassword = decodeURIComponent(url.password);
    url.username = "";
    url.password = "";
    const username = optionalString(init.username, "username");
    const password = optionalString(init.password, "password");
    const fromUrl = !username && !password && urlUsername !== "";
    this.host = urlUsername || urlPassword ? stripUserInfo(host, url) : host;
    this.username = fromUrl ? urlUsername : username;
    this.#password = fromUrl ? urlPassword || undefined : password;
    this.#token = token;
    this.tokenFile = tokenFile;
    this.awsSigv4 = Boolean(init.awsSigv4);
    this.awsSigv4Service = optionalString(init.awsSigv4Service, "awsSigv4Service");
    this.auth = optionalString(init.auth, "auth");
    this.ignoreTlsVerification = Boolean(init.ignoreTlsVerification);
    this.clientCertPath = clientCertPath;
    this.clientKeyPath = clientKeyPath;
    this.serverCertPath = optionalString(init.serverCertPath, "serverCertPath");
    this.workspace = optionalString(init.workspace, "workspace");
    this.clientId = clientId;
    this.#clientSecret = clientSecret;
    Object.freeze(this);
  }

  /** The password for Basic auth. */
  get password(): string | undefined {
    return this.#password;
  }

  /** The bearer token given directly (see `tokenFile` for one read per request). */
  get token(): string | undefined {
    return this.#token;
  }

  /** The OAuth client secret (with `clientId`). */
  get clientSecret(): string | undefined {
    return this.#clientSecret;
  }

  /** The fields with every secret masked (what `JSON.stringify` prints). */
  toJSON(): Record<string, unknown> {
    return {
      host: this.host,
      username: this.username,
      password: this.#password === undefined ? undefined : SECRET_MASK,
      token: this.#token === undefined ? undefined : SECRET_MASK,
      tokenFile: this.tokenFile,
      awsSigv4: this.awsSigv4,
      awsSigv4Service: this.awsSigv4Service,
      auth: this.auth,
      ignoreTlsVerification: this.ignoreTlsVerification,
      clientCertPath: this.clientCertPath,
      clientKeyPath: this.clientKeyPath,
      serverCertPath: this.serverCertPath,
      workspace: this.workspace,
      clientId: this.clientId,
      clientSecret: this.#clientSecret === undefined ? undefined : SECRET_MASK,
    };
  }

  [inspect.custom](): string {
    return `MlflowHostCreds ${inspect(this.toJSON())}`;
  }
}

/** Where a resolved field came from: a variable name, or a file, section and key. */
export type CredSources = Partial<Record<keyof MlflowHostCredsInit, string>>;

/** Host credentials with the origin of each field. */
export interface ResolvedHostCreds {
  readonly creds: MlflowHostCreds;
  readonly sources: CredSources;
  /** The tracking URI they were resolved for. */
  readonly trackingUri: string;
  /** `"databricks"` for a Databricks URI, else `"mlflow"`. */
  readonly kind: "mlflow" | "databricks";
}
