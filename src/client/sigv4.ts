/**
 * AWS Signature Version 4 for MLflow behind Amazon API Gateway (or SageMaker): the AWS SDK's signer
 * (`@smithy/signature-v4`) with credentials from the AWS SDK's default chain and the region from the
 * environment or the shared config file.
 *
 * The payload hash always covers the bytes actually sent, whatever the body was (string, bytes or
 * a stream, which the caller buffers first); MLflow's signer cannot hash streams (MLflow #15051).
 */
import { createHash } from "node:crypto";
import { homedir } from "node:os";
import { join } from "node:path";
import { defaultProvider } from "@aws-sdk/credential-provider-node";
import { Hash } from "@smithy/hash-node";
import { loadSharedConfigFiles } from "@smithy/shared-ini-file-loader";
import { SignatureV4 } from "@smithy/signature-v4";
import { readAwsEnv, resolveHomeDir, type Env } from "../config.js";
import { MlflowSecretsError } from "../errors.js";

/** AWS credentials as the signer takes them. */
interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}

/** A request to sign: its headers are updated in place. */
interface SignableRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: Headers;
  /** The exact bytes that will be sent (`undefined` for no body). */
  readonly body?: Uint8Array;
}

/** What to sign with. */
interface SigV4Settings {
  readonly service: string;
  readonly region: string;
  readonly credentials: AwsCredentials;
  /** Signing time (default now); the AWS test suite fixes it. */
  readonly signingDate?: Date;
  /** Adds `x-amz-content-sha256` (default true; the AWS test suite signs without it). */
  readonly applyChecksum?: boolean;
}

type SmithyRequest = Parameters<SignatureV4["sign"]>[0] & { headers: Record<string, string> };

const Sha256 = Hash.bind(null, "sha256");

/** The hex SHA-256 of a body (the empty body's hash for none). */
export function payloadSha256(body: Uint8Array | undefined): string {
  return createHash("sha256")
    .update(body ?? new Uint8Array())
    .digest("hex");
}

function queryOf(url: URL): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of url.searchParams) {
    const existing = query[key];
    if (existing === undefined) query[key] = value;
    else query[key] = Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return query;
}

/** A request in the signer's terms: the path as sent (already percent-encoded), the decoded query. */
interface SigV4Input {
  readonly method: string;
  readonly protocol: string;
  readonly hostname: string;
  readonly port?: number;
  readonly path: string;
  readonly query: Record<string, string | string[]>;
  /** Lower-cased names; must include `host`. */
  readonly headers: Record<string, string>;
  readonly body?: Uint8Array | string;
}

/**
 * Signs with the AWS SDK's signer and returns the signed headers (the input is not changed).
 * Non-S3 services: each path segment is encoded once more, as API Gateway verifies it.
 */
export async function signInput(
  input: SigV4Input,
  settings: SigV4Settings,
): Promise<Record<string, string>> {
  const applyChecksum = settings.applyChecksum ?? true;
  const signer = new SignatureV4({
    service: settings.service,
    region: settings.region,
    credentials: settings.credentials,
    sha256: Sha256,
    applyChecksum,
    uriEscapePath: true,
  });
  const toSign: SmithyRequest = {
    ...input,
    headers: { ...input.headers },
    query: { ...input.query },
  };
  const signed = await signer.sign(toSign, { signingDate: settings.signingDate ?? new Date() });
  return signed.headers;
}

/**
 * Signs `request` in place: sets `x-amz-date`, `x-amz-content-sha256` (the SHA-256 of
 * `request.body`), `x-amz-security-token` (with a session token) and `authorization`.
 *
 * @example
 * ```ts
 * const headers = new Headers();
 * await signRequest({ method: "GET", url, headers }, { service: "execute-api", region: "eu-west-1", credentials });
 * ```
 */
async function signRequest(request: SignableRequest, settings: SigV4Settings): Promise<void> {
  const headers: Record<string, string> = {};
  request.headers.forEach((value, name) => {
    headers[name] = value;
  });
  // What node sends as Host: hostname, plus the port unless it is the scheme's default.
  headers.host = request.url.host;
  if (settings.applyChecksum ?? true) {
    headers["x-amz-content-sha256"] = payloadSha256(request.body);
  }
  const signed = await signInput(
    {
      method: request.method,
      protocol: request.url.protocol,
      hostname: request.url.hostname,
      ...(request.url.port === "" ? {} : { port: Number(request.url.port) }),
      path: request.url.pathname,
      query: queryOf(request.url),
      headers,
      ...(request.body !== undefined ? { body: request.body } : {}),
    },
    settings,
  );
  for (const [name, value] of Object.entries(signed)) {
    if (request.headers.get(name) !== value) request.headers.set(name, value);
  }
}

