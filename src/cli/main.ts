#!/usr/bin/env node
/** The `mlflow-secrets` executable. */
import { processEnvForCli } from "../config.js";
import { terminalPrompts } from "../prompts.js";
import { runCli } from "./run.js";

const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: processEnvForCli(),
  prompts: terminalPrompts(),
});
process.exitCode = code;
