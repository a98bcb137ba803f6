/** How a command ends other than by success: commands throw these; only main sets the exit code. */

/** Exit codes of every command: 0 success or nothing to do, 1 failure, 2 usage error. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A command's early end with a code and an optional one-line message for stderr. */
export class CliExit extends Error {
  constructor(
    readonly exitCode: number,
    message = "",
  ) {
    super(message);
    this.name = "CliExit";
  }
}

/** A usage error (bad flags or arguments): printed as `Error: …`, exit code 2. */
export function usageError(message: string): CliExit {
  return new CliExit(EXIT_USAGE, message);
}
