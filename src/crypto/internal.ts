/**
 * Package-internal crypto entry points for the store and the rotation engine. Not exported from
 * the package root: they work on plaintext bytes and raw DEKs.
 */
export {
  decodePlaintext,
  decryptPlaintext,
  encryptPlaintext,
  rewrapPackedDeks,
  unwrapDekWith,
} from "./envelope.js";
export { kekManagerFromKeyBytes } from "./kek.js";
export { isPlainObject, pythonJsonDumps } from "./python-json.js";
