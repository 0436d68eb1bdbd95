/**
 * A verdict cache in Redis, shared by every worker: the same keys as `FileVerdictCache`
 * (content SHA-256, modelgate version, policy hash), entries expiring after a TTL.
 * @module
 */
import type { Redis } from "ioredis";
import { type FileReport, FileReportSchema } from "../report/schema.js";
import {
  cacheableReport,
  checkCacheKey,
  contentKeyDigest,
  type VerdictCache,
  type VerdictCacheKey,
} from "../scan/cache.js";

/** Options of {@link RedisVerdictCache}. */
export interface RedisVerdictCacheOptions {
  /** Seconds an entry lives (default 30 days). */
  ttlSeconds?: number;
  /** Key prefix (default `modelgate:verdict`). */
  prefix?: string;
}

/**
 * Whether a key is the one of this content at this path: the engine keys a result by
 * `contentKeyDigest(sha256, path)` (the content's SHA-256 bound to the file's name); a key that is
 * the bare SHA-256 is accepted too (callers of `VerdictCache` that key by content alone).
 */
function keyIsOf(key: VerdictCacheKey, sha256: string, path: string): boolean {
  return key.sha256 === sha256 || key.sha256 === contentKeyDigest(sha256, path);
}

/** Largest entry read back (as `FileVerdictCache`). */
const MAX_ENTRY_BYTES = 32 << 20;

/**
 * A verdict cache in Redis. The engine stores results only under a SHA-256 it computed over every
 * byte (bound to the file's path); this store refuses, besides, what could not be such a result: a
 * report whose own `sha256` and `path` do not make the key, or that carries a `scan/*` finding (a
 * read error, a timeout, a budget).
 * Whoever can write the Redis database can decide verdicts: keep it as private as the mirror.
 */
export class RedisVerdictCache implements VerdictCache {
  readonly #redis: Redis;
  readonly #ttl: number;
  readonly #prefix: string;

  /**
   * @param redis - an ioredis client (not closed by the cache)
   * @param options - TTL and key prefix
   */
  constructor(redis: Redis, options: RedisVerdictCacheOptions = {}) {
    this.#redis = redis;
    this.#ttl = Math.max(1, Math.floor(options.ttlSeconds ?? 30 * 86_400));
    this.#prefix = options.prefix ?? "modelgate:verdict";
  }

  /**
   * The Redis key of a cache key.
   * @param key - digest, version and policy hash
   */
  keyOf(key: VerdictCacheKey): string {
    checkCacheKey(key);
    return `${this.#prefix}:v1:${key.toolVersion}:${key.policyHash}:${key.sha256}`;
  }

  /** @inheritdoc */
  async get(key: VerdictCacheKey): Promise<FileReport | undefined> {
    try {
      const text = await this.#redis.get(this.keyOf(key));
      if (text === null || text.length > MAX_ENTRY_BYTES) return undefined;
      const parsed = JSON.parse(text) as { key?: Partial<VerdictCacheKey>; report?: unknown };
      if (
        parsed.key?.sha256 !== key.sha256 ||
        parsed.key.policyHash !== key.policyHash ||
        parsed.key.toolVersion !== key.toolVersion
      ) {
        return undefined;
      }
      const report = FileReportSchema.safeParse(parsed.report);
      return report.success ? report.data : undefined;
    } catch {
      return undefined;
    }
  }

  /** @inheritdoc */
  async set(key: VerdictCacheKey, report: FileReport): Promise<void> {
    const redisKey = this.keyOf(key);
    // A result stands for the bytes it was computed over, at its path: never under another key.
    if (report.sha256 !== undefined && !keyIsOf(key, report.sha256, report.path)) return;
    if (report.findings.some((f) => f.ruleId.startsWith("scan/"))) return;
    const body = JSON.stringify({ key, report: cacheableReport(report) });
    await this.#redis.set(redisKey, body, "EX", this.#ttl);
  }
}
