/**
 * The one place where errors become HTTP responses: `{"error_code", "message"}` with MLflow's
 * statuses, `WWW-Authenticate` on 401, and a generic message for anything unexpected (the
 * details go to the log, never to the client).
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import {
  MlflowSecretsError,
  httpStatusForErrorCode,
  type AnyErrorCode,
  type ErrorCode,
} from "../../errors.js";
import { HttpError } from "./http-error.js";

const WWW_AUTHENTICATE = 'Basic realm="mlflow-secrets", charset="UTF-8"';

/** `X-Requested-With` of the web console's API calls. */
const CONSOLE_REQUEST_MARKER = "mlflow-secrets-console";

interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: { error_code: AnyErrorCode; message: string };
  /** Whether the cause belongs in the log as an error (unexpected failures). */
  unexpected: boolean;
}

interface ValidationIssue {
  keyword: string;
  instancePath: string;
  message?: string | undefined;
  params: Record<string, unknown>;
}

function parameterName(path: string): string {
  const name = path
    .replace(/^\//, "")
    .split("/")
    .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
    .join(".");
  return name.length > 100 ? `${name.slice(0, 100)}…` : name;
}

/** MLflow-style messages for schema violations, naming the field (never echoing its value). */
function validationMessage(issues: readonly ValidationIssue[], context: string): string {
  const issue = issues[0];
  if (issue === undefined) return "Invalid request";
  if (issue.keyword === "required") {
    return `Missing value for required parameter '${String(issue.params.missingProperty)}'.`;
  }
  const name = parameterName(issue.instancePath);
  if (name === "") {
    return context === "body"
      ? "The request body must be a JSON object"
      : `Invalid request ${context}`;
  }
  return `Invalid value for parameter '${name}': ${issue.message ?? "invalid"}`;
}

const FASTIFY_ERRORS: Readonly<Record<string, [number, ErrorCode, string]>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [413, "REQUEST_LIMIT_EXCEEDED", "The request body is too large"],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [
    400,
    "MALFORMED_REQUEST",
    "Unsupported Content-Type: send JSON with Content-Type: application/json",
  ],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [
    400,
    "MALFORMED_REQUEST",
    "Content-Length does not match the request body",
  ],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, "MALFORMED_REQUEST", "The request body is empty"],
  FST_ERR_CTP_INVALID_JSON_BODY: [400, "MALFORMED_REQUEST", "The request body is not valid JSON"],
  FST_ERR_BAD_URL: [400, "MALFORMED_REQUEST", "Malformed URL"],
  FST_ERR_HANDLER_TIMEOUT: [503, "INTERNAL_ERROR", "The request took too long"],
};

/** The response for any error thrown while handling a request. */
function toErrorResponse(err: unknown, requestId: string): ErrorResponse {
  const fastifyError = err as Partial<FastifyError> & {
    validation?: ValidationIssue[];
    validationContext?: string;
  };
  if (Array.isArray(fastifyError.validation)) {
    return respond(
      400,
      "INVALID_PARAMETER_VALUE",
      validationMessage(fastifyError.validation, fastifyError.validationContext ?? "body"),
    );
  }
  if (err instanceof MlflowSecretsError) {
    const status =
      (err instanceof HttpError ? err.status : undefined) ?? httpStatusForErrorCode(err.errorCode);
    const headers: Record<string, string> = err instanceof HttpError ? { ...err.headers } : {};
    if (err.errorCode === "UNAUTHENTICATED") headers["www-authenticate"] = WWW_AUTHENTICATE;
    if (err.errorCode === "INTERNAL_ERROR") {
      return { ...internal(requestId), headers };
    }
    return { ...respond(status, err.errorCode, err.message), headers, unexpected: status >= 500 };
  }
  const known =
    typeof fastifyError.code === "string" ? FASTIFY_ERRORS[fastifyError.code] : undefined;
  if (known !== undefined) return respond(...known);
  const status = fastifyError.statusCode;
  if (typeof status === "number" && status >= 400 && status < 500) {
    return respond(status, "MALFORMED_REQUEST", "Malformed request");
  }
  return internal(requestId);
}

function respond(status: number, code: AnyErrorCode, message: string): ErrorResponse {
  return { status, headers: {}, body: { error_code: code, message }, unexpected: false };
}

function internal(requestId: string): ErrorResponse {
  return {
    ...respond(
      500,
      "INTERNAL_ERROR",
      `Internal error (request id ${requestId}); see the server log`,
    ),
    unexpected: true,
  };
}

export function sendError(
  request: FastifyRequest,
  reply: FastifyReply,
  err: unknown,
): FastifyReply {
  const response = toErrorResponse(err, request.id);
  if (response.unexpected) request.log.error({ err }, "request failed");
  // The console signs in with its own page: a Basic challenge would open the browser's dialog.
  if (request.headers["x-requested-with"] === CONSOLE_REQUEST_MARKER) {
    delete response.headers["www-authenticate"];
  }
  return reply.code(response.status).headers(response.headers).send(response.body);
}

/**
 * Installs the error handler, and the not-found handler that answers 405 (with `Allow`) for a
 * known path and a wrong method, 404 `ENDPOINT_NOT_FOUND` otherwise.
 */
export function registerErrorHandling(
  app: FastifyInstance,
  allowedMethods: (path: string) => readonly string[] | undefined,
): void {
  app.setErrorHandler((err, request, reply) => sendError(request, reply, err));
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split("?", 1)[0]!;
    const allowed = allowedMethods(path);
    if (allowed !== undefined) {
      return sendError(
        request,
        reply,
        new HttpError(
          `Method ${request.method} is not allowed on ${path.slice(0, 200)}; use ${allowed.join(" or ")}`,
          "ENDPOINT_NOT_FOUND",
          { status: 405, headers: { allow: allowed.join(", ") } },
        ),
      );
    }
    return sendError(
      request,
      reply,
      new MlflowSecretsError(
        `No endpoint ${request.method} ${path.slice(0, 200)}`,
        "ENDPOINT_NOT_FOUND",
      ),
    );
  });
}
