// @ts-check
import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "test/fixtures/"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: globals.node,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_" },
      ],
      "@typescript-eslint/consistent-type-imports": "error",
      // async implementations of a Promise-returning interface need not await anything.
      "@typescript-eslint/require-await": "off",
      "no-restricted-properties": [
        "error",
        { object: "process", property: "env", message: "Only src/config.ts reads process.env." },
      ],
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["**/config.js"],
              importNames: ["processEnvForCli"],
              message:
                "Only the CLI's composition root (src/cli/main.ts) takes the process environment; pass `env` along (undefined = the process's) instead.",
            },
          ],
        },
      ],
    },
  },
  {
    files: ["src/cli/main.ts"],
    rules: { "no-restricted-imports": "off" },
  },
  {
    files: ["src/config.ts", "test/**", "bench/**", "scripts/**"],
    rules: { "no-restricted-properties": "off" },
  },
  {
    // node:test's describe/it return promises the runner awaits itself.
    files: ["test/**"],
    rules: { "@typescript-eslint/no-floating-promises": "off" },
  },
  {
    // The web console runs in the browser.
    files: ["console/**"],
    languageOptions: { globals: globals.browser },
  },
  {
    files: ["**/*.js", "**/*.mjs"],
    ...tseslint.configs.disableTypeChecked,
  },
);
