/**
 * Copying tables from one database to another, byte for byte: every column value is read and
 * written as the driver hands it over (bytes as bytes, text as text, integers as numbers), never
 * decrypted or re-encoded — a secret's ciphertext is bound to its id and name (the AAD), not to
 * the database, so the same bytes decrypt wherever they land.
 *
 * The engine knows no table: each layer describes its own ({@link CopyTable}: key, unique keys,
 * columns an update may not change, an optional check of each copied row) and the columns are
 * read from the databases themselves, so a column added by a migration is copied with no change
 * here. Rows are walked in primary-key order a batch at a time (keyset pagination: memory is
 * bounded by the batch, whatever the table's size), and each batch is written in one
 * transaction, so a crash or Ctrl-C loses at most the batch in flight; running the copy again
 * finds the rows already there, identical, and skips them.
 *
 * A row is *identical* when every copied column holds the same value at the destination,
 * compared here in JavaScript (bytes with bytes, exactly), not by the destination's collation.
 * A destination row that shares the primary key or a unique key with a source row but is not
 * identical is a *conflict*, settled by the policy: `fail` (the default; checked over every table
 * before anything is written), `skip` or `overwrite`. Source rows are only ever read.
 */
import { decryptPlaintext } from "../crypto/internal.js";
import { MlflowSecretsError, invalidParameter } from "../errors.js";
import type {
  Dialect,
  Row,
  SqlExecutor,
  SqlStatement,
  SqlValue,
  TableDefinition,
} from "./dialect.js";
import { keysetAfter, keysetParams } from "./dialect.js";
import type { Keyring } from "./keyring.js";
import { secretsTable } from "./schema.js";
import { DEFAULT_WORKSPACE } from "./secret-store.js";

/** What to do with a source row whose key is held at the destination by a different row. */
export const CONFLICT_POLICIES = ["fail", "skip", "overwrite"] as const;
export type ConflictPolicy = (typeof CONFLICT_POLICIES)[number];

/** Rows read per batch unless told otherwise. */
const DEFAULT_COPY_BATCH_SIZE = 1000;
/** Conflicts and verification failures listed (all are counted). */
const MAX_LISTED = 20;

/** How a layer describes one of its tables to the copy engine. */
export interface CopyTable {
  name: string;
  /** The primary key's columns: rows are walked in this order and matched by them. */
  key: readonly string[];
  /** Further unique keys (a row holding one of them at the destination is the same row, or a conflict). */
  unique: readonly (readonly string[])[];
  /**
   * Columns an UPDATE may not change (a trigger refuses it, or they are the AAD): overwriting a
   * row that differs in one of them deletes and re-inserts it instead of updating it.
   */
  immutable: readonly string[];
  /**
   * Columns one side may lack, with the value that stands for them there (MLflow's `workspace`
   * before workspaces: `'default'`). A destination without such a column takes the source's
   * rows only if every one of them holds that value.
   */
  optional: Readonly<Record<string, string | number>>;
  /** Columns that name a row for people (conflicts and failures); default the key. */
  label?: readonly string[];
  /**
   * Checks a row as the destination holds it after the copy (e.g. that a secret decrypts);
   * returns what is wrong, or undefined. Never returns or throws anything secret.
   */
  check?: (row: Row) => string | undefined;
}

/**
 * A {@link CopyTable} from a table's definition: its key and unique keys are read from its
 * `CONSTRAINT … PRIMARY KEY (…)` and `CONSTRAINT … UNIQUE (…)` clauses, so a table of our own
 * needs nothing but its definition to be copied.
 *
 * @example
 * ```ts
 * const users = copyTableOf(usersTable(dialect.sql)); // key ["user_id"], unique [["username"]]
 * ```
 */
