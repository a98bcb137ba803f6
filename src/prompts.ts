/**
 * The prompt contract shared by the CLI and `login()`: interactive questions, hidden input never
 * echoed. Commands and `login` receive a `Prompts`, so tests drive them with scripted answers;
 * `terminalPrompts()` is the real one (clack, drawn on stderr so stdout stays clean for
 * `--output json`).
 */
import { MlflowSecretsError } from "./errors.js";

/** Interactive questions; hidden input never echoes. */
export interface Prompts {
  text(message: string): Promise<string>;
  password(message: string): Promise<string>;
  confirm(message: string, defaultValue?: boolean): Promise<boolean>;
}

/** The person at the terminal cancelled a question (Ctrl-C or Escape). */
class PromptCancelledError extends MlflowSecretsError {
  constructor() {
    super("Cancelled.", "INVALID_STATE", { reason: "CANCELLED" });
    this.name = "PromptCancelledError";
  }
}

function answered<T extends string | boolean | undefined>(value: T | symbol): T {
  if (typeof value === "symbol") throw new PromptCancelledError(); // clack's cancel
  return value;
}

/** clack is loaded on the first question only (most commands never ask one). */
const clack = () => import("@clack/prompts");

/**
 * Prompts on the process's terminal.
 *
 * @example
 * ```ts
 * const name = await terminalPrompts().text("Profile name");
 * ```
 */
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
