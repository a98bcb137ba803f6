/**
 * KEK rotation: re-wrap every DEK stored with the old KEK version under the new KEK. Values are
 * never decrypted or rewritten; only `wrapped_dek` and `kek_version` change, in one statement per
 * row, so a row is always either (old DEK wrapping, old version) or (new wrapping, new version).
 *
 * - Offline: one transaction; batches are read in physical order (keyset pagination), re-wrapped
 *   and written inside it, so memory is bounded by the batch size and any failure (or a crash)
 *   leaves every row as it was.
 * - Online: one short transaction per batch; each row is updated only if it still holds the
 *   version and wrapped DEK that were read (compare-and-set), so a secret a server re-encrypted
 *   meanwhile is left alone. Running it again resumes where it stopped.
 *
 * Re-wrapping runs in a worker thread for large tables, overlapping with reading the next batch
 * and writing the previous one.
 */
import { WRAPPED_DEK_LENGTH, type KekManager } from "../crypto/index.js";
import { unwrapDekWith } from "../crypto/internal.js";
import { MlflowSecretsError, invalidParameter } from "../errors.js";
import type { PackedBatchRow, RotationSql, SqlExecutor, SqlStatement } from "../store/dialect.js";
import { Keyring } from "../store/keyring.js";
import { openSecretStore } from "../store/open.js";
import type { SecretStore } from "../store/secret-store.js";
import {
  inlineRewrapper,
  transferableBuffer,
  workerRewrapper,
  type RewrapResult,
  type Rewrapper,
} from "./rewrap.js";

/** Rows per batch unless told otherwise. */
export const DEFAULT_BATCH_SIZE = 2000;
export const MAX_BATCH_SIZE = 50_000;
/** Below this many rows a worker thread costs more to start than it saves. */
const WORKER_THRESHOLD = 20_000;
/** Online passes: a pass leaves behind rows that a server re-encrypted with the old KEK meanwhile. */
const MAX_ONLINE_PASSES = 3;
/** Dry run: failures listed (all are counted). */
const MAX_LISTED_FAILURES = 1000;

/** `offline`: one transaction, all or nothing. `online`: a transaction per batch, resumable. */
export type RotationMode = "offline" | "online";

/** Reported after every batch. */
export interface RotationProgress {
  /** Rows handled so far (re-wrapped, skipped or, in a dry run, checked). */
  done: number;
  /** Rows at the old version when the run started. */
  total: number;
  /** Rows re-wrapped (offline: not committed until the end). */
  rotated: number;
  /** Rows left alone because they changed while the batch was in flight. */
  skipped: number;
}

export interface RotateKekOptions {
  /** An open store; its dialect is used, the store stays open. */
  store?: SecretStore;
  /** Otherwise the database to open (default `MLFLOW_BACKEND_STORE_URI`, else the SQLite default). */
  uri?: string;
  /** The KEK the rows to rotate are wrapped with; its version is the one rotated away from. */
  oldKek: KekManager;
  /** The KEK to wrap them with; its version is written to `kek_version`. */
  newKek: KekManager;
  /** Default `offline`. */
  mode?: RotationMode;
  /** Rows per batch, 1 … 50,000 (default 2,000). */
  batchSize?: number;
  /** Check every DEK at the old version unwraps; change nothing. */
  dryRun?: boolean;
  /** Called once the rows at the old version are counted, before anything else (0: nothing to do). */
  onStart?: (total: number) => void;
  /** Called after every batch. */
  onProgress?: (progress: RotationProgress) => void;
  /** Re-wrap in a worker thread (default: when there are 20,000 rows or more). */
  parallel?: boolean;
}

/** A secret whose DEK does not unwrap with the old KEK. */
export interface RotationFailure {
  secretId: string;
  secretName: string;
  problem: string;
}

export interface RotateKekResult {
  mode: RotationMode;
  dryRun: boolean;
  oldVersion: number;
  newVersion: number;
  /** Rows at the old version when the run started. */
  total: number;
  /** Rows re-wrapped and committed (dry run: rows that would be). */
  rotated: number;
  /** Rows left alone because they changed while their batch was in flight. */
  skipped: number;
  /** Rows still at the old version at the end (0 once the rotation is complete). */
  remaining: number;
  /** Dry run: secrets whose DEK does not unwrap with the old KEK (at most 1,000 listed). */
  failures: RotationFailure[];
  /** Dry run: how many fail in all. */
  failureCount: number;
  /** Wall-clock seconds. */
  seconds: number;
}

