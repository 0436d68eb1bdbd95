/**
 * The scan queue on Redis with BullMQ: one queue, job ids derived from the content, policy and
 * version (duplicates share one scan), results and progress kept for a TTL, retries with backoff
 * for `NETWORK`/`TIMEOUT`, stalled jobs taken over by another worker.
 * @module
 */
import { randomUUID } from "node:crypto";
import { rm } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname } from "node:path";
import { type Job, Queue, QueueEvents, UnrecoverableError, Worker } from "bullmq";
import { Redis, type RedisOptions } from "ioredis";
import type { ScanReport } from "../report/schema.js";
import type { VerdictCache } from "../scan/cache.js";
import { HubTransport } from "../sources/hub/transport.js";
import { DEFAULT_CAPS, isWithin, jobIdOf, runScanJob, type ServiceCaps, TransientJobError } from "./job.js";
import { countersOf, type ScanCounters } from "./metrics.js";
import { finishedProgress } from "./progress.js";
import { CounterBatch, RedisScanCounters } from "./redis-metrics.js";
import type { RemotePrefix } from "./remote-allow.js";
import type {
  JobEvent,
  JobIdentity,
  JobProgress,
  JobState,
  JobStatus,
  ScanJobData,
  ScanQueue,
  SubmitResult,
} from "./types.js";

/** Default queue name. */
export const QUEUE_NAME = "modelgate-scans";

/** A Redis to connect to: a `redis://` URL, or ioredis options. */
export type RedisConnection = string | RedisOptions;

/** What a worker stores as a job's result. */
export interface StoredResult {
  /** The report. */
  readonly report: ScanReport;
  /** Which worker produced it (`host:pid`). */
  readonly worker: string;
  /** Seconds the scan took. */
  readonly seconds: number;
}

/**
 * An ioredis client set up for BullMQ: commands wait through reconnections (never fail while
 * Redis restarts), reconnection backs off up to 2 s, errors are reported, not thrown.
 * @param connection - URL or options
 * @param onError - receives connection errors (default: ignored; ioredis reconnects)
 */
export function redisClient(connection: RedisConnection, onError?: (error: Error) => void): Redis {
  const base: RedisOptions = {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: (times: number) => Math.min(100 * times, 2000),
  };
  // ioredis's option types do not accept `undefined` values under exactOptionalPropertyTypes.
  const options = (typeof connection === "string" ? base : { ...base, ...connection }) as never;
  const client = typeof connection === "string" ? new Redis(connection, options) : new Redis(options);
  client.on("error", (error: Error) => onError?.(error));
  return client;
}

/** Options of {@link createScanQueue}. */
export interface ScanQueueOptions {
  /** Redis. */
  connection: RedisConnection;
  /** Queue name (default {@link QUEUE_NAME}). */
  name?: string;
  /** Seconds finished jobs and their reports are kept (default one hour). */
  resultTtlSeconds?: number;
  /** Attempts of a job whose failures are transient (default 3). */
  attempts?: number;
  /** First retry delay, ms, doubled each time (default 2000). */
  backoffMs?: number;
  /**
   * Most entries of the queue's event stream, about (default 10 000, BullMQ's). Each `completed`
   * event carries the job's report, so this bounds the stream's memory in Redis; a consumer of
   * `events()` that falls further behind than this loses events.
   */
  eventsMaxLen?: number;
}

/** The Redis scan queue: the {@link ScanQueue} API plus a health check. */
export interface RedisScanQueue extends ScanQueue {
  /** Whether the connection to Redis is up. */
  healthy(): Promise<boolean>;
  /** The counters of every scan the queue's workers finished (kept in Redis by the workers). */
  counters(): Promise<ScanCounters>;
}

const stateOf = (s: string): JobState =>
  s === "active" ? "running" : s === "completed" ? "completed" : s === "failed" ? "failed" : "queued";

const ZERO: JobProgress = Object.freeze({ filesTotal: 0, filesDone: 0, bytesDone: 0, path: "" });

function progressOf(value: unknown): JobProgress {
  if (typeof value !== "object" || value === null) return ZERO;
  const p = value as Partial<JobProgress>;
  return {
    filesTotal: Number(p.filesTotal ?? 0),
    filesDone: Number(p.filesDone ?? 0),
    bytesDone: Number(p.bytesDone ?? 0),
    path: String(p.path ?? ""),
  };
}

