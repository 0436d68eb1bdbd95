/**
 * `modelgate/service`: the scan service for Node mirrors that embed it without the CLI. A queue on
 * Redis + BullMQ (`createScanQueue`: submit, status, result, events, the workers' counters),
 * workers (`runWorker`), the shared verdict cache (`RedisVerdictCache`), the HTTP API
 * (`startServer`, `modelgate serve`) and the in-process queue it uses without Redis. It loads
 * Fastify, BullMQ and ioredis: `modelgate` itself does not export it.
 * @module
 */
export { ServiceError, type ServiceErrorCode } from "../service/errors.js";
export { DEFAULT_CAPS, identityOf, jobIdOf, prepareJob, resolveRoots, type ServiceCaps } from "../service/job.js";
export { createLocalScanQueue, type LocalQueueOptions } from "../service/local-queue.js";
export { DURATION_BUCKETS, Metrics, type MetricsOptions, type ScanCounters } from "../service/metrics.js";
export { RedisVerdictCache, type RedisVerdictCacheOptions } from "../service/redis-cache.js";
export { RedisScanCounters, type RedisScanCountersOptions } from "../service/redis-metrics.js";
export {
  createScanQueue,
  QUEUE_NAME,
  type RedisConnection,
  type RedisScanQueue,
  redisClient,
  runWorker,
  type ScanQueueOptions,
  type StoredResult,
  type WorkerHandle,
  type WorkerOptions,
} from "../service/redis-queue.js";
export {
  type RunningServer,
  type ServerConfig,
  startServer,
  startWorker,
  type WorkerConfig,
} from "../service/server.js";
export type {
  JobEvent,
  JobIdentity,
  JobOptions,
  JobProgress,
  JobState,
  JobStatus,
  ScanJobData,
  ScanQueue,
  SubmitResult,
  TargetKind,
} from "../service/types.js";

/** Completes `RuleId`, `Format` and `PolicyOptions` in the declaration files (see `registries.ts`). */
export type * from "./registries.js";