/**
 * A rotation stopped at a secret whose DEK cannot be re-wrapped. Offline, nothing was changed;
 * online, the batches committed before it stay rotated and a re-run resumes.
 *
 * @example
 * ```ts
 * try {
 *   await rotateKek({ uri, oldKek, newKek });
 * } catch (err) {
 *   if (err instanceof KekRotationError) console.error(err.secretName, err.committed);
 * }
 * ```
 */
export class KekRotationError extends MlflowSecretsError {
  /** The secret that failed. */
  readonly secretId: string;
  readonly secretName: string;
  readonly mode: RotationMode;
  /** Rows committed at the new version before the failure (always 0 offline). */
  readonly committed: number;

  constructor(
    message: string,
    failure: { secretId: string; secretName: string; mode: RotationMode; committed: number },
    options: { cause?: unknown } = {},
  ) {
    super(message, "INVALID_STATE", { cause: options.cause, reason: "ROTATION_ROW" });
    this.name = "KekRotationError";
    this.secretId = failure.secretId;
    this.secretName = failure.secretName;
    this.mode = failure.mode;
    this.committed = failure.committed;
  }
}

const ROTATE_FAILURE =
  "Failed to rotate secret encryption. Check old KEK passphrase or database integrity.";

interface Batch {
  keys: (string | number)[];
  /** The rows' wrapped DEKs, 60 bytes each, in key order. */
  wrappedDeks: Buffer;
  /** The first row whose wrapped DEK is not 60 bytes, or -1. */
  malformedAt: number;
  /** The batch was full: there may be more after `keys.at(-1)`. */
  full: boolean;
}

interface Plan {
  store: SecretStore;
  oldKek: KekManager;
  newKek: KekManager;
  batchSize: number;
  /** Every statement the rotation runs (the dialect's). */
  sql: RotationSql;
}

function checkOptions(options: RotateKekOptions): {
  mode: RotationMode;
  batchSize: number;
} {
  const mode = options.mode ?? "offline";
  if (mode !== "offline" && mode !== "online") {
    throw invalidParameter(`mode must be 'offline' or 'online', got '${String(mode)}'`);
  }
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH_SIZE) {
    throw invalidParameter(
      `batchSize must be an integer between 1 and ${MAX_BATCH_SIZE}, got ${String(batchSize)}`,
    );
  }
  if (options.oldKek.kekVersion === options.newKek.kekVersion) {
    throw invalidParameter(
      `The new KEK must have a different version than the old one (both are ${options.oldKek.kekVersion})`,
    );
  }
  return { mode, batchSize };
}

async function readBatch(db: SqlExecutor, plan: Plan, after: Batch | undefined): Promise<Batch> {
  const params: (string | number)[] = after
    ? [plan.oldKek.kekVersion, after.keys[after.keys.length - 1]!, plan.batchSize]
    : [plan.oldKek.kekVersion, plan.batchSize];
  const packed = plan.sql.readPacked;
  if (packed !== undefined) {
    const row = await db.get<PackedBatchRow>(after ? packed.next : packed.first, params);
    const n = Number(row?.n ?? 0);
    if (n === 0) return { keys: [], wrappedDeks: Buffer.alloc(0), malformedAt: -1, full: false };
    if (Number(row!.malformed ?? 0) === 0) {
      const keys = JSON.parse(row!.keys!) as (string | number)[];
      const deks = row!.deks!;
      const wrappedDeks = transferableBuffer(n * WRAPPED_DEK_LENGTH);
      if (typeof deks === "string") wrappedDeks.write(deks, "hex");
      else deks.copy(wrappedDeks);
      return { keys, wrappedDeks, malformedAt: -1, full: n === plan.batchSize };
    }
    // A wrapped DEK of the wrong length: read the batch row by row to say which.
  }
  const rows = await db.all<{ rotation_key: string | number; wrapped_dek: Buffer }>(
    after ? plan.sql.readRows.next : plan.sql.readRows.first,
    params,
  );
  const keys: (string | number)[] = new Array<string | number>(rows.length);
  const wrappedDeks = transferableBuffer(rows.length * WRAPPED_DEK_LENGTH);
  let malformedAt = -1;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    keys[i] = row.rotation_key;
    const dek = row.wrapped_dek;
    if (dek.length === WRAPPED_DEK_LENGTH) dek.copy(wrappedDeks, i * WRAPPED_DEK_LENGTH);
    else if (malformedAt < 0) malformedAt = i;
  }
  return { keys, wrappedDeks, malformedAt, full: rows.length === plan.batchSize };
}