/**
 * Whether a submission goes past an existing job to the next generation: the job finished, and
 * unless the target is pinned and the job completed (a pinned target's report stands).
 */
function isFinishedFacts(facts: { finishedOn: unknown; completed: boolean }, identity: JobIdentity): boolean {
  const finishedAt = typeof facts.finishedOn === "string" ? Number(facts.finishedOn) : Number.NaN;
  return Number.isFinite(finishedAt) && !(identity.pinned && facts.completed);
}

/**
 * Reads, atomically: whether job KEYS[1] exists, its finishedOn, its score in the completed set
 * KEYS[2] (member ARGV[1]), and KEYS[3] when ARGV[2] is "1". Missing values are false.
 */
const READ_FACTS = `return {redis.call('EXISTS', KEYS[1]), redis.call('HGET', KEYS[1], 'finishedOn'),
redis.call('ZSCORE', KEYS[2], ARGV[1]), ARGV[2] == '1' and redis.call('GET', KEYS[3]) or false}`;

/** Sets KEYS[1] to ARGV[1] (expiring in ARGV[2] s) unless it holds a larger number already. */
const RAISE_LATEST = `local c = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if tonumber(ARGV[1]) > c then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) end
return 0`;

/**
 * Connects to the queue (the producer side: `modelgate serve --redis`).
 * @param options - Redis, queue name, TTL, retries
 */
