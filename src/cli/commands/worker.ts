/**
 * `modelgate worker`: takes scan jobs from Redis (thin: the service is loaded lazily).
 * @module
 */
import { resolve } from "node:path";
import { parseArgs } from "../../core/node-util.js";
import { escapeForTerminal } from "../../report/render/escape.js";
import { type Command, cwdOf, EXIT, UsageError } from "../io.js";
import { checkPrefixes, optional, positiveInt, untilStopped } from "./serve.js";

const USAGE = `Usage: modelgate worker --redis URL [options]

Processes the scan jobs 'modelgate serve --redis URL' queues. Run as many as you like, on as many
machines: a job runs once; a worker that dies loses its jobs to another after --lock-ms. Verdicts
are shared through Redis. SIGTERM stops taking jobs and waits for the running ones.
It starts Node again (same process id) with a 16 MiB young generation unless the heap was sized
in Node's arguments or NODE_OPTIONS; MODELGATE_NO_RESTART=1 turns that off (docs/deployment.md).

Options:
  --redis URL              redis://host:port (required)
  --concurrency N          jobs at once (default 2)
  --root DIR               a folder local targets may lie in (repeatable; checked again here)
  --upload-dir DIR         the upload folder shared with 'serve' (chmod 700)
  --allow-remote PREFIX    remote targets this worker fetches, as URI prefixes (repeatable;
                           default hf://; give the same as 'serve --allow-remote'): a queued
                           job outside them is refused, and redirects may not leave them (an
                           https:// target's own origin aside; hf:// and oci:// may reach public
                           CDN hosts, never localhost or internal IP literals they do not name)
  --no-cache               do not share verdicts through Redis
  --cache-ttl SECONDS      how long a cached verdict lives (default 2592000)
  --lock-ms N              job lock; a dead worker's jobs move after about this long (default 30000)
  --max-timeout SECONDS    longest scan this worker runs (default 3600)
  --max-file-concurrency N most files analysed at once per scan (default 4)
  -h, --help               show this help`;

/** `modelgate worker`. */
export const workerCommand: Command = {
  summary: "process scan jobs from Redis (see serve --redis)",
  usage: USAGE,
  async run(args, io) {
    const { values } = parseArgs({
      args,
      strict: true,
      options: {
        redis: { type: "string" },
        concurrency: { type: "string" },
        root: { type: "string", multiple: true },
        "upload-dir": { type: "string" },
        "allow-remote": { type: "string", multiple: true },
        "no-cache": { type: "boolean", default: false },
        "cache-ttl": { type: "string" },
        "lock-ms": { type: "string" },
        "max-timeout": { type: "string" },
        "max-file-concurrency": { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
    if (values.help) {
      io.stdout(`${USAGE}\n`);
      return EXIT.ok;
    }
    if (values.redis === undefined) throw new UsageError("worker needs --redis URL");
    const cwd = cwdOf(io) ?? ".";
    const maxTimeout = positiveInt("max-timeout", values["max-timeout"]) ?? 3600;
    const service = await import("../../service/index.js");
    const worker = await service.startWorker({
      redis: values.redis,
      roots: (values.root ?? []).map((r) => resolve(cwd, r)),
      cache: !values["no-cache"],
      caps: {
        maxTimeoutMs: maxTimeout * 1000,
        defaultTimeoutMs: maxTimeout * 1000,
        maxConcurrency: positiveInt("max-file-concurrency", values["max-file-concurrency"]) ?? 4,
      },
      ...(values["upload-dir"] === undefined ? {} : { uploadDir: resolve(cwd, values["upload-dir"]) }),
      ...(values["allow-remote"] === undefined ? {} : { allowRemote: checkPrefixes(values["allow-remote"]) }),
      ...optional("concurrency", positiveInt("concurrency", values.concurrency)),
      ...optional("cacheTtlSeconds", positiveInt("cache-ttl", values["cache-ttl"])),
      ...optional("lockDurationMs", positiveInt("lock-ms", values["lock-ms"], 1000)),
      onJob: (e) => {
        const detail = e.message === undefined ? "" : `: ${e.message}`;
        io.stderr(
          `${escapeForTerminal(`modelgate worker: ${e.id} ${e.state} (${e.seconds.toFixed(2)} s)${detail}`)}\n`,
        );
      },
    });
    io.stderr(`modelgate worker: ${escapeForTerminal(worker.id)} ready\n`);
    const why = await untilStopped(io);
    io.stderr(`modelgate worker: ${why}: finishing running jobs\n`);
    await worker.close();
    return EXIT.ok;
  },
};