function sharedFilePaths(env: Env | undefined): { credentials: string; config: string } {
  const aws = readAwsEnv(env);
  const home = resolveHomeDir(env) || homedir();
  return {
    credentials: aws.sharedCredentialsFile ?? join(home, ".aws", "credentials"),
    config: aws.configFile ?? join(home, ".aws", "config"),
  };
}

/** Where the region came from, for messages and `creds show`. */
interface ResolvedRegion {
  readonly region: string;
  readonly source: string;
}

/**
 * The signing region: `AWS_REGION`, else `AWS_DEFAULT_REGION`, else `region` of the profile
 * (`AWS_PROFILE`, else `default`) in the shared config file. `undefined` when none is set.
 */
export async function resolveAwsRegion(env: Env | undefined): Promise<ResolvedRegion | undefined> {
  const aws = readAwsEnv(env);
  if (aws.region !== undefined) return { region: aws.region, source: aws.regionSource! };
  const paths = sharedFilePaths(env);
  const profile = aws.profile ?? "default";
  const files = await loadSharedConfigFiles({
    filepath: paths.credentials,
    configFilepath: paths.config,
  });
  const fromConfig = files.configFile?.[profile]?.region;
  if (fromConfig) return { region: fromConfig, source: `${paths.config} [${profile}] region` };
  const fromCredentials = files.credentialsFile?.[profile]?.region;
  if (fromCredentials) {
    return { region: fromCredentials, source: `${paths.credentials} [${profile}] region` };
  }
  return undefined;
}

type CredentialProvider = () => Promise<AwsCredentials>;
const chainCache = new Map<string, CredentialProvider>();

/**
 * AWS credentials: `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`) from
 * `env`, else the AWS SDK's default chain (shared credentials and config files with the profile,
 * SSO, web identity, `credential_process`, container and instance metadata). The chain is cached
 * per profile and files, and refreshes expiring credentials itself.
 */
async function resolveAwsCredentials(env: Env | undefined): Promise<AwsCredentials> {
  const aws = readAwsEnv(env);
  if (aws.accessKeyId && aws.secretAccessKey && aws.profile === undefined) {
    return {
      accessKeyId: aws.accessKeyId,
      secretAccessKey: aws.secretAccessKey,
      ...(aws.sessionToken ? { sessionToken: aws.sessionToken } : {}),
    };
  }
  const paths = sharedFilePaths(env);
  const key = JSON.stringify([aws.profile ?? "", paths.credentials, paths.config]);
  let provider = chainCache.get(key);
  if (provider === undefined) {
    provider = defaultProvider({
      ...(aws.profile ? { profile: aws.profile } : {}),
      filepath: paths.credentials,
      configFilepath: paths.config,
    });
    chainCache.set(key, provider);
  }
  try {
    return await provider();
  } catch (err) {
    chainCache.delete(key); // a later request retries the whole chain
    throw new MlflowSecretsError(
      "AWS SigV4 signing (MLFLOW_TRACKING_AWS_SIGV4) found no AWS credentials: set " +
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with a profile in " +
        `${paths.credentials} or ${paths.config}, or run where a role provides them`,
      "UNAUTHENTICATED",
      { cause: err },
    );
  }
}

/**
 * Signs a request to an MLflow server with the credentials and region of the environment.
 * Errors name what to set when the region or the credentials are missing.
 */
export async function signWithEnvironment(
  request: SignableRequest,
  service: string,
  env: Env | undefined,
): Promise<void> {
  const region = await resolveAwsRegion(env);
  if (region === undefined) {
    throw new MlflowSecretsError(
      "AWS SigV4 signing (MLFLOW_TRACKING_AWS_SIGV4) needs a region: set AWS_REGION (or " +
        "AWS_DEFAULT_REGION), or 'region' in your AWS profile's config file",
      "INVALID_PARAMETER_VALUE",
    );
  }
  const credentials = await resolveAwsCredentials(env);
  await signRequest(request, { service, region: region.region, credentials });
}
