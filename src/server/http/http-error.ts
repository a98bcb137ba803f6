/** An error that fixes its own HTTP status and headers (429 with Retry-After, 405 with Allow, …). */
import { MlflowSecretsError, type ErrorCode } from "../../errors.js";

export class HttpError extends MlflowSecretsError {
  readonly status: number | undefined;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    message: string,
    errorCode: ErrorCode,
    options: { status?: number; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, errorCode, { cause: options.cause });
    this.name = "HttpError";
    this.status = options.status;
    this.headers = Object.freeze({ ...options.headers });
  }
}

export function unauthenticated(message: string): MlflowSecretsError {
  return new MlflowSecretsError(message, "UNAUTHENTICATED");
}
