/**
 * What `mlflow-secrets crypto status` shows and `GET /api/3.0/mlflow-secrets/crypto/status`
 * answers (the same JSON): the configured keyring, rows per KEK version and whether each is
 * readable, the progress of a rotation to the current KEK, and — when asked to verify — every
 * secret whose data key does not unwrap. Never key material.
 */
import type { SecretStore } from "../store/index.js";

interface CryptoStatus {
  current_kek_version: number;
  using_default_passphrase: boolean;
  keyring_versions: number[];
  kek_versions: {
    kek_version: number;
    rows: number;
    in_keyring: boolean;
    readable: boolean;
    problem?: "wrong passphrase" | "no KEK configured";
  }[];
  /** How many rows the current KEK wraps, and how many still need an older one. */
  rotation: {
    target_kek_version: number;
    rows_at_target: number;
    rows_total: number;
    rows_remaining: number;
    complete: boolean;
  };
  verified?: true;
  failures?: { secret_id: string; secret_name: string; kek_version: number; problem: string }[];
}

/**
 * @example
 * ```ts
 * const status = await cryptoStatus(store);
 * status.rotation.rows_remaining; // 0 once every row is at the current KEK version
 * ```
 */
export async function cryptoStatus(
  store: SecretStore,
  options: { verify?: boolean } = {},
): Promise<CryptoStatus> {
  const [counts, problems] = await Promise.all([store.countByKekVersion(), store.checkKeyring()]);
  const failures = options.verify ? await store.verifyWrappedDeks() : undefined;
  const keyring = store.keyring;
  const current = keyring.current.kekVersion;
  const rowsTotal = counts.reduce((sum, v) => sum + v.count, 0);
  const rowsAtCurrent = counts.find((v) => v.kekVersion === current)?.count ?? 0;
  return {
    current_kek_version: current,
    using_default_passphrase: keyring.current.usingDefaultPassphrase,
    keyring_versions: [...keyring.versions],
    kek_versions: counts.map(({ kekVersion, count }) => {
      const problem = problems.find((p) => p.kekVersion === kekVersion)?.problem;
      return {
        kek_version: kekVersion,
        rows: count,
        in_keyring: keyring.get(kekVersion) !== undefined,
        readable: problem === undefined,
        ...(problem === "wrong-passphrase" ? { problem: "wrong passphrase" as const } : {}),
        ...(problem === "missing" ? { problem: "no KEK configured" as const } : {}),
      };
    }),
    rotation: {
      target_kek_version: current,
      rows_at_target: rowsAtCurrent,
      rows_total: rowsTotal,
      rows_remaining: rowsTotal - rowsAtCurrent,
      complete: rowsAtCurrent === rowsTotal,
    },
    ...(failures
      ? {
          verified: true as const,
          failures: failures.map((f) => ({
            secret_id: f.secretId,
            secret_name: f.secretName,
            kek_version: f.kekVersion,
            problem: f.problem,
          })),
        }
      : {}),
  };
}
