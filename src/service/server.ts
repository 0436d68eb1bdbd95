/**
 * Wiring for the CLI: `modelgate serve` (HTTP API, in-process jobs or a Redis queue) and
 * `modelgate worker` (takes jobs from Redis). Everything here is configuration; the pieces are in
 * the other modules of this folder.
 * @module
 */
import { lstat, mkdtemp, realpath, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { ModelgateError } from "../core/errors.js";
import type { PolicyOptions } from "../policy/policy.js";
import type { VerdictCache } from "../scan/cache.js";
import { readTrustedFile } from "../sources/safe-read.js";
import { createServiceApp } from "./http.js";
import { DEFAULT_CAPS, isWithin, resolveRoots, type ServiceCaps } from "./job.js";
import { createLocalScanQueue } from "./local-queue.js";
import { Metrics } from "./metrics.js";
import { RedisVerdictCache } from "./redis-cache.js";
import { createScanQueue, redisClient, runWorker, type WorkerHandle } from "./redis-queue.js";
import { DEFAULT_REMOTE_PREFIXES, parseRemotePrefix } from "./remote-allow.js";
import type { ScanQueue } from "./types.js";

/** Largest token file. */
const MAX_TOKEN_BYTES = 4096;

/**
 * Reads the bearer token from a file through the trusted-file reader (a regular file, not a link,
 * not writable by group or others, owned by you or root); surrounding whitespace is dropped.
 * @param path - the token file
 */
export async function readTokenFile(path: string): Promise<string> {
  const file = await readTrustedFile(path, { maxBytes: MAX_TOKEN_BYTES, what: "token file", secret: true });
  const token = file.bytes.toString("utf8").trim();
  if (token.length < 16 || /\s/.test(token)) {
    throw new ModelgateError(
      "INVALID_ARGUMENT",
      `token file ${file.path}: the token must be one word of at least 16 characters`,
    );
  }
  return token;
}

/**
 * Checks that a folder is private (0700-ish: not accessible by group or others, not a link) and
 * returns its real path.
 * @param path - the folder
 */
export async function privateFolder(path: string): Promise<string> {
  const info = await lstat(path).catch(() => undefined);
  if (info === undefined || !info.isDirectory()) {
    throw new ModelgateError("INVALID_ARGUMENT", `upload folder ${path}: not a folder (nor a link to one is accepted)`);
  }
  if ((info.mode & 0o077) !== 0) {
    throw new ModelgateError(
      "INVALID_ARGUMENT",
      `upload folder ${path}: must not be accessible by group or others (chmod 700)`,
    );
  }
  return realpath(path);
}

/** Configuration of {@link startServer}. */
export interface ServerConfig {
  /** Port (0: any free one). */
  port: number;
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** The bearer token file. */
  tokenFile: string;
  /** Folders local targets may lie in. */
  roots: readonly string[];
  /** The policy applied when a request carries none. */
  policy?: PolicyOptions;
  /** Requests may carry a policy that replaces {@link policy} (default false: refused). */
  requestPolicies?: boolean;
  /** URI prefixes of the remote targets clients may ask for (default `["hf://"]`; see `remote-allow.ts`). */
  allowRemote?: readonly string[];
  /** Redis URL: enqueue only (workers scan). Without it, scans run in this process. */
  redis?: string;
  /** Jobs at once in-process (default 2). */
  concurrency?: number;
  /** Upload folder (private; shared with the workers in Redis mode). Default: a private temp folder in-process. */
  uploadDir?: string;
  /** Largest upload, bytes. */
  maxUploadBytes?: number;
  /** Caps of client options. */
  caps?: ServiceCaps;
  /** Requests per minute per client. */
  rateLimitPerMinute?: number;
  /** Seconds reports are kept. */
  resultTtlSeconds?: number;
  /** Verdict cache of in-process scans. */
  cache?: VerdictCache;
  /** Environment of remote sources. */
  env?: Readonly<Record<string, string | undefined>>;
}

/** A running server. */
export interface RunningServer {
  /** `http://host:port`. */
  readonly url: string;
  /** Stops listening, then the queue (in-process: waits for running scans). */
  close(): Promise<void>;
}

/**
 * Starts `modelgate serve`.
 * @param config - see {@link ServerConfig}
 */
export async function startServer(config: ServerConfig): Promise<RunningServer> {
  const token = await readTokenFile(config.tokenFile);
  const roots = await resolveRoots(config.roots);
  const caps = config.caps ?? DEFAULT_CAPS;
  const remotePrefixes = (config.allowRemote ?? DEFAULT_REMOTE_PREFIXES).map(parseRemotePrefix);
  let uploadDir: string | undefined;
  let ownUploadDir: string | undefined;
  if (config.uploadDir !== undefined) uploadDir = await privateFolder(config.uploadDir);
  else if (config.redis === undefined) {
    ownUploadDir = await mkdtemp(join(tmpdir(), "modelgate-uploads-"));
    uploadDir = await realpath(ownUploadDir);
  }
  let queue: ScanQueue;
  let healthy: (() => Promise<boolean>) | undefined;
  let metrics: Metrics;
  if (config.redis !== undefined) {
    const q = createScanQueue({
      connection: config.redis,
      ...(config.resultTtlSeconds === undefined ? {} : { resultTtlSeconds: config.resultTtlSeconds }),
    });
    queue = q;
    healthy = () => q.healthy();
    // Scans run in the workers: their counters, kept in Redis, are what /metrics shows.
    metrics = new Metrics({ shared: () => q.counters() });
  } else {
    metrics = new Metrics();
    queue = createLocalScanQueue({
      concurrency: config.concurrency ?? 2,
      metrics,
      ...(config.resultTtlSeconds === undefined ? {} : { resultTtlMs: config.resultTtlSeconds * 1000 }),
      run: { roots, uploadDir, cache: config.cache, env: config.env ?? process.env, caps, remotePrefixes },
      onFinished: async (data) => {
        if (data.kind !== "upload" || uploadDir === undefined) return;
        const folder = dirname(data.target);
        if (isWithin(folder, uploadDir) && folder !== uploadDir) await rm(folder, { recursive: true, force: true });
      },
    });
  }
  const app = createServiceApp({
    queue,
    prepare: {
      roots,
      defaultPolicy: config.policy,
      requestPolicies: config.requestPolicies === true,
      remotePrefixes,
      caps,
    },
    token,
    uploadDir,
    metrics,
    ...(config.maxUploadBytes === undefined ? {} : { maxUploadBytes: config.maxUploadBytes }),
    ...(config.rateLimitPerMinute === undefined
      ? {}
      : { rateLimit: { max: config.rateLimitPerMinute, windowMs: 60_000 } }),
    ...(healthy === undefined ? {} : { healthy }),
  });
  const address = await app.listen({ port: config.port, host: config.host ?? "127.0.0.1" });
  return {
    url: address,
    async close() {
      await app.close();
      await queue.close();
      if (ownUploadDir !== undefined) await rm(ownUploadDir, { recursive: true, force: true });
    },
  };
}

/** Configuration of {@link startWorker}. */
export interface WorkerConfig {
  /** Redis URL. */
  redis: string;
  /** Jobs at once. */
  concurrency?: number;
  /** Folders local targets may lie in. */
  roots?: readonly string[];
  /** Upload folder shared with `serve`. */
  uploadDir?: string;
  /** Share verdicts through Redis (default true). */
  cache?: boolean;
  /** Seconds a cached verdict lives. */
  cacheTtlSeconds?: number;
  /** Job lock, ms. */
  lockDurationMs?: number;
  /** Caps. */
  caps?: ServiceCaps;
  /** URI prefixes of the remote targets this worker fetches (default `["hf://"]`; as `serve --allow-remote`). */
  allowRemote?: readonly string[];
  /** Logging. */
  onJob?: Parameters<typeof runWorker>[0]["onJob"];
}

/**
 * Starts `modelgate worker`.
 * @param config - see {@link WorkerConfig}
 */
export async function startWorker(config: WorkerConfig): Promise<WorkerHandle> {
  const roots = await resolveRoots(config.roots ?? []);
  const uploadDir = config.uploadDir === undefined ? undefined : await privateFolder(config.uploadDir);
  const cacheClient = config.cache === false ? undefined : redisClient(config.redis);
  const handle = runWorker({
    connection: config.redis,
    roots,
    remotePrefixes: (config.allowRemote ?? DEFAULT_REMOTE_PREFIXES).map(parseRemotePrefix),
    ...(config.concurrency === undefined ? {} : { concurrency: config.concurrency }),
    ...(uploadDir === undefined ? {} : { uploadDir }),
    ...(cacheClient === undefined
      ? {}
      : {
          cache: new RedisVerdictCache(
            cacheClient,
            config.cacheTtlSeconds === undefined ? {} : { ttlSeconds: config.cacheTtlSeconds },
          ),
        }),
    ...(config.lockDurationMs === undefined ? {} : { lockDurationMs: config.lockDurationMs }),
    ...(config.caps === undefined ? {} : { caps: config.caps }),
    ...(config.onJob === undefined ? {} : { onJob: config.onJob }),
  });
  await handle.ready();
  return {
    id: handle.id,
    ready: () => handle.ready(),
    async close() {
      await handle.close();
      cacheClient?.disconnect();
    },
  };
}