async function describeRow(
  db: SqlExecutor,
  plan: Plan,
  key: string | number,
): Promise<{ secretId: string; secretName: string }> {
  const row = await db.get<{ secret_id: string; secret_name: string }>(plan.sql.rowByKey, [key]);
  return { secretId: row?.secret_id ?? String(key), secretName: row?.secret_name ?? "?" };
}

async function countAt(store: SecretStore, version: number): Promise<number> {
  const row = await store.dialect.get<{ n: number | string }>(
    store.dialect.sql.rotation.countAtVersion,
    [version],
  );
  return Number(row?.n ?? 0);
}

/**
 * Before anything is written: the old KEK must unwrap a DEK stored at the old version, and the new
 * KEK one stored at the new version if there are any (a re-run after an interrupted online
 * rotation must use the same new passphrase, or rows at that version would mix two KEKs).
 */
async function preflight(
  store: SecretStore,
  oldKek: KekManager,
  newKek: KekManager,
): Promise<void> {
  // A few rows, so that one corrupted row is reported as itself later, not as a wrong passphrase.
  const sample = (version: number) =>
    store.dialect.all<{ wrapped_dek: Buffer }>(store.dialect.sql.rotation.sampleAtVersion, [
      version,
    ]);
  const anyUnwraps = (rows: { wrapped_dek: Buffer }[], kek: KekManager): boolean =>
    rows.some((row) => {
      try {
        unwrapDekWith(row.wrapped_dek, kek).fill(0);
        return true;
      } catch {
        return false;
      }
    });
  const old = await sample(oldKek.kekVersion);
  if (old.length > 0 && !anyUnwraps(old, oldKek)) {
    throw invalidParameter(
      `The old passphrase does not decrypt the secrets stored with kek_version ${oldKek.kekVersion}: ` +
        "check MLFLOW_CRYPTO_KEK_PASSPHRASE (the current, old passphrase) and MLFLOW_CRYPTO_KEK_VERSION. " +
        "Nothing was changed.",
    );
  }
  const existing = await sample(newKek.kekVersion);
  if (existing.length > 0 && !anyUnwraps(existing, newKek)) {
    throw invalidParameter(
      `Secrets stored with kek_version ${newKek.kekVersion} are wrapped with a different KEK than the new ` +
        "passphrase gives (an earlier rotation to that version used another passphrase): rotate with " +
        "that passphrase, or to another version. Nothing was changed.",
    );
  }
}

async function rowFailure(
  db: SqlExecutor,
  plan: Plan,
  batch: Batch,
  index: number,
): Promise<RotationFailure> {
  const who = await describeRow(db, plan, batch.keys[index]!);
  const problem =
    index === batch.malformedAt
      ? `the wrapped DEK is not ${WRAPPED_DEK_LENGTH} bytes`
      : ROTATE_FAILURE;
  return { ...who, problem };
}

/**
 * Runs the batches: read (keyset, physical order) → re-wrap → compare-and-set write. As soon as a
 * batch is read it goes to the re-wrapper, so with a worker thread the next batch is re-wrapped
 * while the current one is written.
 */
