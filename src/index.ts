/**
 * mlflow-secrets: MLflow's security layer in TypeScript.
 *
 * The public surface is this file's named exports; everything else is internal.
 */
export * from "./crypto/index.js";
export * from "./store/index.js";
export * from "./client/index.js";
export * from "./server/index.js";
export { readServerEnvSettings, type ServerEnvSettings } from "./config.js";
export * from "./rotation/index.js";
export {
  ERROR_CODES,
  MlflowSecretsError,
  RestError,
  httpStatusForErrorCode,
  isMlflowSecretsError,
  type AnyErrorCode,
  type ErrorCode,
} from "./errors.js";