export function copyTableOf(
  definition: TableDefinition,
  extra: Partial<Omit<CopyTable, "name" | "key" | "unique">> = {},
): CopyTable {
  const columnsOf = (list: string) => list.split(",").map((c) => c.trim());
  let key: string[] | undefined;
  const unique: string[][] = [];
  for (const clause of definition.clauses) {
    const pk = /^CONSTRAINT\s+\w+\s+PRIMARY\s+KEY\s*\(([^)]+)\)/i.exec(clause);
    if (pk) key = columnsOf(pk[1]!);
    const uq = /^CONSTRAINT\s+\w+\s+UNIQUE\s*\(([^)]+)\)/i.exec(clause);
    if (uq) unique.push(columnsOf(uq[1]!));
  }
  if (key === undefined) {
    throw invalidParameter(`Table ${definition.name} has no primary key: it cannot be copied`);
  }
  return { name: definition.name, key, unique, immutable: [], optional: {}, ...extra };
}

/**
 * MLflow's `secrets` table as the copy handles it: matched by `secret_id` and by
 * (`workspace`, `secret_name`); id and name never change in place (they are the AAD, and
 * MLflow's trigger refuses it); `workspace` may be missing on either side (MLflow before
 * workspaces); and every copied row must decrypt with the keyring at the destination, with the
 * KEK of its own `kek_version`.
 */
function secretsCopyTable(keyring: Keyring): CopyTable {
  return copyTableOf(secretsTable("BLOB"), {
    immutable: ["secret_id", "secret_name"],
    optional: { workspace: DEFAULT_WORKSPACE },
    label: ["secret_name", "workspace", "secret_id"],
    check(row) {
      const version = Number(row.kek_version);
      const kek = keyring.get(version);
      if (kek === undefined) {
        return `kek_version ${version} is not in the keyring (configured: ${keyring.versions.join(", ")})`;
      }
      try {
        decryptPlaintext(
          row.encrypted_value as Uint8Array,
          row.wrapped_dek as Uint8Array,
          kek,
          String(row.secret_id),
          String(row.secret_name),
        ).fill(0);
        return undefined;
      } catch {
        return `does not decrypt with the KEK of kek_version ${version}`;
      }
    },
  });
}

/**
 * The store's tables, in the order they are copied. A table the store adds (with its migration)
 * is added here; a column needs nothing (columns are read from the databases).
 */
export function storeCopyTables(keyring: Keyring): CopyTable[] {
  return [secretsCopyTable(keyring)];
}

/** A row's place in a table: the values of its primary key. */
export type RowLabel = Readonly<Record<string, SqlValue>>;

/** A source row held at the destination by a different row. */
export interface CopyConflict {
  table: string;
  /** The source row, by its label columns. */
  row: RowLabel;
  /** What the destination holds: the same key with other content, or another row with one of its unique keys. */
  reason: string;
}

/** A copied row that is not as it should be at the destination after the copy. */
export interface CopyFailure {
  table: string;
  row: RowLabel;
  problem: string;
}

/** Per table, what the copy found and did. */
export interface TableCopyResult {
  table: string;
  /** Not in the source (e.g. an MLflow database has none of our tables): nothing to copy. */
  missingInSource: boolean;
  sourceRows: number;
  /** Rows written (a dry run: rows that would be). */
  inserted: number;
  /** Rows already at the destination, identical: left alone. */
  identical: number;
  /** Conflicting rows replaced (`overwrite`). */
  overwritten: number;
  /** Conflicting rows left as they were (`skip`). */
  skipped: number;
  /** Rows found identical at the destination (and passing the table's check) after the copy. */
  verified: number;
  /** Rows in the destination table after the copy. */
  destinationRows: number;
}

/** Reported after every batch. */
export interface CopyProgress {
  /** `check`: looking for conflicts before writing; `copy`; `verify`: reading back. */
  phase: "check" | "copy" | "verify";
  table: string;
  /** Rows done in this phase, over all tables. */
  done: number;
  /** Rows in all tables to copy. */
  total: number;
}

