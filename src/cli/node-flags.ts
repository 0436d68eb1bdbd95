/**
 * Node's flags for modelgate's long-running commands (`worker` and `serve`), which scan one file
 * after another for hours.
 *
 * Node 24 sizes V8's young generation by the machine's memory: 64 MiB per semi-space (128 MiB in
 * all) on a 24 GB machine, where Node 22 used 16 MiB. A process that scans file after file then
 * takes page faults on the young generation's pages again and again: a process scanning 2 MB
 * pickles of 250,000 memoized calls took 200 to 330 page faults and 3 to 5 ms of kernel time per
 * scan with the default, 3 to 150 and 1 to 3.7 ms with 16 MiB, and 18.5 to 25 ms of CPU per scan
 * instead of 24 to 38 (`bench/queue.bench.mjs` shows the same for workers, and two of them on two
 * cores lose less to each other). Scanning the whole `samples/` folder costs the same or less.
 *
 * The size of the young generation is fixed when the process starts: `v8.setFlagsFromString`
 * does not resize a heap that exists. So `main.ts` replaces the process with itself started with
 * the flag (`process.execve`: the same process id, so a supervisor's signals, `kill -9` and pid
 * files still reach it), before the CLI does anything (only `main.ts`'s own imports were loaded; a
 * preload given to Node with `--import` or `--require` runs again). About 200 ms more before
 * `serve` answers. It does not restart:
 * - when the user sized the heap: a semi-space size, or `--max-heap-size` (V8 takes the young
 *   generation out of that budget, and refuses it together with `--max-old-space-size`), in
 *   Node's arguments or `NODE_OPTIONS`;
 * - when the process has an IPC channel (started by `fork`, a `cluster` worker, a process
 *   manager): `execve` closes every descriptor above 2, and Node already took the channel's
 *   variables out of the environment. Other inherited descriptors above 2 are lost too;
 * - when Node's executable is not named `node...` (Node started through the dynamic loader,
 *   whose path is then `process.execPath`), or cannot be executed: a failed `execve` ends the
 *   process (Node aborts), so this is checked first;
 * - with `MODELGATE_NO_RESTART=1`, for help, or where `execve` is missing (Windows, Node before
 *   22.15).
 * Short commands (`scan`) are not restarted: a second start of Node would cost more than it saves
 * on one scan.
 * @module
 */
import { accessSync, constants } from "node:fs";
import { basename } from "node:path";

/** Commands that run for hours, and start Node again with {@link LONG_RUNNING_FLAGS}. */
export const LONG_RUNNING_COMMANDS: ReadonlySet<string> = new Set(["worker", "serve"]);

/** What Node is started with for them (16 MiB per semi-space: Node 22's default). */
export const LONG_RUNNING_FLAGS: readonly string[] = ["--max-semi-space-size=16"];

/** A flag that sizes the young generation or the whole heap, whatever its spelling (`-` or `_`). */
const HEAP_SIZE = /^--(?:(?:max|min)[-_]semi[-_]space[-_]size|max[-_]heap[-_]size)(?:=|$)/;

/** The words of `NODE_OPTIONS` (Node splits it at spaces; quotes only group, which is enough here). */
const nodeOptions = (value: string | undefined): string[] =>
  (value ?? "").split(/\s+/).map((w) => w.replace(/^["']|["']$/g, ""));

/** What {@link restartArguments} decides from. */
export interface ProcessView {
  /** Node's executable (`process.execPath`). */
  readonly execPath: string;
  /** Node's own arguments (`process.execArgv`). */
  readonly execArgv: readonly string[];
  /** The process's arguments (`process.argv`: Node, the script, the CLI's arguments). */
  readonly argv: readonly string[];
  /** The environment (`NODE_OPTIONS` and `MODELGATE_NO_RESTART` are read). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The process has an IPC channel (`process.channel`). */
  readonly ipc: boolean;
}

/**
 * The arguments to start this process again with, or `undefined` to go on as it is.
 * @param view - the process
 */
export function restartArguments(view: ProcessView): string[] | undefined {
  const { execPath, execArgv, argv, env } = view;
  const [, script, command, ...rest] = argv;
  if (script === undefined || command === undefined || !LONG_RUNNING_COMMANDS.has(command)) return undefined;
  if (rest.some((a) => a === "--help" || a === "-h")) return undefined;
  if (view.ipc || env.MODELGATE_NO_RESTART === "1") return undefined;
  if (!/^node/i.test(basename(execPath))) return undefined;
  if ([...execArgv, ...nodeOptions(env.NODE_OPTIONS)].some((a) => HEAP_SIZE.test(a))) return undefined;
  return [execPath, ...LONG_RUNNING_FLAGS, ...execArgv, script, command, ...rest];
}

/**
 * Replaces a long-running command's process with itself started with {@link LONG_RUNNING_FLAGS}
 * (see the module's comment); returns when it does not.
 */
export function restartLongRunning(): void {
  if (typeof process.execve !== "function") return;
  const args = restartArguments({
    execPath: process.execPath,
    execArgv: process.execArgv,
    argv: process.argv,
    env: process.env,
    ipc: process.channel !== undefined,
  });
  if (args === undefined) return;
  try {
    // A failed execve aborts the process: only try an executable that can be run.
    accessSync(process.execPath, constants.X_OK);
  } catch {
    return;
  }
  try {
    process.execve(process.execPath, args, process.env);
  } catch {
    // Refused by Node before it calls execve (a platform without it): go on as it is.
  }
}
