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
