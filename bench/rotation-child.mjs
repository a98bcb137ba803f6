/**
 * One timed rotation in a process of its own, so that its peak RSS is the rotation's alone (the
 * fill happened in another process). Runs the built package (`dist/`), as the installed CLI does.
 * Prints one JSON line.
 *
 *   node bench/rotation-child.mjs URI OLD_PASSPHRASE OLD_VERSION NEW_PASSPHRASE MODE BATCH_SIZE
 */
// The modules the `crypto rotate-kek` command loads (not the whole package, whose server and
// client parts a rotation never uses).
import { KekManager } from "../dist/crypto/index.js";
import { rotateKek } from "../dist/rotation/index.js";

const [uri, oldPassphrase, oldVersion, newPassphrase, mode, batchSize] = process.argv.slice(2);
// Timed like the reference: from deriving the two KEKs to the commit.
const t0 = performance.now();
const [oldKek, newKek] = await Promise.all([
  KekManager.create({ passphrase: oldPassphrase, kekVersion: Number(oldVersion) }),
  KekManager.create({ passphrase: newPassphrase, kekVersion: Number(oldVersion) + 1 }),
]);
const result = await rotateKek({ uri, oldKek, newKek, mode, batchSize: Number(batchSize) });
const seconds = (performance.now() - t0) / 1000;
console.log(
  JSON.stringify({
    rotated: result.rotated,
    remaining: result.remaining,
    seconds: Math.round(seconds * 1000) / 1000,
    rotation_seconds: result.seconds,
    max_rss_mb: Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10,
  }),
);
