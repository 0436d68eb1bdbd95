/**
 * The hashing loop shared by the calling thread and the worker threads of the hash pool.
 *
 * The workers load it from `./worker.ts`, so it imports nothing relative (only `node:` and
 * `hash-wasm`): that lets the same file run in a worker from `dist/` and, under the test runner,
 * from its TypeScript source. Errors cross the thread boundary as plain {@link HashFailure} values.
 * @module
 */
import { constants } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import type { MessagePort } from "node:worker_threads";

/** Digest algorithms modelgate computes: the OMS hash registry (`sha256`, `blake2b` = BLAKE2b-512, `blake3`). */
export type HashAlgorithm = "sha256" | "blake2b" | "blake3";

/** Every {@link HashAlgorithm}. */
export const HASH_ALGORITHMS: readonly HashAlgorithm[] = ["sha256", "blake2b", "blake3"];

/** Lowercase hex digests, one per requested algorithm. */
export type Digests = Partial<Record<HashAlgorithm, string>>;

/** A byte range `[start, end)` of a file. */
export interface ByteRange {
  /** First byte. */
  readonly start: number;
  /** End, exclusive. */
  readonly end: number;
}

/** A hashing failure as it crosses a thread boundary. */
export interface HashFailure {
  /** `IO` (open/read failed), `TRUNCATED` (the file changed size), `ABORTED`, `INVALID_ARGUMENT`. */
  readonly code: "IO" | "TRUNCATED" | "ABORTED" | "INVALID_ARGUMENT";
  /** What happened. */
  readonly message: string;
  /** Byte offset, when known. */
  readonly offset?: number;
}

/** Result of hashing one file. */
export interface RangeDigests {
  /** Size of the file when it was opened. */
  readonly size: number;
  /** Digests of each requested range, in order (one entry for the whole file when no ranges were given). */
  readonly digests: Digests[];
}

/** Default read size: large enough to amortise syscalls, small enough to stay in the CPU caches. */
export const DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024;

/** An incremental hash. */
export interface Hasher {
  /** Adds bytes. */
  update(bytes: Uint8Array): void;
  /** Lowercase hex digest; the hasher must not be used afterwards. */
  digest(): string;
}

/**
 * Creates an incremental hasher.
 * @param algorithm - the algorithm
 */
export async function createHasher(algorithm: HashAlgorithm): Promise<Hasher> {
  switch (algorithm) {
    case "sha256":
    case "blake2b": {
      const hash = process.getBuiltinModule("node:crypto").createHash(algorithm === "sha256" ? "sha256" : "blake2b512");
      return {
        update: (bytes) => {
          hash.update(bytes);
        },
        digest: () => hash.digest("hex"),
      };
    }
    case "blake3": {
      // hash-wasm (280 KB of JavaScript) loads on the first BLAKE3 digest, not with every scan
      const { createBLAKE3 } = await import("hash-wasm");
      const hash = await createBLAKE3();
      hash.init();
      return {
        update: (bytes) => {
          hash.update(bytes);
        },
        digest: () => hash.digest("hex"),
      };
    }
    default:
      throw failure("INVALID_ARGUMENT", `unknown hash algorithm ${String(algorithm)}`);
  }
}

function failure(code: HashFailure["code"], message: string, offset?: number): HashFailure {
  return offset === undefined ? { code, message } : { code, message, offset };
}

/** Whether a value is a {@link HashFailure}. */
export function isHashFailure(value: unknown): value is HashFailure {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { code?: unknown }).code === "string" &&
    typeof (value as { message?: unknown }).message === "string" &&
    !(value instanceof Error)
  );
}

/** Something that says whether work must stop (an AbortSignal or a worker's cancellation flag). */
export interface StopFlag {
  /** True once the work must stop. */
  readonly aborted: boolean;
}

