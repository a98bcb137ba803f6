/** The `secrets` table we create is MLflow's, column for column, on every dialect. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { DIALECTS } from "../helpers/databases.js";
import { hasReference, referenceDir } from "../helpers/python.js";
import { withStore } from "../helpers/store.js";

const COLUMNS: [name: string, nullable: boolean][] = [
  ["secret_id", false],
  ["secret_name", false],
  ["encrypted_value", false],
  ["wrapped_dek", false],
  ["kek_version", false],
  ["masked_value", false],
  ["provider", true],
  ["auth_config", true],
  ["description", true],
  ["created_by", true],
  ["created_at", false],
  ["last_updated_by", true],
  ["last_updated_at", false],
  ["workspace", false],
];

const TYPES: Record<string, Record<string, string>> = {
  postgresql: {
    secret_id: "character varying(36)",
    secret_name: "character varying(255)",
    encrypted_value: "bytea",
    wrapped_dek: "bytea",
    kek_version: "integer",
    masked_value: "character varying(500)",
    provider: "character varying(64)",
    auth_config: "text",
    description: "text",
    created_by: "character varying(255)",
    created_at: "bigint",
    last_updated_by: "character varying(255)",
    last_updated_at: "bigint",
    workspace: "character varying(63)",
  },
  mysql: {
    secret_id: "varchar(36)",
    secret_name: "varchar(255)",
    encrypted_value: "blob",
    wrapped_dek: "blob",
    kek_version: "int(11)",
    masked_value: "varchar(500)",
    provider: "varchar(64)",
    auth_config: "text",
    description: "text",
    created_by: "varchar(255)",
    created_at: "bigint(20)",
    last_updated_by: "varchar(255)",
    last_updated_at: "bigint(20)",
    workspace: "varchar(63)",
  },
};

function sqliteShape(path: string) {
  const db = new Database(path, { readonly: true });
  try {
    const columns = db
      .prepare("SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info('secrets')")
      .all();
    const indexes = db
      .prepare("SELECT name, \"unique\", origin FROM pragma_index_list('secrets') ORDER BY name")
      .all();
    const trigger = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'secrets'")
      .all();
    return { columns, indexes, trigger };
  } finally {
    db.close();
  }
}

describe("MLflow's secrets schema", () => {
  for (const dialect of DIALECTS) {
    it(`${dialect.name}: columns, nullability, keys, index and trigger`, () =>
      withStore(dialect, async (_store, db) => {
        if (dialect.name === "sqlite") {
          const { columns } = sqliteShape(db.uri.slice("sqlite:///".length));
          assert.deepEqual(
            (columns as { name: string; notnull: number }[]).map((c) => [c.name, c.notnull === 0]),
            COLUMNS,
          );
          return;
        }
        const schemaFilter =
          dialect.name === "postgresql"
            ? "table_schema = current_schema()"
            : "table_schema = DATABASE()";
        const columns = await db.query<Record<string, string>>(
          `SELECT column_name AS name, is_nullable AS nullable, ${dialect.name === "postgresql" ? "CASE WHEN character_maximum_length IS NULL THEN data_type ELSE data_type || '(' || character_maximum_length || ')' END" : "column_type"} AS type, column_default AS dflt FROM information_schema.columns WHERE ${schemaFilter} AND table_name = 'secrets' ORDER BY ordinal_position`,
        );
        const lower = (row: Record<string, string>, key: string) =>
          row[key] ?? row[key.toUpperCase()];
        assert.deepEqual(
          columns.map((c) => [lower(c, "name"), lower(c, "nullable") === "YES"]),
          COLUMNS,
        );
        assert.deepEqual(
          Object.fromEntries(columns.map((c) => [lower(c, "name"), lower(c, "type")])),
          TYPES[dialect.name],
        );
        assert.match(String(lower(columns[13]!, "dflt")), /'default'/);
        const constraints = await db.query<Record<string, string>>(
          `SELECT constraint_name AS name, constraint_type AS type FROM information_schema.table_constraints WHERE ${schemaFilter} AND table_name = 'secrets' AND constraint_type IN ('PRIMARY KEY', 'UNIQUE') ORDER BY constraint_type`,
        );
        const byType = new Map(constraints.map((c) => [lower(c, "type"), lower(c, "name")]));
        assert.equal(byType.get("UNIQUE"), "uq_secrets_workspace_secret_name");
        // MySQL names every primary key PRIMARY; MLflow's migration on MySQL gets the same.
        assert.equal(
          byType.get("PRIMARY KEY"),
          dialect.name === "mysql" ? "PRIMARY" : "secrets_pk",
        );
        const indexSql =
          dialect.name === "postgresql"
            ? "SELECT indexname AS name FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'secrets'"
            : "SELECT DISTINCT index_name AS name FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = 'secrets'";
        const indexes = (await db.query<Record<string, string>>(indexSql)).map((r) =>
          lower(r, "name"),
        );
        assert.ok(indexes.includes("idx_secrets_workspace"), String(indexes));
        const triggers = await db.query<Record<string, string>>(
          `SELECT trigger_name AS name FROM information_schema.triggers WHERE event_object_table = 'secrets' AND ${dialect.name === "postgresql" ? "trigger_schema = current_schema()" : "trigger_schema = DATABASE()"}`,
        );
        assert.deepEqual(
          [...new Set(triggers.map((t) => lower(t, "name")))],
          ["prevent_secrets_aad_mutation"],
        );
      }));
  }

  it(
    "sqlite: identical to the table the Python reference creates",
    { skip: !hasReference && "python3 or ../shared/reference missing" },
    () =>
      withStore(DIALECTS[0]!, async (_store, db) => {
        const reference = join(mkdtempSync(join(tmpdir(), "schema-")), "reference.db");
        const result = spawnSync("python3", [
          join(referenceDir, "mlflow_store_ref.py"),
          "schema",
          reference,
        ]);
        assert.equal(result.status, 0, String(result.stderr));
        assert.deepEqual(sqliteShape(db.uri.slice("sqlite:///".length)), sqliteShape(reference));
      }),
  );
});