async function runBatches(
  plan: Plan,
  rewrapper: Rewrapper,
  io: {
    /** Where batches are read. */
    reader: SqlExecutor;
    /** Writes one batch's statements; returns rows changed. */
    write: (statements: SqlStatement[]) => Promise<number>;
    /** A failure at a row: throws. */
    fail: (failure: RotationFailure) => Promise<never>;
    progress: (rotated: number, skipped: number) => void;
  },
): Promise<void> {
  const rotation = plan.sql;
  const start = (batch: Batch): Promise<RewrapResult> => {
    const valid =
      batch.malformedAt < 0
        ? batch.wrappedDeks
        : batch.wrappedDeks.subarray(0, batch.malformedAt * WRAPPED_DEK_LENGTH);
    const pending = rewrapper.rewrap(valid);
    pending.catch(() => undefined); // awaited below; never left unhandled meanwhile
    return pending;
  };
  let current = await readBatch(io.reader, plan, undefined);
  let rewrapped = start(current);
  while (current.keys.length > 0) {
    let next: Batch | undefined;
    let nextRewrapped: Promise<RewrapResult> | undefined;
    if (current.full) {
      next = await readBatch(io.reader, plan, current);
      if (next.keys.length > 0) nextRewrapped = start(next);
    }
    const { input, output, failedAt } = await rewrapped;
    if (failedAt >= 0 || current.malformedAt >= 0) {
      const index = failedAt >= 0 ? failedAt : current.malformedAt;
      await io.fail(await rowFailure(io.reader, plan, current, index));
    }
    const changed = await io.write(
      rotation.compareAndSetWrappedDeks({
        keys: current.keys,
        oldWrappedDeks: input,
        newWrappedDeks: output,
        oldVersion: plan.oldKek.kekVersion,
        newVersion: plan.newKek.kekVersion,
      }),
    );
    output.fill(0);
    io.progress(changed, current.keys.length - changed);
    if (next === undefined || nextRewrapped === undefined) return;
    current = next;
    rewrapped = nextRewrapped;
  }
}

async function dryRun(
  plan: Plan,
  total: number,
  onProgress: RotateKekOptions["onProgress"],
): Promise<{ rotated: number; failures: RotationFailure[]; failureCount: number }> {
  const rewrapper = inlineRewrapper(plan.oldKek, plan.newKek);
  const failures: RotationFailure[] = [];
  let failureCount = 0;
  let done = 0;
  let batch = await readBatch(plan.store.dialect, plan, undefined);
  while (batch.keys.length > 0) {
    let from = 0;
    while (from < batch.keys.length) {
      const end = batch.malformedAt >= from ? batch.malformedAt : batch.keys.length;
      const { output, failedAt } = await rewrapper.rewrap(
        batch.wrappedDeks.subarray(from * WRAPPED_DEK_LENGTH, end * WRAPPED_DEK_LENGTH),
      );
      output.fill(0);
      const bad = failedAt >= 0 ? from + failedAt : end < batch.keys.length ? end : -1;
      if (bad < 0) break;
      failureCount++;
      if (failures.length < MAX_LISTED_FAILURES) {
        failures.push(await rowFailure(plan.store.dialect, plan, batch, bad));
      }
      from = bad + 1;
    }
    done += batch.keys.length;
    onProgress?.({ done, total, rotated: done - failureCount, skipped: 0 });
    batch = batch.full ? await readBatch(plan.store.dialect, plan, batch) : { ...batch, keys: [] };
  }
  return { rotated: done - failureCount, failures, failureCount };
}

/**
 * Re-wraps every DEK stored at `oldKek`'s version with `newKek`, offline (one transaction) or
 * online (a transaction per batch, compare-and-set, resumable). Checks before writing anything
 * that the old KEK unwraps the stored DEKs.
 *
 * @throws MlflowSecretsError — a wrong old KEK (nothing written), equal versions, or a
 * {@link KekRotationError} naming the secret whose DEK could not be re-wrapped.
 * @example
 * ```ts
 * const oldKek = await KekManager.create({ passphrase: oldPassphrase, kekVersion: 1 });
 * const newKek = await KekManager.create({ passphrase: newPassphrase, kekVersion: 2 });
 * const result = await rotateKek({ uri: "sqlite:///mlflow.db", oldKek, newKek, mode: "online" });
 * console.log(`${result.rotated} rotated, ${result.remaining} left at v1`);
 * ```
 */
