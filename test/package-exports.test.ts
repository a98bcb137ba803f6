/**
 * The package's entries, as a user imports them (by name, through package.json "exports", from
 * the built dist/): each subpath loads only what it needs, and the root is their union.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { REPO_ROOT } from "./helpers/cli.js";

const SUBPATHS = ["crypto", "store", "rotation", "server", "client", "errors"] as const;
const HEAVY = {
  fastify: /\/node_modules\/fastify\//,
  "a database driver": /\/node_modules\/(pg|mysql2|better-sqlite3)\//,
  "the AWS SDK": /\/node_modules\/@(aws-sdk|smithy)\//,
};

/** Imports `specifier` in a fresh process; returns the modules it loaded and its export names. */
function load(specifier: string): { modules: string[]; names: string[] } {
  const dir = mkdtempSync(join(tmpdir(), "exports-"));
  const record = join(dir, "modules.txt");
  try {
    const result = spawnSync(
      process.execPath,
      [
        "--import",
        "./test/fixtures/modules/record.mjs",
        "--input-type=module",
        "-e",
        `const m = await import(${JSON.stringify(specifier)}); console.log(JSON.stringify(Object.keys(m).sort()));`,
      ],
      {
        cwd: REPO_ROOT,
        encoding: "utf8",
        env: { ...process.env, MLFLOW_SECRETS_RECORD_MODULES: record },
      },
    );
    assert.equal(result.status, 0, result.stderr);
    return {
      modules: readFileSync(record, "utf8").trim().split("\n"),
      names: JSON.parse(result.stdout) as string[],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("package exports (run `npm run build` first: they point at dist/)", () => {
  it("mlflow-secrets/crypto loads neither fastify, a database driver nor the AWS SDK", () => {
    const { modules, names } = load("mlflow-secrets/crypto");
    assert.ok(names.includes("encryptSecret") && names.includes("KekManager"));
    for (const [what, pattern] of Object.entries(HEAVY)) {
      assert.deepEqual(
        modules.filter((m) => pattern.test(m)),
        [],
        `crypto loaded ${what}`,
      );
    }
    // Only the crypto folder and the error family of ours.
    const ours = modules
      .filter((m) => m.includes("/dist/"))
      .map((m) => m.replace(/^.*\/dist\//, ""));
    assert.deepEqual(
      ours.filter((m) => !m.startsWith("crypto/") && m !== "errors.js"),
      [],
    );
  });

  it("the root loads everything (so the check above can fail), and is the union of the subpaths", () => {
    const root = load("mlflow-secrets");
    assert.ok(
      root.modules.some((m) => HEAVY.fastify.test(m)),
      "the root should load fastify",
    );
    const union = new Set(SUBPATHS.flatMap((subpath) => load(`mlflow-secrets/${subpath}`).names));
    assert.deepEqual(root.names, [...union].sort());
  });

  it("mlflow-secrets/errors and /client load no server, store or crypto code (but crypto's constants)", () => {
    for (const subpath of ["errors", "client"]) {
      const ours = load(`mlflow-secrets/${subpath}`)
        .modules.filter((m) => m.includes("/dist/"))
        .map((m) => m.replace(/^.*\/dist\//, ""));
      assert.deepEqual(
        ours.filter(
          (m) =>
            /^(server|store|crypto|domain|rotation|cli)\//.test(m) && m !== "crypto/constants.js",
        ),
        [],
        subpath,
      );
    }
  });
});
