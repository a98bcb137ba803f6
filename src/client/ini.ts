/**
 * INI files as Python's `configparser` reads them (`~/.mlflow/credentials`, `~/.databrickscfg`),
 * and an editor that replaces one section while keeping every other byte.
 *
 * Why not an npm INI package: the common ones coerce `true`/`false` to booleans, strip inline
 * `#`/`;` comments (truncating passwords that contain them) and unquote values, none of which
 * `configparser` does — a file that works with MLflow's Python client must read the same here.
 *
 * Invariant: no error message quotes a line of the file (it may hold a password or token); errors
 * name the file and the line number only.
 */
import { MlflowSecretsError } from "../errors.js";

/** The options of one section: lower-cased names → raw (uninterpolated) values. */
export type IniOptions = ReadonlyMap<string, string>;

/** A parsed file: `[DEFAULT]` options, and every other section by its case-sensitive name. */
interface IniDocument {
  readonly defaults: IniOptions;
  readonly sections: ReadonlyMap<string, IniOptions>;
}

/** What a physical line is, as `configparser` would see it. */
type IniLineKind = "blank" | "comment" | "header" | "option" | "continuation" | "invalid";

/** One physical line, with its end-of-line characters kept. */
interface IniLine {
  readonly text: string;
  readonly kind: IniLineKind;
  /** The section name, for `header` lines. */
  readonly section?: string;
}

const DEFAULT_SECTION = "DEFAULT";
const SECTION_HEADER = /^\[(.+)\]/;
const OPTION_LINE = /^(.*?)\s*[=:]\s*(.*)$/;

function parseError(source: string, lineNumber: number, what: string): MlflowSecretsError {
  return new MlflowSecretsError(
    `${source}: line ${lineNumber}: ${what}`,
    "INVALID_PARAMETER_VALUE",
  );
}

/** Splits text into lines, each keeping its `\n` / `\r\n` (the last may have none). */
function splitLines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

function stripEol(line: string): string {
  return line.replace(/\r?\n$/, "");
}

function indentOf(line: string): number {
  return line.length - line.trimStart().length;
}

/**
 * Classifies every line the way `configparser` walks a file: a line indented deeper than the
 * option above it continues that option's value (so an indented `[x]` there is not a header).
 * Never throws: the editor must work on files the strict parser would reject.
 */
export function classifyIniLines(text: string): IniLine[] {
  const out: IniLine[] = [];
  let inOption = false; // an option is open, so deeper-indented lines continue it
  let optionIndent = 0;
  for (const raw of splitLines(text)) {
    const line = stripEol(raw);
    const trimmed = line.trim();
    if (trimmed.startsWith("#") || trimmed.startsWith(";")) {
      out.push({ text: raw, kind: "comment" });
      continue;
    }
    if (trimmed === "") {
      out.push({ text: raw, kind: "blank" });
      continue;
    }
    const indent = indentOf(line);
    if (inOption && indent > optionIndent) {
      out.push({ text: raw, kind: "continuation" });
      continue;
    }
    const header = SECTION_HEADER.exec(trimmed);
    if (header) {
      inOption = false;
      out.push({ text: raw, kind: "header", section: header[1] });
      continue;
    }
    const option = OPTION_LINE.exec(trimmed);
    if (option && option[1] !== "") {
      inOption = true;
      optionIndent = indent;
      out.push({ text: raw, kind: "option" });
      continue;
    }
    inOption = false;
    out.push({ text: raw, kind: "invalid" });
  }
  return out;
}

/**
 * Parses INI text with `configparser`'s rules: `[section]` headers (case-sensitive, `DEFAULT`
 * special), `name = value` or `name: value` (names lower-cased, values trimmed), whole-line `#` and
 * `;` comments only, deeper-indented lines continuing a value, and duplicate sections or options
 * rejected. `source` names the file in errors.
 *
 * @example
 * ```ts
 * const doc = parseIni("[mlflow]\nmlflow_tracking_username = alice\n", "credentials");
 * doc.sections.get("mlflow")?.get("mlflow_tracking_username"); // "alice"
 * ```
 */
