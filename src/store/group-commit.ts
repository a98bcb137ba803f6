/**
 * Group commit for a single-connection database (SQLite), and the write-ahead log's durability.
 *
 * Write transactions that arrive within one turn of the event loop run one after another inside
 * a single `BEGIN IMMEDIATE … COMMIT`, each in its own savepoint, so one commit (and one fsync)
 * serves them all. A member that fails rolls back to its savepoint alone.
 *
 * Durability: SQLite commits without syncing (`synchronous=NORMAL`) and {@link WalDurability}
 * fsyncs the write-ahead log itself — inline for a lone commit with nothing else in flight, on
 * the thread pool for a group — so the event loop never waits for the disk while other requests
 * are in flight. The guarantee, for this process: a write settles only after the fsync that
 * covers its commit, and a read answers only once every commit made before it is on disk (it
 * waits for the fsync in flight), so nothing is ever answered from a commit a power loss could
 * erase. (Another process reading the same file can see a commit up to one fsync earlier: SQLite
 * makes a WAL commit visible when it is written.)
 *
 * The connection, the exclusive lock and the fsync are injected, so tests drive the machinery
 * with a scripted sync instead of patching `node:fs`.
 */
import type { MlflowSecretsError } from "../errors.js";
import type { SqlExecutor } from "./dialect.js";

/** How the write-ahead log reaches the disk. */
export interface WalSync {
  /** fdatasync on the thread pool. */
  sync(): Promise<void>;
  /** fdatasync on this thread (a lone commit with nothing in flight: nobody waits behind it). */
  syncNow(): void;
}

/**
 * Tracks which commits are on disk. `commit()` is called after each COMMIT; the promise it returns
 * settles once that commit is durable. One thread-pool fsync serves every commit made before it
 * started (group fsync).
 */
export class WalDurability {
  readonly #wal: WalSync;
  readonly #onFailure: (err: unknown) => MlflowSecretsError;
  #requested = 0;
  #done = 0;
  #loop: Promise<void> | undefined;
  #failed: MlflowSecretsError | undefined;
  readonly #waiters: { upTo: number; resolve: () => void; reject: (err: unknown) => void }[] = [];

  /**
   * @param onFailure builds the error for writes whose commit could not be synced (and may switch
   *   the connection to syncing every commit itself); later commits are then taken as durable.
   */
  constructor(wal: WalSync, onFailure: (err: unknown) => MlflowSecretsError) {
    this.#wal = wal;
    this.#onFailure = onFailure;
  }

  /** True when every commit so far is on disk (or syncing is no longer this object's job). */
  get settled(): boolean {
    return this.#done === this.#requested || this.#failed !== undefined;
  }

  /**
   * Records a commit and resolves once it is on disk. `inline` allows syncing on this thread
   * (the caller knows nothing else is waiting to run).
   */
  commit(inline: boolean): Promise<void> {
    if (this.#failed !== undefined) return Promise.resolve();
    const upTo = ++this.#requested;
    if (inline && this.#loop === undefined) {
      try {
        this.#wal.syncNow();
        this.#done = upTo;
        return Promise.resolve();
      } catch (err) {
        return Promise.reject(this.#fail(err));
      }
    }
    return this.#waitFor(upTo);
  }

  /** Resolves once every commit made so far is on disk (at once when it already is). */
  flushed(): Promise<void> {
    return this.settled ? Promise.resolve() : this.#waitFor(this.#requested);
  }

  #waitFor(upTo: number): Promise<void> {
    const done = new Promise<void>((resolve, reject) =>
      this.#waiters.push({ upTo, resolve, reject }),
    );
    this.#loop ??= this.#run().finally(() => (this.#loop = undefined));
    return done;
  }

  #fail(err: unknown): MlflowSecretsError {
    this.#failed = this.#onFailure(err);
    return this.#failed;
  }

  async #run(): Promise<void> {
    while (this.#done < this.#requested) {
      const upTo = this.#requested;
      try {
        await this.#wal.sync();
      } catch (err) {
        const error = this.#fail(err);
        for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
        this.#done = upTo;
        return;
      }
      this.#done = upTo;
      for (let i = this.#waiters.length - 1; i >= 0; i--) {
        const waiter = this.#waiters[i]!;
        if (waiter.upTo <= upTo) {
          this.#waiters.splice(i, 1);
          waiter.resolve();
        }
      }
    }
  }
}

