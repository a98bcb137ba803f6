/**
 * The import graph of src/ (static, dynamic and type-only imports alike): layers point down and
 * nothing imports in a circle. The rules are the README's picture of the code, checked so it
 * stays true.
 */
import assert from "node:assert/strict";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, it } from "node:test";
import ts from "typescript";

const SRC = resolve(import.meta.dirname, "../src");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith(".ts") ? [path] : [];
  });
}

/** file (relative to src/) → the files of src/ it imports, however it imports them. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const info = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
    const targets = info.importedFiles
      .map((f) => f.fileName)
      .filter((spec) => spec.startsWith("."))
      .map((spec) => relative(SRC, resolve(dirname(file), spec)).replace(/\.js$/, ".ts"))
      // ../package.json (the version) is not a module of ours.
      .filter((target) => !target.startsWith(".."));
    graph.set(relative(SRC, file), [...new Set(targets)]);
  }
  return graph;
}

/** The layer of a file: its top folder, or the file itself for src/*.ts. */
function layerOf(file: string): string {
  return file.includes("/") ? file.slice(0, file.indexOf("/")) : file.replace(/\.ts$/, "");
}

/** What each layer may import (besides itself). */
const ALLOWED: Record<string, readonly string[]> = {
  errors: [],
  version: [],
  prompts: ["errors"],
  crypto: ["errors"],
  config: ["errors", "crypto"],
  store: ["errors", "config", "crypto"],
  rotation: ["errors", "config", "crypto", "store"],
  domain: ["errors", "config", "crypto", "store", "rotation"],
  rest: ["errors", "store", "domain"],
  client: ["errors", "config", "prompts", "version"],
  server: ["errors", "config", "crypto", "store", "rotation", "domain", "rest", "version"],
  cli: [
    "errors",
    "config",
    "prompts",
    "version",
    "crypto",
    "store",
    "rotation",
    "domain",
    "rest",
    "client",
    "server",
  ],
  index: ["errors", "crypto", "store", "rotation", "server", "client"],
};

describe("architecture", () => {
  const graph = importGraph();

  it("every layer imports only the layers below it", () => {
    const violations: string[] = [];
    for (const [file, targets] of graph) {
      const layer = layerOf(file);
      const allowed = ALLOWED[layer];
      assert.ok(allowed, `${file}: the layer '${layer}' has no rule in this test`);
      for (const target of targets) {
        const to = layerOf(target);
        if (to !== layer && !allowed.includes(to)) violations.push(`${file} → ${target}`);
      }
    }
    assert.deepEqual(violations, []);
  });

  it("crypto imports nothing of ours but errors", () => {
    const outside = [...graph]
      .filter(([file]) => file.startsWith("crypto/"))
      .flatMap(([file, targets]) =>
        targets
          .filter((t) => !t.startsWith("crypto/") && t !== "errors.ts")
          .map((t) => `${file} → ${t}`),
      );
    assert.deepEqual(outside, []);
  });

  it("has no import cycles, type-only imports included", () => {
    // Tarjan's strongly connected components: any with more than one file (or a self-import) is a cycle.
    let index = 0;
    const indices = new Map<string, number>();
    const low = new Map<string, number>();
    const stack: string[] = [];
    const onStack = new Set<string>();
    const cycles: string[][] = [];
    const visit = (file: string) => {
      indices.set(file, index);
      low.set(file, index++);
      stack.push(file);
      onStack.add(file);
      for (const next of graph.get(file) ?? []) {
        if (!graph.has(next)) continue;
        if (!indices.has(next)) {
          visit(next);
          low.set(file, Math.min(low.get(file)!, low.get(next)!));
        } else if (onStack.has(next)) {
          low.set(file, Math.min(low.get(file)!, indices.get(next)!));
        }
      }
      if (low.get(file) === indices.get(file)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== file);
        if (component.length > 1 || graph.get(file)!.includes(file)) cycles.push(component.sort());
      }
    };
    for (const file of graph.keys()) if (!indices.has(file)) visit(file);
    assert.deepEqual(cycles, []);
  });
});
