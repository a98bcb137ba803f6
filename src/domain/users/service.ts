/**
 * Users (MLflow's basic-auth app API): admins manage everyone; a user may read themselves and
 * change their own password. Every change writes its audit row in its own transaction.
 */
import { MlflowSecretsError, invalidParameter } from "../../errors.js";
import type { Dialect } from "../../store/dialect.js";
import type { PasswordHasher } from "./passwords.js";
import { insertAuditEvent } from "../audit/data.js";
import { grantsOfUser } from "../permissions/data.js";
import {
  countUsers,
  deleteUser,
  findUserByName,
  insertUser,
  listUsers,
  updateUserAdmin,
  updateUserPassword,
  type User,
} from "./data.js";
import type { PermissionName } from "../permissions/model.js";
import {
  actorOf,
  notFound,
  recordDenied,
  permissionDenied,
  requireAdmin,
  requireAdminToChange,
  type CallContext,
  type Database,
} from "../context.js";

const MIN_PASSWORD_LENGTH = 12;
const MAX_PASSWORD_LENGTH = 1024;

/** A user as the API shows it: never the password hash. */
export interface UserView {
  userId: string;
  username: string;
  isAdmin: boolean;
  /** Explicit grants, for `users get`. */
  secretPermissions?: { secretId: string; permission: PermissionName }[];
}

export interface UsersService {
  create(
    ctx: CallContext,
    request: { username: string; password: string; isAdmin?: boolean },
  ): Promise<UserView>;
  get(ctx: CallContext, username: string): Promise<UserView>;
  list(ctx: CallContext): Promise<UserView[]>;
  updatePassword(ctx: CallContext, request: { username: string; password: string }): Promise<void>;
  updateAdmin(ctx: CallContext, request: { username: string; isAdmin: boolean }): Promise<void>;
  delete(ctx: CallContext, username: string): Promise<void>;
}

/**
 * A username: 1–255 characters, no control characters, no `:` (HTTP Basic splits on the first
 * colon, so such a user could never sign in).
 */
export function checkUsername(value: unknown, field = "username"): string {
  if (value === undefined || value === null || value === "") {
    throw invalidParameter(`Missing value for required parameter '${field}'.`);
  }
  if (typeof value !== "string") throw invalidParameter(`Parameter '${field}' must be a string`);
  // eslint-disable-next-line no-control-regex
  if (value.length > 255 || /[\u0000-\u001f\u007f:]/.test(value)) {
    throw invalidParameter(
      `Parameter '${field}' must be 1–255 characters without ':' or control characters`,
    );
  }
  return value;
}

/** A password: 12–1024 characters. The message never shows it. */
export function checkPassword(value: unknown): string {
  if (value === undefined || value === null || value === "") {
    throw invalidParameter("Missing value for required parameter 'password'.");
  }
  if (typeof value !== "string") throw invalidParameter("Parameter 'password' must be a string");
  const length = [...value].length;
  if (length < MIN_PASSWORD_LENGTH || length > MAX_PASSWORD_LENGTH) {
    throw invalidParameter(
      `Parameter 'password' must be ${MIN_PASSWORD_LENGTH}–${MAX_PASSWORD_LENGTH} characters long`,
    );
  }
  return value;
}

function userNotFound(username: string): MlflowSecretsError {
  return notFound(`User with username=${username} not found`);
}

function view(user: User): UserView {
  return { userId: user.userId, username: user.username, isAdmin: user.isAdmin };
}

interface UsersServiceDeps {
  database: Database;
  dialect: Pick<Dialect, "isUniqueViolation">;
  hasher: PasswordHasher;
}

/** Builds the users service. */
export function createUsersService({ database, dialect, hasher }: UsersServiceDeps): UsersService {
  const mustFind = async (db: Database["reader"], username: string): Promise<User> => {
    const user = await findUserByName(db, checkUsername(username));
    if (user === undefined) throw userNotFound(username);
    return user;
  };

  /** An admin may not remove the last admin: nobody could manage users any more. */
  const keepOneAdmin = async (db: Database["reader"], user: User) => {
    if (user.isAdmin && (await countUsers(db)).admins <= 1) {
      throw invalidParameter(`User '${user.username}' is the last admin and must stay one`);
    }
  };

  return {
    async create(ctx, request) {
      const username = checkUsername(request.username);
      await requireAdminToChange(
        database,
        ctx,
        { action: "user.create", details: { target: username } },
        "create users",
      );
      const passwordHash = await hasher.hash(checkPassword(request.password));
      try {
        return await database.transaction(async (db) => {
          const user = await insertUser(db, {
            username,
            passwordHash,
            isAdmin: request.isAdmin ?? false,
          });
          await insertAuditEvent(db, {
            ...actorOf(ctx),
            action: "user.create",
            outcome: "success",
            details: { target: username, is_admin: user.isAdmin },
          });
          return view(user);
        });
      } catch (err) {
        if (dialect.isUniqueViolation(err)) {
          throw new MlflowSecretsError(
            `User '${username}' already exists.`,
            "RESOURCE_ALREADY_EXISTS",
            { cause: err },
          );
        }
        throw err;
      }
    },

    async get(ctx, username) {
      checkUsername(username);
      if (!ctx.principal.isAdmin && ctx.principal.username !== username) {
        throw permissionDenied("Permission denied: only admins may read other users");
      }
      const user = await mustFind(database.reader, username);
      const grants = await grantsOfUser(database.reader, user.userId);
      return {
        ...view(user),
        secretPermissions: [...grants]
          .map(([secretId, permission]) => ({ secretId, permission }))
          .sort((a, b) => (a.secretId < b.secretId ? -1 : 1)),
      };
    },

    async list(ctx) {
      requireAdmin(ctx, "list users");
      return (await listUsers(database.reader)).map(view);
    },

    async updatePassword(ctx, request) {
      const username = checkUsername(request.username);
      if (!ctx.principal.isAdmin && ctx.principal.username !== username) {
        await recordDenied(database, ctx, {
          action: "user.update_password",
          details: { target: username },
        });
        throw permissionDenied("Permission denied: only admins may change other users' passwords");
      }
      const passwordHash = await hasher.hash(checkPassword(request.password));
      await database.transaction(async (db) => {
        const user = await mustFind(db, username);
        await updateUserPassword(db, user.userId, passwordHash);
        await insertAuditEvent(db, {
          ...actorOf(ctx),
          action: "user.update_password",
          outcome: "success",
          details: { target: username },
        });
      });
    },

    async updateAdmin(ctx, request) {
      await requireAdminToChange(
        database,
        ctx,
        { action: "user.update_admin", details: { target: checkUsername(request.username) } },
        "change admin rights",
      );
      await database.transaction(async (db) => {
        const user = await mustFind(db, request.username);
        if (!request.isAdmin) await keepOneAdmin(db, user);
        await updateUserAdmin(db, user.userId, request.isAdmin);
        await insertAuditEvent(db, {
          ...actorOf(ctx),
          action: "user.update_admin",
          outcome: "success",
          details: { target: user.username, is_admin: request.isAdmin },
        });
      });
    },

    async delete(ctx, username) {
      await requireAdminToChange(
        database,
        ctx,
        { action: "user.delete", details: { target: checkUsername(username) } },
        "delete users",
      );
      await database.transaction(async (db) => {
        const user = await mustFind(db, username);
        await keepOneAdmin(db, user);
        await deleteUser(db, user.userId);
        await insertAuditEvent(db, {
          ...actorOf(ctx),
          action: "user.delete",
          outcome: "success",
          details: { target: user.username },
        });
      });
    },
  };
}
