/**
 * Which transactions the running code is inside of, so that a store called from within its own
 * `transaction(fn)` callback (instead of through `tx`) fails at once with `TX_REENTRANT` rather
 * than deadlocking: SQLite has one connection, which the transaction holds while `fn` waits for
 * the call queued behind it; PostgreSQL and MySQL would run the call outside the transaction on
 * another pooled connection — not atomic with it, and a deadlock once the pool is exhausted.
 *
 * The context follows `fn`'s awaits (AsyncLocalStorage); the owner is the dialect, the thing
 * that holds the connection (one SQLite dialect is shared by every store on that file).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { MlflowSecretsError } from "../errors.js";

const inside = new AsyncLocalStorage<ReadonlySet<object>>();

/** Runs `fn` as the body of a transaction of `owner`. */
export function runAsTransaction<T>(owner: object, fn: () => Promise<T>): Promise<T> {
  const outer = inside.getStore();
  return inside.run(outer === undefined ? new Set([owner]) : new Set([...outer, owner]), fn);
}

/**
 * The `TX_REENTRANT` error when called from within a transaction body of `owner`, else undefined
 * (callers return it as a rejected promise).
 */
export function reentrantCall(owner: object): MlflowSecretsError | undefined {
  if (inside.getStore()?.has(owner)) {
    return new MlflowSecretsError(
      "The store was called inside its own transaction() callback: use the `tx` the callback " +
        "receives for every operation of the transaction (the store itself would wait for the " +
        "transaction to end, which waits for the call)",
      "INTERNAL_ERROR",
      { reason: "TX_REENTRANT" },
    );
  }
  return undefined;
}