export interface CopyTablesOptions {
  source: Dialect;
  destination: Dialect;
  /** In order: a table referenced by another's foreign key comes first. */
  tables: readonly CopyTable[];
  onConflict?: ConflictPolicy;
  /** Find out what would be copied; write nothing. */
  dryRun?: boolean;
  batchSize?: number;
  /** Called once the rows to copy are counted. */
  onStart?: (total: number) => void;
  onProgress?: (progress: CopyProgress) => void;
  /** Stops after the batch in flight (the batches written stay; running again resumes). */
  signal?: AbortSignal;
}

export interface CopyResult {
  dryRun: boolean;
  onConflict: ConflictPolicy;
  tables: TableCopyResult[];
  /** Conflicts found (at most 20 listed; `conflictCount` counts all). */
  conflicts: CopyConflict[];
  conflictCount: number;
  /** Rows not as they should be at the destination after the copy (at most 20 listed). */
  failures: CopyFailure[];
  failureCount: number;
  seconds: number;
}

/**
 * The copy found rows it may not write over (`--on-conflict fail`). When `written` is 0 the
 * destination was not changed at all (the conflicts were found before writing).
 */
export class CopyConflictError extends MlflowSecretsError {
  constructor(
    readonly conflicts: readonly CopyConflict[],
    readonly conflictCount: number,
    readonly written: number,
  ) {
    super(
      `${conflictCount} row(s) at the destination conflict with the source` +
        (written === 0
          ? "; nothing was written"
          : `; ${written} row(s) were written before the conflict`),
      "RESOURCE_ALREADY_EXISTS",
    );
    this.name = "CopyConflictError";
  }
}

/** The copy was stopped (Ctrl-C) after `written` rows; running it again resumes. */
export class CopyInterruptedError extends MlflowSecretsError {
  constructor(readonly written: number) {
    super(
      `Stopped after ${written} row(s) were written; run the same command again to finish (rows already copied are skipped)`,
      "INVALID_STATE",
    );
    this.name = "CopyInterruptedError";
  }
}

/** A table as this copy handles it: which columns, and what each side has. */
interface TablePlan {
  table: CopyTable;
  /** Columns read from the source. */
  sourceColumns: string[];
  /** Columns compared and written, in order (the source's, as the destination has them). */
  columns: string[];
  /** Optional columns the source lacks: filled with their stand-in value. */
  filled: Record<string, SqlValue>;
  key: string[];
  /** The source dialect's physical-order column, when the table has it (SQLite's rowid). */
  position: string | undefined;
  unique: string[][];
  label: string[];
  sourceRows: number;
  destinationExists: boolean;
  destinationRowsBefore: number;
  result: TableCopyResult;
}

type Verdict =
  | { kind: "insert" }
  | { kind: "identical"; match: Row }
  | { kind: "conflict"; matches: Row[]; reason: string };

/** Values equal byte for byte (a number and its decimal text count as equal: drivers differ). */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || a === undefined || b === undefined) return false;
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  if (typeof a === "number" && typeof b === "string") return String(a) === b;
  if (typeof a === "string" && typeof b === "number") return a === String(b);
  return false;
}

/** A map key for a row's values in some columns. */
function keyString(row: Row, columns: readonly string[]): string {
  if (columns.length === 1) return keyPart(row[columns[0]!]);
  return JSON.stringify(columns.map((c) => keyPart(row[c])));
}

function keyPart(value: unknown): string {
  if (Buffer.isBuffer(value)) return `\u0000x${value.toString("hex")}`;
  if (value === null || value === undefined) return "\u0000null";
  if (typeof value === "string") return value;
  return typeof value === "number" || typeof value === "bigint"
    ? String(value)
    : `\u0000${typeof value}`;
}

function asSqlValue(table: string, column: string, value: unknown): SqlValue {
  if (value === null || value === undefined) return null;
  if (typeof value === "string" || typeof value === "number" || Buffer.isBuffer(value))
    return value;
  if (typeof value === "bigint") return value.toString();
  throw new MlflowSecretsError(
    `${table}.${column} holds a ${typeof value} value, which db copy cannot carry unchanged`,
    "INVALID_STATE",
  );
}

function labelOf(plan: TablePlan, row: Row): RowLabel {
  const label: Record<string, SqlValue> = {};
  for (const column of plan.label) label[column] = asSqlValue(plan.table.name, column, row[column]);
  return label;
}