export function createScanQueue(options: ScanQueueOptions): RedisScanQueue {
  const name = options.name ?? QUEUE_NAME;
  const ttl = Math.max(1, Math.floor(options.resultTtlSeconds ?? 3600));
  const attempts = Math.max(1, options.attempts ?? 3);
  const backoff = options.backoffMs ?? 2000;
  const client = redisClient(options.connection);
  const queue = new Queue<ScanJobData, StoredResult>(name, {
    connection: client,
    streams: { events: { maxLen: Math.max(100, Math.floor(options.eventsMaxLen ?? 10_000)) } },
  });
  const counters = new RedisScanCounters(client, { queue: name });
  queue.on("error", () => undefined);
  let events: QueueEvents | undefined;
  let eventsClient: Redis | undefined;
  const listeners = new Set<(e: JobEvent) => void>();
  const wakers = new Set<() => void>();
  let closed = false;

  const ensureEvents = (): void => {
    if (events !== undefined) return;
    eventsClient = redisClient(options.connection);
    events = new QueueEvents(name, { connection: eventsClient });
    events.on("error", () => undefined);
    const emit = (e: JobEvent): void => {
      for (const l of listeners) l(e);
    };
    events.on("waiting", ({ jobId }) => emit({ type: "queued", id: jobId }));
    events.on("active", ({ jobId }) => emit({ type: "running", id: jobId }));
    events.on("progress", ({ jobId }) => emit({ type: "progress", id: jobId }));
    events.on("completed", ({ jobId }) => emit({ type: "completed", id: jobId }));
    events.on("failed", ({ jobId }) => emit({ type: "failed", id: jobId }));
  };

  const statusOf = async (fetched: Job<ScanJobData, StoredResult>): Promise<JobStatus> => {
    const state = stateOf(await fetched.getState());
    // The job's fields were read before its state: a job that finished in between has a finished
    // state and no result in `fetched`. Read it again after the state, so a finished state always
    // comes with its result or failure.
    let job = fetched;
    if ((state === "completed" || state === "failed") && fetched.finishedOn === undefined) {
      job = (await queue.getJob(String(fetched.id))) ?? fetched;
    }
    const data = job.data;
    const reason = job.failedReason;
    const code = /^([A-Z_]+):/.exec(reason ?? "")?.[1];
    return {
      id: String(job.id),
      state,
      progress: finishedProgress(progressOf(job.progress), state === "completed" ? job.returnvalue?.report : undefined),
      attempts: job.attemptsMade + (state === "running" ? 1 : 0),
      target: data.kind === "upload" ? `upload:${data.upload?.name ?? ""}` : data.target,
      submittedAt: new Date(data.submittedAt).toISOString(),
      ...(state === "failed" && reason !== undefined
        ? { error: { code: code ?? "INTERNAL", message: reason.replace(/^[A-Z_]+: /, "") } }
        : {}),
      ...(job.finishedOn === undefined ? {} : { finishedAt: new Date(job.finishedOn).toISOString() }),
      ...(state === "completed" && job.returnvalue?.report !== undefined
        ? { verdict: job.returnvalue.report.verdict, worker: job.returnvalue.worker }
        : {}),
    };
  };

  // Sent by their SHA-1 (EVALSHA; ioredis loads a script Redis does not know, after a restart),
  // not as text with every call.
  client.defineCommand("mgReadFacts", { numberOfKeys: 3, lua: READ_FACTS });
  client.defineCommand("mgRaiseLatest", { numberOfKeys: 1, lua: RAISE_LATEST });
  const scripts = client as unknown as Record<"mgReadFacts" | "mgRaiseLatest", (...args: string[]) => Promise<unknown>>;

  /**
   * One round trip: whether job `id` exists, when it finished, whether it completed (BullMQ sets
   * `finishedOn` only once a job completed or failed for good), and the value of `latestKey` when
   * given. The stored report is not fetched.
   */
  const readFacts = async (
    id: string,
    latestKey?: string,
  ): Promise<{ exists: unknown; finishedOn: unknown; completed: boolean; latest: unknown }> => {
    const key = queue.toKey(id);
    // One script, not MULTI: ioredis copies every script BullMQ defined on the connection into
    // each MULTI it makes (about a hundred properties), which cost more CPU than the reads.
    const reply = (await scripts.mgReadFacts(
      key,
      queue.keys.completed!,
      latestKey ?? key, // not read unless asked for
      id,
      latestKey === undefined ? "0" : "1",
    )) as unknown;
    if (!Array.isArray(reply) || reply.length !== 4) throw new Error("Redis: reading the job failed");
    const [exists, finishedOn, completedAt, latest] = reply.map((v) => (v === false ? null : v)) as unknown[];
    return { exists, finishedOn, completed: completedAt !== null && completedAt !== undefined, latest };
  };

  return {
    async submit(data: ScanJobData, identity: JobIdentity): Promise<SubmitResult> {
      // The generations of a target form a chain (each id is derived from the previous one's
      // finish time). The latest generation a submission reached is kept under the chain's key, so
      // a submission reads the first generation (with that record), the latest and the one after
      // it at most, however often the target was scanned within the TTL (it read every generation,
      // and refused past a hundred).
      const base = jobIdOf(data, identity, 0);
      const latestKey = queue.toKey(`latest:${base}`);
      let facts = await readFacts(base, latestKey);
      const hint = typeof facts.latest === "string" ? Number(facts.latest) : Number.NaN;
      const start = Number.isSafeInteger(hint) && hint > 0 ? hint : 0;
      let generation = start;
      let id = start === 0 ? base : jobIdOf(data, identity, start);
      if (start !== 0) facts = await readFacts(id);
      for (let round = 0; round < 100; round++) {
        // the generation reached (never lowered: a concurrent submission may have gone further)
        if (generation !== start && (facts.exists !== 1 || !isFinishedFacts(facts, identity)))
          await scripts.mgRaiseLatest(latestKey, String(generation), String(2 * ttl));
        if (facts.exists !== 1) {
          const mine: ScanJobData = { ...data, submission: randomUUID() };
          await queue.add("scan", mine, {
            jobId: id,
            attempts,
            backoff: { type: "exponential", delay: backoff },
            removeOnComplete: { age: ttl },
            removeOnFail: { age: ttl },
          });
          // BullMQ keeps the first job of an id and ignores later adds: read back who won.
          const stored = await client.hget(queue.toKey(id), "data");
          let submission: unknown;
          try {
            submission = (JSON.parse(stored ?? "{}") as { submission?: unknown }).submission;
          } catch {
            submission = undefined;
          }
          return { id, duplicate: stored !== null && submission !== mine.submission };
        }
        if (!isFinishedFacts(facts, identity)) return { id, duplicate: true };
        generation = Number(facts.finishedOn);
        id = jobIdOf(data, identity, generation);
        facts = await readFacts(id);
      }
      throw new Error("too many generations of one job");
    },
    async status(id) {
      const job = await queue.getJob(id);
      return job === undefined ? undefined : statusOf(job);
    },
    async result(id) {
      const job = await queue.getJob(id);
      return job?.returnvalue?.report ?? undefined;
    },
    async counts() {
      const c = await queue.getJobCounts("waiting", "prioritized", "delayed", "active", "completed", "failed");
      return {
        queued: (c.waiting ?? 0) + (c.prioritized ?? 0) + (c.delayed ?? 0),
        running: c.active ?? 0,
        completed: c.completed ?? 0,
        failed: c.failed ?? 0,
      };
    },
    events(): AsyncIterable<JobEvent> {
      ensureEvents();
      return {
        [Symbol.asyncIterator]() {
          const buffer: JobEvent[] = [];
          let wake: (() => void) | undefined;
          const listener = (e: JobEvent): void => {
            buffer.push(e);
            wake?.();
          };
          listeners.add(listener);
          return {
            async next(): Promise<IteratorResult<JobEvent>> {
              while (buffer.length === 0) {
                if (closed) return { done: true, value: undefined };
                await new Promise<void>((r) => {
                  wake = r;
                  wakers.add(r);
                });
                if (wake !== undefined) wakers.delete(wake);
                wake = undefined;
              }
              return { done: false, value: buffer.shift()! };
            },
            return(): Promise<IteratorResult<JobEvent>> {
              listeners.delete(listener);
              return Promise.resolve({ done: true, value: undefined });
            },
          };
        },
      };
    },
    counters() {
      return counters.read();
    },
    async healthy() {
      if (client.status !== "ready") return false;
      return (await Promise.race([client.ping(), new Promise((r) => setTimeout(r, 1000, "timeout"))])) === "PONG";
    },
    async close() {
      closed = true;
      for (const w of wakers) w();
      wakers.clear();
      listeners.clear();
      await events?.close().catch(() => undefined);
      await queue.close().catch(() => undefined);
      eventsClient?.disconnect();
      client.disconnect();
    },
  };
}

