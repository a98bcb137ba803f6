/**
 * One error family for the whole package, carrying MLflow's error codes so callers (and the REST
 * layer) can switch on `errorCode` instead of parsing messages.
 *
 * Invariant: a message never contains a secret value, a passphrase, a password, a token or key
 * material. Callers that wrap a lower-level error pass it as `cause` and write their own message.
 */

/** MLflow's error codes (`databricks_pb2.ErrorCode` names) used by this package. */
export const ERROR_CODES = [
  "INVALID_PARAMETER_VALUE",
  "MALFORMED_REQUEST",
  "RESOURCE_ALREADY_EXISTS",
  "RESOURCE_DOES_NOT_EXIST",
  "INVALID_STATE",
  "UNAUTHENTICATED",
  "PERMISSION_DENIED",
  "ENDPOINT_NOT_FOUND",
  "REQUEST_LIMIT_EXCEEDED",
  "INTERNAL_ERROR",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * What this package's own errors are about, finer than MLflow's code, for callers that switch on
 * a cause (no code matches on message text). Closed: a new reason is a new entry here and in the
 * README's table (a test keeps the two in sync).
 */
export const ERROR_REASONS = [
  /** A value or a DEK did not decrypt: wrong KEK, tampered row, or an id/name that does not match. */
  "DECRYPT_FAILED",
  /** Two different passphrases were given for one KEK version. */
  "KEYRING_CONFLICT",
  /** A row's `kek_version` has no KEK in the keyring. */
  "KEK_VERSION_MISSING",
  /** The configured KEK for a version does not unwrap the DEKs stored with it. */
  "WRONG_PASSPHRASE",
  /** A KEK rotation stopped at a row whose DEK cannot be re-wrapped (`KekRotationError`). */
  "ROTATION_ROW",
  /** The store was used inside its own `transaction(...)` callback instead of `tx`. */
  "TX_REENTRANT",
  /** The database could not be opened or reached. */
  "DATABASE_UNAVAILABLE",
  /** The database's schema is newer than this version of the package. */
  "SCHEMA_TOO_NEW",
  /** The database lacks a table this package needs and may not create (MLflow's). */
  "SCHEMA_MISSING",
  /** A committed write could not be flushed to disk: it may not survive a power loss. */
  "NOT_DURABLE",
  /** A stored secret does not hold what MLflow's store writes (a JSON object of values). */
  "SECRET_MALFORMED",
  /** A crypto self-test against OpenSSL failed. */
  "SELF_TEST_FAILED",
  /** Someone at the terminal cancelled a question. */
  "CANCELLED",
] as const;

export type ErrorReason = (typeof ERROR_REASONS)[number];

/**
 * An error code as carried by an error: one of {@link ERROR_CODES}, or any code a remote MLflow
 * server answered with (`RestError` keeps the server's code verbatim).
 */
export type AnyErrorCode = ErrorCode | (string & {});

/** HTTP status for each code, as MLflow's REST layer maps them (plus what MLflow lacks). */
const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = Object.freeze({
  INVALID_PARAMETER_VALUE: 400,
  MALFORMED_REQUEST: 400,
  RESOURCE_ALREADY_EXISTS: 400,
  RESOURCE_DOES_NOT_EXIST: 404,
  INVALID_STATE: 500,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  ENDPOINT_NOT_FOUND: 404,
  REQUEST_LIMIT_EXCEEDED: 429,
  INTERNAL_ERROR: 500,
});

/** What an error of the family may carry besides its message and code. */
export interface ErrorOptions {
  /** The lower-level error this one wraps. */
  cause?: unknown;
  reason?: ErrorReason;
}

/**
 * The base class of every error this package throws for bad input, failed decryption, missing
 * resources and refused access.
 *
 * @example
 * ```ts
 * try {
 *   decryptSecret(encryptedValue, wrappedDek, kek, secretId, secretName);
 * } catch (err) {
 *   if (err instanceof MlflowSecretsError && err.reason === "DECRYPT_FAILED") {
 *     // wrong KEK, tampered row, or id/name that do not match the ciphertext
 *   }
 * }
 * ```
 */
export class MlflowSecretsError extends Error {
  /** MLflow's error code, e.g. `INVALID_PARAMETER_VALUE` (a server's own code for `RestError`). */
  readonly errorCode: AnyErrorCode;
  /** What it is about, where this package knows more than MLflow's code says. */
  readonly reason: ErrorReason | undefined;

  /** Every error of the family takes (message, errorCode, options) in this order. */
  constructor(message: string, errorCode: AnyErrorCode = "INTERNAL_ERROR", options?: ErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "MlflowSecretsError";
    this.errorCode = errorCode;
    this.reason = options?.reason;
  }

  /** The HTTP status MLflow answers with for this error's code. */
  get httpStatus(): number {
    return httpStatusForErrorCode(this.errorCode);
  }
}

/**
 * The HTTP status for an MLflow error code (400 for codes this package does not know).
 *
 * @example
 * ```ts
 * httpStatusForErrorCode("RESOURCE_DOES_NOT_EXIST"); // 404
 * ```
 */
export function httpStatusForErrorCode(code: string): number {
  return (HTTP_STATUS as Record<string, number>)[code] ?? 400;
}

/** Shorthand for the most common code. */
export function invalidParameter(message: string, cause?: unknown): MlflowSecretsError {
  return new MlflowSecretsError(message, "INVALID_PARAMETER_VALUE", { cause });
}

/** True for any error of this package's family. */
export function isMlflowSecretsError(err: unknown): err is MlflowSecretsError {
  return err instanceof MlflowSecretsError;
}

/**
 * An MLflow server answered with an error: a non-2xx status. `errorCode` and `message` are the
 * server's own (`error_code` / `message` of its JSON body), or derived from the status when the body
 * is not MLflow's JSON error; `status` is the HTTP status. Never carries request headers, and any
 * credential the server echoed back is masked out of the message.
 *
 * @example
 * ```ts
 * try {
 *   await callEndpoint(creds, "/api/2.0/mlflow/experiments/get", "GET", { json: { experiment_id: "1" } });
 * } catch (err) {
 *   if (err instanceof RestError && err.errorCode === "RESOURCE_DOES_NOT_EXIST") {
 *     // err.status === 404
 *   }
 * }
 * ```
 */
export class RestError extends MlflowSecretsError {
  /** The HTTP status of the response. */
  readonly status: number;

  constructor(message: string, errorCode: AnyErrorCode, status: number, options?: ErrorOptions) {
    super(message, errorCode, options);
    this.name = "RestError";
    this.status = status;
  }

  /** The status the server actually answered with. */
  override get httpStatus(): number {
    return this.status;
  }
}
