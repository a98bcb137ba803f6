/** Parsers for flags that take one of a few words, or a bounded integer: a usage error otherwise. */
import { usageError } from "./errors.js";

/**
 * A commander argument parser accepting exactly one of `choices`.
 *
 * @example
 * ```ts
 * new Option("--format <format>").argParser(choiceParser("--format", ["json", "dotenv"] as const));
 * ```
 */
export function choiceParser<T extends string>(
  flag: string,
  choices: readonly T[],
): (value: string) => T {
  return (value) => {
    const choice = choices.find((c) => c === value);
    if (choice === undefined) {
      throw usageError(`${flag} must be one of ${choices.join(", ")}, got '${value}'`);
    }
    return choice;
  };
}

/**
 * A commander argument parser accepting a decimal integer from `min` to `max`.
 *
 * @example
 * ```ts
 * new Option("--batch-size <n>").argParser(integerParser("--batch-size", 1, 50_000));
 * ```
 */
export function integerParser(flag: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const n = /^\d+$/.test(value) ? Number(value) : NaN;
    if (!Number.isInteger(n) || n < min || n > max) {
      throw usageError(`${flag} must be an integer between ${min} and ${max}, got '${value}'`);
    }
    return n;
  };
}
