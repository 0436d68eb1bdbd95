/**
 * The in-process queue: the same API and semantics as the Redis queue (job ids, deduplication,
 * retries of transient errors, results kept for a TTL), run by a bounded pool in this process.
 * Memory is bounded: at most `maxQueued` jobs wait (more are refused, `503 UNAVAILABLE`), and
 * finished jobs are kept for the TTL only while they fit `maxRetainedJobs` and
 * `maxRetainedReportBytes` (the oldest finished are forgotten first).
 * @module
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { ScanReport } from "../report/schema.js";
import { ServiceError } from "./errors.js";
import { jobIdOf, type RunContext, runScanJob, TransientJobError } from "./job.js";
import type { Metrics } from "./metrics.js";
import { finishedProgress } from "./progress.js";
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

/** Options of {@link createLocalScanQueue}. */
export interface LocalQueueOptions {
  /** Jobs run at once (default 2). */
  concurrency?: number;
  /** How long finished jobs and their reports are kept, ms (default one hour). */
  resultTtlMs?: number;
  /** Attempts of a job whose failure is transient (default 3). */
  attempts?: number;
  /** First retry delay, ms, doubled each time (default 1000). */
  backoffMs?: number;
  /** Everything a scan needs (roots, cache, caps ...), minus the per-job fields. */
  run: Omit<RunContext, "willRetry" | "onProgress" | "signal">;
  /** Counters to update. */
  metrics?: Metrics;
  /** Called once a job finished (the upload's temporary file is removed there). */
  onFinished?: (data: ScanJobData) => void | Promise<void>;
  /** Jobs waiting to run; a submission beyond it is refused, `UNAVAILABLE` (default 1,000). */
  maxQueued?: number;
  /** Finished jobs kept; past it the oldest finished are forgotten before their TTL (default 10,000). */
  maxRetainedJobs?: number;
  /**
   * Bytes of finished reports kept (their JSON size); past it the oldest finished jobs are
   * forgotten before their TTL, the newest always kept (default 256 MiB).
   */
  maxRetainedReportBytes?: number;
}

/** Default caps of the in-process queue. */
export const LOCAL_QUEUE_DEFAULTS = Object.freeze({
  maxQueued: 1_000,
  maxRetainedJobs: 10_000,
  maxRetainedReportBytes: 256 * 1024 * 1024,
});

interface Entry {
  id: string;
  data: ScanJobData;
  identity: JobIdentity;
  state: JobState;
  progress: JobProgress;
  attempts: number;
  report?: ScanReport;
  error?: { code: string; message: string };
  finishedAt?: number;
}

const ZERO: JobProgress = Object.freeze({ filesTotal: 0, filesDone: 0, bytesDone: 0, path: "" });

/**
 * Creates the in-process queue.
 * @param options - pool size, TTL, retries, scan context
 */
