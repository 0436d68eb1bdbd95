/**
 * `modelgate lock <dir>`: writes a lock file of every file's SHA-256 (checked by `scan --lock`).
 * @module
 */
import { parseArgs } from "../../core/node-util.js";
import { writeLockFile } from "../../integrity/pins/lock.js";
import { type Command, EXIT, UsageError } from "../io.js";

const USAGE = `Usage: modelgate lock <dir> [options]

Hashes every file under <dir> (SHA-256, in parallel) and writes a lock file. Symbolic links are
recorded by target, never followed. The lock file is written atomically; an output that is a
symbolic link, FIFO, device or directory is refused. Check a tree against it with
'modelgate scan <dir> --lock FILE'.

Options:
  --output FILE              lock file (default <dir>/modelgate.lock.json, left out of the lock)
  --ignore-paths PATH...     paths (relative to <dir>) to leave out (repeatable); a top-level
                             .git (folder or file) always is
  -h, --help                 show this help

Exit codes: 0 written; 2 error or usage error.`;

/** `modelgate lock`. */
export const lockCommand: Command = {
  summary: "write a lock file of a directory's SHA-256 digests",
  usage: USAGE,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        output: { type: "string" },
        "ignore-paths": { type: "string", multiple: true },
        help: { type: "boolean", short: "h", default: false },
      },
    });
    if (values.help) {
      io.stdout(`${USAGE}\n`);
      return EXIT.ok;
    }
    if (positionals.length !== 1) throw new UsageError("lock needs exactly one directory");
    const { lock, path } = await writeLockFile(positionals[0] as string, values.output, {
      signal: io.signal,
      ...(values["ignore-paths"] === undefined ? {} : { ignorePaths: values["ignore-paths"] }),
    });
    io.stdout(`Locked ${Object.keys(lock.files).length} files\nWrote ${path}\n`);
    return EXIT.ok;
  },
};