export async function rotateKek(options: RotateKekOptions): Promise<RotateKekResult> {
  const started = performance.now();
  const { mode, batchSize } = checkOptions(options);
  const { oldKek, newKek } = options;
  const store =
    options.store ??
    (await openSecretStore({
      ...(options.uri ? { uri: options.uri } : {}),
      keyring: Keyring.of(newKek, [oldKek]),
      verifyKeyring: false,
    }));
  try {
    const plan: Plan = { store, oldKek, newKek, batchSize, sql: store.dialect.sql.rotation };
    const total = await countAt(store, oldKek.kekVersion);
    const result: RotateKekResult = {
      mode,
      dryRun: options.dryRun ?? false,
      oldVersion: oldKek.kekVersion,
      newVersion: newKek.kekVersion,
      total,
      rotated: 0,
      skipped: 0,
      remaining: total,
      failures: [],
      failureCount: 0,
      seconds: 0,
    };
    const finish = () => {
      result.seconds = Math.round(performance.now() - started) / 1000;
      return result;
    };
    options.onStart?.(total);
    if (total === 0) return finish();
    await preflight(store, oldKek, newKek);
    if (options.dryRun) {
      Object.assign(result, await dryRun(plan, total, options.onProgress));
      return finish();
    }
    const parallel = options.parallel ?? total >= WORKER_THRESHOLD;
    const rewrapper = parallel ? workerRewrapper(oldKek, newKek) : inlineRewrapper(oldKek, newKek);
    try {
      if (mode === "offline") await rotateOffline(plan, rewrapper, result, options.onProgress);
      else await rotateOnline(plan, rewrapper, result, options.onProgress);
    } finally {
      await rewrapper.close();
    }
    return finish();
  } finally {
    if (!options.store) await store.close();
  }
}

async function rotateOffline(
  plan: Plan,
  rewrapper: Rewrapper,
  result: RotateKekResult,
  onProgress: RotateKekOptions["onProgress"],
): Promise<void> {
  const dialect = plan.store.dialect;
  let rotated = 0;
  let skipped = 0;
  await dialect.transaction(
    (tx) =>
      runBatches(plan, rewrapper, {
        reader: tx,
        write: async (statements) => {
          let changed = 0;
          for (const statement of statements)
            changed += await tx.run(statement.sql, statement.params);
          return changed;
        },
        fail: async (failure) => {
          throw new KekRotationError(
            `KEK rotation failed at secret '${failure.secretName}' (${failure.secretId}). ` +
              "No changes were made. Fix the issue and re-run the command.",
            { ...failure, mode: "offline", committed: 0 },
            { cause: new MlflowSecretsError(failure.problem, "INVALID_PARAMETER_VALUE") },
          );
        },
        progress: (changed, left) => {
          rotated += changed;
          skipped += left;
          onProgress?.({ done: rotated + skipped, total: result.total, rotated, skipped });
        },
      }),
    { write: true },
  );
  result.rotated = rotated;
  result.skipped = skipped;
  // One pass in one transaction leaves at the old version only the rows the compare-and-set left
  // alone (no server writes meanwhile in offline mode), so no second scan of the table is needed.
  result.remaining = skipped;
  if (rotated > 0) await dialect.compactAfterBulkWrite();
}

async function rotateOnline(
  plan: Plan,
  rewrapper: Rewrapper,
  result: RotateKekResult,
  onProgress: RotateKekOptions["onProgress"],
): Promise<void> {
  const dialect = plan.store.dialect;
  let rotated = 0;
  let skipped = 0;
  for (let pass = 0; pass < MAX_ONLINE_PASSES; pass++) {
    await runBatches(plan, rewrapper, {
      reader: dialect,
      write: (statements) =>
        dialect.transaction(
          async (tx) => {
            let changed = 0;
            for (const statement of statements)
              changed += await tx.run(statement.sql, statement.params);
            return changed;
          },
          { write: true },
        ),
      fail: async (failure) => {
        throw new KekRotationError(
          `KEK rotation failed at secret '${failure.secretName}' (${failure.secretId}). ` +
            `${rotated} secret(s) already rotated to kek_version ${plan.newKek.kekVersion} stay so ` +
            "(servers need both KEKs until the rotation completes). Fix the issue and re-run the command to resume.",
          { ...failure, mode: "online", committed: rotated },
          { cause: new MlflowSecretsError(failure.problem, "INVALID_PARAMETER_VALUE") },
        );
      },
      progress: (changed, left) => {
        rotated += changed;
        skipped += left;
        onProgress?.({ done: rotated + skipped, total: result.total, rotated, skipped });
      },
    });
    result.remaining = await countAt(plan.store, plan.oldKek.kekVersion);
    // Left behind: rows a server still on the old KEK re-encrypted while their batch was in flight.
    if (result.remaining === 0) break;
  }
  result.rotated = rotated;
  result.skipped = skipped;
}
