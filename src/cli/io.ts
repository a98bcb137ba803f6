/**
 * Everything a command touches outside its arguments: streams, environment and prompts. Commands
 * receive it, so tests drive them with in-memory streams and scripted answers.
 */
import type { Command } from "commander";
import type { Env } from "../config.js";
import type { Prompts } from "../prompts.js";

export type { Prompts };

export interface OutputStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export interface InputStream extends AsyncIterable<string | Buffer> {
  isTTY?: boolean;
}

export interface CliIo {
  stdout: OutputStream;
  stderr: OutputStream;
  stdin: InputStream;
  env: Env;
  prompts: Prompts;
}

/** True when questions can be asked: both stdin and stderr are terminals. */
export function isInteractive(io: CliIo): boolean {
  return Boolean(io.stdin.isTTY && io.stderr.isTTY);
}

/** Reads all of stdin as UTF-8. */
export async function readAll(stream: InputStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream)
    chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * A command module: adds its commands to the program; actions receive the shared io. (Here, not
 * in commands/index.ts, so command modules and the index that lists them never import in a circle.)
 */
export type RegisterCommands = (program: Command, io: CliIo) => void;
