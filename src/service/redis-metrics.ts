/**
 * The workers' counters in Redis: each worker adds what a finished scan counted (duration, bytes
 * read, files, cache hits, errors by code) to one hash, atomically; `modelgate serve --redis`
 * renders the totals at `/metrics`. Totals survive a restart of `serve` and are the same whichever
 * `serve` replica is asked; they are lost only with the Redis database (Prometheus treats that as
 * a counter reset).
 * @module
 */
import type { Redis } from "ioredis";
import { DURATION_BUCKETS, type ScanCounters } from "./metrics.js";

/** Most distinct error codes kept (codes are `ModelgateError`/service codes; anything else is `OTHER`). */
const MAX_ERROR_CODES = 200;
const CODE = /^[A-Z][A-Z0-9_]{0,47}$/;

/** Options of {@link RedisScanCounters}. */
export interface RedisScanCountersOptions {
  /** Key prefix (default `modelgate:metrics`); the queue name is appended. */
  prefix?: string;
  /** Queue name (default `modelgate-scans`): one set of counters per queue. */
  queue?: string;
}

/** Counters of the scans run by every worker of a queue, in one Redis hash. */
export class RedisScanCounters {
  readonly #redis: Redis;
  /** The hash's key. */
  readonly key: string;

  /**
   * @param redis - an ioredis client (not closed here)
   * @param options - key prefix and queue name
   */
  constructor(redis: Redis, options: RedisScanCountersOptions = {}) {
    this.#redis = redis;
    this.key = `${options.prefix ?? "modelgate:metrics"}:${options.queue ?? "modelgate-scans"}`;
  }

  /**
   * Adds what one scan (or one failure) counted, in one transaction.
   * @param delta - the scan's counters (`countersOf`), or only errors
   */
  async add(delta: Partial<ScanCounters>): Promise<void> {
    const tx = this.#redis.multi();
    delta.durationBuckets?.forEach((n, i) => {
      if (n !== 0) tx.hincrby(this.key, `duration_le_${i}`, n);
    });
    if (delta.durationSum !== undefined && delta.durationSum !== 0)
      tx.hincrbyfloat(this.key, "duration_sum", delta.durationSum);
    if (delta.durationCount) tx.hincrby(this.key, "duration_count", delta.durationCount);
    if (delta.bytesRead) tx.hincrby(this.key, "bytes_read", delta.bytesRead);
    if (delta.filesScanned) tx.hincrby(this.key, "files_scanned", delta.filesScanned);
    if (delta.cacheHits) tx.hincrby(this.key, "cache_hits", delta.cacheHits);
    for (const [code, n] of Object.entries(delta.errors ?? {})) {
      if (n !== 0) tx.hincrby(this.key, `error:${CODE.test(code) ? code : "OTHER"}`, n);
    }
    await tx.exec();
  }

  /**
   * Counts one error.
   * @param code - its code
   */
  error(code: string): Promise<void> {
    return this.add({ errors: { [code]: 1 } });
  }

  /** The totals. */
  async read(): Promise<ScanCounters> {
    const h = await this.#redis.hgetall(this.key);
    const num = (field: string): number => {
      const v = Number(h[field] ?? 0);
      return Number.isFinite(v) && v >= 0 ? v : 0;
    };
    const errors: Record<string, number> = {};
    let codes = 0;
    for (const field of Object.keys(h).sort()) {
      if (!field.startsWith("error:")) continue;
      const code = field.slice(6);
      if (!CODE.test(code) || ++codes > MAX_ERROR_CODES) continue;
      errors[code] = num(field);
    }
    return {
      durationBuckets: DURATION_BUCKETS.map((_, i) => num(`duration_le_${i}`)),
      durationSum: num("duration_sum"),
      durationCount: num("duration_count"),
      bytesRead: num("bytes_read"),
      filesScanned: num("files_scanned"),
      cacheHits: num("cache_hits"),
      errors,
    };
  }
}

/** Options of {@link CounterBatch}. */
export interface CounterBatchOptions {
  /** Longest time, ms, counts wait in memory before they are written (default 1000). */
  intervalMs?: number;
}

/**
 * Counts in memory and writes the sum to Redis in one transaction at most once per interval: a
 * worker finishing many short jobs does one write a second instead of one per job. `close()`
 * writes what is left. A worker killed outright loses the counts of its last interval (never a
 * job); a write that fails (Redis away) is dropped, as a per-job write would be.
 */
export class CounterBatch {
  readonly #target: Pick<RedisScanCounters, "add">;
  readonly #interval: number;
  #buckets: number[] = DURATION_BUCKETS.map(() => 0);
  #durationSum = 0;
  #durationCount = 0;
  #bytesRead = 0;
  #filesScanned = 0;
  #cacheHits = 0;
  #errors = new Map<string, number>();
  #pending = false;
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> = Promise.resolve();

  /**
   * @param target - where the sums go (`RedisScanCounters`)
   * @param options - interval
   */
  constructor(target: Pick<RedisScanCounters, "add">, options: CounterBatchOptions = {}) {
    this.#target = target;
    this.#interval = Math.max(0, Math.floor(options.intervalMs ?? 1000));
  }

  /**
   * Adds what one scan (or one failure) counted; written with the next batch.
   * @param delta - the scan's counters (`countersOf`), or only errors
   */
  add(delta: Partial<ScanCounters>): void {
    delta.durationBuckets?.forEach((n, i) => {
      if (i < this.#buckets.length) this.#buckets[i]! += n;
    });
    this.#durationSum += delta.durationSum ?? 0;
    this.#durationCount += delta.durationCount ?? 0;
    this.#bytesRead += delta.bytesRead ?? 0;
    this.#filesScanned += delta.filesScanned ?? 0;
    this.#cacheHits += delta.cacheHits ?? 0;
    for (const [code, n] of Object.entries(delta.errors ?? {}))
      this.#errors.set(code, (this.#errors.get(code) ?? 0) + n);
    this.#pending = true;
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        void this.flush();
      }, this.#interval);
      this.#timer.unref();
    }
  }

  /**
   * Counts one error.
   * @param code - its code
   */
  error(code: string): void {
    this.add({ errors: { [code]: 1 } });
  }

  /** Writes what was counted since the last write (one transaction); waits for earlier writes. */
  flush(): Promise<void> {
    if (this.#pending) {
      const delta: Partial<ScanCounters> = {
        durationBuckets: this.#buckets,
        durationSum: this.#durationSum,
        durationCount: this.#durationCount,
        bytesRead: this.#bytesRead,
        filesScanned: this.#filesScanned,
        cacheHits: this.#cacheHits,
        errors: Object.fromEntries(this.#errors),
      };
      this.#buckets = DURATION_BUCKETS.map(() => 0);
      this.#durationSum = 0;
      this.#durationCount = 0;
      this.#bytesRead = 0;
      this.#filesScanned = 0;
      this.#cacheHits = 0;
      this.#errors = new Map();
      this.#pending = false;
      const previous = this.#writing;
      this.#writing = previous.then(() => this.#target.add(delta)).catch(() => undefined);
    }
    return this.#writing;
  }

  /** Stops the timer and writes what is left. */
  async close(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }
}
