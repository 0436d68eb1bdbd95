/**
 * The scan service: HTTP API, in-process and Redis/BullMQ queues, workers, the Redis verdict
 * cache. Loaded lazily by `modelgate serve` and `modelgate worker` (it pulls in Fastify, BullMQ
 * and ioredis).
 * @module
 */
export { ServiceError, type ServiceErrorCode } from "./errors.js";
export { createServiceApp, type ServiceAppOptions, tokenMatches } from "./http.js";
export {
  checkLocalPath,
  DEFAULT_CAPS,
  identityOf,
  jobIdOf,
  prepareJob,
  resolveRoots,
  runScanJob,
  type ServiceCaps,
} from "./job.js";
export { createLocalScanQueue, type LocalQueueOptions } from "./local-queue.js";
export {
  countersOf,
  DURATION_BUCKETS,
  Metrics,
  type MetricsOptions,
  NO_SCANS,
  type ScanCounters,
} from "./metrics.js";
export { OPENAPI_DOCUMENT } from "./openapi.js";
export { RedisVerdictCache, type RedisVerdictCacheOptions } from "./redis-cache.js";
export {
  CounterBatch,
  type CounterBatchOptions,
  RedisScanCounters,
  type RedisScanCountersOptions,
} from "./redis-metrics.js";
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
} from "./redis-queue.js";
export {
  type RunningServer,
  readTokenFile,
  type ServerConfig,
  startServer,
  startWorker,
  type WorkerConfig,
} from "./server.js";
export type * from "./types.js";
