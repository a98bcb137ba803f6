/**
 * Per-secret permissions, MLflow's names plus `USE`: NO_PERMISSIONS < READ (metadata, list) <
 * USE (+ decrypt the value) < EDIT (+ update) < MANAGE (+ delete and grant). Admins may do
 * everything; other users have their explicit grant on a secret, else the default permission.
 */
import { MlflowSecretsError, invalidParameter } from "../../errors.js";

/** Per-secret permission names (MLflow's, plus `USE`), lowest first. */
export const PERMISSION_NAMES = ["NO_PERMISSIONS", "READ", "USE", "EDIT", "MANAGE"] as const;
export type PermissionName = (typeof PERMISSION_NAMES)[number];

/**
 * Parses a permission name (case-insensitive, surrounding blanks ignored); `source` names the
 * variable or field in the error.
 *
 * @example
 * ```ts
 * parsePermissionName("use", "MLFLOW_SECRETS_DEFAULT_PERMISSION"); // "USE"
 * ```
 */
export function parsePermissionName(raw: string, source: string): PermissionName {
  const name = raw.trim().toUpperCase();
  const found = PERMISSION_NAMES.find((p) => p === name);
  if (found === undefined) {
    const shown = raw.length > 40 ? `${raw.slice(0, 40)}…` : raw;
    throw invalidParameter(
      `${source} must be one of ${PERMISSION_NAMES.join(", ")}, got '${shown}'`,
    );
  }
  return found;
}

const RANK: ReadonlyMap<PermissionName, number> = new Map(PERMISSION_NAMES.map((p, i) => [p, i]));

/** True when `granted` includes `needed`. */
export function permits(granted: PermissionName, needed: PermissionName): boolean {
  return RANK.get(granted)! >= RANK.get(needed)!;
}

/** A stored or requested permission name; anything else is INVALID_PARAMETER_VALUE naming the field. */
export function toPermissionName(value: unknown, field = "permission"): PermissionName {
  if (typeof value !== "string") {
    throw new MlflowSecretsError(
      `Invalid value for parameter '${field}': must be one of ${PERMISSION_NAMES.join(", ")}`,
      "INVALID_PARAMETER_VALUE",
    );
  }
  return parsePermissionName(value, `Parameter '${field}'`);
}

/** The signed-in identity a request acts as. */
export interface Principal {
  /** Empty for the command line acting directly on the database. */
  readonly userId: string;
  readonly username: string;
  readonly isAdmin: boolean;
  /** How the identity was established. */
  readonly via: "basic" | "token" | "session" | "cli" | "system";
}

/** The permission a principal has on a secret, given its explicit grant (if any). */
export function effectivePermission(
  principal: Principal,
  grant: PermissionName | undefined,
  defaultPermission: PermissionName,
): PermissionName {
  if (principal.isAdmin) return "MANAGE";
  return grant ?? defaultPermission;
}
