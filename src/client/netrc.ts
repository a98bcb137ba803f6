/**
 * `.netrc` credentials, found and parsed as MLflow's Python client finds them: `requests`'
 * `get_netrc_auth` (`NETRC`, else `~/.netrc`, else `~/_netrc`; the URL's host name, else the
 * `default` entry; `login`, else `account`, as the user name) over Python's `netrc` module (its
 * tokenizer — quotes, backslash escapes, `#` comments, `macdef` blocks — ported rule for rule, so a
 * file means the same thing to both clients).
 *
 * Differences, on purpose: a file that cannot be parsed is skipped with a warning naming the file
 * and line (never the offending token, which may be a password), where `requests` skips it
 * silently; and a file other users can read gets a warning (Python refuses such a `~/.netrc` only
 * when it opens the default file itself, which `requests` never does).
 */
import { readFile, stat } from "node:fs/promises";
import { readNetrcLocations, type Env } from "../config.js";

/** One `machine` (or `default`) entry. */
interface NetrcEntry {
  readonly login: string;
  readonly account: string;
  readonly password: string;
}

/** A parse error: the file's line, never its content. */
class NetrcParseError extends Error {
  constructor(
    readonly reason: string,
    readonly line: number,
  ) {
    super(`${reason} (line ${line})`);
    this.name = "NetrcParseError";
  }
}

const WHITESPACE = new Set(["\n", "\t", "\r", " "]);

/** Python's `netrc._netrclex`, over a string. `readline` bypasses the line count, as Python's does. */
class NetrcLexer {
  lineno = 1;
  #pos = 0;
  readonly #pushback: string[] = [];

  constructor(private readonly text: string) {}

