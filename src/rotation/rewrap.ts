/**
 * Re-wrapping batches of DEKs, inline or in a worker thread. With a worker, re-wrapping one batch
 * overlaps with reading the next and writing the previous one, so both cores are busy.
 */
import { Worker } from "node:worker_threads";
import type { KekManager } from "../crypto/index.js";
import { rewrapPackedDeks } from "../crypto/internal.js";
import { MlflowSecretsError } from "../errors.js";

/** The result of one batch: the re-wrapped DEKs, and the first index that failed (-1: none). */
export interface RewrapResult {
  /** The DEKs that went in (given back by the worker). */
  input: Buffer;
  output: Buffer;
  failedAt: number;
}

export interface Rewrapper {
  /** Re-wraps `input` (n × 60 bytes). The input buffer may be handed to another thread. */
  rewrap(input: Buffer): Promise<RewrapResult>;
  close(): Promise<void>;
}

/** Data the worker starts with (package-internal). */
export interface RewrapWorkerData {
  oldKey: Uint8Array;
  oldVersion: number;
  newKey: Uint8Array;
  newVersion: number;
}

export interface RewrapRequest {
  input: ArrayBuffer;
}

export interface RewrapResponse {
  input: ArrayBuffer;
  output: ArrayBuffer;
  failedAt: number;
}

/** A buffer that owns its whole ArrayBuffer, so it can be transferred to a worker. */
export function transferableBuffer(length: number): Buffer {
  return Buffer.from(new ArrayBuffer(length));
}

/** Re-wraps on the calling thread. */
export function inlineRewrapper(oldKek: KekManager, newKek: KekManager): Rewrapper {
  return {
    async rewrap(input) {
      const output = Buffer.allocUnsafe(input.length);
      return { input, output, failedAt: rewrapPackedDeks(input, output, oldKek, newKek) };
    },
    async close() {},
  };
}

// Under tsx (tests, benchmarks) this module is TypeScript, and so is the worker next to it;
// a worker thread does not inherit tsx's loader on Node 20, so it imports the module through
// tsx's API. Built code (dist/) imports the JavaScript module directly.
const FROM_SOURCE = import.meta.url.endsWith(".ts");
const WORKER_URL = new URL(
  FROM_SOURCE ? "./rewrap-worker.ts" : "./rewrap-worker.js",
  import.meta.url,
).href;
const WORKER_BOOTSTRAP = FROM_SOURCE
  ? `import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))})` +
    `.then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER_URL)}); })`
  : `import(${JSON.stringify(WORKER_URL)})`;

/**
 * Re-wraps in a worker thread; batches are answered in the order they were sent, so several may
 * be in flight.
 */
export function workerRewrapper(oldKek: KekManager, newKek: KekManager): Rewrapper {
  const oldKey = oldKek.getKek();
  const newKey = newKek.getKek();
  const data: RewrapWorkerData = {
    oldKey,
    oldVersion: oldKek.kekVersion,
    newKey,
    newVersion: newKek.kekVersion,
  };
  // workerData is copied into the worker: the copies here are zeroed right away.
  // Started through a dynamic import so that a module loader the process runs under (tsx in
  // tests and benchmarks) also loads the worker's module.
  const worker = new Worker(WORKER_BOOTSTRAP, {
    eval: true,
    workerData: data,
    // The worker holds one batch at a time: a small heap keeps the process's memory flat
    // however many rows rotate (V8 would otherwise grow the heap with the allocation rate).
    resourceLimits: { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 64 },
  });
  oldKey.fill(0);
  newKey.fill(0);
  const pending: {
    resolve: (result: RewrapResult) => void;
    reject: (err: Error) => void;
  }[] = [];
  let failure: Error | undefined;
  const failAll = (err: Error) => {
    failure ??= err;
    for (const p of pending.splice(0)) p.reject(failure);
  };
  worker.on("message", (response: RewrapResponse) => {
    pending.shift()?.resolve({
      input: Buffer.from(response.input),
      output: Buffer.from(response.output),
      failedAt: response.failedAt,
    });
  });
  worker.on("error", (err) =>
    failAll(
      new MlflowSecretsError(
        `The re-wrapping worker thread failed: ${err.message}`,
        "INTERNAL_ERROR",
      ),
    ),
  );
  worker.on("exit", (code) =>
    failAll(
      new MlflowSecretsError(
        `The re-wrapping worker thread exited (code ${code})`,
        "INTERNAL_ERROR",
      ),
    ),
  );
  return {
    rewrap(input) {
      if (failure) return Promise.reject(failure);
      return new Promise<RewrapResult>((resolve, reject) => {
        pending.push({ resolve, reject });
        let owned = input;
        if (input.byteOffset !== 0 || input.byteLength !== input.buffer.byteLength) {
          owned = transferableBuffer(input.length);
          input.copy(owned);
        }
        const request: RewrapRequest = { input: owned.buffer as ArrayBuffer };
        worker.postMessage(request, [request.input]);
      });
    },
    async close() {
      failure ??= new MlflowSecretsError("The re-wrapping worker was closed", "INTERNAL_ERROR");
      await worker.terminate();
    },
  };
}
