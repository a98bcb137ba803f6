/**
 * The files `secrets export` writes and `secrets import` reads: JSON (everything a create needs),
 * dotenv (`NAME=value` lines, each annotated so that it reads back as the same secret), and the
 * encrypted bundle (crypto/bundle.ts). Reading checks the whole file and reports every bad entry
 * with its line (dotenv) or index (JSON), never a value.
 */
import { isPlainObject } from "../crypto/python-json.js";
import { BundleError, isSecretsBundle, openSecretsBundle } from "../crypto/bundle.js";
import {
  importProblems,
  type ExportedSecret,
  type ImportEntry,
} from "../domain/secrets/transfer.js";
import { MlflowSecretsError } from "../errors.js";

export const SECRET_FILE_FORMATS = ["json", "dotenv", "bundle"] as const;
export type SecretFileFormat = (typeof SECRET_FILE_FORMATS)[number];

const EXPORT_FORMAT = "mlflow-secrets-export";
const EXPORT_VERSION = 1;
/** The comment that carries a dotenv variable's secret name, key, provider and auth config. */
const ANNOTATION = "# mlflow-secrets: ";

/** An entry read from a file, and where it was (`line 7`, `secrets[3]`). */
export interface LocatedEntry {
  entry: ImportEntry;
  where: string;
}

interface FileProblem {
  where: string;
  problem: string;
}

/** A file that cannot be imported: every problem found in it, each with its place. */
export class SecretFileError extends MlflowSecretsError {
  constructor(
    message: string,
    readonly problems: readonly FileProblem[],
  ) {
    super(message, "INVALID_PARAMETER_VALUE");
    this.name = "SecretFileError";
  }
}

function fail(problems: FileProblem[]): never {
  throw new SecretFileError(
    `The file has ${problems.length} problem(s); nothing was imported`,
    problems,
  );
}

/**
 * An environment variable name for `text`: upper case, every character other than A–Z, 0–9
 * and `_` replaced by `_`, and `_` in front of a leading digit.
 *
 * @example
 * ```ts
 * envVarName("openai-prod_api_key"); // "OPENAI_PROD_API_KEY"
 * ```
 */
export function envVarName(text: string): string {
  const name = text.toUpperCase().replace(/[^A-Z0-9_]/g, "_");
  return /^[0-9]/.test(name) || name === "" ? `_${name}` : name;
}

/** The JSON export: `{"format", "version", "workspace", "secrets": [{name, value, provider, auth_config}]}`. */
export function formatJsonExport(secrets: readonly ExportedSecret[], workspace: string): string {
  return `${JSON.stringify(
    {
      format: EXPORT_FORMAT,
      version: EXPORT_VERSION,
      workspace,
      secrets: secrets.map((s) => ({
        name: s.name,
        value: s.value,
        provider: s.provider,
        auth_config: s.authConfig,
      })),
    },
    null,
    2,
  )}\n`;
}

/**
 * A dotenv value that every common reader takes back unchanged: single-quoted (literal) when it
 * can be, else double-quoted with `\\`, `"`, `$`, newline and carriage return escaped.
 */