export function createLocalScanQueue(options: LocalQueueOptions): ScanQueue {
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 2));
  const ttl = options.resultTtlMs ?? 3_600_000;
  const attempts = Math.max(1, options.attempts ?? 3);
  const backoff = options.backoffMs ?? 1000;
  const maxQueued = Math.max(1, options.maxQueued ?? LOCAL_QUEUE_DEFAULTS.maxQueued);
  const maxRetainedJobs = Math.max(1, options.maxRetainedJobs ?? LOCAL_QUEUE_DEFAULTS.maxRetainedJobs);
  const maxRetainedBytes = options.maxRetainedReportBytes ?? LOCAL_QUEUE_DEFAULTS.maxRetainedReportBytes;
  const jobs = new Map<string, Entry>();
  const waiting: Entry[] = [];
  const listeners = new Set<(event: JobEvent) => void>();
  const wakers = new Set<() => void>();
  const controller = new AbortController();
  const running = new Set<Promise<void>>();
  let closed = false;

  const emit = (event: JobEvent): void => {
    for (const l of listeners) l(event);
  };
  // Finished jobs in the order they finished, with when each expires (monotonic clock): expiring
  // looks at the oldest ones only, not at every job kept (a submission or status read used to go
  // through all of them, an hour of jobs by default).
  const finished: { entry: Entry; expiresAt: number; bytes: number }[] = [];
  let oldest = 0;
  /** Report bytes of the finished jobs kept (`finished` from `oldest` on). */
  let retainedBytes = 0;
  const forgetOldest = (): void => {
    const { entry, bytes } = finished[oldest] as { entry: Entry; bytes: number };
    if (jobs.get(entry.id) === entry) jobs.delete(entry.id);
    retainedBytes -= bytes;
    oldest++;
  };
  const expire = (): void => {
    const now = performance.now();
    while (oldest < finished.length && (finished[oldest] as { expiresAt: number }).expiresAt < now) forgetOldest();
    // Over a cap: the oldest finished go first; the newest stays (its client is about to ask).
    while (
      finished.length - oldest > 1 &&
      (finished.length - oldest > maxRetainedJobs || retainedBytes > maxRetainedBytes)
    ) {
      forgetOldest();
    }
    if (oldest > 1024 && oldest * 2 > finished.length) {
      finished.splice(0, oldest);
      oldest = 0;
    }
  };

  const execute = async (entry: Entry): Promise<void> => {
    entry.state = "running";
    emit({ type: "running", id: entry.id });
    const started = performance.now();
    try {
      for (;;) {
        entry.attempts++;
        try {
          entry.report = await runScanJob(entry.data, {
            ...options.run,
            signal: controller.signal,
            willRetry: entry.attempts < attempts,
            onProgress: (p) => {
              entry.progress = p;
              emit({ type: "progress", id: entry.id });
            },
          });
          entry.state = "completed";
          options.metrics?.jobFinished(entry.report, (performance.now() - started) / 1000);
          break;
        } catch (error) {
          if (error instanceof TransientJobError && entry.attempts < attempts && !controller.signal.aborted) {
            options.metrics?.error(error.code);
            await sleep(backoff * 2 ** (entry.attempts - 1), undefined, { signal: controller.signal }).catch(
              () => undefined,
            );
            continue;
          }
          const code = error instanceof TransientJobError ? error.code : "INTERNAL";
          entry.error = { code, message: error instanceof Error ? error.message : String(error) };
          entry.state = "failed";
          options.metrics?.error(code);
          break;
        }
      }
    } finally {
      entry.finishedAt = Date.now();
      const bytes = reportBytes(entry.report);
      retainedBytes += bytes;
      finished.push({ entry, expiresAt: performance.now() + ttl, bytes });
      expire();
      emit({ type: entry.state === "completed" ? "completed" : "failed", id: entry.id });
      await Promise.resolve(options.onFinished?.(entry.data)).catch(() => undefined);
    }
  };

  const pump = (): void => {
    while (!closed && running.size < concurrency && waiting.length > 0) {
      const entry = waiting.shift()!;
      const p = execute(entry).finally(() => {
        running.delete(p);
        pump();
      });
      running.add(p);
    }
  };

  const statusOf = (e: Entry): JobStatus => ({
    id: e.id,
    state: e.state,
    progress: finishedProgress(e.progress, e.state === "completed" ? e.report : undefined),
    attempts: e.attempts,
    target: e.data.kind === "upload" ? `upload:${e.data.upload?.name ?? ""}` : e.data.target,
    submittedAt: new Date(e.data.submittedAt).toISOString(),
    ...(e.error === undefined ? {} : { error: e.error }),
    ...(e.finishedAt === undefined ? {} : { finishedAt: new Date(e.finishedAt).toISOString() }),
    ...(e.report === undefined ? {} : { verdict: e.report.verdict }),
  });

  return {
    submit(data, identity): Promise<SubmitResult> {
      if (closed) return Promise.reject(new Error("queue closed"));
      expire();
      let generation = 0;
      for (;;) {
        const id = jobIdOf(data, identity, generation);
        const existing = jobs.get(id);
        if (existing === undefined) {
          if (waiting.length >= maxQueued) {
            return Promise.reject(
              new ServiceError("UNAVAILABLE", `${maxQueued} scans are already waiting; retry later`),
            );
          }
          const entry: Entry = { id, data, identity, state: "queued", progress: ZERO, attempts: 0 };
          jobs.set(id, entry);
          waiting.push(entry);
          emit({ type: "queued", id });
          pump();
          return Promise.resolve({ id, duplicate: false });
        }
        // A pinned target's report stands; an unpinned or failed one is scanned again once finished.
        if (existing.finishedAt === undefined || (identity.pinned && existing.state === "completed"))
          return Promise.resolve({ id, duplicate: true });
        generation = existing.finishedAt;
      }
    },
    status(id) {
      expire();
      const e = jobs.get(id);
      return Promise.resolve(e === undefined ? undefined : statusOf(e));
    },
    result(id) {
      return Promise.resolve(jobs.get(id)?.report);
    },
    counts() {
      expire();
      const out: Record<JobState, number> = { queued: 0, running: 0, completed: 0, failed: 0 };
      for (const e of jobs.values()) out[e.state]++;
      return Promise.resolve(out);
    },
    events(): AsyncIterable<JobEvent> {
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
    async close() {
      closed = true;
      for (const w of wakers) w();
      wakers.clear();
      listeners.clear();
      await Promise.allSettled([...running]);
      controller.abort();
    },
  };
}

/** The size of a report as kept and served (its JSON), 0 for none. */
function reportBytes(report: ScanReport | undefined): number {
  if (report === undefined) return 0;
  try {
    return Buffer.byteLength(JSON.stringify(report), "utf8");
  } catch {
    return 0;
  }
}
