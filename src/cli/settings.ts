/**
 * The server's environment settings with the domain's rules applied: config reads the variables,
 * the domain says what a permission name is. The CLI is where the two meet.
 */
import { DEFAULT_PERMISSION_ENV_VAR, readServerEnvSettings, type Env } from "../config.js";
import { parsePermissionName, type PermissionName } from "../domain/permissions/model.js";

interface ServerSettings {
  adminUsername: string;
  adminPassword: string | undefined;
  defaultPermission: PermissionName;
  usersCanCreate: boolean;
  sessionIdleTimeoutMs?: number;
  sessionLifetimeMs?: number;
}

/** `MLFLOW_SECRETS_*` server settings, validated; errors name the variable. */
export function readServerSettings(env: Env): ServerSettings {
  const settings = readServerEnvSettings(env);
  return {
    ...settings,
    defaultPermission:
      settings.defaultPermission === undefined
        ? "READ"
        : parsePermissionName(settings.defaultPermission, DEFAULT_PERMISSION_ENV_VAR),
  };
}