/**
 * Copies `tables` from `source` to `destination` (both open; neither is closed). Every table must
 * exist at the destination unless this is a dry run.
 *
 * @throws CopyConflictError with `--on-conflict fail` when a destination row conflicts: found
 * before anything is written whenever the destination already held rows.
 * @throws CopyInterruptedError when `signal` aborts.
 * @example
 * ```ts
 * const result = await copyTables({ source, destination, tables: storeCopyTables(keyring) });
 * console.log(result.tables[0]?.inserted, result.failureCount);
 * ```
 */
export async function copyTables(options: CopyTablesOptions): Promise<CopyResult> {
  const started = performance.now();
  const { source, destination } = options;
  const onConflict = options.onConflict ?? "fail";
  const dryRun = options.dryRun ?? false;
  const batchSize = options.batchSize ?? DEFAULT_COPY_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw invalidParameter(`batch size must be a positive integer, got ${batchSize}`);
  }
  const plans: TablePlan[] = [];
  for (const table of options.tables) {
    plans.push(await planTable(source, destination, table, dryRun));
  }
  const total = plans.reduce((n, p) => n + p.sourceRows, 0);
  options.onStart?.(total);

  const conflicts: CopyConflict[] = [];
  let conflictCount = 0;
  const noteConflict = (plan: TablePlan, row: Row, reason: string) => {
    conflictCount++;
    if (conflicts.length < MAX_LISTED) {
      conflicts.push({ table: plan.table.name, row: labelOf(plan, row), reason });
    }
  };
  const failures: CopyFailure[] = [];
  let failureCount = 0;
  let written = 0;
  let done = 0;
  const progress = (phase: CopyProgress["phase"], plan: TablePlan, rows: number) => {
    done += rows;
    options.onProgress?.({ phase, table: plan.table.name, done, total });
  };
  const eachBatch = (plan: TablePlan, fn: (rows: Row[]) => Promise<void>) =>
    forEachBatch(walk(source, plan, batchSize), fn, options.signal, () => written);

  // Before anything is written: every conflict, over every table (a dry run stops here).
  if (dryRun || (onConflict === "fail" && plans.some((p) => p.destinationRowsBefore > 0))) {
    for (const plan of plans) {
      if (plan.destinationRowsBefore > 0) await destination.refreshStatistics(plan.table.name);
      await eachBatch(plan, async (rows) => {
        const verdicts =
          plan.destinationRowsBefore > 0 ? await classify(destination, plan, rows) : undefined;
        rows.forEach((row, i) => {
          const verdict = verdicts?.[i] ?? INSERT;
          if (verdict.kind === "insert") plan.result.inserted++;
          else if (verdict.kind === "identical") plan.result.identical++;
          else {
            noteConflict(plan, row, verdict.reason);
            if (onConflict === "skip") plan.result.skipped++;
            else if (onConflict === "overwrite") plan.result.overwritten++;
          }
        });
        progress("check", plan, rows.length);
      });
    }
    if (dryRun) {
      for (const plan of plans) plan.result.destinationRows = plan.destinationRowsBefore;
      return finish();
    }
    if (conflictCount > 0) throw new CopyConflictError(conflicts, conflictCount, 0);
    for (const plan of plans) {
      Object.assign(plan.result, { inserted: 0, identical: 0, overwritten: 0, skipped: 0 });
    }
    done = 0;
  }

  for (const plan of plans) {
    const { name } = plan.table;
    // Into an empty table, batches are inserted without looking first; should a row turn out to
    // be there after all (another writer), that batch is rolled back and looked up.
    let lookFirst = plan.destinationRowsBefore > 0;
    if (lookFirst) await destination.refreshStatistics(name);
    await eachBatch(plan, async (rows) => {
      if (!lookFirst) {
        try {
          await destination.transaction(
            (tx) => destination.insertRows(tx, name, plan.columns, valuesOf(plan, rows)),
            { write: true },
          );
          plan.result.inserted += rows.length;
          written += rows.length;
          progress("copy", plan, rows.length);
          return;
        } catch (err) {
          if (!destination.isUniqueViolation(err)) throw describeWriteError(plan, err);
          lookFirst = true;
        }
      }
      const verdicts = await classify(destination, plan, rows);
      const inserts: Row[] = [];
      const statements: SqlStatement[] = [];
      let fresh = 0;
      let replaced = 0;
      rows.forEach((row, i) => {
        const verdict = verdicts[i]!;
        if (verdict.kind === "insert") {
          inserts.push(row);
          fresh++;
        } else if (verdict.kind === "identical") {
          plan.result.identical++;
        } else {
          noteConflict(plan, row, verdict.reason);
          if (onConflict === "skip") plan.result.skipped++;
          else if (onConflict === "overwrite") {
            replaced++;
            statements.push(...overwriteStatements(plan, row, verdict.matches, inserts));
          }
        }
      });
      if (onConflict === "fail" && conflictCount > 0) {
        throw new CopyConflictError(conflicts, conflictCount, written);
      }
      if (statements.length > 0 || inserts.length > 0) {
        try {
          await destination.transaction(
            async (tx) => {
              for (const statement of statements) await tx.run(statement.sql, statement.params);
              await destination.insertRows(tx, name, plan.columns, valuesOf(plan, inserts));
            },
            { write: true },
          );
        } catch (err) {
          throw describeWriteError(plan, err);
        }
      }
      plan.result.overwritten += replaced;
      plan.result.inserted += fresh;
      written += fresh + replaced;
      progress("copy", plan, rows.length);
    });
  }
  await destination.compactAfterBulkWrite();

  // Read back: every source row must be at the destination as it is at the source (and pass
  // its table's check). Looked up by primary key; only a row that is not there identical is
  // looked up by its unique keys too, to tell a conflict left alone from a row gone missing.
  done = 0;
  for (const plan of plans) {
    await destination.refreshStatistics(plan.table.name);
    await eachBatch(plan, async (rows) => {
      const matches = await byPrimaryKey(destination, plan, rows);
      const others: Row[] = [];
      for (const row of rows) {
        const match = matches.get(keyString(row, plan.key));
        if (match !== undefined && identical(plan, row, match)) {
          const problem = plan.table.check?.(match);
          if (problem === undefined) plan.result.verified++;
          else noteFailure(plan, row, problem);
        } else {
          others.push(row);
        }
      }
      if (others.length > 0) {
        const verdicts = await classify(destination, plan, others);
        others.forEach((row, i) => {
          const verdict = verdicts[i]!;
          if (verdict.kind === "conflict" && onConflict === "skip") return; // left alone on purpose
          noteFailure(
            plan,
            row,
            verdict.kind === "conflict"
              ? `different at the destination (${verdict.reason})`
              : "missing at the destination",
          );
        });
      }
      progress("verify", plan, rows.length);
    });
    plan.result.destinationRows = await countRows(destination, plan.table.name);
  }
  return finish();

  function noteFailure(plan: TablePlan, row: Row, problem: string): void {
    failureCount++;
    if (failures.length < MAX_LISTED) {
      failures.push({ table: plan.table.name, row: labelOf(plan, row), problem });
    }
  }

  function finish(): CopyResult {
    return {
      dryRun,
      onConflict,
      tables: plans.map((p) => p.result),
      conflicts,
      conflictCount,
      failures,
      failureCount,
      seconds: Math.round(performance.now() - started) / 1000,
    };
  }
}

