/**
 * The CLI's view of its process: output streams, terminal and environment. Tests pass their own.
 * @module
 */
import { constants, type Stats } from "node:fs";
import { access, lstat, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { styleText } from "../core/node-util.js";
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
  /**
   * Working directory (default: the process's): where the policy search starts and what relative
   * `--policy` and `--output` paths resolve against.
   */
  readonly cwd?: string;
}

/**
 * The working directory of a command.
 * @param io - the process view
 * @returns the directory, or undefined when the process's working directory no longer exists
 */
export function cwdOf(io: CliIO): string | undefined {
  if (io.cwd !== undefined) return io.cwd;
  try {
    return process.cwd();
  } catch {
    return undefined;
  }
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

/**
 * Checks, before any work, that an output file can be written: its folder exists and is writable,
 * and the path is not a directory, a symbolic link, a FIFO or a device (nothing is written through a
 * link). An existing regular file must be writable; it is replaced atomically by `writeFileSafely`
 * (`src/sources/safe-write.ts`) once the scan is done.
 * @param flag - the option naming it (`--output`), for messages
 * @param path - the path given
 * @param cwd - what a relative path resolves against
 * @returns the absolute path
 * @throws UsageError saying what is wrong
 */
export async function checkOutputPath(flag: string, path: string, cwd: string | undefined): Promise<string> {
  const full = resolve(cwd ?? ".", path);
  const fail = (why: string): never => {
    throw new UsageError(`${flag} ${path}: ${why}`);
  };
  if (path === "" || /[/\\]$/.test(path)) fail("names a folder, not a file");
  let info: Stats | undefined;
  try {
    info = await lstat(full);
  } catch (error) {
    const errno = (error as NodeJS.ErrnoException).code;
    if (errno !== "ENOENT") fail(`cannot be written (${errno ?? (error as Error).message})`);
  }
  if (info !== undefined) {
    if (info.isSymbolicLink()) fail("is a symbolic link; name the file itself (nothing is written through a link)");
    if (info.isDirectory()) fail("is a directory");
    if (!info.isFile()) fail("is not a regular file (a FIFO, socket or device)");
    try {
      await access(full, constants.W_OK);
    } catch {
      fail("is not writable");
    }
  }
  const dir = dirname(full);
  let folder: Stats | undefined;
  try {
    folder = await stat(dir);
  } catch (error) {
    const errno = (error as NodeJS.ErrnoException).code;
    fail(errno === "ENOENT" ? `folder ${dir} does not exist` : `folder ${dir} cannot be used (${errno})`);
  }
  if (folder !== undefined && !folder.isDirectory()) fail(`${dir} is not a folder`);
  try {
    await access(dir, constants.W_OK | constants.X_OK);
  } catch {
    fail(`folder ${dir} is not writable`);
  }
  return full;
}
