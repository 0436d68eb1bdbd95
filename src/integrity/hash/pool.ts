/**
 * A pool of worker threads that hash files in parallel, plus the default pool.
 * @module
 */
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import type { Worker } from "node:worker_threads";
import { ModelgateError } from "../../core/errors.js";
import {
  type ByteRange,
  type HashAlgorithm,
  type HashFailure,
  type HashFileRangesOptions,
  hashFileRanges,
  isHashFailure,
  type RangeDigests,
  WORKER_MARKER,
  type WorkerRequest,
  type WorkerResponse,
} from "./core.js";

/** Options of a {@link HashPool}. */
export interface HashPoolOptions {
  /** Worker threads (default: `os.availableParallelism()`). `0` hashes in the calling thread. */
  workers?: number;
  /** Read size per chunk (default 4 MiB). */
  chunkSize?: number;
  /** Jobs smaller than this many bytes are hashed in the calling thread (default 256 KiB). */
  inThreadBelow?: number;
}

/** One hashing job. */
export interface HashJob {
  /** File to hash. Symbolic links are followed unless `noFollow`: decide the link policy before calling. */
  path: string;
  /** Refuse a symbolic link at the path's last component instead of following it (`O_NOFOLLOW`). */
  noFollow?: boolean;
  /** Algorithms (default `["sha256"]`). */
  algorithms?: readonly HashAlgorithm[];
  /** Ranges to hash separately (shards); omitted: the whole file. */
  ranges?: readonly ByteRange[];
  /** The size the caller listed: a different size means the file changed and the job fails. */
  expectedSize?: number;
  /** Stops the job. */
  signal?: AbortSignal;
}

interface Queued {
  readonly id: number;
  readonly request: WorkerRequest;
  readonly resolve: (result: RangeDigests) => void;
  readonly reject: (error: ModelgateError) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
}

interface Slot {
  readonly worker: Worker;
  job: Queued | undefined;
}

/** Converts a failure that crossed a thread boundary into a typed error. */
export function toHashError(value: unknown): ModelgateError {
  if (value instanceof ModelgateError) return value;
  if (isHashFailure(value)) {
    const failure: HashFailure = value;
    return new ModelgateError(
      failure.code,
      failure.message,
      failure.offset === undefined ? {} : { offset: failure.offset },
    );
  }
  return new ModelgateError("INTERNAL", value instanceof Error ? value.message : String(value), { cause: value });
}

function workerUrl(): URL {
  // Built: worker.js beside this file. Under the test runner only worker.ts exists; Node strips its types.
  const built = new URL("./worker.js", import.meta.url);
  return existsSync(fileURLToPath(built)) ? built : new URL("./worker.ts", import.meta.url);
}

/**
 * Hashes files on worker threads, one job per worker at a time, first come first served. Idle
 * workers do not keep the process alive. Each job streams its file in 4 MiB chunks, so memory is
 * bounded by two chunks per worker whatever the file sizes.
 */
export class HashPool {
  /** Number of worker threads (0: everything is hashed in the calling thread). */
  readonly size: number;
  readonly #chunkSize: number | undefined;
  readonly #inThreadBelow: number;
  readonly #slots: Slot[] = [];
  readonly #queue: Queued[] = [];
  #nextId = 1;
  #closed = false;

  /** @param options - worker count, chunk size, in-thread threshold */
  constructor(options: HashPoolOptions = {}) {
    const workers = options.workers ?? availableParallelism();
    if (!Number.isInteger(workers) || workers < 0 || workers > 256) {
      throw new ModelgateError("INVALID_ARGUMENT", `invalid worker count ${workers}`);
    }
    this.size = workers;
    this.#chunkSize = options.chunkSize;
    this.#inThreadBelow = options.inThreadBelow ?? 256 * 1024;
  }

