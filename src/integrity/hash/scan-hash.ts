/**
 * How the scan engine computes `files[].sha256`: large local files go to the worker pool as soon
 * as their analysis starts (hashing on other cores while the analyzers read headers); small files
 * and in-memory sources are hashed from the bytes the analyzers read, continuing from where they
 * stopped, so nothing is read twice.
 * @module
 */
import type { ByteSource } from "../../core/byte-source.js";
import { toModelgateError } from "../../core/errors.js";
import { createSha256, type Sha256 } from "../../core/sha256.js";
import { FileSource } from "../../sources/file.js";
import { defaultHashPool, type HashPool } from "./pool.js";

/** Local files at least this large are hashed on the worker pool (default 4 MiB). */
export const POOL_HASH_THRESHOLD = 4 * 1024 * 1024;

/** Options of {@link startScanHash}. */
export interface ScanHashOptions {
  /** Stops the hashing. */
  signal: AbortSignal;
  /** Progress callback: bytes hashed so far. */
  onBytes?: (done: number) => void;
  /** Pool (default: the process-wide pool). */
  pool?: HashPool;
  /** Size from which local files go to the pool (default {@link POOL_HASH_THRESHOLD}). */
  poolThreshold?: number;
}

/** A file's hashing in progress. */
export interface ScanHash {
  /** The source the analyzers should read (it feeds the hash when the file is hashed in-thread). */
  readonly source: ByteSource;
  /** Finishes hashing (reading only what the analyzers did not) and returns the hex SHA-256. */
  finish(): Promise<string>;
  /** How the file is hashed: `pool` (worker thread) or `tee` (from the analyzers' reads). */
  readonly mode: "pool" | "tee";
}

/**
 * A source that feeds every byte read contiguously from offset 0 into a hash.
 * Reads out of order are passed through; the hash only advances along the contiguous prefix.
 */
class TeeSource implements ByteSource {
  readonly size: number;
  readonly #inner: ByteSource;
  readonly #hash: Sha256;
  #covered = 0;

  constructor(inner: ByteSource, hash: Sha256) {
    this.#inner = inner;
    this.#hash = hash;
    this.size = inner.size;
  }

  get covered(): number {
    return this.#covered;
  }

  feed(offset: number, bytes: Uint8Array): void {
    const end = offset + bytes.length;
    if (offset <= this.#covered && end > this.#covered) {
      this.#hash.update(bytes.subarray(this.#covered - offset));
      this.#covered = end;
    }
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const bytes = await this.#inner.read(offset, length);
    this.feed(offset, bytes);
    return bytes;
  }

  close(): Promise<void> {
    return this.#inner.close?.() ?? Promise.resolve();
  }
}

/**
 * Starts hashing a file the engine is about to analyse.
 * @param raw - the file's unguarded source
 * @param options - signal, progress, pool
 */
export function startScanHash(raw: ByteSource, options: ScanHashOptions): ScanHash {
  const threshold = options.poolThreshold ?? POOL_HASH_THRESHOLD;
  if (raw instanceof FileSource && raw.size >= threshold) {
    const pool = options.pool ?? defaultHashPool();
    const job = pool.hash({ path: raw.path, expectedSize: raw.size, signal: options.signal });
    // Settled later by finish(); keep an early failure from being reported as unhandled.
    job.catch(() => undefined);
    return {
      source: raw,
      mode: "pool",
      async finish() {
        options.onBytes?.(0);
        const result = await job;
        options.onBytes?.(result.size);
        return result.digests[0]?.sha256 ?? "";
      },
    };
  }
  const hash = createSha256();
  const tee = new TeeSource(raw, hash);
  return {
    source: tee,
    mode: "tee",
    async finish() {
      const chunk = 4 * 1024 * 1024;
      let pos = tee.covered;
      options.onBytes?.(pos);
      try {
        while (pos < raw.size) {
          options.signal.throwIfAborted();
          const bytes = await raw.read(pos, Math.min(chunk, raw.size - pos));
          if (bytes.length === 0) throw new Error(`file ended at ${pos}, before its size ${raw.size}`);
          tee.feed(pos, bytes);
          pos = tee.covered;
          options.onBytes?.(pos);
        }
      } catch (error) {
        throw toModelgateError(error);
      }
      return hash.digest();
    },
  };
}
