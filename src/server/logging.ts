/**
 * The JSON log: one line per request (request id, method, route, status, ms, user) and errors.
 * What is never written: `Authorization`, passwords, tokens, secret values — request bodies and
 * headers are not logged at all, errors are reduced to name, message, code and stack (a driver
 * error's other properties can hold SQL parameters), and redaction covers the rest.
 */
import type { FastifyServerOptions } from "fastify";
import type { LogLevel } from "./options.js";

/** Where log lines go (a pino destination, `process.stdout`, or a test's collector). */
export interface LogStream {
  write(line: string): unknown;
}

function errorForLog(err: Error): {
  [key: string]: unknown;
  type: string;
  message: string;
  stack: string;
} {
  const code = (err as { code?: unknown }).code;
  return {
    type: err.name,
    message: err.message,
    ...(typeof code === "string" ? { code } : {}),
    stack: err.stack ?? "",
    ...(err.cause instanceof Error
      ? { cause: { type: err.cause.name, message: err.cause.message } }
      : {}),
  };
}

const REDACTED_PATHS = [
  "authorization",
  "password",
  "token",
  "secret_value",
  "*.authorization",
  "*.password",
  "*.token",
  "*.secret_value",
  "req.headers.authorization",
  "req.headers.cookie",
];

export function loggerOptions(level: LogLevel, stream?: LogStream): FastifyServerOptions["logger"] {
  return {
    level,
    ...(stream ? { stream } : {}),
    redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
    serializers: { err: errorForLog },
  };
}
