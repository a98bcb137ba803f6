/**
 * mlflow-secrets: MLflow's security layer in TypeScript.
 *
 * The public surface is this file's named exports; everything else is internal.
 */
export * from "./crypto/index.js";
export * from "./store/index.js";
export * from "./rotation/index.js";
export {
  ERROR_CODES,
  MlflowSecretsError,
  httpStatusForErrorCode,
  isMlflowSecretsError,
  type ErrorCode,
} from "./errors.js";
