/**
 * Python's `json.dumps` output, byte for byte: separators `", "` and `": "`, `ensure_ascii`
 * escaping (`\uXXXX`, lowercase hex, surrogate pairs for astral characters), and optionally
 * `sort_keys` (code-point order, as Python compares `str`).
 *
 * MLflow writes secret plaintexts with it, and the AES-GCM ciphertext covers those exact bytes.
 */
import { invalidParameter } from "../errors.js";

const SHORT_ESCAPES: Readonly<Record<number, string>> = {
  0x22: '\\"',
  0x5c: "\\\\",
  0x0a: "\\n",
  0x0d: "\\r",
  0x09: "\\t",
  0x08: "\\b",
  0x0c: "\\f",
};

/** A JSON string literal as Python writes it with `ensure_ascii=True`. */
function pythonJsonString(text: string): string {
  let out = '"';
  let runStart = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    // Printable ASCII other than `"` and `\` passes through; everything else is escaped.
    if (unit >= 0x20 && unit <= 0x7e && unit !== 0x22 && unit !== 0x5c) continue;
    out += text.slice(runStart, i);
    // UTF-16 code units are exactly what Python emits: astral characters become surrogate pairs.
    out += SHORT_ESCAPES[unit] ?? `\\u${unit.toString(16).padStart(4, "0")}`;
    runStart = i + 1;
  }
  return out + text.slice(runStart) + '"';
}

/** Python's `repr(float)` for a finite number that is not an integer (or is beyond 2^53). */
function pythonFloat(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "Infinity";
  if (value === -Infinity) return "-Infinity";
  // Both languages print the shortest digits that round-trip; only the layout differs.
  const [mantissa = "", exponentText = "0"] = value.toExponential().split("e");
  const exponent = Number(exponentText);
  const negative = mantissa.startsWith("-");
  const digits = mantissa.replace("-", "").replace(".", "");
  const sign = negative ? "-" : "";
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) return `${sign}0.${"0".repeat(-exponent - 1)}${digits}`;
    const intPart = digits.slice(0, exponent + 1).padEnd(exponent + 1, "0");
    const fraction = digits.slice(exponent + 1);
    return `${sign}${intPart}.${fraction || "0"}`;
  }
  const head = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const expSign = exponent < 0 ? "-" : "+";
  return `${sign}${head}e${expSign}${String(Math.abs(exponent)).padStart(2, "0")}`;
}

function pythonNumber(value: number): string {
  // JavaScript cannot tell 1 from 1.0. Integral values below 1e21 are written as JSON.stringify
  // writes them (digits), which is what Python reads as an int; the rest as Python floats.
  if (Number.isInteger(value) && Math.abs(value) < 1e21) return String(value);
  return pythonFloat(value);
}

/** Compares strings by code point, as Python orders `str` (JavaScript's `<` compares UTF-16 units). */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (astral characters) sort above every BMP unit in code-point order.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/**
 * A JSON object as Python's `json` sees a dict: a non-null, non-array object whose prototype is
 * `Object.prototype` or null (class instances, Maps and the like are not).
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Serialises `value` as Python's `json.dumps(value, sort_keys=sortKeys)` would.
 * Accepts strings, finite and non-finite numbers, bigints, booleans, null, arrays and plain
 * objects; anything else (undefined, functions, class instances, cycles) is an
 * `INVALID_PARAMETER_VALUE` error, as Python would raise for what it cannot serialise.
 *
 * @example
 * ```ts
 * pythonJsonDumps({ b: 1, a: "é" }, { sortKeys: true }); // '{"a": "\\u00e9", "b": 1}'
 * ```
 */
export function pythonJsonDumps(value: unknown, options: { sortKeys?: boolean } = {}): string {
  const sortKeys = options.sortKeys ?? false;
  const active = new Set<object>();

  const write = (item: unknown): string => {
    switch (typeof item) {
      case "string":
        return pythonJsonString(item);
      case "number":
        return pythonNumber(item);
      case "bigint":
        return item.toString();
      case "boolean":
        return item ? "true" : "false";
      case "object": {
        if (item === null) return "null";
        if (active.has(item)) throw invalidParameter("Circular reference detected in secret value");
        active.add(item);
        try {
          if (Array.isArray(item)) {
            return `[${item.map((element) => write(element)).join(", ")}]`;
          }
          if (!isPlainObject(item)) {
            throw invalidParameter("Secret value contains an object that is not JSON-serialisable");
          }
          const keys = Object.keys(item);
          if (sortKeys) keys.sort(compareCodePoints);
          return `{${keys.map((key) => `${pythonJsonString(key)}: ${write(item[key])}`).join(", ")}}`;
        } finally {
          active.delete(item);
        }
      }
      default:
        throw invalidParameter(
          `Secret value contains a ${typeof item}, which is not JSON-serialisable`,
        );
    }
  };

  return write(value);
}