/** Options of {@link runWorker}. */
export interface WorkerOptions {
  /** Redis. */
  connection: RedisConnection;
  /** Jobs run at once by this worker (default 2). */
  concurrency?: number;
  /** The shared verdict cache (`RedisVerdictCache`), if any. */
  cache?: VerdictCache;
  /** Queue name (default {@link QUEUE_NAME}). */
  name?: string;
  /** Real paths of the folders local targets must lie in (the worker checks again). */
  roots?: readonly string[];
  /** Real path of the upload folder shared with `serve` (uploads are refused without it). */
  uploadDir?: string;
  /** The worker's caps (a queue entry is not trusted to respect the server's). */
  caps?: ServiceCaps;
  /**
   * Remote targets this worker fetches (`worker --allow-remote`; default `hf://` only): checked
   * again for every job, and every request of a scan, redirects included (see `job.ts` RunContext).
   */
  remotePrefixes?: readonly RemotePrefix[];
  /** Environment of remote sources (default `process.env`). */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * How long a job's lock lasts without renewal, ms (default 30 s): a worker that dies loses its
   * jobs to another worker after about this long.
   */
  lockDurationMs?: number;
  /**
   * Add each finished scan's counters (duration, bytes read, files, cache hits, errors by code) and
   * each failed or retried attempt to the queue's counters in Redis, which `serve --redis` shows at
   * `/metrics` (default true).
   */
  counters?: boolean;
  /**
   * Longest time, ms, a finished job's counters wait in this worker before they are written to
   * Redis together with the others' (default 1000; one write per interval instead of one per job).
   */
  countersIntervalMs?: number;
  /**
   * Least time, ms, between two progress updates of a job, and before the first (default 1000):
   * each is a Redis write and an event every `events()` consumer reads.
   */
  progressIntervalMs?: number;
  /** Called when a job finishes or fails (logging). */
  onJob?: (event: {
    id: string;
    state: "started" | "completed" | "failed" | "retry";
    seconds: number;
    message?: string;
  }) => void;
}

/** A running worker. */
export interface WorkerHandle {
  /** `host:pid`. */
  readonly id: string;
  /** Waits until the worker is connected and taking jobs. */
  ready(): Promise<void>;
  /** Stops taking jobs, waits for the running ones (graceful shutdown), disconnects. */
  close(): Promise<void>;
}

