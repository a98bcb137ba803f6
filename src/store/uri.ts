/**
 * MLflow-style (SQLAlchemy) database URIs: which dialect, how to connect, and how to print one
 * without its password.
 */
import { isAbsolute, resolve } from "node:path";
import { invalidParameter } from "../errors.js";

export type DialectName = "sqlite" | "postgresql" | "mysql";

export interface SqliteTarget {
  dialect: "sqlite";
  /** Absolute file path, or ":memory:". */
  path: string;
}

export interface PostgresTarget {
  dialect: "postgresql";
  /** A libpq-style connection string for `pg` (scheme normalised, driver suffix removed). */
  connectionString: string;
}

export interface MysqlTarget {
  dialect: "mysql";
  host?: string;
  port?: number;
  socketPath?: string;
  user?: string;
  password?: string;
  database?: string;
  charset?: string;
  ssl?: { ca?: string; cert?: string; key?: string; rejectUnauthorized?: boolean };
}

export type DatabaseTarget = SqliteTarget | PostgresTarget | MysqlTarget;

/** The default backend: a SQLite file in the working directory. */
export const DEFAULT_BACKEND_STORE_URI = "sqlite:///mlflow-secrets.db";

const SCHEMES: Readonly<Record<string, DialectName>> = {
  sqlite: "sqlite",
  postgresql: "postgresql",
  postgres: "postgresql",
  "postgresql+psycopg2": "postgresql",
  "postgresql+psycopg": "postgresql",
  "postgresql+pg8000": "postgresql",
  mysql: "mysql",
  "mysql+pymysql": "mysql",
  "mysql+mysqldb": "mysql",
  "mysql+mysqlconnector": "mysql",
  mariadb: "mysql",
  "mariadb+pymysql": "mysql",
};

/**
 * The URI with any password replaced by `***`: the only form of a URI that may be printed.
 *
 * @example
 * ```ts
 * redactUri("postgresql://app:s3cret@db/mlflow"); // "postgresql://app:***@db/mlflow"
 * ```
 */
export function redactUri(uri: string): string {
  // userinfo password: scheme://user:password@host
  let redacted = uri.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*):[^@/?#]*@/i, "$1:***@");
  // password given as a query parameter (libpq and PyMySQL accept it)
  redacted = redacted.replace(/([?&](?:password|passwd)=)[^&#]*/gi, "$1***");
  return redacted;
}

function schemeOf(uri: string): string | undefined {
  const match = /^([a-z][a-z0-9+.-]*):/i.exec(uri);
  return match?.[1]?.toLowerCase();
}

/**
 * Parses a database URI as MLflow users write them.
 *
 * @example
 * ```ts
 * parseDatabaseUri("sqlite:///mlflow.db");                     // { dialect: "sqlite", path: "<cwd>/mlflow.db" }
 * parseDatabaseUri("mysql+pymysql://root@127.0.0.1:3306/test"); // { dialect: "mysql", host: "127.0.0.1", … }
 * ```
 */
export function parseDatabaseUri(uri: string, cwd: string = process.cwd()): DatabaseTarget {
  if (typeof uri !== "string" || uri.trim() === "") {
    throw invalidParameter("The backend store URI is empty");
  }
  const scheme = schemeOf(uri);
  const dialect = scheme === undefined ? undefined : SCHEMES[scheme];
  if (dialect === undefined) {
    throw invalidParameter(
      `Unsupported backend store URI '${redactUri(uri)}': use sqlite:///path.db, postgresql://… or mysql://…`,
    );
  }
  if (dialect === "sqlite") return parseSqlite(uri);
  if (dialect === "postgresql") {
    return { dialect, connectionString: `postgresql:${uri.slice(uri.indexOf(":") + 1)}` };
  }
  return parseMysql(uri, cwd);

  function parseSqlite(text: string): SqliteTarget {
    // sqlite:///relative.db → "relative.db"; sqlite:////abs.db → "/abs.db"; sqlite:// → memory
    const rest = text.slice("sqlite:".length);
    if (!rest.startsWith("//"))
      throw invalidParameter(`Invalid SQLite URI '${text}': use sqlite:///path.db`);
    const withoutQuery = rest.slice(2).split("?")[0]!;
    if (withoutQuery === "" || withoutQuery === "/" || withoutQuery === "/:memory:") {
      return { dialect: "sqlite", path: ":memory:" };
    }
    if (!withoutQuery.startsWith("/")) {
      throw invalidParameter(`Invalid SQLite URI '${text}': use sqlite:///path.db (three slashes)`);
    }
    const path = decodeURIComponent(withoutQuery.slice(1));
    return { dialect: "sqlite", path: isAbsolute(path) ? path : resolve(cwd, path) };
  }
}

function parseMysql(uri: string, cwd: string): MysqlTarget {
  let url: URL;
  try {
    url = new URL(`mysql:${uri.slice(uri.indexOf(":") + 1)}`);
  } catch {
    throw invalidParameter(`Invalid MySQL URI '${redactUri(uri)}'`);
  }
  const target: MysqlTarget = { dialect: "mysql" };
  if (url.hostname) target.host = url.hostname.replace(/^\[|\]$/g, "");
  if (url.port) target.port = Number(url.port);
  if (url.username) target.user = decodeURIComponent(url.username);
  if (url.password) target.password = decodeURIComponent(url.password);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ""));
  if (database) target.database = database;
  const ssl: NonNullable<MysqlTarget["ssl"]> = {};
  for (const [key, value] of url.searchParams) {
    switch (key) {
      case "charset":
        target.charset = value;
        break;
      case "unix_socket":
      case "socket":
        target.socketPath = value;
        break;
      case "password":
      case "passwd":
        target.password = value;
        break;
      case "ssl_ca":
        ssl.ca = resolve(cwd, value);
        break;
      case "ssl_cert":
        ssl.cert = resolve(cwd, value);
        break;
      case "ssl_key":
        ssl.key = resolve(cwd, value);
        break;
      case "ssl_verify_cert":
      case "ssl_check_hostname":
        ssl.rejectUnauthorized = !/^(0|false|no)$/i.test(value);
        break;
      default:
        // SQLAlchemy options we do not need (e.g. connect_timeout) are ignored.
        break;
    }
  }
  if (Object.keys(ssl).length > 0) target.ssl = ssl;
  return target;
}
