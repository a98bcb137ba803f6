/** Runs the Python reference benchmark (MLflow's crypto) when it sits next to this checkout. */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const REFERENCE_DIR =
  process.env.MLFLOW_SECRETS_REFERENCE_DIR ??
  fileURLToPath(new URL("../../shared/reference/python/", import.meta.url));

/** The reference's figures as JSON, or undefined where python3 or the reference is missing. */
export function runReference(
  script: string,
  args: string[] = [],
): Record<string, number | string> | undefined {
  const path = `${REFERENCE_DIR}/${script}`;
  if (!existsSync(path)) return undefined;
  const result = spawnSync("python3", [path, ...args], { encoding: "utf8" });
  if (result.status !== 0) return undefined;
  return JSON.parse(result.stdout.trim().split("\n").pop()!) as Record<string, number | string>;
}
