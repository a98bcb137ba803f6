/**
 * API tokens: 32 random bytes, shown once at creation, stored only as their SHA-256. The `mls_`
 * prefix lets secret scanners recognise a leaked token.
 */
import { createHash, randomBytes, randomUUID } from "node:crypto";

const TOKEN_PREFIX = "mls_";

/** A new token (the value to hand out once) and what is stored of it. */
export function generateApiToken(): { tokenId: string; token: string; tokenHash: string } {
  const token = `${TOKEN_PREFIX}${randomBytes(32).toString("base64url")}`;
  return {
    tokenId: `t-${randomUUID().replaceAll("-", "")}`,
    token,
    tokenHash: hashApiToken(token),
  };
}

/** The stored form of a token: SHA-256, hex. */
export function hashApiToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}
