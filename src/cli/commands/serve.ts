/**
 * `modelgate serve`: the scan service's HTTP API (thin: the service is loaded lazily).
 * @module
 */
import { resolve } from "node:path";
import { parseArgs } from "../../core/node-util.js";
import { loadPolicyFile } from "../../policy/load.js";
import { escapeForTerminal } from "../../report/render/escape.js";
import { parseRemotePrefix } from "../../service/remote-allow.js";
import { type CliIO, type Command, cwdOf, EXIT, UsageError } from "../io.js";

const USAGE = `Usage: modelgate serve --token-file FILE [options]

Runs the scan service: POST /v1/scans {target, policy?, options?}, POST /v1/scans/upload,
GET /v1/scans/:id[?format=json|sarif|cyclonedx], GET /healthz, GET /metrics, GET /v1/openapi.json.
Without --redis, scans run in this process; with it, this process only queues and answers, and
'modelgate worker --redis URL' processes the jobs. Like the worker, it starts Node again (same
process id) with a 16 MiB young generation unless one was given; MODELGATE_NO_RESTART=1 turns
that off.

Options:
  --token-file FILE        the bearer token clients must send (one word, >= 16 characters; the
                           file must be private: mode 0600, not readable by group or others)
  --root DIR               a folder local targets may lie in (repeatable; none: paths refused)
  --port N                 port (default 8080; 0 picks a free one)
  --host ADDR              address to listen on (default 127.0.0.1)
  --redis URL              redis://host:port: queue jobs in Redis for 'modelgate worker'
  --concurrency N          in-process: scans at once (default 2)
  --policy FILE            the server's policy (default: the built-in defaults)
  --allow-remote PREFIX    remote targets clients may ask for, as URI prefixes (repeatable;
                           default hf://): https://host/path, s3://bucket/prefix,
                           oci://registry/repo; the server fetches with its own network position
                           and credentials, so name only what clients may read through it.
                           Redirects stay on the target's origin or under these prefixes
                           (hf:// and oci:// may reach public CDN hosts, never internal
                           addresses the prefixes do not name); workers need the same list
  --request-policies       let requests carry a policy of their own, replacing --policy (off:
                           such requests are refused; a policy can allow a payload or drop a
                           required signature, so only for clients trusted with that)
  --upload-dir DIR         private folder (chmod 700) for uploads; in Redis mode shared with the
                           workers (uploads are refused without it); default in-process: a
                           private temporary folder
  --max-upload-bytes N     largest upload (default 1073741824)
  --max-timeout SECONDS    longest scan a client may ask for (default 3600)
  --max-file-concurrency N most files analysed at once per scan (default 4)
  --rate-limit N           requests per minute per client address (default 600)
  --result-ttl SECONDS     how long reports are kept (default 3600)
  -h, --help               show this help`;

/** Waits for SIGTERM, SIGINT or the CLI's abort signal. */
export function untilStopped(io: CliIO): Promise<string> {
  return new Promise((resolveStop) => {
    const stop = (why: string) => () => resolveStop(why);
    process.once("SIGTERM", stop("SIGTERM"));
    process.once("SIGINT", stop("SIGINT"));
    io.signal.addEventListener("abort", stop("abort"), { once: true });
  });
}

/**
 * A positive integer option.
 * @param name - the flag
 * @param value - its value
 */
export function positiveInt(name: string, value: string | undefined, min = 1): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}`);
  return n;
}

/** `modelgate serve`. */
export const serveCommand: Command = {
  summary: "run the scan service (HTTP API; jobs in-process or on Redis)",
  usage: USAGE,
  async run(args, io) {
    const { values } = parseArgs({
      args,
      strict: true,
      options: {
        "token-file": { type: "string" },
        root: { type: "string", multiple: true },
        port: { type: "string", default: "8080" },
        host: { type: "string", default: "127.0.0.1" },
        redis: { type: "string" },
        concurrency: { type: "string" },
        policy: { type: "string" },
        "request-policies": { type: "boolean", default: false },
        "allow-remote": { type: "string", multiple: true },
        "upload-dir": { type: "string" },
        "max-upload-bytes": { type: "string" },
        "max-timeout": { type: "string" },
        "max-file-concurrency": { type: "string" },
        "rate-limit": { type: "string" },
        "result-ttl": { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
    if (values.help) {
      io.stdout(`${USAGE}\n`);
      return EXIT.ok;
    }
    if (values["token-file"] === undefined) throw new UsageError("serve needs --token-file FILE");
    const cwd = cwdOf(io) ?? ".";
    const policy = values.policy === undefined ? undefined : await loadPolicyFile(resolve(cwd, values.policy));
    const maxTimeout = positiveInt("max-timeout", values["max-timeout"]) ?? 3600;
    const service = await import("../../service/index.js");
    const server = await service.startServer({
      port: positiveInt("port", values.port, 0) ?? 8080,
      host: values.host,
      tokenFile: resolve(cwd, values["token-file"]),
      roots: (values.root ?? []).map((r) => resolve(cwd, r)),
      caps: {
        maxTimeoutMs: maxTimeout * 1000,
        defaultTimeoutMs: maxTimeout * 1000,
        maxConcurrency: positiveInt("max-file-concurrency", values["max-file-concurrency"]) ?? 4,
      },
      env: io.env,
      ...(policy === undefined ? {} : { policy }),
      requestPolicies: values["request-policies"],
      ...(values["allow-remote"] === undefined ? {} : { allowRemote: checkPrefixes(values["allow-remote"]) }),
      ...(values.redis === undefined ? {} : { redis: values.redis }),
      ...(values["upload-dir"] === undefined ? {} : { uploadDir: resolve(cwd, values["upload-dir"]) }),
      ...optional("concurrency", positiveInt("concurrency", values.concurrency)),
      ...optional("maxUploadBytes", positiveInt("max-upload-bytes", values["max-upload-bytes"])),
      ...optional("rateLimitPerMinute", positiveInt("rate-limit", values["rate-limit"])),
      ...optional("resultTtlSeconds", positiveInt("result-ttl", values["result-ttl"])),
    });
    const mode = values.redis === undefined ? "in-process" : "redis";
    io.stderr(`modelgate serve: listening on ${escapeForTerminal(server.url)} (${mode})\n`);
    const why = await untilStopped(io);
    io.stderr(`modelgate serve: ${why}: shutting down\n`);
    await server.close();
    return EXIT.ok;
  },
};

/** Checks `--allow-remote` prefixes as usage errors (serve and worker). */
export function checkPrefixes(prefixes: readonly string[]): string[] {
  for (const p of prefixes) {
    try {
      parseRemotePrefix(p);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  return [...prefixes];
}

/** `{[key]: value}` when the value is defined, else `{}` (exact optional properties). */
export function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
