/** Human tables and `--output json` (exactly the REST response body for the same operation). */
import { usageError } from "./errors.js";
import type { CliIo } from "./io.js";

export type OutputFormat = "table" | "json";

export function parseOutputFormat(value: string): OutputFormat {
  if (value === "table" || value === "json") return value;
  throw usageError(`--output must be 'table' or 'json', got '${value}'`);
}

export function printJson(io: CliIo, body: unknown): void {
  io.stdout.write(`${JSON.stringify(body)}\n`);
}

/** Left-aligned columns, two spaces apart. */
export function printTable(
  io: CliIo,
  headers: readonly string[],
  rows: readonly (readonly string[])[],
): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  io.stdout.write(`${[line(headers), ...rows.map(line)].join("\n")}\n`);
}

/** `key: value` lines for one record. */
export function printRecord(
  io: CliIo,
  fields: readonly (readonly [string, string | undefined])[],
): void {
  const shown = fields.filter((f): f is readonly [string, string] => f[1] !== undefined);
  const width = Math.max(...shown.map(([k]) => k.length));
  io.stdout.write(`${shown.map(([k, v]) => `${`${k}:`.padEnd(width + 1)} ${v}`).join("\n")}\n`);
}

export function formatTime(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/\.\d{3}Z$/, "Z");
}