/** The statements group commit needs from the connection (all synchronous, as better-sqlite3). */
interface GroupConnection {
  /** Runs the members' statements. */
  readonly executor: SqlExecutor;
  readonly inTransaction: boolean;
  beginImmediate(): void;
  savepoint(): void;
  release(): void;
  rollbackToSavepoint(): void;
  commit(): void;
  rollback(): void;
}

interface PendingWrite {
  fn: (tx: SqlExecutor) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
}

/** How many write transactions share one commit at most. */
const MAX_GROUP_SIZE = 256;

/** Batches write transactions into shared commits; see the module comment. */
export class GroupCommit {
  readonly #connection: GroupConnection;
  readonly #exclusive: <T>(fn: () => Promise<T>) => Promise<T>;
  readonly #durability: WalDurability;
  readonly #pending: PendingWrite[] = [];
  #scheduled = false;

  /**
   * @param exclusive runs a function alone on the connection (the dialect's lock), so no other
   *   statement interleaves with a group.
   */
  constructor(
    connection: GroupConnection,
    exclusive: <T>(fn: () => Promise<T>) => Promise<T>,
    durability: WalDurability,
  ) {
    this.#connection = connection;
    this.#exclusive = exclusive;
    this.#durability = durability;
  }

  /** True while writes are queued or a group is about to run. */
  get busy(): boolean {
    return this.#pending.length > 0 || this.#scheduled;
  }

  /** Runs `fn` as a member of the next group; settles after its commit is on disk. */
  write<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ fn, resolve: resolve as (value: unknown) => void, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#exclusive(async () => {
        const group = this.#pending.splice(0, MAX_GROUP_SIZE);
        if (this.#pending.length > 0) this.#schedule();
        return group.length > 0 ? this.#commitGroup(group) : undefined;
      }).then(async (outcome) => {
        if (outcome === undefined || outcome.committed.length === 0) return;
        // The connection is free again; the next group runs while this one's fsync proceeds.
        try {
          await outcome.durable;
        } catch (err) {
          for (const { write } of outcome.committed) write.reject(err);
          return;
        }
        for (const { write, result } of outcome.committed) write.resolve(result);
      });
    });
  }

  /**
   * Runs a group in one transaction; returns the members that committed (not yet resolved) and
   * the promise of their commit's fsync — recorded in the same synchronous step as the COMMIT,
   * so no reader can see the commit before the durability tracker knows of it.
   */
  async #commitGroup(group: PendingWrite[]): Promise<{
    committed: { write: PendingWrite; result: unknown }[];
    durable?: Promise<void>;
  }> {
    const db = this.#connection;
    let done: { write: PendingWrite; result: unknown }[] = [];
    const failAll = (writes: readonly PendingWrite[], err: unknown) => {
      for (const write of writes) write.reject(err);
    };
    try {
      db.beginImmediate();
    } catch (err) {
      failAll(group, err);
      return { committed: [] };
    }
    for (let i = 0; i < group.length; i++) {
      const write = group[i]!;
      db.savepoint();
      try {
        const result = await write.fn(db.executor);
        db.release();
        done.push({ write, result });
      } catch (err) {
        write.reject(err);
        if (db.inTransaction) {
          db.rollbackToSavepoint();
          db.release();
          continue;
        }
        // The whole transaction was rolled back (I/O error, disk full): the members before this
        // one are lost as well; the rest start over in a new transaction.
        failAll(
          done.map((d) => d.write),
          err,
        );
        done = [];
        try {
          db.beginImmediate();
        } catch (beginError) {
          failAll(group.slice(i + 1), beginError);
          return { committed: [] };
        }
      }
    }
    try {
      db.commit();
    } catch (err) {
      if (db.inTransaction) db.rollback();
      failAll(
        done.map((d) => d.write),
        err,
      );
      return { committed: [] };
    }
    // A lone commit with nothing queued behind it is synced inline (nobody waits for the loop).
    const durable = this.#durability.commit(done.length === 1 && this.#pending.length === 0);
    durable.catch(() => undefined); // observed by the caller
    return { committed: done, durable };
  }
}
