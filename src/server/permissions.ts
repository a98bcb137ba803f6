/**
 * Per-secret permissions, MLflow's names plus `USE`: NO_PERMISSIONS < READ (metadata, list) <
 * USE (+ decrypt the value) < EDIT (+ update) < MANAGE (+ delete and grant). Admins may do
 * everything; other users have their explicit grant on a secret, else the default permission.
 */
import { PERMISSION_NAMES, parsePermissionName, type PermissionName } from "../config.js";
import { MlflowSecretsError } from "../errors.js";

export { PERMISSION_NAMES, type PermissionName };

/** What each secret operation needs. */
export const REQUIRED_PERMISSION = Object.freeze({
  read: "READ",
  use: "USE",
  edit: "EDIT",
  manage: "MANAGE",
} as const satisfies Record<string, PermissionName>);

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
  readonly via: "basic" | "token" | "cli" | "system";
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
