/**
 * Node's flags for modelgate's long-running commands (`worker` and `serve`), which scan one file
 * after another for hours.
 *
 * Node 24 sizes V8's young generation by the machine's memory: 64 MiB per semi-space (128 MiB in
 * all) on a 24 GB machine, where Node 22 used 16 MiB. A process that scans file after file then
 * takes page faults on the young generation's pages again and again: a process scanning 2 MB
 * pickles of 250,000 memoized calls took 200 to 330 page faults and 3 to 5 ms of kernel time per
 * scan with the default, 3 to 35 and about 1 ms with 16 MiB, and 18.5 to 19 ms of CPU per scan
 * instead of 24 to 28 (`bench/queue.bench.mjs` shows the same for workers, and two of them on two
 * cores lose less to each other). Scanning the whole `samples/` folder costs the same or less.
 *
 * The size of the young generation is fixed when the process starts: `v8.setFlagsFromString`
 * does not resize a heap that exists. So `main.ts` replaces the process with itself started with
 * the flag (`process.execve`: the same process id, so a supervisor's signals, `kill -9` and pid
 * files still reach it; nothing has run yet). It does not when the user chose a size (in Node's
 * own arguments or `NODE_OPTIONS`), for help, or where `execve` is missing (Windows, Node before
 * 22.15); a failed `execve` leaves the process running as it was. Short commands (`scan`) are not
 * restarted: a second start of Node would cost more than it saves on one scan.
 * @module
 */

/** Commands that run for hours, and start Node again with {@link LONG_RUNNING_FLAGS}. */
export const LONG_RUNNING_COMMANDS: ReadonlySet<string> = new Set(["worker", "serve"]);

/** What Node is started with for them (16 MiB per semi-space: Node 22's default). */
export const LONG_RUNNING_FLAGS: readonly string[] = ["--max-semi-space-size=16"];

/** A flag that sets the young generation's size, whatever its spelling (`-` or `_`). */
const YOUNG_GENERATION = /^--(?:max|min)[-_]semi[-_]space[-_]size(?:=|$)/;

/** The words of `NODE_OPTIONS` (Node splits it at spaces; quotes only group, which is enough here). */
const nodeOptions = (value: string | undefined): string[] =>
  (value ?? "").split(/\s+/).map((w) => w.replace(/^["']|["']$/g, ""));

/**
 * The arguments to start this process again with, or `undefined` to go on as it is.
 * @param execPath - Node's executable (`process.execPath`)
 * @param execArgv - Node's own arguments (`process.execArgv`)
 * @param argv - the process's arguments (`process.argv`: Node, the script, the CLI's arguments)
 * @param env - the environment (`NODE_OPTIONS` is read)
 */
export function restartArguments(
  execPath: string,
  execArgv: readonly string[],
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): string[] | undefined {
  const [, script, command, ...rest] = argv;
  if (script === undefined || command === undefined || !LONG_RUNNING_COMMANDS.has(command)) return undefined;
  if (rest.some((a) => a === "--help" || a === "-h")) return undefined;
  if ([...execArgv, ...nodeOptions(env.NODE_OPTIONS)].some((a) => YOUNG_GENERATION.test(a))) return undefined;
  return [execPath, ...LONG_RUNNING_FLAGS, ...execArgv, script, command, ...rest];
}

/**
 * Replaces a long-running command's process with itself started with {@link LONG_RUNNING_FLAGS}
 * (see the module's comment); returns when it does not (or cannot).
 */
export function restartLongRunning(): void {
  const args = restartArguments(process.execPath, process.execArgv, process.argv, process.env);
  if (args === undefined || typeof process.execve !== "function") return;
  try {
    process.execve(process.execPath, args, process.env);
  } catch {
    // Not supported here, or refused (a sandbox that forbids execve): run with Node's defaults.
  }
}
