import { join } from "node:path";
import type { CliIO } from "../../src/cli/io.js";
import { REPO_ROOT } from "./scan.js";

/**
 * Node's arguments that run `modelgate` from its TypeScript sources in a child process (types
 * stripped, the test hooks loaded); the CLI's own arguments follow.
 */
export const SOURCE_CLI: readonly string[] = [
  "--experimental-transform-types",
  "--no-warnings",
  "--import",
  join(REPO_ROOT, "test/helpers/ts-register.mjs"),
  join(REPO_ROOT, "src/cli/main.ts"),
];

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
