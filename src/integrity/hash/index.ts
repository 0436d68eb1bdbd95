/**
 * Streaming hashing (SHA-256, BLAKE2b-512, BLAKE3) on a pool of worker threads.
 * @module
 */
export {
  type ByteRange,
  createHasher,
  DEFAULT_CHUNK_SIZE,
  type Digests,
  HASH_ALGORITHMS,
  type HashAlgorithm,
  type Hasher,
  hashBytes,
  type RangeDigests,
} from "./core.js";
export { defaultHashPool, type HashJob, HashPool, type HashPoolOptions, hashFile, toHashError } from "./pool.js";
