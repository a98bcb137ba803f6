/**
 * API tokens for services (a gateway process that needs values): anyone may create, list and
 * revoke their own; admins also those of others. A token is returned once, at creation.
 */
import { invalidParameter } from "../../errors.js";
import { generateApiToken } from "./api-token.js";
import { insertAuditEvent } from "../audit/data.js";
import { deleteToken, findTokenById, insertToken, listTokens, type ApiToken } from "./data.js";
import { findUserByName } from "../users/data.js";
import {
  actorOf,
  notFound,
  permissionDenied,
  recordDenied,
  type CallContext,
  type Database,
} from "../context.js";
import { checkUsername } from "../users/service.js";

export interface TokensService {
  create(
    ctx: CallContext,
    request: { name: string; username?: string | undefined },
  ): Promise<{ tokenId: string; token: string }>;
  list(ctx: CallContext, request: { username?: string | undefined }): Promise<ApiToken[]>;
  revoke(ctx: CallContext, request: { tokenId: string }): Promise<void>;
}

function checkTokenName(value: unknown): string {
  if (value === undefined || value === null || value === "") {
    throw invalidParameter("Missing value for required parameter 'name'.");
  }
  if (typeof value !== "string" || value.length > 255) {
    throw invalidParameter("Parameter 'name' must be a string of at most 255 characters");
  }
  return value;
}

/** Builds the tokens service. */
export function createTokensService({ database }: { database: Database }): TokensService {
  return {
    async create(ctx, request) {
      const name = checkTokenName(request.name);
      const username =
        request.username === undefined ? ctx.principal.username : checkUsername(request.username);
      if (username !== ctx.principal.username && !ctx.principal.isAdmin) {
        await recordDenied(database, ctx, {
          action: "token.create",
          details: { target: username, name },
        });
        throw permissionDenied("Permission denied: only admins may create tokens for other users");
      }
      const { tokenId, token, tokenHash } = generateApiToken();
      await database.transaction(async (db) => {
        const owner = await findUserByName(db, username);
        if (owner === undefined) throw notFound(`User with username=${username} not found`);
        await insertToken(db, {
          tokenId,
          tokenHash,
          userId: owner.userId,
          name,
          createdBy: ctx.principal.username,
        });
        await insertAuditEvent(db, {
          ...actorOf(ctx),
          action: "token.create",
          outcome: "success",
          details: { target: username, token_id: tokenId, name },
        });
      });
      return { tokenId, token };
    },

    async list(ctx, request) {
      if (ctx.principal.isAdmin) {
        if (request.username === undefined) return listTokens(database.reader);
        const owner = await findUserByName(database.reader, checkUsername(request.username));
        return owner === undefined ? [] : listTokens(database.reader, owner.userId);
      }
      if (request.username !== undefined && request.username !== ctx.principal.username) {
        throw permissionDenied("Permission denied: only admins may list other users' tokens");
      }
      return listTokens(database.reader, ctx.principal.userId);
    },

    async revoke(ctx, request) {
      const tokenId = request.tokenId;
      if (typeof tokenId !== "string" || tokenId === "") {
        throw invalidParameter("Missing value for required parameter 'token_id'.");
      }
      await database.transaction(async (db) => {
        const token = await findTokenById(db, tokenId);
        // Someone else's token is reported as missing: its existence is not theirs to know.
        if (
          token === undefined ||
          (!ctx.principal.isAdmin && token.userId !== ctx.principal.userId)
        ) {
          throw notFound(`Token '${tokenId.slice(0, 64)}' not found`);
        }
        await deleteToken(db, tokenId);
        await insertAuditEvent(db, {
          ...actorOf(ctx),
          action: "token.revoke",
          outcome: "success",
          details: { target: token.username, token_id: tokenId, name: token.name },
        });
      });
    },
  };
}
