/**
 * Terminal prompts (clack), drawn on stderr so stdout stays clean for `--output json`.
 * Hidden input is masked and never echoed. Ctrl-C cancels the command.
 */
import { CliExit, EXIT_FAILURE } from "./errors.js";
import type { Prompts } from "./io.js";

function answered<T extends string | boolean | undefined>(value: T | symbol): T {
  if (typeof value === "symbol") throw new CliExit(EXIT_FAILURE, "Cancelled."); // clack's cancel
  return value;
}

/** clack is loaded on the first question only (most commands never ask one). */
const clack = () => import("@clack/prompts");

/** Prompts on the process's terminal. */
export function terminalPrompts(): Prompts {
  const streams = { input: process.stdin, output: process.stderr };
  return {
    async text(message) {
      return (
        answered<string | undefined>(await (await clack()).text({ message, ...streams })) ?? ""
      );
    },
    async password(message) {
      const { password } = await clack();
      return answered<string | undefined>(await password({ message, mask: "•", ...streams })) ?? "";
    },
    async confirm(message, defaultValue = false) {
      const { confirm } = await clack();
      return answered<boolean>(await confirm({ message, initialValue: defaultValue, ...streams }));
    },
  };
}
