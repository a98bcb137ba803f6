/**
 * Several KEK versions at once: the current one (new and updated secrets) and older ones (reads
 * only), so every row is decrypted with the KEK of its own `kek_version` — what lets rotation run
 * while servers serve.
 */
import {
  KEYRING_FILE_ENV_VAR,
  readKekPassphrase,
  readKekVersion,
  readKeyringFile,
  type Env,
} from "../config.js";
import { KekManager } from "../crypto/index.js";
import { MlflowSecretsError } from "../errors.js";

export interface KeyringOptions {
  /**
   * The current KEK: its passphrase (empty = MLflow's default, with a warning) and version
   * (default 1). Nothing is read from the environment: that is `Keyring.fromEnv`.
   */
  current: { passphrase: string; kekVersion?: number };
  /** Older KEKs, for reading rows still wrapped by them. */
  older?: readonly { version: number; passphrase: string }[];
}

/**
 * The KEKs a store reads and writes with.
 *
 * @example
 * ```ts
 * // current from MLFLOW_CRYPTO_KEK_PASSPHRASE / _VERSION, older ones from MLFLOW_SECRETS_KEYRING_FILE
 * const keyring = await Keyring.fromEnv();
 * keyring.get(row.kek_version); // the KekManager for that row, or undefined
 * ```
 */
export class Keyring {
  readonly current: KekManager;
  readonly #byVersion: ReadonlyMap<number, KekManager>;

  private constructor(current: KekManager, older: readonly KekManager[]) {
    const byVersion = new Map<number, KekManager>();
    for (const manager of older) byVersion.set(manager.kekVersion, manager);
    byVersion.set(current.kekVersion, current);
    this.current = current;
    this.#byVersion = byVersion;
    Object.freeze(this);
  }

  /** A keyring from KEKs already derived. */
  static of(current: KekManager, older: readonly KekManager[] = []): Keyring {
    for (const manager of older) {
      if (manager.kekVersion === current.kekVersion && !manager.getKek().equals(current.getKek())) {
        throw new MlflowSecretsError(
          `Two different passphrases for kek_version ${current.kekVersion}`,
          "INVALID_PARAMETER_VALUE",
          { reason: "KEYRING_CONFLICT" },
        );
      }
    }
    return new Keyring(current, older);
  }

  /** Derives every KEK concurrently (each once) and builds the keyring. */
  static async create(options: KeyringOptions): Promise<Keyring> {
    const [current, ...older] = await Promise.all([
      KekManager.create(options.current),
      ...(options.older ?? []).map((entry) =>
        KekManager.create({ passphrase: entry.passphrase, kekVersion: entry.version }),
      ),
    ]);
    return Keyring.of(current, older);
  }

  /**
   * The current KEK from MLflow's variables (`MLFLOW_CRYPTO_KEK_PASSPHRASE` or `_FILE`,
   * `MLFLOW_CRYPTO_KEK_VERSION`) and older ones from `MLFLOW_SECRETS_KEYRING_FILE`.
   */
  static async fromEnv(env?: Env): Promise<Keyring> {
    const file = readKeyringFile(env);
    if (file && file.looselyReadable.length > 0) {
      process.emitWarning(
        `${file.looselyReadable.join(", ")} can be read by group or others; KEK passphrases should be readable by their owner only (chmod 600).`,
        { type: "SecurityWarning", code: "MLFLOW_SECRETS_KEYRING_PERMISSIONS" },
      );
    }
    try {
      return await Keyring.create({
        current: { passphrase: readKekPassphrase(env) ?? "", kekVersion: readKekVersion(env) },
        older: file?.entries ?? [],
      });
    } catch (err) {
      if (file && err instanceof MlflowSecretsError && err.reason === "KEYRING_CONFLICT") {
        throw new MlflowSecretsError(
          `${KEYRING_FILE_ENV_VAR} '${file.path}': ${err.message} (the current KEK and an entry)`,
          "INVALID_PARAMETER_VALUE",
          { cause: err, reason: "KEYRING_CONFLICT" },
        );
      }
      throw err;
    }
  }

  /** The KEK for a version, or undefined when the keyring does not hold it. */
  get(version: number): KekManager | undefined {
    return this.#byVersion.get(version);
  }

  /** The versions held, ascending. */
  get versions(): number[] {
    return [...this.#byVersion.keys()].sort((a, b) => a - b);
  }
}
