/**
 * Secret values from the command line. Flags are visible in the process list, so every command
 * that takes a value also takes it from stdin or a hidden prompt.
 */
import { usageError } from "./errors.js";
import { isInteractive, readAll, type CliIo } from "./io.js";

export interface ValueOptions {
  value?: string[];
  valueJson?: string;
  valueStdin?: boolean;
  key?: string;
}

function parseJsonObject(text: string, source: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw usageError(`${source} is not valid JSON`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw usageError(
      `${source} must be a JSON object of string values, e.g. {"api_key": "sk-..."}`,
    );
  }
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (typeof value !== "string")
      throw usageError(`${source}: the value of '${key}' must be a string`);
    Object.defineProperty(result, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return result;
}

/** How many of the value sources were given. */
function valueSourceCount(options: ValueOptions): number {
  return [options.value?.length, options.valueJson !== undefined, options.valueStdin].filter(
    Boolean,
  ).length;
}

/**
 * The secret value from exactly one source: `--value KEY=VALUE …`, `--value-json`, `--value-stdin`
 * (a JSON object, or else the whole text as the value of `--key`, default `api_key`), or — on a
 * terminal — a hidden prompt. Returns undefined when none is given and `required` is false.
 */
export async function readSecretValue(
  options: ValueOptions,
  io: CliIo,
  required: boolean,
): Promise<Record<string, string> | undefined> {
  const count = valueSourceCount(options);
  if (count > 1) throw usageError("Give the value once: --value, --value-json or --value-stdin");
  const key = options.key ?? "api_key";
  if (options.value?.length) {
    const result: Record<string, string> = {};
    for (const pair of options.value) {
      const at = pair.indexOf("=");
      if (at <= 0) throw usageError("--value takes KEY=VALUE (e.g. --value api_key=sk-...)");
      Object.defineProperty(result, pair.slice(0, at), {
        value: pair.slice(at + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return result;
  }
  if (options.valueJson !== undefined) return parseJsonObject(options.valueJson, "--value-json");
  if (options.valueStdin) {
    const text = (await readAll(io.stdin)).replace(/\r?\n$/, "");
    if (text.trimStart().startsWith("{")) return parseJsonObject(text, "stdin");
    if (text === "") throw usageError("stdin is empty: pipe the secret value in");
    return { [key]: text };
  }
  if (!required) return undefined;
  if (!isInteractive(io)) {
    throw usageError(
      "No secret value given: use --value-stdin (or --value / --value-json) when not on a terminal",
    );
  }
  const secret = await io.prompts.password(`Value for '${key}' (hidden)`);
  if (secret === "") throw usageError("The value is empty");
  return { [key]: secret };
}

/** `--auth-config JSON`: a JSON object of non-secret settings. */
export function parseAuthConfig(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw usageError("--auth-config is not valid JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw usageError('--auth-config must be a JSON object, e.g. {"api_base": "https://..."}');
  }
  return parsed as Record<string, unknown>;
}
