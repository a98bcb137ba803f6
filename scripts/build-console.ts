/**
 * Builds the web console (console/) into dist/console/: one minified ES module, one stylesheet,
 * the page and its icon. `npm run build` runs it after tsc; the e2e tests build into a temporary
 * folder of their own. Fails when the gzipped JavaScript outgrows its budget.
 *
 * Usage: node --import tsx scripts/build-console.ts [outDir]
 */
import { copyFileSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build, type BuildOptions } from "esbuild";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SOURCE = join(ROOT, "console");
export const DEFAULT_CONSOLE_OUT_DIR = join(ROOT, "dist", "console");

/** The budget for the console's JavaScript, gzipped. */
export const JS_BUDGET_GZIP_BYTES = 150 * 1024;

export interface ConsoleBuild {
  outDir: string;
  /** Bytes of console.js as shipped, and gzipped. */
  jsBytes: number;
  jsGzipBytes: number;
  cssGzipBytes: number;
}

/**
 * @example
 * ```ts
 * const { jsGzipBytes } = await buildConsole({ outDir: "dist/console" });
 * ```
 */
export async function buildConsole(
  options: { outDir?: string; minify?: boolean } = {},
): Promise<ConsoleBuild> {
  const outDir = options.outDir ?? DEFAULT_CONSOLE_OUT_DIR;
  const minify = options.minify ?? true;
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const common: BuildOptions = {
    bundle: true,
    minify,
    legalComments: "none",
    logLevel: "warning",
    target: ["chrome110", "firefox115", "safari16"],
  };
  await build({
    ...common,
    entryPoints: [join(SOURCE, "src", "main.tsx")],
    outfile: join(outDir, "console.js"),
    format: "esm",
    platform: "browser",
    tsconfig: join(SOURCE, "tsconfig.json"),
    jsx: "automatic",
    jsxImportSource: "preact",
    define: { "process.env.NODE_ENV": '"production"' },
  });
  await build({
    ...common,
    entryPoints: [join(SOURCE, "styles.css")],
    outfile: join(outDir, "console.css"),
  });
  for (const file of ["index.html", "favicon.svg"]) {
    copyFileSync(join(SOURCE, file), join(outDir, file));
  }
  const js = readFileSync(join(outDir, "console.js"));
  const css = readFileSync(join(outDir, "console.css"));
  const result = {
    outDir,
    jsBytes: js.length,
    jsGzipBytes: gzipSync(js, { level: 9 }).length,
    cssGzipBytes: gzipSync(css, { level: 9 }).length,
  };
  if (result.jsGzipBytes > JS_BUDGET_GZIP_BYTES) {
    throw new Error(
      `console.js is ${result.jsGzipBytes} bytes gzipped, over the ${JS_BUDGET_GZIP_BYTES}-byte budget`,
    );
  }
  return result;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const built = await buildConsole(process.argv[2] ? { outDir: resolve(process.argv[2]) } : {});
  console.log(
    `console: ${built.outDir} — console.js ${(built.jsBytes / 1024).toFixed(1)} kB, ` +
      `${(built.jsGzipBytes / 1024).toFixed(1)} kB gzipped; console.css ${(built.cssGzipBytes / 1024).toFixed(1)} kB gzipped`,
  );
}
