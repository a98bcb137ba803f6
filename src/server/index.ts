/** The REST server: MLflow's gateway-secrets API with authentication, permissions and audit. */
export { createServer, type CreateServerParams } from "./app.js";
export { startServer, startupWarnings, type RunningServer } from "./start.js";
export {
  DEFAULT_SERVER_OPTIONS,
  LOG_LEVELS,
  resolveServerOptions,
  type LogLevel,
  type ServerOptions,
  type ServerOptionsInput,
} from "./options.js";
export {
  DEFAULT_SCRYPT_COST,
  createPasswordHasher,
  type PasswordHasher,
  type ScryptCost,
} from "../domain/users/passwords.js";
export {
  PERMISSION_NAMES,
  type PermissionName,
  type Principal,
} from "../domain/permissions/model.js";
export {
  AUDIT_ACTIONS,
  type AuditAction,
  type AuditEvent,
  type AuditOutcome,
} from "../domain/audit/data.js";
export type { LogStream } from "./logging.js";