const INSERT = { kind: "insert" } as const;

/** Batches handled at once: one is written (or looked up) while the next is read and prepared. */
const BATCHES_IN_FLIGHT = 2;

/**
 * Runs `fn` for each batch, at most {@link BATCHES_IN_FLIGHT} at a time. Stops reading at the
 * first failure or when `signal` aborts, and returns (or throws) only once the batches already
 * started have settled, so no write is left running behind the caller.
 */
async function forEachBatch(
  batches: AsyncGenerator<Row[]>,
  fn: (rows: Row[]) => Promise<void>,
  signal: AbortSignal | undefined,
  written: () => number,
): Promise<void> {
  const running = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  let interrupted = false;
  try {
    for await (const rows of batches) {
      if (failure !== undefined) break;
      if (signal?.aborted) {
        interrupted = true;
        break;
      }
      const task: Promise<void> = fn(rows).then(
        () => void running.delete(task),
        (error: unknown) => {
          running.delete(task);
          failure ??= { error };
        },
      );
      running.add(task);
      if (running.size >= BATCHES_IN_FLIGHT) await Promise.race(running);
    }
  } finally {
    await Promise.all(running);
  }
  if (failure !== undefined) throw failure.error;
  if (interrupted) throw new CopyInterruptedError(written());
}

