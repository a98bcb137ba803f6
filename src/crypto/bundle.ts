/**
 * The encrypted bundle: secrets moved between installations without plaintext on disk, under a
 * key only the recipient's passphrase opens. It is this package's envelope format again:
 *
 * ```
 * passphrase ──PBKDF2-HMAC-SHA256(random 16-byte salt, 600 000)──▶ bundle KEK (32 B)
 * bundle KEK ──AES-256-GCM──▶ wrapped_dek (60 B), one fresh DEK per secret
 * DEK ──AES-256-GCM(AAD)──▶ encrypted_value = nonce ‖ E(json.dumps(value)) ‖ tag
 * AAD = UTF-8("mlflow-secrets-bundle-v1/<bundle_id>/<index>/<count>" + "|" + json.dumps([name, provider, auth_config], sort_keys))
 * ```
 *
 * The AAD binds each value to its own name, provider and auth config (which travel in clear, as
 * the `secrets` table keeps them), to its place in this bundle and to the bundle's size: an entry
 * renamed, re-pointed (say, its `api_base` changed), moved, copied from another bundle, or a
 * bundle cut short, fails to open. A wrong passphrase fails on the first entry. The salt, the
 * iteration count and the bundle id are in the file, so the passphrase alone opens it.
 */
import { pbkdf2, randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { MlflowSecretsError, invalidParameter } from "../errors.js";
import { AES_256_KEY_LENGTH, PBKDF2_ITERATIONS, WRAPPED_DEK_LENGTH } from "./constants.js";
import { decodePlaintext, decryptPlaintext, encryptPlaintext } from "./envelope.js";
import { kekManagerFromKeyBytes, type KekManager } from "./kek.js";
import { isPlainObject, pythonJsonDumps } from "./python-json.js";

const pbkdf2Async = promisify(pbkdf2);

export const BUNDLE_FORMAT = "mlflow-secrets-bundle";
export const BUNDLE_VERSION = 1;
const KDF_NAME = "PBKDF2-HMAC-SHA256";
const SALT_LENGTH = 16;
/** Iteration counts a bundle may name: none weaker than this, none that would take minutes. */
const MIN_ITERATIONS = 100_000;
const MAX_ITERATIONS = 10_000_000;

/** One secret as a bundle carries it (the value only inside the envelope). */
export interface BundleSecret {
  name: string;
  value: Record<string, string>;
  provider: string | null;
  authConfig: Record<string, unknown> | null;
}

/** The bundle file's JSON document. */
export interface SecretsBundle {
  format: typeof BUNDLE_FORMAT;
  version: typeof BUNDLE_VERSION;
  bundle_id: string;
  created_at: string;
  kdf: { name: typeof KDF_NAME; iterations: number; salt: string };
  secrets: {
    name: string;
    provider: string | null;
    auth_config: Record<string, unknown> | null;
    /** base64 of nonce ‖ ciphertext ‖ tag. */
    encrypted_value: string;
    /** base64 of the 60-byte wrapped DEK. */
    wrapped_dek: string;
  }[];
}

/** A bundle entry that cannot be read, by its index in `secrets`. */
interface BundleProblem {
  index: number;
  problem: string;
}

/**
 * The bundle does not open: its structure is wrong (`problems` lists every bad entry), the
 * passphrase is not the one it was made for, or it was altered.
 */
export class BundleError extends MlflowSecretsError {
  constructor(
    message: string,
    readonly problems: readonly BundleProblem[] = [],
    reason?: "DECRYPT_FAILED",
  ) {
    super(message, "INVALID_PARAMETER_VALUE", reason ? { reason } : {});
    this.name = "BundleError";
  }
}

async function bundleKek(
  passphrase: string,
  salt: Buffer,
  iterations: number,
): Promise<KekManager> {
  if (typeof passphrase !== "string" || passphrase === "") {
    throw invalidParameter("The bundle passphrase must not be empty");
  }
  const key = await pbkdf2Async(
    Buffer.from(passphrase, "utf8"),
    salt,
    iterations,
    AES_256_KEY_LENGTH,
    "sha256",
  );
  try {
    return kekManagerFromKeyBytes(key, 1);
  } finally {
    key.fill(0);
  }
}

/** The AAD's two halves, in the envelope's `id|name` shape. */
function aadParts(
  bundleId: string,
  index: number,
  count: number,
  entry: { name: string; provider: string | null; auth_config: Record<string, unknown> | null },
): { id: string; name: string } {
  return {
    id: `${BUNDLE_FORMAT}-v${BUNDLE_VERSION}/${bundleId}/${index}/${count}`,
    name: pythonJsonDumps([entry.name, entry.provider, entry.auth_config], { sortKeys: true }),
  };
}

/**
 * Encrypts secrets into a bundle for the holder of `passphrase`.
 *
 * @example
 * ```ts
 * const bundle = await sealSecretsBundle([{ name: "openai", value: { api_key: "sk-…" }, provider: "openai", authConfig: null }], "recipient passphrase");
 * await writeFile("secrets.bundle.json", JSON.stringify(bundle));
 * ```
 */
export async function sealSecretsBundle(
  secrets: readonly BundleSecret[],
  passphrase: string,
  options: { iterations?: number } = {},
): Promise<SecretsBundle> {
  const iterations = options.iterations ?? PBKDF2_ITERATIONS;
  if (!Number.isInteger(iterations) || iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) {
    throw invalidParameter(`iterations must be between ${MIN_ITERATIONS} and ${MAX_ITERATIONS}`);
  }
  const salt = randomBytes(SALT_LENGTH);
  const bundleId = randomBytes(16).toString("hex");
  const kek = await bundleKek(passphrase, salt, iterations);
  const entries = secrets.map((secret, index) => {
    const entry = { name: secret.name, provider: secret.provider, auth_config: secret.authConfig };
    const aad = aadParts(bundleId, index, secrets.length, entry);
    const plaintext = Buffer.from(pythonJsonDumps(secret.value), "utf8");
    try {
      const sealed = encryptPlaintext(plaintext, kek, aad.id, aad.name);
      return {
        ...entry,
        encrypted_value: sealed.encryptedValue.toString("base64"),
        wrapped_dek: sealed.wrappedDek.toString("base64"),
      };
    } finally {
      plaintext.fill(0);
    }
  });
  return {
    format: BUNDLE_FORMAT,
    version: BUNDLE_VERSION,
    bundle_id: bundleId,
    created_at: new Date().toISOString(),
    kdf: { name: KDF_NAME, iterations, salt: salt.toString("base64") },
    secrets: entries,
  };
}

/** True when a parsed JSON document says it is a bundle (whatever else is wrong with it). */
export function isSecretsBundle(document: unknown): boolean {
  return isPlainObject(document) && document.format === BUNDLE_FORMAT;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function base64Field(value: unknown): Buffer | undefined {
  if (typeof value !== "string" || value.length % 4 !== 0 || !BASE64.test(value)) return undefined;
  return Buffer.from(value, "base64");
}

/** Checks the document's shape; every bad entry is reported at once. */
function checkShape(document: unknown): SecretsBundle {
  if (!isSecretsBundle(document)) {
    throw new BundleError(`Not a secrets bundle: "format" must be "${BUNDLE_FORMAT}"`);
  }
  const doc = document as Record<string, unknown>;
  if (doc.version !== BUNDLE_VERSION) {
    throw new BundleError(
      `Bundle version ${JSON.stringify(doc.version)} is not supported (this mlflow-secrets reads version ${BUNDLE_VERSION})`,
    );
  }
  const kdf = doc.kdf;
  if (
    !isPlainObject(kdf) ||
    kdf.name !== KDF_NAME ||
    typeof kdf.iterations !== "number" ||
    !Number.isInteger(kdf.iterations) ||
    kdf.iterations < MIN_ITERATIONS ||
    kdf.iterations > MAX_ITERATIONS ||
    base64Field(kdf.salt)?.length !== SALT_LENGTH
  ) {
    throw new BundleError(
      `The bundle's "kdf" must be {"name": "${KDF_NAME}", "iterations": ${MIN_ITERATIONS}…${MAX_ITERATIONS}, "salt": base64 of ${SALT_LENGTH} bytes}`,
    );
  }
  if (typeof doc.bundle_id !== "string" || !/^[0-9a-f]{32}$/.test(doc.bundle_id)) {
    throw new BundleError(`The bundle's "bundle_id" must be 32 lowercase hex digits`);
  }
  if (!Array.isArray(doc.secrets)) throw new BundleError(`The bundle's "secrets" must be an array`);
  const problems: BundleProblem[] = [];
  (doc.secrets as unknown[]).forEach((entry, index) => {
    const wrong = (problem: string) => problems.push({ index, problem });
    if (!isPlainObject(entry)) return wrong("must be an object");
    if (typeof entry.name !== "string" || entry.name === "")
      wrong('"name" must be a non-empty string');
    if (entry.provider !== null && typeof entry.provider !== "string") {
      wrong('"provider" must be a string or null');
    }
    if (entry.auth_config !== null && !isPlainObject(entry.auth_config)) {
      wrong('"auth_config" must be an object or null');
    }
    if ((base64Field(entry.encrypted_value)?.length ?? 0) < 28) {
      wrong('"encrypted_value" must be base64 of at least 28 bytes');
    }
    if (base64Field(entry.wrapped_dek)?.length !== WRAPPED_DEK_LENGTH) {
      wrong(`"wrapped_dek" must be base64 of ${WRAPPED_DEK_LENGTH} bytes`);
    }
  });
  if (problems.length > 0) {
    throw new BundleError(
      `${problems.length} bundle entr${problems.length === 1 ? "y is" : "ies are"} malformed`,
      problems,
    );
  }
  return document as SecretsBundle;
}

/**
 * Opens a bundle with the passphrase it was made for: every entry is decrypted and checked
 * before any is returned.
 *
 * @throws BundleError — a malformed document (every bad entry listed), a wrong passphrase, or an
 * entry that was altered, moved or taken from another bundle.
 * @example
 * ```ts
 * const secrets = await openSecretsBundle(JSON.parse(await readFile(file, "utf8")), passphrase);
 * ```
 */
export async function openSecretsBundle(
  document: unknown,
  passphrase: string,
): Promise<BundleSecret[]> {
  const bundle = checkShape(document);
  const kek = await bundleKek(
    passphrase,
    Buffer.from(bundle.kdf.salt, "base64"),
    bundle.kdf.iterations,
  );
  const count = bundle.secrets.length;
  const opened: BundleSecret[] = [];
  const problems: BundleProblem[] = [];
  bundle.secrets.forEach((entry, index) => {
    const aad = aadParts(bundle.bundle_id, index, count, entry);
    let plaintext: Buffer | undefined;
    try {
      plaintext = decryptPlaintext(
        Buffer.from(entry.encrypted_value, "base64"),
        Buffer.from(entry.wrapped_dek, "base64"),
        kek,
        aad.id,
        aad.name,
      );
      const value: unknown = JSON.parse(decodePlaintext(plaintext, kek));
      if (!isPlainObject(value) || !Object.values(value).every((v) => typeof v === "string")) {
        throw new Error("not an object of strings");
      }
      opened.push({
        name: entry.name,
        value: value as Record<string, string>,
        provider: entry.provider,
        authConfig: entry.auth_config,
      });
    } catch {
      problems.push({ index, problem: "does not open: altered, moved, or from another bundle" });
    } finally {
      plaintext?.fill(0);
    }
  });
  if (problems.length === count && count > 0) {
    throw new BundleError(
      "The bundle does not open with this passphrase (or every entry was altered): check --recipient-passphrase-file",
      [],
      "DECRYPT_FAILED",
    );
  }
  if (problems.length > 0) {
    throw new BundleError(
      `${problems.length} of ${count} bundle entries do not open: the bundle was altered`,
      problems,
      "DECRYPT_FAILED",
    );
  }
  return opened;
}