export function parseIni(text: string, source: string): IniDocument {
  const defaults = new Map<string, string[]>();
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  let currentOption: string[] | undefined;
  const lines = classifyIniLines(text.replace(/^\uFEFF/, ""));
  lines.forEach((line, index) => {
    const lineNumber = index + 1;
    const body = stripEol(line.text).trim();
    switch (line.kind) {
      case "comment":
        return;
      case "blank":
        // Inside a multi-line value an empty line is part of it (trailing ones are trimmed).
        currentOption?.push("");
        return;
      case "continuation":
        currentOption?.push(body);
        return;
      case "header": {
        const name = line.section ?? "";
        currentOption = undefined;
        if (name === DEFAULT_SECTION) {
          current = defaults;
          return;
        }
        if (sections.has(name)) throw parseError(source, lineNumber, `duplicate section [${name}]`);
        current = new Map();
        sections.set(name, current);
        return;
      }
      case "option": {
        if (current === undefined) {
          throw parseError(source, lineNumber, "an option comes before any [section] header");
        }
        const match = OPTION_LINE.exec(body);
        const name = (match?.[1] ?? "").trimEnd().toLowerCase();
        if (current.has(name)) {
          throw parseError(source, lineNumber, `duplicate option '${name}' in the same section`);
        }
        currentOption = [(match?.[2] ?? "").trim()];
        current.set(name, currentOption);
        return;
      }
      case "invalid":
        throw parseError(source, lineNumber, "not a [section] header, an option or a comment");
    }
  });
  const join = (options: Map<string, string[]>): IniOptions =>
    new Map([...options].map(([k, v]) => [k, v.join("\n").trimEnd()]));
  return {
    defaults: join(defaults),
    sections: new Map([...sections].map(([name, options]) => [name, join(options)])),
  };
}

const MAX_INTERPOLATION_DEPTH = 10;
const INTERPOLATION_REFERENCE = /^%\(([^)]+)\)s/;

/**
 * `configparser`'s `BasicInterpolation`: `%%` is a literal `%`, `%(name)s` is another option of the
 * section (or of `[DEFAULT]`). `what` names the option and file in errors; the value is never
 * quoted.
 */
export function interpolateIniValue(
  value: string,
  lookup: (name: string) => string | undefined,
  what: string,
  depth = 1,
): string {
  if (depth > MAX_INTERPOLATION_DEPTH) {
    throw new MlflowSecretsError(
      `${what}: '%(…)s' references nest deeper than ${MAX_INTERPOLATION_DEPTH} levels`,
      "INVALID_PARAMETER_VALUE",
    );
  }
  let out = "";
  let rest = value;
  for (let at = rest.indexOf("%"); at !== -1; at = rest.indexOf("%")) {
    out += rest.slice(0, at);
    rest = rest.slice(at);
    if (rest.startsWith("%%")) {
      out += "%";
      rest = rest.slice(2);
      continue;
    }
    const reference = INTERPOLATION_REFERENCE.exec(rest);
    if (!reference) {
      throw new MlflowSecretsError(
        `${what}: a '%' must be followed by '%' or '(name)s' (write '%%' for a literal percent sign)`,
        "INVALID_PARAMETER_VALUE",
      );
    }
    const name = reference[1]!.toLowerCase();
    const target = lookup(name);
    if (target === undefined) {
      throw new MlflowSecretsError(
        `${what}: '%(${name})s' refers to an option that is not set`,
        "INVALID_PARAMETER_VALUE",
      );
    }
    out += interpolateIniValue(target, lookup, what, depth + 1);
    rest = rest.slice(reference[0].length);
  }
  return out + rest;
}

/** Escapes a value for a file read with `BasicInterpolation` (`%` → `%%`). */
export function escapeIniInterpolation(value: string): string {
  return value.replaceAll("%", "%%");
}

/**
 * Replaces the first section named `sectionName` with `blockLines` (written as given, each
 * followed by the file's line ending, then one blank line), or prepends the block when there is no
 * such section. The replaced span runs from the header to the line before the next header — blank
 * lines and comments inside included — except for comment lines directly above the next header,
 * which describe that section and stay. Every other line is kept byte for byte.
 *
 * @example
 * ```ts
 * replaceIniSection("[a]\nx = 1\n[b]\ny = 2\n", "a", ["[a]", "x = 3"]);
 * // "[a]\nx = 3\n\n[b]\ny = 2\n"
 * ```
 */
export function replaceIniSection(
  text: string,
  sectionName: string,
  blockLines: readonly string[],
): string {
  const eol = /\r?\n/.exec(text)?.[0] ?? "\n"; // the file's own line ending
  const block = [...blockLines, ""].map((line) => line + eol).join("");
  const lines = classifyIniLines(text);
  const start = lines.findIndex((l) => l.kind === "header" && l.section === sectionName);
  if (start === -1) return block + text;
  let end = lines.findIndex((l, i) => i > start && l.kind === "header");
  if (end === -1) {
    end = lines.length;
  } else {
    while (end - 1 > start && lines[end - 1]!.kind === "comment") end -= 1;
  }
  const before = lines.slice(0, start).map((l) => l.text);
  const after = lines.slice(end).map((l) => l.text);
  // A file whose last kept line had no line ending must not glue onto the block.
  const head = before.join("");
  const glue = head !== "" && !head.endsWith("\n") ? eol : "";
  return head + glue + block + after.join("");
}