function valuesOf(plan: TablePlan, rows: readonly Row[]): SqlValue[][] {
  return rows.map((row) => plan.columns.map((c) => asSqlValue(plan.table.name, c, row[c])));
}

function identical(plan: TablePlan, row: Row, match: Row): boolean {
  return plan.columns.every((c) => sameValue(row[c], match[c]));
}

/** The destination's rows with the primary keys of `rows`, by {@link keyString}. */
async function byPrimaryKey(
  destination: Dialect,
  plan: TablePlan,
  rows: readonly Row[],
): Promise<Map<string, Row>> {
  const found = new Map<string, Row>();
  for (const match of await lookup(destination, plan, plan.key, rows)) {
    found.set(keyString(match, plan.key), match);
  }
  return found;
}

/**
 * The destination's rows that may share `columns` with one of `rows`: `c1 IN (…) AND c2 IN (…)`
 * (an index serves it; the exact matches are picked by the caller).
 */
async function lookup(
  destination: Dialect,
  plan: TablePlan,
  columns: readonly string[],
  rows: readonly Row[],
): Promise<Row[]> {
  if (!plan.destinationExists) return [];
  const params: SqlValue[] = [];
  const terms = columns.map((column) => {
    const values = new Set(rows.map((r) => asSqlValue(plan.table.name, column, r[column])));
    const present = [...values].filter((v) => v !== null);
    params.push(...present);
    return present.length === 0 ? "1 = 0" : `${column} IN (${present.map(() => "?").join(", ")})`;
  });
  return destination.all(
    `SELECT ${plan.columns.join(", ")} FROM ${plan.table.name} WHERE ${terms.join(" AND ")}`,
    params,
  );
}

async function countRows(db: SqlExecutor, table: string): Promise<number> {
  const row = await db.get<{ n: number | string }>(`SELECT COUNT(*) AS n FROM ${table}`);
  return Number(row?.n ?? 0);
}