/** Options of {@link hashFileRanges}. */
export interface HashFileRangesOptions {
  /** Read size (default {@link DEFAULT_CHUNK_SIZE}). */
  chunkSize?: number;
  /** Checked between chunks. */
  stop?: StopFlag;
  /** The size the caller listed; a different size on open means the file changed (`TRUNCATED`). */
  expectedSize?: number;
  /** Called with the bytes hashed after each chunk. */
  onBytes?: (bytes: number) => void;
  /** Refuse a symbolic link at the path's last component (`O_NOFOLLOW`) instead of following it. */
  noFollow?: boolean;
}

/**
 * Hashes ranges of a file with every requested algorithm, streaming with two buffers so the next
 * read runs on libuv's thread pool while the current chunk is hashed.
 * The file is opened without blocking (a FIFO or device put in its place fails the `fstat` check
 * instead of hanging), and without following a final symbolic link when `noFollow` is set.
 * @param path - file to hash (symbolic links are followed unless `noFollow`: callers decide the link policy)
 * @param algorithms - algorithms to compute (at least one)
 * @param ranges - ranges to hash separately; omitted: the whole file
 * @param options - chunk size, stop flag, expected size
 * @throws HashFailure
 */
export async function hashFileRanges(
  path: string,
  algorithms: readonly HashAlgorithm[],
  ranges: readonly ByteRange[] | undefined,
  options: HashFileRangesOptions = {},
): Promise<RangeDigests> {
  if (algorithms.length === 0) throw failure("INVALID_ARGUMENT", "no hash algorithm requested");
  let handle: FileHandle | undefined;
  try {
    try {
      const noFollow = options.noFollow === true ? (constants.O_NOFOLLOW ?? 0) : 0;
      handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | noFollow);
    } catch (error) {
      if ((error as { code?: unknown }).code === "ELOOP" && options.noFollow === true) {
        throw failure("IO", `cannot open ${path}: it is a symbolic link`);
      }
      throw failure("IO", `cannot open ${path}: ${(error as Error).message}`);
    }
    const stat = await handle.stat();
    if (!stat.isFile()) throw failure("IO", `${path} is not a regular file`);
    const size = stat.size;
    if (options.expectedSize !== undefined && options.expectedSize !== size) {
      throw failure("TRUNCATED", `${path} changed size: listed ${options.expectedSize} bytes, now ${size}`);
    }
    const wanted = ranges ?? [{ start: 0, end: size }];
    const chunk = Math.max(4096, Math.floor(options.chunkSize ?? DEFAULT_CHUNK_SIZE));
    let longest = 0;
    for (const range of wanted) {
      if (!(Number.isSafeInteger(range.start) && Number.isSafeInteger(range.end)) || range.start < 0) {
        throw failure("INVALID_ARGUMENT", `invalid range ${range.start}-${range.end}`);
      }
      if (range.end < range.start || range.end > size) {
        throw failure("TRUNCATED", `range ${range.start}-${range.end} is outside ${path} (${size} bytes)`, range.start);
      }
      longest = Math.max(longest, range.end - range.start);
    }
    const bufferSize = Math.max(1, Math.min(chunk, longest));
    const buffers = [Buffer.allocUnsafe(bufferSize), Buffer.allocUnsafe(bufferSize)] as const;
    const out: Digests[] = [];
    for (const range of wanted) {
      out.push(await hashRange(handle, path, range, algorithms, buffers, options));
    }
    return { size, digests: out };
  } catch (error) {
    if (isHashFailure(error)) throw error;
    throw failure("IO", `reading ${path} failed: ${(error as Error).message}`);
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

async function hashRange(
  handle: FileHandle,
  path: string,
  range: ByteRange,
  algorithms: readonly HashAlgorithm[],
  buffers: readonly [Buffer, Buffer],
  options: HashFileRangesOptions,
): Promise<Digests> {
  const hashers = await Promise.all(algorithms.map((algorithm) => createHasher(algorithm)));
  const size = buffers[0].length;
  let [current, spare] = buffers;
  let pos = range.start;
  const readAt = (buffer: Buffer, at: number) => handle.read(buffer, 0, Math.min(size, range.end - at), at);
  let pending = pos < range.end ? readAt(current, pos) : undefined;
  while (pending !== undefined) {
    const { bytesRead } = await pending;
    if (options.stop?.aborted) throw failure("ABORTED", "hashing aborted", pos);
    if (bytesRead === 0) throw failure("TRUNCATED", `${path} ended at ${pos}, before ${range.end}`, pos);
    pos += bytesRead;
    pending = pos < range.end ? readAt(spare, pos) : undefined;
    const bytes = current.subarray(0, bytesRead);
    for (const hasher of hashers) hasher.update(bytes);
    options.onBytes?.(bytesRead);
    [current, spare] = [spare, current];
  }
  const digests: Digests = {};
  algorithms.forEach((algorithm, i) => {
    digests[algorithm] = hashers[i]?.digest() ?? "";
  });
  return digests;
}

/**
 * Hashes bytes already in memory.
 * @param bytes - the bytes
 * @param algorithms - algorithms to compute
 */
export async function hashBytes(bytes: Uint8Array, algorithms: readonly HashAlgorithm[]): Promise<Digests> {
  const digests: Digests = {};
  for (const algorithm of algorithms) {
    const hasher = await createHasher(algorithm);
    hasher.update(bytes);
    digests[algorithm] = hasher.digest();
  }
  return digests;
}

/** Marker in `workerData` that makes `./worker.ts` start serving hash requests. */
export const WORKER_MARKER = "modelgateHashWorker";

/** A request the pool posts to a worker. */
export interface WorkerRequest {
  /** `hash` starts a job, `cancel` stops one. */
  readonly type: "hash" | "cancel";
  /** Job id. */
  readonly id: number;
  /** File to hash. */
  readonly path?: string;
  /** Algorithms. */
  readonly algorithms?: readonly HashAlgorithm[];
  /** Ranges, or the whole file. */
  readonly ranges?: readonly ByteRange[];
  /** Read size. */
  readonly chunkSize?: number;
  /** Size the caller listed. */
  readonly expectedSize?: number;
  /** Refuse a final symbolic link. */
  readonly noFollow?: boolean;
}

/** A worker's answer. */
export interface WorkerResponse {
  /** Job id. */
  readonly id: number;
  /** The digests, on success. */
  readonly result?: RangeDigests;
  /** The failure, otherwise. */
  readonly error?: HashFailure;
}

/**
 * Serves the pool's hash requests arriving on `port` (a worker thread's parent port; see
 * `./worker.ts`, which alone loads `node:worker_threads`, so a scan that hashes in its own thread
 * never does).
 * @param port - where requests arrive and answers go
 */
export function serveRequests(port: MessagePort): void {
  const cancelled = new Set<number>();
  let queue: Promise<void> = Promise.resolve();
  port.on("message", (request: WorkerRequest) => {
    if (request.type === "cancel") {
      cancelled.add(request.id);
      return;
    }
    const stop = {
      get aborted() {
        return cancelled.has(request.id);
      },
    };
    queue = queue.then(async () => {
      let response: WorkerResponse;
      try {
        const options: HashFileRangesOptions = { stop };
        if (request.chunkSize !== undefined) options.chunkSize = request.chunkSize;
        if (request.expectedSize !== undefined) options.expectedSize = request.expectedSize;
        if (request.noFollow === true) options.noFollow = true;
        const result = await hashFileRanges(request.path ?? "", request.algorithms ?? [], request.ranges, options);
        response = { id: request.id, result };
      } catch (error) {
        response = {
          id: request.id,
          error: isHashFailure(error) ? error : failure("IO", error instanceof Error ? error.message : String(error)),
        };
      }
      cancelled.delete(request.id);
      port.postMessage(response);
    });
  });
}
