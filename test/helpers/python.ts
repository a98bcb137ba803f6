/** Runs Python 3 snippets for cross-checks; tests that need it skip where python3 is missing. */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const hasPython = spawnSync("python3", ["--version"]).status === 0;

/** The reference tools (MLflow's Python crypto), when this checkout sits next to them. */
export const referenceDir = process.env.MLFLOW_SECRETS_REFERENCE_DIR
  ? `${process.env.MLFLOW_SECRETS_REFERENCE_DIR.replace(/\/$/, "")}/`
  : fileURLToPath(new URL("../../../shared/reference/python/", import.meta.url));
export const hasReference = hasPython && existsSync(`${referenceDir}verify_db.py`);

/** Runs `python3 -c code` with `input` on stdin; returns stdout, throws with stderr on failure. */
export function runPython(code: string, input = "", env: NodeJS.ProcessEnv = process.env): string {
  const result = spawnSync("python3", ["-c", code], {
    input,
    encoding: "utf8",
    env,
    maxBuffer: 1 << 28,
  });
  if (result.status !== 0) throw new Error(`python3 failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}
