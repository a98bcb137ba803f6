/**
 * Key-encryption keys: PBKDF2-HMAC-SHA256(passphrase, salt ‖ uint32_be(version), 600 000, 32).
 *
 * Derivation costs ~0.1 s of CPU, so it happens once per process and version, asynchronously on
 * libuv's thread pool — never per request (MLflow derives on every store call).
 */
import { createSecretKey, pbkdf2, type KeyObject } from "node:crypto";
import { promisify } from "node:util";
import { MlflowSecretsError, invalidParameter } from "../errors.js";
import { open, randomPool, releaseRandom, reserveRandom, sealInto } from "./aes-gcm.js";
import { DekWrapper } from "./dek-wrapper.js";
import {
  AES_256_KEY_LENGTH,
  CRYPTO_KEK_PASSPHRASE_ENV_VAR,
  CRYPTO_KEK_VERSION_ENV_VAR,
  GCM_NONCE_LENGTH,
  WRAPPED_DEK_LENGTH,
  DEFAULT_KEK_PASSPHRASE,
  MLFLOW_KEK_SALT,
  PBKDF2_ITERATIONS,
  validateKekVersion,
} from "./constants.js";

const pbkdf2Async = promisify(pbkdf2);

const DEFAULT_PASSPHRASE_WARNING =
  `${CRYPTO_KEK_PASSPHRASE_ENV_VAR} not set. Using the default passphrase for secrets encryption. ` +
  "This is acceptable for local development (localhost) but is a SECURITY RISK for remote or shared " +
  "servers: every installation using the default shares one key, so anyone with database access " +
  `can decrypt the secrets. Set ${CRYPTO_KEK_PASSPHRASE_ENV_VAR} to a unique, high-entropy value ` +
  "for any server reachable by other users or over a network.";

let warnedDefaultPassphrase = false;

function warnDefaultPassphraseOnce(): void {
  if (warnedDefaultPassphrase) return;
  warnedDefaultPassphrase = true;
  process.emitWarning(DEFAULT_PASSPHRASE_WARNING, {
    type: "SecurityWarning",
    code: "MLFLOW_SECRETS_DEFAULT_KEK_PASSPHRASE",
  });
}

/**
 * Derives MLflow's KEK for a passphrase and version (asynchronously, off the event loop).
 *
 * @example
 * ```ts
 * const kek = await deriveKek("correct horse battery staple", 1); // 32 bytes
 * ```
 */
export async function deriveKek(passphrase: string, kekVersion: number): Promise<Buffer> {
  if (typeof passphrase !== "string") {
    throw invalidParameter(`passphrase must be a string, got ${typeof passphrase}`);
  }
  validateKekVersion(kekVersion, "kekVersion");
  const salt = Buffer.alloc(MLFLOW_KEK_SALT.length + 4);
  salt.write(MLFLOW_KEK_SALT, 0, "latin1");
  salt.writeUInt32BE(kekVersion, MLFLOW_KEK_SALT.length);
  return pbkdf2Async(
    Buffer.from(passphrase, "utf8"),
    salt,
    PBKDF2_ITERATIONS,
    AES_256_KEY_LENGTH,
    "sha256",
  );
}

/**
 * Options of {@link KekManager.create}. Nothing is read from the environment here: the keyring
 * (`Keyring.fromEnv`) applies MLflow's variables and passes their values in.
 */
export interface KekManagerOptions {
  /**
   * The passphrase. Empty (or MLflow's `DEFAULT_KEK_PASSPHRASE` itself) means MLflow's shared
   * default passphrase, with a one-time warning. Required: a KEK is never chosen silently.
   */
  passphrase: string;
  /** The version folded into the salt, 0 … 4294967295 (default 1). */
  kekVersion?: number;
}

let internalsOf: (manager: KekManager) => KekInternals;
let fromKeyBytes: (kek: Buffer, kekVersion: number, usingDefaultPassphrase: boolean) => KekManager;

/** What the envelope functions use of a KEK (package-internal). */
export interface KekInternals {
  /** The KEK as a KeyObject, for OpenSSL's general AES-GCM path. */
  key: KeyObject;
  /** The fast path for wrapping and unwrapping 32-byte DEKs. */
  wrapper: DekWrapper;
}

/**
 * One derived KEK and its version. Build it once with {@link KekManager.create} and share it.
 *
 * @example
 * ```ts
 * const kek = await KekManager.create({ passphrase: "from your secrets manager", kekVersion: 1 });
 * const sealed = encryptSecret("sk-...", kek, secretId, secretName);
 * ```
 */
export class KekManager {
  readonly #kek: Buffer;
  // Built once: OpenSSL then skips re-importing the raw key on every wrap and unwrap.
  readonly #key: KeyObject;
  readonly #wrapper: DekWrapper;
  /** The version stored in `kek_version` next to every DEK this KEK wraps. */
  readonly kekVersion: number;
  /** True when no passphrase was configured and MLflow's shared default is in use. */
  readonly usingDefaultPassphrase: boolean;

