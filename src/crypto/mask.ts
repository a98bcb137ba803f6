/**
 * Display masks, as MLflow computes them. Masks are stored in plaintext and are not reversible:
 * at most the first 3–4 and the last 4 characters of a value of 8 or more characters.
 * Lengths count Unicode code points (Python `str`), never UTF-16 units, so an emoji is never split.
 */
import { isPlainObject } from "./python-json.js";

const LONG_PREFIXES = ["ghp_", "gho_", "ghu_"] as const;
const MIN_MASKED_LENGTH = 8;
const MAX_DICT_SUMMARY = 95;

function maskString(value: string): string {
  const chars = Array.from(value); // code points
  if (chars.length < MIN_MASKED_LENGTH) return "***";
  const prefixLength = LONG_PREFIXES.some((prefix) => value.startsWith(prefix)) ? 4 : 3;
  return `${chars.slice(0, prefixLength).join("")}...${chars.slice(-4).join("")}`;
}

function maskDict(value: Record<string, unknown>): string {
  const keys = Object.keys(value);
  if (keys.length === 0) return "<dict: empty>";
  const shown =
    keys.length <= 3 ? keys.join(", ") : `${keys.slice(0, 3).join(", ")}, +${keys.length - 3} more`;
  const summary = `<dict: ${keys.length} key${keys.length === 1 ? "" : "s"} (${shown})>`;
  const chars = Array.from(summary);
  return chars.length > MAX_DICT_SUMMARY ? `${chars.slice(0, 92).join("")}...>` : summary;
}

/**
 * Masks one secret value for display: `sk-...cdef` for a string, a key summary for an object,
 * `***` for anything shorter than 8 characters or of another type.
 *
 * @example
 * ```ts
 * maskSecretValue("sk-proj-1234567890abcdef"); // "sk-...cdef"
 * maskSecretValue({ api_key: "x" });            // "<dict: 1 key (api_key)>"
 * ```
 */
export function maskSecretValue(value: unknown): string {
  if (typeof value === "string") return maskString(value);
  if (isPlainObject(value)) return maskDict(value);
  return "***";
}

/**
 * Masks each value of a secret's key → value map, as the store saves it in `masked_value`.
 * A value that is not a string masks to `***`.
 *
 * @example
 * ```ts
 * maskSecretValues({ api_key: "sk-proj-1234567890abcdef" }); // { api_key: "sk-...cdef" }
 * ```
 */
export function maskSecretValues(values: Record<string, string>): Record<string, string> {
  const masked: Record<string, string> = {};
  for (const key of Object.keys(values)) {
    const item: unknown = values[key];
    // defineProperty keeps a key named "__proto__" an ordinary own property.
    Object.defineProperty(masked, key, {
      value: typeof item === "string" ? maskString(item) : "***",
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return masked;
}
