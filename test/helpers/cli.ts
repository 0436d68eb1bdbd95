import type { CliIO } from "../../src/cli/io.js";

/** A CLI I/O that records stdout and stderr. */
export type RecordingIO = CliIO & { out: string; err: string };

/** Options of {@link fakeIO}. */
export interface FakeIOOptions {
  /** Environment the CLI sees (default none). */
  env?: Record<string, string>;
  /** Working directory (policy discovery, relative --policy/--output). */
  cwd?: string;
  /** stdout is a terminal. */
  stdoutIsTTY?: boolean;
  /** stderr is a terminal. */
  stderrIsTTY?: boolean;
}

/** A CLI I/O for tests: output recorded in `out`/`err`, no terminal, an empty environment. */
export function fakeIO(options: FakeIOOptions = {}): RecordingIO {
  const io: RecordingIO = {
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    out: "",
    err: "",
    stdout(t: string) {
      io.out += t;
    },
    stderr(t: string) {
      io.err += t;
    },
    stderrIsTTY: options.stderrIsTTY ?? false,
    stdoutIsTTY: options.stdoutIsTTY ?? false,
    env: options.env ?? {},
    signal: new AbortController().signal,
  };
  return io;
}
