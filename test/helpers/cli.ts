/** Runs the CLI in-process with in-memory streams, an explicit environment and scripted prompts. */
import { spawn } from "node:child_process";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import type { CliIo, Prompts } from "../../src/cli/io.js";
import { runCli } from "../../src/cli/run.js";

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

interface CliRunOptions {
  env?: Record<string, string | undefined>;
  stdin?: string;
  /** Pretend stdin and stderr are a terminal. */
  tty?: boolean;
  /** Answers for prompts, in order. */
  answers?: (string | boolean)[];
}

export async function cli(
  argv: string[],
  options: CliRunOptions = {},
): Promise<CliResult & { prompts: string[] }> {
  let stdout = "";
  let stderr = "";
  const asked: string[] = [];
  const answers = [...(options.answers ?? [])];
  const next = (message: string): string | boolean => {
    asked.push(message);
    if (answers.length === 0) throw new Error(`unexpected prompt: ${message}`);
    return answers.shift()!;
  };
  const prompts: Prompts = {
    text: async (message) => String(next(message)),
    password: async (message) => String(next(message)),
    confirm: async (message) => Boolean(next(message)),
  };
  const stdin = Readable.from(
    options.stdin === undefined ? [] : [Buffer.from(options.stdin)],
  ) as Readable & { isTTY?: boolean };
  stdin.isTTY = options.tty ?? false;
  const io: CliIo = {
    stdout: { write: (chunk: string) => (stdout += chunk), isTTY: options.tty ?? false },
    stderr: { write: (chunk: string) => (stderr += chunk), isTTY: options.tty ?? false },
    stdin,
    env: options.env ?? {},
    prompts,
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr, prompts: asked };
}

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Runs the CLI as a separate process (through tsx, from the repository root). */
export function cliProcess(
  argv: string[],
  env: Record<string, string>,
  stdin?: string,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...argv], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(stdin ?? "");
  });
}