/**
 * Starts a worker: takes jobs from the queue, at most `concurrency` at once, and stores each
 * report with its job. Jobs of a worker that dies are taken over by another once their lock
 * expires; a job is completed once (a worker that lost its lock cannot complete it).
 * @param options - Redis, concurrency, cache, roots
 */
export function runWorker(options: WorkerOptions): WorkerHandle {
  const id = `${hostname()}:${process.pid}`;
  const lock = Math.max(1000, options.lockDurationMs ?? 30_000);
  const client = redisClient(options.connection);
  const transport = new HubTransport();
  const controller = new AbortController();
  const caps = options.caps ?? DEFAULT_CAPS;
  const queueName = options.name ?? QUEUE_NAME;
  const progressInterval = Math.max(0, options.progressIntervalMs ?? 1000);
  const worker = new Worker<ScanJobData, StoredResult>(
    queueName,
    async (job) => {
      const started = performance.now();
      const data = job.data;
      const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      options.onJob?.({ id: String(job.id), state: "started", seconds: 0 });
      try {
        const report = await runScanJob(data, {
          roots: options.roots ?? [],
          uploadDir: options.uploadDir,
          cache: options.cache,
          hubTransport: transport,
          remotePrefixes: options.remotePrefixes,
          env: options.env ?? process.env,
          caps,
          signal: controller.signal,
          willRetry: !last,
          progressIntervalMs: progressInterval,
          onProgress: (p) => {
            job.updateProgress(p).catch(() => undefined);
          },
        });
        const seconds = (performance.now() - started) / 1000;
        return { report, worker: id, seconds };
      } catch (error) {
        if (error instanceof TransientJobError) throw new Error(`${error.code}: ${error.message}`);
        const message = error instanceof Error ? error.message : String(error);
        throw new UnrecoverableError(`INTERNAL: ${message}`);
      }
    },
    {
      connection: client,
      concurrency: Math.max(1, Math.floor(options.concurrency ?? 2)),
      lockDuration: lock,
      stalledInterval: Math.max(500, Math.floor(lock / 2)),
      maxStalledCount: 2,
      autorun: true,
    },
  );
  worker.on("error", () => undefined);
  // Reported once BullMQ committed the outcome: a worker that lost its lock (it stalled, Redis was
  // away too long) finishes its scan but cannot complete the job, and says nothing.
  // An upload's private folder goes once its job is over (not between retries, and not by a
  // worker that lost the job).
  const removeUpload = async (data: ScanJobData): Promise<void> => {
    if (data.kind !== "upload" || options.uploadDir === undefined) return;
    const folder = dirname(data.target);
    if (isWithin(folder, options.uploadDir) && folder !== options.uploadDir) {
      await rm(folder, { recursive: true, force: true }).catch(() => undefined);
    }
  };
  // Counted once BullMQ committed the outcome, as the logging: a job is counted by the worker that
  // completed it. Counts are written in batches (one transaction per interval); a lost write (Redis
  // away, the worker killed) loses those counts, never a job.
  const counters =
    options.counters === false
      ? undefined
      : new CounterBatch(new RedisScanCounters(client, { queue: queueName }), {
          ...(options.countersIntervalMs === undefined ? {} : { intervalMs: options.countersIntervalMs }),
        });
  worker.on("completed", (job, result) => {
    options.onJob?.({ id: String(job.id), state: "completed", seconds: result.seconds });
    if (counters !== undefined && result.report !== undefined) counters.add(countersOf(result.report, result.seconds));
    void removeUpload(job.data);
  });
  worker.on("failed", (job, error) => {
    if (job === undefined) return;
    counters?.error(/^([A-Z][A-Z0-9_]*):/.exec(error.message)?.[1] ?? "INTERNAL");
    const retry = job.attemptsMade < (job.opts.attempts ?? 1) && !(error instanceof UnrecoverableError);
    options.onJob?.({ id: String(job.id), state: retry ? "retry" : "failed", seconds: 0, message: error.message });
    if (!retry) void removeUpload(job.data);
  });
  return {
    id,
    async ready() {
      await worker.waitUntilReady();
    },
    async close() {
      await worker.close();
      controller.abort();
      await counters?.close();
      client.disconnect();
    },
  };
}