function dotenvValue(value: string): string {
  if (!/['\n\r]/.test(value)) return `'${value}'`;
  return `"${value.replace(/[\\"$\n\r]/g, (c) => ({ "\\": "\\\\", '"': '\\"', $: "\\$", "\n": "\\n", "\r": "\\r" })[c]!)}"`;
}

/**
 * The dotenv export: a `NAME_KEY='value'` line per key of each secret, after a comment naming
 * the secret, the key, the provider and the auth config (so that an import rebuilds the same
 * secrets; other readers skip comments).
 */
export function formatDotenvExport(secrets: readonly ExportedSecret[], workspace: string): string {
  const lines = [
    `# Exported by mlflow-secrets from workspace '${workspace}': plaintext secret values, keep this file private.`,
  ];
  const used = new Set<string>();
  for (const secret of secrets) {
    for (const [key, value] of Object.entries(secret.value)) {
      const base = envVarName(`${secret.name}_${key}`);
      let name = base;
      for (let n = 2; used.has(name); n++) name = `${base}_${n}`;
      used.add(name);
      const annotation: Record<string, unknown> = { name: secret.name, key };
      if (secret.provider !== null) annotation.provider = secret.provider;
      if (secret.authConfig !== null) annotation.auth_config = secret.authConfig;
      lines.push(`${ANNOTATION}${JSON.stringify(annotation)}`, `${name}=${dotenvValue(value)}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

/** Where {@link jsonErrorOffset}'s scan stopped. */
class JsonStop extends Error {
  constructor(readonly offset: number) {
    super("invalid JSON");
  }
}

/**
 * Where JSON text first goes wrong: V8 names a position for some errors only, and its other
 * messages quote the text (which may hold a secret), so the place is found here.
 */
function jsonErrorOffset(text: string): number {
  let i = 0;
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i]!)) i++;
  };
  const fail = (): never => {
    throw new JsonStop(i);
  };
  const literal = (word: string) => {
    if (text.startsWith(word, i)) i += word.length;
    else fail();
  };
  const string = () => {
    i++; // the opening quote
    while (i < text.length && text[i] !== '"') {
      if (text[i]! < " ") fail();
      i += text[i] === "\\" ? 2 : 1;
    }
    if (i >= text.length) fail();
    i++;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === "{" || c === "[") {
      const close = c === "{" ? "}" : "]";
      i++;
      ws();
      if (text[i] === close) {
        i++;
        return;
      }
      for (;;) {
        if (c === "{") {
          ws();
          if (text[i] !== '"') fail();
          string();
          ws();
          if (text[i] !== ":") fail();
          i++;
        }
        value();
        ws();
        if (text[i] === ",") i++;
        else if (text[i] === close) {
          i++;
          return;
        } else fail();
      }
    }
    if (c === '"') return string();
    if (c === "t") return literal("true");
    if (c === "f") return literal("false");
    if (c === "n") return literal("null");
    const number = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (number === null) fail();
    i += number![0].length;
  };
  try {
    value();
    ws();
    return i;
  } catch (err) {
    return err instanceof JsonStop ? err.offset : i;
  }
}

/** A JSON syntax error's place, as `line L, column C`. */
function jsonErrorPlace(text: string): string {
  const offset = Math.min(jsonErrorOffset(text), text.length);
  const before = text.slice(0, offset);
  return `line ${before.split("\n").length}, column ${offset - before.lastIndexOf("\n")}`;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // The parser's message quotes the text around the error: it may be a secret, so only the place.
    fail([{ where: jsonErrorPlace(text), problem: "not valid JSON" }]);
  }
}

/** Copies an object's own properties onto a fresh object (no `__proto__` setter involved). */
function ownCopy<T>(source: Record<string, T>): Record<string, T> {
  const copy: Record<string, T> = {};
  for (const [key, value] of Object.entries(source)) {
    Object.defineProperty(copy, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return copy;
}

const ENTRY_FIELDS = new Set(["name", "value", "provider", "auth_config"]);

/** Reads the JSON export (or a bare array of its entries). */
export function parseJsonImport(text: string): LocatedEntry[] {
  const document = parseJson(text);
  if (isSecretsBundle(document)) {
    fail([{ where: "the file", problem: "this is an encrypted bundle: use --format bundle" }]);
  }
  let list: unknown = document;
  if (isPlainObject(document)) {
    if (document.format !== undefined && document.format !== EXPORT_FORMAT) {
      fail([{ where: '"format"', problem: `must be "${EXPORT_FORMAT}"` }]);
    }
    if (document.version !== undefined && document.version !== EXPORT_VERSION) {
      fail([
        {
          where: '"version"',
          problem: `version ${JSON.stringify(document.version)} is not supported`,
        },
      ]);
    }
    list = document.secrets;
  }
  if (!Array.isArray(list)) {
    fail([{ where: "the file", problem: 'expected {"secrets": [...]} or an array of secrets' }]);
  }
  const problems: FileProblem[] = [];
  const entries: LocatedEntry[] = [];
  list.forEach((item: unknown, index) => {
    const where = `secrets[${index}]`;
    const wrong = (problem: string) => problems.push({ where, problem });
    if (!isPlainObject(item)) return wrong("must be an object");
    const unknown = Object.keys(item).filter((k) => !ENTRY_FIELDS.has(k));
    if (unknown.length > 0) wrong(`unknown field(s) ${unknown.map((k) => `"${k}"`).join(", ")}`);
    const { name, value, provider, auth_config: authConfig } = item;
    if (typeof name !== "string") wrong('"name" must be a string');
    if (!isPlainObject(value)) wrong('"value" must be an object of strings');
    if (provider !== undefined && provider !== null && typeof provider !== "string") {
      wrong('"provider" must be a string or null');
    }
    if (authConfig !== undefined && authConfig !== null && !isPlainObject(authConfig)) {
      wrong('"auth_config" must be an object or null');
    }
    if (typeof name === "string" && isPlainObject(value)) {
      entries.push({
        where,
        entry: {
          name,
          value: ownCopy(value) as Record<string, string>,
          provider: provider as string | null | undefined,
          authConfig:
            authConfig === undefined || authConfig === null
              ? authConfig
              : ownCopy(authConfig as Record<string, unknown>),
        },
      });
    }
  });
  if (problems.length > 0) fail(problems);
  return checkEntries(entries);
}

/** One `NAME=value` assignment of a dotenv file. */
interface Assignment {
  variable: string;
  value: string;
  line: number;
  annotation?: {
    name: string;
    key: string;
    provider?: string;
    authConfig?: Record<string, unknown>;
  };
}

/** The value after `=`, which may continue over further lines inside quotes. */
function readValue(
  lines: readonly string[],
  at: number,
  rest: string,
): { value: string; next: number } | { problem: string } {
  const quote = rest[0];
  if (quote !== "'" && quote !== '"') {
    // Unquoted: up to a comment that follows whitespace, trimmed.
    return { value: rest.replace(/\s+#.*$/, "").trim(), next: at + 1 };
  }
  let text = rest.slice(1);
  let value = "";
  for (let line = at; line < lines.length; line++) {
    if (line > at) text = lines[line]!;
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      if (c === quote) {
        const after = text.slice(i + 1).trim();
        if (after !== "" && !after.startsWith("#")) {
          return { problem: "unexpected text after the closing quote" };
        }
        return { value, next: line + 1 };
      }
      if (quote === '"' && c === "\\" && i + 1 < text.length) {
        const escaped = text[++i]!;
        value += { n: "\n", r: "\r", t: "\t" }[escaped] ?? escaped;
        continue;
      }
      value += c;
    }
    value += "\n";
  }
  return { problem: `the ${quote === "'" ? "single" : "double"} quote is never closed` };
}

/**
 * Reads a dotenv file: `NAME=value` lines (optionally `export NAME=value`; values unquoted,
 * 'single-quoted' literally, or "double-quoted" with `\n`, `\r`, `\t`, `\"`, `\\`, `\$` escapes;
 * quoted values may span lines). A variable after an `# mlflow-secrets: {…}` comment becomes the
 * key of the secret the comment names (several variables may name one secret); any other
 * variable becomes a secret of its own name, with its value under `defaultKey`.
 */
export function parseDotenvImport(text: string, defaultKey: string): LocatedEntry[] {
  const lines = text.split(/\r?\n/);
  const problems: FileProblem[] = [];
  const assignments: Assignment[] = [];
  let pending: (NonNullable<Assignment["annotation"]> & { line: number }) | undefined;
  for (let i = 0; i < lines.length;) {
    const line = lines[i]!;
    const trimmed = line.trim();
    const where = `line ${i + 1}`;
    if (trimmed === "") {
      i++;
      continue;
    }
    if (trimmed.startsWith("#")) {
      if (trimmed.startsWith(ANNOTATION.trim())) {
        const annotation = parseAnnotation(trimmed.slice(ANNOTATION.trim().length).trim());
        if (typeof annotation === "string") problems.push({ where, problem: annotation });
        else pending = { ...annotation, line: i + 1 };
      }
      i++;
      continue;
    }
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(trimmed);
    if (!match) {
      problems.push({ where, problem: "expected NAME=value" });
      pending = undefined;
      i++;
      continue;
    }
    const read = readValue(lines, i, match[2]!);
    if ("problem" in read) {
      problems.push({ where, problem: `${match[1]}: ${read.problem}` });
      break; // the rest of the file is inside the unclosed quote
    }
    const { line: _line, ...annotation } = pending ?? { line: 0 };
    assignments.push({
      variable: match[1]!,
      value: read.value,
      line: i + 1,
      ...(pending ? { annotation: annotation as NonNullable<Assignment["annotation"]> } : {}),
    });
    pending = undefined;
    i = read.next;
  }

  // Group into secrets, in the order they first appear.
  const bySecret = new Map<string, { located: LocatedEntry; line: number }>();
  const variables = new Map<string, number>();
  for (const a of assignments) {
    const where = `line ${a.line}`;
    const seen = variables.get(a.variable);
    if (seen !== undefined) {
      problems.push({ where, problem: `${a.variable} is also set on line ${seen}` });
      continue;
    }
    variables.set(a.variable, a.line);
    const name = a.annotation?.name ?? a.variable;
    const key = a.annotation?.key ?? defaultKey;
    const existing = bySecret.get(name);
    if (existing === undefined) {
      const value: Record<string, string> = {};
      Object.defineProperty(value, key, {
        value: a.value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
      bySecret.set(name, {
        line: a.line,
        located: {
          where,
          entry: {
            name,
            value,
            ...(a.annotation?.provider !== undefined ? { provider: a.annotation.provider } : {}),
            ...(a.annotation?.authConfig !== undefined
              ? { authConfig: a.annotation.authConfig }
              : {}),
          },
        },
      });
      continue;
    }
    const entry = existing.located.entry;
    if (Object.prototype.hasOwnProperty.call(entry.value, key)) {
      problems.push({
        where,
        problem: `key '${key}' of secret '${name}' is also set on line ${existing.line}`,
      });
      continue;
    }
    if (
      (a.annotation?.provider ?? null) !== (entry.provider ?? null) ||
      JSON.stringify(a.annotation?.authConfig ?? null) !== JSON.stringify(entry.authConfig ?? null)
    ) {
      problems.push({
        where,
        problem: `secret '${name}' has another provider or auth_config on line ${existing.line}`,
      });
      continue;
    }
    Object.defineProperty(entry.value, key, {
      value: a.value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  if (problems.length > 0) fail(problems);
  return checkEntries([...bySecret.values()].map((s) => s.located));
}

function parseAnnotation(text: string): NonNullable<Assignment["annotation"]> | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return "the mlflow-secrets annotation is not valid JSON";
  }
  if (
    !isPlainObject(parsed) ||
    typeof parsed.name !== "string" ||
    typeof parsed.key !== "string" ||
    (parsed.provider !== undefined && typeof parsed.provider !== "string") ||
    (parsed.auth_config !== undefined && !isPlainObject(parsed.auth_config))
  ) {
    return 'the mlflow-secrets annotation must be {"name": …, "key": …, "provider"?: …, "auth_config"?: {…}}';
  }
  return {
    name: parsed.name,
    key: parsed.key,
    ...(typeof parsed.provider === "string" ? { provider: parsed.provider } : {}),
    ...(isPlainObject(parsed.auth_config) ? { authConfig: ownCopy(parsed.auth_config) } : {}),
  };
}

/** Checks every entry as a create would; returns them, or throws with every problem found. */
function checkEntries(entries: LocatedEntry[]): LocatedEntry[] {
  const problems = importProblems(entries.map((e) => e.entry));
  if (problems.length > 0) {
    fail(
      problems.map((p) => ({
        where: entries[p.index]!.where,
        problem: p.problem.replace(
          / \(also entry (\d+)\)$/,
          (_, n: string) => ` (also at ${entries[Number(n)]!.where})`,
        ),
      })),
    );
  }
  return entries;
}

/** Opens a bundle and returns its secrets as entries (every one is checked like the others). */
export async function parseBundleImport(text: string, passphrase: string): Promise<LocatedEntry[]> {
  const document = parseJson(text);
  try {
    const secrets = await openSecretsBundle(document, passphrase);
    return checkEntries(
      secrets.map((s, index) => ({
        where: `secrets[${index}]`,
        entry: { name: s.name, value: s.value, provider: s.provider, authConfig: s.authConfig },
      })),
    );
  } catch (err) {
    if (err instanceof BundleError && err.problems.length > 0) {
      fail(err.problems.map((p) => ({ where: `secrets[${p.index}]`, problem: p.problem })));
    }
    throw err;
  }
}
