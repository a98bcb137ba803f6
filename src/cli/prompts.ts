/**
 * Terminal prompts (clack), drawn on stderr so stdout stays clean for `--output json`.
 * Hidden input is masked and never echoed. Ctrl-C cancels the command.
 */
import { confirm, isCancel, password, text } from "@clack/prompts";
import { CliExit, EXIT_FAILURE } from "./errors.js";
import type { Prompts } from "./io.js";

function answered<T extends string | boolean | undefined>(value: T | symbol): T {
  if (isCancel(value) || typeof value === "symbol") throw new CliExit(EXIT_FAILURE, "Cancelled.");
  return value;
}

/** Prompts on the process's terminal. */
export function terminalPrompts(): Prompts {
  const streams = { input: process.stdin, output: process.stderr };
  return {
    async text(message) {
      return answered<string | undefined>(await text({ message, ...streams })) ?? "";
    },
    async password(message) {
      return answered<string | undefined>(await password({ message, mask: "•", ...streams })) ?? "";
    },
    async confirm(message, defaultValue = false) {
      return answered<boolean>(await confirm({ message, initialValue: defaultValue, ...streams }));
    },
  };
}