/** Which columns to copy, and what each side holds; refuses what cannot be copied faithfully. */
async function planTable(
  source: Dialect,
  destination: Dialect,
  table: CopyTable,
  dryRun: boolean,
): Promise<TablePlan> {
  const result: TableCopyResult = {
    table: table.name,
    missingInSource: false,
    sourceRows: 0,
    inserted: 0,
    identical: 0,
    overwritten: 0,
    skipped: 0,
    verified: 0,
    destinationRows: 0,
  };
  const sourceExists = await source.tableExists(table.name);
  const destinationExists = await destination.tableExists(table.name);
  if (!destinationExists && !dryRun) {
    throw new MlflowSecretsError(`The destination has no table ${table.name}`, "INVALID_STATE", {
      reason: "SCHEMA_MISSING",
    });
  }
  const sourceColumns = sourceExists ? await source.columnNames(table.name) : [];
  const destinationColumns = destinationExists
    ? await destination.columnNames(table.name)
    : sourceColumns;
  const filled: Record<string, SqlValue> = {};
  const columns: string[] = [];
  for (const column of sourceColumns) {
    if (destinationColumns.includes(column)) {
      columns.push(column);
      continue;
    }
    const standIn = table.optional[column];
    if (standIn === undefined) {
      throw new MlflowSecretsError(
        `The destination's ${table.name} table has no column ${column}: upgrade the destination ` +
          "(mlflow db upgrade for MLflow's tables, a newer mlflow-secrets for ours)",
        "INVALID_STATE",
        { reason: "SCHEMA_MISSING" },
      );
    }
    const other = await source.get<{ n: number | string }>(
      `SELECT COUNT(*) AS n FROM ${table.name} WHERE ${column} IS NULL OR ${column} <> ?`,
      [standIn],
    );
    const n = Number(other?.n ?? 0);
    if (n > 0) {
      throw new MlflowSecretsError(
        `Refusing to copy ${table.name}: ${n} row(s) of the source have a ${column} other than ` +
          `'${standIn}', and the destination's table has no ${column} column (it would lose them)`,
        "INVALID_STATE",
      );
    }
  }
  for (const [column, standIn] of Object.entries(table.optional)) {
    if (sourceExists && !sourceColumns.includes(column) && destinationColumns.includes(column)) {
      filled[column] = standIn;
      columns.push(column);
    }
  }
  const key = [...table.key];
  for (const column of key) {
    if (sourceExists && !columns.includes(column)) {
      throw new MlflowSecretsError(`${table.name}.${column} is missing`, "INVALID_STATE");
    }
  }
  // A unique key over a column one side lacks holds one value there: it reduces to the rest.
  const unique = table.unique
    .map((u) => u.filter((c) => columns.includes(c)))
    .filter((u) => u.length > 0);
  result.missingInSource = !sourceExists;
  result.sourceRows = sourceExists ? await countRows(source, table.name) : 0;
  const destinationRowsBefore = destinationExists ? await countRows(destination, table.name) : 0;
  // The source's physical order is the fastest to read, unless the destination stores rows by
  // primary key: then reading in that order makes every insert an append.
  let position = destination.sql.storesRowsByPrimaryKey ? undefined : source.sql.physicalOrder;
  if (position !== undefined && sourceExists) {
    // A table without one (SQLite's WITHOUT ROWID) is walked by its primary key.
    await source
      .get(`SELECT ${position} FROM ${table.name} LIMIT 1`)
      .catch(() => (position = undefined));
  }
  return {
    table,
    sourceColumns: sourceColumns.filter((c) => columns.includes(c)),
    columns,
    filled,
    key,
    position: sourceExists ? position : undefined,
    unique,
    label: [...(table.label ?? table.key)].filter((c) => columns.includes(c)),
    sourceRows: result.sourceRows,
    destinationExists,
    destinationRowsBefore,
    result,
  };
}

/** The source's rows in key order, a batch at a time; the next batch is read while one is handled. */
async function* walk(source: Dialect, plan: TablePlan, batchSize: number): AsyncGenerator<Row[]> {
  if (plan.result.missingInSource) return;
  const { name } = plan.table;
  // The dialect's physical order where it has one (SQLite's rowid: a sequential read; walking
  // by primary key would jump around the file), else the primary key.
  const position = plan.position;
  const order = position ? [POSITION] : plan.key;
  const columns = position
    ? [`${position} AS ${POSITION}`, ...plan.sourceColumns]
    : plan.sourceColumns;
  const select = `SELECT ${columns.join(", ")} FROM ${name}`;
  const orderBy = ` ORDER BY ${position ?? plan.key.join(", ")} LIMIT ?`;
  const after = position ? `${position} > ?` : keysetAfter(plan.key);
  const read = (last: SqlValue[] | undefined): Promise<Row[]> =>
    last === undefined
      ? source.all(`${select}${orderBy}`, [batchSize])
      : source.all(`${select} WHERE ${after}${orderBy}`, [
          ...(position ? last : keysetParams(last)),
          batchSize,
        ]);
  let next: Promise<Row[]> | undefined = read(undefined);
  while (next !== undefined) {
    const rows = await next;
    if (rows.length === batchSize) {
      const last = rows[rows.length - 1]!;
      next = read(order.map((c) => asSqlValue(name, c, last[c])));
      next.catch(() => undefined); // awaited on the next turn; never an unhandled rejection
    } else {
      next = undefined;
    }
    const filled = Object.entries(plan.filled);
    if (filled.length > 0) {
      for (const row of rows) for (const [column, value] of filled) row[column] = value;
    }
    if (rows.length > 0) yield rows;
  }
}

