/**
 * `npm run bench`: crypto figures, next to the Python reference run right before on the same
 * machine (when ../shared/reference is present), printed as JSON.
 *
 *   npm run bench [-- --seconds 2]
 */
import { parseArgs } from "node:util";
import { benchCrypto } from "./crypto.js";
import { runReference } from "./reference.js";

const { values } = parseArgs({ options: { seconds: { type: "string", default: "2" } } });
const seconds = Number(values.seconds);

const reference = runReference("bench_reference.py", ["--seconds", String(seconds)]);
const crypto = await benchCrypto(seconds);

const ratio = (ours: number, theirs: number | string | undefined): number | undefined =>
  typeof theirs === "number" ? Math.round((ours / theirs) * 100) / 100 : undefined;

const report = {
  machine: { node: process.version, cpus: (await import("node:os")).availableParallelism() },
  crypto: {
    ...crypto,
    python_reference: reference ?? "not run (python3 or ../shared/reference missing)",
    ratio_vs_reference: reference && {
      encrypt: ratio(crypto.encrypt_secret_per_s, reference.encrypt_secret_per_s),
      decrypt: ratio(crypto.decrypt_secret_per_s, reference.decrypt_secret_per_s),
      rotate: ratio(crypto.rotate_secret_per_s, reference.rotate_secret_per_s),
      target: 1.5,
    },
  },
};
console.log(JSON.stringify(report, null, 2));
