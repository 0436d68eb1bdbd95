/**
 * The CLI's view of its process: output streams, terminal and environment. Tests pass their own.
 * @module
 */
import { styleText } from "node:util";
import type { Stylize } from "../report/render/text.js";

/** What a command may touch of its process. */
export interface CliIO {
  /** Writes to standard output. */
  stdout(text: string): void;
  /** Writes to standard error. */
  stderr(text: string): void;
  /** Whether standard error is a terminal (progress lines go there). */
  readonly stderrIsTTY: boolean;
  /** Whether standard output is a terminal (colour). */
  readonly stdoutIsTTY: boolean;
  /** Environment variables. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Aborts running work (Ctrl-C). */
  readonly signal: AbortSignal;
}

/** A CLI command: parses its own arguments and returns the exit code. */
export interface Command {
  /** One-line summary for `modelgate --help`. */
  readonly summary: string;
  /** Usage text. */
  readonly usage: string;
  /** Runs the command. */
  run(args: string[], io: CliIO): Promise<number>;
}

/** Exit codes. */
export const EXIT = {
  /** Nothing at or above the failure threshold. */
  ok: 0,
  /** Findings at or above the threshold (or verification failed). */
  findings: 1,
  /** Error, invalid file, incomplete scan, or usage error. */
  error: 2,
} as const;

/** A usage error: printed as one line, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/**
 * The colouring function for a stream: colour only on a terminal, never with `NO_COLOR` set.
 * @param io - the process view
 * @param tty - whether the target stream is a terminal
 */
export function stylizeFor(io: CliIO, tty: boolean): Stylize {
  const noColor = io.env.NO_COLOR !== undefined && io.env.NO_COLOR !== "";
  if (!tty || noColor || io.env.TERM === "dumb") return (_style, text) => text;
  return (style, text) => styleText(style, text, { validateStream: false });
}
