/**
 * The rotation engine's worker thread: re-wraps packed batches of DEKs while the main thread reads
 * and writes the database. It receives the two KEKs already derived (never a passphrase) and
 * answers each batch in order.
 */
import { parentPort, workerData } from "node:worker_threads";
import { kekManagerFromKeyBytes, rewrapPackedDeks } from "../crypto/internal.js";
import type { RewrapRequest, RewrapResponse, RewrapWorkerData } from "./rewrap.js";

const data = workerData as RewrapWorkerData;
const oldKek = kekManagerFromKeyBytes(data.oldKey, data.oldVersion);
const newKek = kekManagerFromKeyBytes(data.newKey, data.newVersion);
data.oldKey.fill(0);
data.newKey.fill(0);

parentPort!.on("message", (request: RewrapRequest) => {
  const input = Buffer.from(request.input);
  const output = Buffer.from(new ArrayBuffer(input.length));
  const failedAt = rewrapPackedDeks(input, output, oldKek, newKek);
  const response: RewrapResponse = { input: request.input, output: output.buffer, failedAt };
  parentPort!.postMessage(response, [request.input, output.buffer]);
});