  static {
    internalsOf = (manager) => ({ key: manager.#key, wrapper: manager.#wrapper });
    fromKeyBytes = (kek, kekVersion, usingDefault) => new KekManager(kek, kekVersion, usingDefault);
  }

  private constructor(kek: Buffer, kekVersion: number, usingDefaultPassphrase: boolean) {
    this.#kek = kek;
    this.#key = createSecretKey(kek);
    this.#wrapper = new DekWrapper(this.#key);
    selfTest(this.#key, this.#wrapper);
    this.kekVersion = kekVersion;
    this.usingDefaultPassphrase = usingDefaultPassphrase;
    Object.freeze(this);
  }

  /** Derives the KEK (once, asynchronously) and returns its manager. */
  static async create(options: KekManagerOptions): Promise<KekManager> {
    const kekVersion =
      options?.kekVersion === undefined ? 1 : validateKekVersion(options.kekVersion, "kekVersion");
    const passphrase: unknown = options?.passphrase;
    if (passphrase === undefined) {
      throw invalidParameter(
        `KekManager.create needs { passphrase }; to use ${CRYPTO_KEK_PASSPHRASE_ENV_VAR} and ` +
          `${CRYPTO_KEK_VERSION_ENV_VAR}, take Keyring.fromEnv().current`,
      );
    }
    if (typeof passphrase !== "string") {
      throw invalidParameter(`passphrase must be a string, got ${typeof passphrase}`);
    }
    const usingDefault = passphrase === "" || passphrase === DEFAULT_KEK_PASSPHRASE;
    if (usingDefault) warnDefaultPassphraseOnce();
    const kek = await deriveKek(usingDefault ? DEFAULT_KEK_PASSPHRASE : passphrase, kekVersion);
    return new KekManager(kek, kekVersion, usingDefault);
  }

  /** A copy of the 32-byte KEK. */
  getKek(): Buffer {
    return Buffer.from(this.#kek);
  }

  /** Never print key material. */
  toJSON(): { kekVersion: number; usingDefaultPassphrase: boolean } {
    return { kekVersion: this.kekVersion, usingDefaultPassphrase: this.usingDefaultPassphrase };
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `KekManager { kekVersion: ${this.kekVersion}, usingDefaultPassphrase: ${this.usingDefaultPassphrase} }`;
  }
}

/** The manager's key material (package-internal; never exported from the package root). */
export function kekInternals(manager: KekManager): KekInternals {
  if (!(manager instanceof KekManager)) {
    throw invalidParameter("kek must be a KekManager (see KekManager.create)");
  }
  return internalsOf(manager);
}

/**
 * A manager for a KEK that was already derived (package-internal; never exported from the package
 * root): the rotation engine's worker thread receives the derived bytes instead of paying PBKDF2
 * again. The bytes are copied; the caller may zero its buffer afterwards.
 */
export function kekManagerFromKeyBytes(
  kek: Uint8Array,
  kekVersion: number,
  usingDefaultPassphrase = false,
): KekManager {
  if (!(kek instanceof Uint8Array) || kek.length !== AES_256_KEY_LENGTH) {
    throw invalidParameter(`A KEK must be ${AES_256_KEY_LENGTH} bytes`);
  }
  validateKekVersion(kekVersion, "kekVersion");
  return fromKeyBytes(Buffer.from(kek), kekVersion, usingDefaultPassphrase);
}

/**
 * Cross-checks the DEK fast path against OpenSSL's AES-GCM both ways on a random DEK, so a fault
 * there can never produce rows that MLflow cannot read.
 */
function selfTest(key: KeyObject, wrapper: DekWrapper): void {
  const length = 2 * GCM_NONCE_LENGTH + AES_256_KEY_LENGTH;
  const offset = reserveRandom(length);
  try {
    const dek = randomPool.subarray(offset, offset + AES_256_KEY_LENGTH);
    const fast = Buffer.alloc(WRAPPED_DEK_LENGTH);
    const reference = Buffer.alloc(WRAPPED_DEK_LENGTH);
    randomPool.copy(
      fast,
      0,
      offset + AES_256_KEY_LENGTH,
      offset + AES_256_KEY_LENGTH + GCM_NONCE_LENGTH,
    );
    randomPool.copy(reference, 0, offset + AES_256_KEY_LENGTH + GCM_NONCE_LENGTH, offset + length);
    wrapper.wrapInto(dek, fast);
    sealInto(key, dek, undefined, reference);
    const viaOpenSsl = open(key, fast, undefined);
    const viaFastPath = wrapper.unwrap(reference);
    if (!viaOpenSsl.equals(dek) || viaFastPath === undefined || !viaFastPath.equals(dek)) {
      throw new MlflowSecretsError(
        "AES-GCM self-test failed: DEK wrapping is disabled",
        "INTERNAL_ERROR",
        { reason: "SELF_TEST_FAILED" },
      );
    }
    viaOpenSsl.fill(0);
    viaFastPath.fill(0);
  } finally {
    releaseRandom(offset, length);
  }
}
