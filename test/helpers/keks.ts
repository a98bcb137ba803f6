/** KEK derivation costs ~0.1 s: tests share managers per (passphrase, version). */
import { KekManager } from "../../src/index.js";

const cache = new Map<string, Promise<KekManager>>();

export function kekFor(passphrase: string, kekVersion = 1): Promise<KekManager> {
  const key = `${kekVersion}\u0000${passphrase}`;
  let manager = cache.get(key);
  if (!manager) {
    manager = KekManager.create({ passphrase, kekVersion });
    cache.set(key, manager);
  }
  return manager;
}