/** The alias of the position column in the rows read (never a real column name). */
const POSITION = "mlflow_secrets_copy_position";

/**
 * What the destination holds for each row: nothing (insert), the same row (identical), or
 * something else under its key or a unique key (a conflict). One lookup per key of the table.
 */
async function classify(
  destination: Dialect,
  plan: TablePlan,
  rows: readonly Row[],
): Promise<Verdict[]> {
  const found = new Map<string, Row>();
  for (const columns of [plan.key, ...plan.unique]) {
    for (const match of await lookup(destination, plan, columns, rows)) {
      found.set(keyString(match, plan.key), match);
    }
  }
  const indexes = [plan.key, ...plan.unique].map((columns) => {
    const index = new Map<string, Row>();
    for (const row of found.values()) index.set(keyString(row, columns), row);
    return { columns, index };
  });
  return rows.map((row) => {
    const matches: Row[] = [];
    const reasons: string[] = [];
    indexes.forEach(({ columns, index }, i) => {
      const match = index.get(keyString(row, columns));
      if (match === undefined) return;
      if (!matches.includes(match)) matches.push(match);
      if (i > 0 && keyString(match, plan.key) !== keyString(row, plan.key)) {
        reasons.push(`another row has the same ${columns.join(", ")}`);
      }
    });
    if (matches.length === 0) return INSERT;
    const match = matches[0]!;
    if (matches.length === 1 && identical(plan, row, match)) return { kind: "identical", match };
    if (reasons.length === 0) {
      const differing = plan.columns.filter((c) => !sameValue(row[c], match[c]));
      reasons.push(`same ${plan.key.join(", ")}, different ${differing.join(", ")}`);
    }
    return { kind: "conflict", matches, reason: reasons.join("; ") };
  });
}

/**
 * Replacing conflicting destination rows with a source row: an UPDATE in place when the one row
 * in the way has the same key and the same immutable columns (so nothing hanging off it by a
 * foreign key is disturbed); otherwise the rows in the way are deleted and the source row is
 * queued for insertion (`inserts`).
 */
function overwriteStatements(
  plan: TablePlan,
  row: Row,
  matches: readonly Row[],
  inserts: Row[],
): SqlStatement[] {
  const { name } = plan.table;
  const where = plan.key.map((c) => `${c} = ?`).join(" AND ");
  const keyOf = (r: Row) => plan.key.map((c) => asSqlValue(name, c, r[c]));
  const only = matches.length === 1 ? matches[0]! : undefined;
  if (
    only !== undefined &&
    keyString(only, plan.key) === keyString(row, plan.key) &&
    plan.table.immutable.every((c) => !plan.columns.includes(c) || sameValue(row[c], only[c]))
  ) {
    const sets = plan.columns.filter(
      (c) => !plan.key.includes(c) && !plan.table.immutable.includes(c),
    );
    return [
      {
        sql: `UPDATE ${name} SET ${sets.map((c) => `${c} = ?`).join(", ")} WHERE ${where}`,
        params: [...sets.map((c) => asSqlValue(name, c, row[c])), ...keyOf(row)],
      },
    ];
  }
  inserts.push(row);
  return matches.map((match) => ({
    sql: `DELETE FROM ${name} WHERE ${where}`,
    params: keyOf(match),
  }));
}

/** A write that failed, named by its table (the driver's message names no value of ours). */
function describeWriteError(plan: TablePlan, err: unknown): MlflowSecretsError {
  if (err instanceof MlflowSecretsError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new MlflowSecretsError(
    `Writing to ${plan.table.name} at the destination failed: ${message.split("\n")[0]}`,
    "INTERNAL_ERROR",
    { cause: err },
  );
}