  /**
   * Hashes a file (or ranges of it).
   * @param job - what to hash
   * @returns the file size and the digests of each range
   * @throws ModelgateError `IO`, `TRUNCATED` (the file changed), `ABORTED`
   */
  async hash(job: HashJob): Promise<RangeDigests> {
    if (this.#closed) throw new ModelgateError("INVALID_ARGUMENT", "hash pool is closed");
    job.signal?.throwIfAborted();
    const algorithms = job.algorithms ?? ["sha256"];
    const bytes =
      job.ranges !== undefined
        ? job.ranges.reduce((sum, r) => sum + Math.max(0, r.end - r.start), 0)
        : (job.expectedSize ?? Number.POSITIVE_INFINITY);
    if (this.size === 0 || bytes < this.#inThreadBelow) {
      const options: HashFileRangesOptions = {};
      if (this.#chunkSize !== undefined) options.chunkSize = this.#chunkSize;
      if (job.expectedSize !== undefined) options.expectedSize = job.expectedSize;
      if (job.signal !== undefined) options.stop = job.signal;
      if (job.noFollow === true) options.noFollow = true;
      try {
        return await hashFileRanges(job.path, algorithms, job.ranges, options);
      } catch (error) {
        throw toHashError(error);
      }
    }
    return new Promise<RangeDigests>((resolve, reject) => {
      const id = this.#nextId++;
      const request: WorkerRequest = {
        type: "hash",
        id,
        path: job.path,
        algorithms,
        ...(job.ranges === undefined ? {} : { ranges: job.ranges }),
        ...(this.#chunkSize === undefined ? {} : { chunkSize: this.#chunkSize }),
        ...(job.expectedSize === undefined ? {} : { expectedSize: job.expectedSize }),
        ...(job.noFollow === true ? { noFollow: true } : {}),
      };
      const queued: Queued = {
        id,
        request,
        resolve,
        reject,
        signal: job.signal,
        onAbort: () => this.#abort(queued),
      };
      job.signal?.addEventListener("abort", queued.onAbort, { once: true });
      this.#queue.push(queued);
      this.#pump();
    });
  }

  /** Terminates the workers; jobs still queued or running fail with `ABORTED`. */
  async close(): Promise<void> {
    this.#closed = true;
    const error = new ModelgateError("ABORTED", "hash pool closed");
    for (const job of this.#queue.splice(0)) this.#settle(job, error);
    const slots = this.#slots.splice(0);
    for (const slot of slots) if (slot.job !== undefined) this.#settle(slot.job, error);
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }

  #abort(job: Queued): void {
    const index = this.#queue.indexOf(job);
    if (index >= 0) {
      this.#queue.splice(index, 1);
      this.#settle(job, new ModelgateError("ABORTED", "hashing aborted"));
      return;
    }
    const slot = this.#slots.find((s) => s.job === job);
    slot?.worker.postMessage({ type: "cancel", id: job.id } satisfies WorkerRequest);
  }

  #settle(job: Queued, outcome: RangeDigests | ModelgateError): void {
    job.signal?.removeEventListener("abort", job.onAbort);
    if (outcome instanceof ModelgateError) job.reject(outcome);
    else job.resolve(outcome);
  }

  #pump(): void {
    while (this.#queue.length > 0) {
      let slot = this.#slots.find((s) => s.job === undefined);
      if (slot === undefined && this.#slots.length < this.size) slot = this.#spawn();
      if (slot === undefined) return;
      const job = this.#queue.shift();
      if (job === undefined) return;
      slot.job = job;
      slot.worker.ref();
      slot.worker.postMessage(job.request);
    }
  }

  #spawn(): Slot {
    // Loaded on the first worker, not with the module: a scan of small files never starts one.
    const { Worker } = process.getBuiltinModule("node:worker_threads");
    const worker: Worker = new Worker(workerUrl(), { workerData: { [WORKER_MARKER]: true } });
    const slot: Slot = { worker, job: undefined };
    worker.on("message", (response: WorkerResponse) => {
      const job = slot.job;
      if (job === undefined || job.id !== response.id) return;
      slot.job = undefined;
      worker.unref();
      if (response.result !== undefined) this.#settle(job, response.result);
      else this.#settle(job, toHashError(response.error ?? { code: "IO", message: "hash worker failed" }));
      this.#pump();
    });
    const fail = (reason: unknown) => {
      const index = this.#slots.indexOf(slot);
      if (index >= 0) this.#slots.splice(index, 1);
      const job = slot.job;
      slot.job = undefined;
      if (job !== undefined) {
        this.#settle(job, new ModelgateError("INTERNAL", `hash worker failed: ${String(reason)}`, { cause: reason }));
      }
      if (!this.#closed) this.#pump();
    };
    worker.on("error", fail);
    worker.on("exit", (code) => {
      if (this.#slots.includes(slot)) fail(`exited with code ${code}`);
    });
    worker.unref();
    this.#slots.push(slot);
    return slot;
  }
}

let defaultPool: HashPool | undefined;

/** The process-wide pool (one worker per available core), created on first use. */
export function defaultHashPool(): HashPool {
  defaultPool ??= new HashPool();
  return defaultPool;
}

/**
 * Hashes a file with the default pool.
 * @param path - file to hash
 * @param options - algorithms, ranges, expected size, signal
 * @returns the file size and digests
 */
export function hashFile(path: string, options: Omit<HashJob, "path"> = {}): Promise<RangeDigests> {
  return defaultHashPool().hash({ ...options, path });
}