  readChar(): string {
    if (this.#pos >= this.text.length) return "";
    const ch = this.text[this.#pos++]!;
    if (ch === "\n") this.lineno += 1;
    return ch;
  }

  readline(): string {
    if (this.#pos >= this.text.length) return "";
    const end = this.text.indexOf("\n", this.#pos);
    const stop = end === -1 ? this.text.length : end + 1;
    const line = this.text.slice(this.#pos, stop);
    this.#pos = stop;
    return line;
  }

  getToken(): string {
    if (this.#pushback.length > 0) return this.#pushback.shift()!;
    let token = "";
    for (let ch = this.readChar(); ch !== ""; ch = this.readChar()) {
      if (WHITESPACE.has(ch)) continue;
      if (ch === '"') {
        for (ch = this.readChar(); ch !== ""; ch = this.readChar()) {
          if (ch === '"') return token;
          if (ch === "\\") ch = this.readChar();
          token += ch;
        }
        return token;
      }
      if (ch === "\\") ch = this.readChar();
      token += ch;
      for (ch = this.readChar(); ch !== ""; ch = this.readChar()) {
        if (WHITESPACE.has(ch)) return token;
        if (ch === "\\") ch = this.readChar();
        token += ch;
      }
      return token;
    }
    return token;
  }

  pushToken(token: string): void {
    this.#pushback.push(token);
  }
}

/**
 * Parses `.netrc` text as Python's `netrc.netrc` does; returns the entries by machine name (the
 * `default` entry under `"default"`). Throws {@link NetrcParseError} where Python raises.
 *
 * @example
 * ```ts
 * parseNetrc("machine mlflow.example.com login alice password s3cret\n")
 *   .get("mlflow.example.com"); // { login: "alice", account: "", password: "s3cret" }
 * ```
 */
export function parseNetrc(source: string): Map<string, NetrcEntry> {
  // Python reads the file in text mode: every line ending becomes "\n".
  const lexer = new NetrcLexer(source.replace(/\r\n?/g, "\n"));
  const hosts = new Map<string, NetrcEntry>();
  for (;;) {
    const savedLine = lexer.lineno;
    const top = lexer.getToken();
    if (top === "") break;
    let entryName: string;
    if (top.startsWith("#")) {
      if (lexer.lineno === savedLine && top.length === 1) lexer.readline();
      continue;
    } else if (top === "machine") {
      entryName = lexer.getToken();
    } else if (top === "default") {
      entryName = "default";
    } else if (top === "macdef") {
      lexer.getToken();
      for (;;) {
        const line = lexer.readline();
        if (line === "") {
          throw new NetrcParseError("macro definition missing null line terminator", lexer.lineno);
        }
        if (line === "\n") break;
      }
      continue;
    } else {
      throw new NetrcParseError("bad top-level token", lexer.lineno);
    }
    if (entryName === "") throw new NetrcParseError(`missing '${top}' name`, lexer.lineno);
    let login = "";
    let account = "";
    let password = "";
    for (;;) {
      const previousLine = lexer.lineno;
      const token = lexer.getToken();
      if (token.startsWith("#")) {
        if (lexer.lineno === previousLine) lexer.readline();
        continue;
      }
      if (token === "" || token === "machine" || token === "default" || token === "macdef") {
        hosts.set(entryName, { login, account, password });
        lexer.pushToken(token);
        break;
      } else if (token === "login" || token === "user") {
        login = lexer.getToken();
      } else if (token === "account") {
        account = lexer.getToken();
      } else if (token === "password") {
        password = lexer.getToken();
      } else {
        throw new NetrcParseError("bad follower token", lexer.lineno);
      }
    }
  }
  return hosts;
}

/** Credentials found in a `.netrc` file for a host. */
export interface NetrcCredentials {
  readonly username: string;
  readonly password: string;
  /** The file. */
  readonly path: string;
  /** The entry used: the host name, or `default`. */
  readonly machine: string;
}

/** Something about a `.netrc` file the user should know (never its content). */
interface NetrcWarning {
  readonly path: string;
  readonly message: string;
}

async function exists(path: string): Promise<boolean> {
  if (path === "") return false;
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The `.netrc` file `requests` would read (the first that exists), or `undefined`. */
async function findNetrcFile(env: Env | undefined): Promise<string | undefined> {
  for (const path of readNetrcLocations(env)) {
    if (await exists(path)) return path;
  }
  return undefined;
}

function decode(bytes: Buffer): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return bytes.toString("latin1");
  }
}

/**
 * The `.netrc` credentials for `hostname` (as `requests` returns them: `login`, else `account`,
 * and the password, `""` when missing), with any warning about the file. Unreadable or unparsable
 * files give no credentials, as in `requests`.
 *
 * @example
 * ```ts
 * const { credentials } = await netrcCredentialsFor("mlflow.example.com", process.env);
 * ```
 */
export async function netrcCredentialsFor(
  hostname: string,
  env: Env | undefined,
): Promise<{ credentials?: NetrcCredentials; warnings: NetrcWarning[] }> {
  const path = await findNetrcFile(env);
  if (path === undefined || hostname === "") return { warnings: [] };
  const warnings: NetrcWarning[] = [];
  let text: string;
  try {
    const [bytes, info] = await Promise.all([readFile(path), stat(path)]);
    text = decode(bytes);
    const mode = info.mode & 0o777;
    if (process.platform !== "win32" && (mode & 0o077) !== 0) {
      warnings.push({
        path,
        message: `${path} is readable by other users (mode ${mode.toString(8)}); run: chmod 600 ${path}`,
      });
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "error";
    warnings.push({ path, message: `${path} cannot be read (${code}); it is ignored` });
    return { warnings };
  }
  let hosts: Map<string, NetrcEntry>;
  try {
    hosts = parseNetrc(text);
  } catch (err) {
    const line = err instanceof NetrcParseError ? `, line ${err.line}` : "";
    const reason = err instanceof NetrcParseError ? `: ${err.reason}` : "";
    warnings.push({ path, message: `${path} cannot be parsed${reason}${line}; it is ignored` });
    return { warnings };
  }
  const machine = hosts.has(hostname) ? hostname : hosts.has("default") ? "default" : undefined;
  const entry = machine === undefined ? undefined : hosts.get(machine)!;
  if (entry === undefined || (!entry.login && !entry.account && !entry.password)) {
    return { warnings };
  }
  return {
    credentials: {
      username: entry.login || entry.account,
      password: entry.password,
      path,
      machine: machine!,
    },
    warnings,
  };
}

const warned = new Set<string>();

/** Emits each `.netrc` warning once per process (a library must not print on every request). */
export function emitNetrcWarnings(warnings: readonly NetrcWarning[]): void {
  for (const warning of warnings) {
    if (warned.has(warning.message)) continue;
    warned.add(warning.message);
    process.emitWarning(warning.message, {
      type: "SecurityWarning",
      code: "MLFLOW_SECRETS_NETRC",
    });
  }
}
