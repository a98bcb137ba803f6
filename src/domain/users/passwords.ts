/**
 * Password hashes: scrypt (node:crypto) with a random 16-byte salt per password. The stored form
 * carries its own cost, `scrypt$<log2 N>$<r>$<p>$<salt>$<hash>` (base64url), so hashes made with
 * one cost verify under another and the cost can be raised without a migration.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";

/** scrypt's cost parameters: N = 2^logN (CPU and memory), r (block size), p (parallelism). */
export interface ScryptCost {
  logN: number;
  r: number;
  p: number;
}

/**
 * The production cost: N = 2^15, r = 8, p = 1 — 32 MiB and ~0.1 s of one core per hash on a
 * small server. Successful verifications are cached (auth/authenticator.ts), so this is paid
 * once per credential per minute, not per request.
 */
export const DEFAULT_SCRYPT_COST: Readonly<ScryptCost> = Object.freeze({ logN: 15, r: 8, p: 1 });

const SALT_BYTES = 16;
const KEY_BYTES = 32;
// Bounds for a stored hash's cost: a tampered row must not make one verification take minutes.
const MAX_LOG_N = 20;
const MAX_R = 32;
const MAX_P = 16;

function derive(password: string, salt: Buffer, cost: ScryptCost): Promise<Buffer> {
  const N = 2 ** cost.logN;
  const options: ScryptOptions = { N, r: cost.r, p: cost.p, maxmem: 256 * N * cost.r + 1024 };
  return new Promise((resolve, reject) =>
    scrypt(password.normalize("NFC"), salt, KEY_BYTES, options, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

function isValidCost({ logN, r, p }: ScryptCost): boolean {
  const inRange = (n: number, max: number) => Number.isInteger(n) && n >= 1 && n <= max;
  return inRange(logN, MAX_LOG_N) && inRange(r, MAX_R) && inRange(p, MAX_P);
}

function parse(stored: string): { cost: ScryptCost; salt: Buffer; hash: Buffer } | undefined {
  const parts = stored.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return undefined;
  const [logN, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (!isValidCost({ logN, r, p })) return undefined;
  const salt = Buffer.from(parts[4]!, "base64url");
  const hash = Buffer.from(parts[5]!, "base64url");
  if (salt.length < 8 || hash.length !== KEY_BYTES) return undefined;
  return { cost: { logN, r, p }, salt, hash };
}

/** Hashes and verifies passwords. */
export interface PasswordHasher {
  /** A new hash of `password` with a fresh salt. */
  hash(password: string): Promise<string>;
  /** True when `password` matches `stored` (constant-time comparison); false for a malformed hash. */
  verify(password: string, stored: string): Promise<boolean>;
  /** Spends the time of one verification and returns false: for unknown users, so timing does not tell. */
  verifyNothing(password: string): Promise<false>;
}

/**
 * A hasher with the given cost for new hashes (tests pass a cheap one).
 *
 * @example
 * ```ts
 * const hasher = createPasswordHasher();
 * const stored = await hasher.hash("correct horse battery staple");
 * await hasher.verify("correct horse battery staple", stored); // true
 * ```
 */
export function createPasswordHasher(cost: ScryptCost = DEFAULT_SCRYPT_COST): PasswordHasher {
  if (!isValidCost(cost)) throw new RangeError("Invalid scrypt cost");
  const dummySalt = randomBytes(SALT_BYTES);
  return {
    async hash(password) {
      const salt = randomBytes(SALT_BYTES);
      const key = await derive(password, salt, cost);
      return `scrypt$${cost.logN}$${cost.r}$${cost.p}$${salt.toString("base64url")}$${key.toString("base64url")}`;
    },
    async verify(password, stored) {
      const parsed = parse(stored);
      if (parsed === undefined) {
        await derive(password, dummySalt, cost);
        return false;
      }
      const key = await derive(password, parsed.salt, parsed.cost);
      return timingSafeEqual(key, parsed.hash);
    },
    async verifyNothing(password) {
      await derive(password, dummySalt, cost);
      return false;
    },
  };
}
