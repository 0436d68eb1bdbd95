/**
 * Guards over byte sources: a read budget, an abort signal and a byte counter. The interface and
 * the in-memory views are in `src/core/byte-source.ts` (re-exported here).
 * @module
 */
import type { ByteSource } from "../core/byte-source.js";
import { ModelgateError, toModelgateError } from "../core/errors.js";

export {
  BufferSource,
  type ByteSource,
  type ChunkOptions,
  HeadFirstSource,
  readChunks,
  readClamped,
  readExact,
  SliceSource,
} from "../core/byte-source.js";

/**
 * Settles with `promise`, or rejects with the signal's reason as soon as it fires (a hung read
 * must not outlive its time budget).
 * @param promise - the pending operation
 * @param signal - the abort signal
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

/** Rethrows `error` as a `ModelgateError` (see {@link GuardOptions.typedErrors}). */
function rethrowTyped(error: unknown): never {
  throw toModelgateError(error);
}

/** Options of {@link GuardedSource}. */
export interface GuardOptions {
  /** Maximum total bytes that may be read through this guard. */
  maxReadBytes?: number;
  /** Aborts reads once it fires. */
  signal?: AbortSignal;
  /** Called after every read with the number of bytes returned. */
  onRead?: (bytes: number) => void;
  /**
   * Reads reject only with `ModelgateError`s: a fired signal's reason (a `TimeoutError` or
   * `AbortError`) or the inner source's error is converted, so a reader that tells its own typed
   * errors from bugs (a repository analyzer) sees a timeout as `TIMEOUT` whenever it fires.
   */
  typedErrors?: boolean;
}

/**
 * Wraps a source with a read budget, an abort signal and a byte counter. The counter is how a scan
 * reports the bytes it read (and how a remote source proves it fetched only headers).
 */
export class GuardedSource implements ByteSource {
  readonly size: number;
  readonly #inner: ByteSource;
  readonly #options: GuardOptions;
  #bytesRead = 0;

  /**
   * @param inner - the source to guard
   * @param options - budget, signal and callback
   */
  constructor(inner: ByteSource, options: GuardOptions) {
    this.#inner = inner;
    this.#options = options;
    this.size = inner.size;
    const into = inner.readInto;
    if (into !== undefined) {
      const readInto = async (offset: number, target: Uint8Array): Promise<number> => {
        this.#admit(offset, target.length);
        const { signal, onRead } = this.#options;
        const pending = into.call(inner, offset, target);
        const n = signal === undefined ? await pending : await raceAbort(pending, signal);
        this.#bytesRead += n;
        onRead?.(n);
        return n;
      };
      this.readInto = options.typedErrors === true ? (o, t) => readInto(o, t).catch(rethrowTyped) : readInto;
    }
    if (options.typedErrors === true) {
      const read = this.read.bind(this);
      this.read = (offset, length) => read(offset, length).catch(rethrowTyped);
    }
  }

  /** Present when the guarded source has it (see {@link ByteSource.readInto}). */
  readonly readInto?: (offset: number, target: Uint8Array) => Promise<number>;

  /** Checks the signal and the read budget before a read. */
  #admit(offset: number, length: number): void {
    const { signal, maxReadBytes } = this.#options;
    signal?.throwIfAborted();
    const want = Math.max(0, Math.min(length, this.size - offset));
    if (maxReadBytes !== undefined && this.#bytesRead + want > maxReadBytes) {
      throw new ModelgateError("BUDGET_EXCEEDED", `read budget of ${maxReadBytes} bytes exceeded`, {
        offset,
        budget: "maxReadBytes",
      });
    }
  }

  /** Bytes read through this guard so far. */
  get bytesRead(): number {
    return this.#bytesRead;
  }

  /** @inheritdoc */
  async read(offset: number, length: number): Promise<Uint8Array> {
    this.#admit(offset, length);
    const { signal, onRead } = this.#options;
    const pending = this.#inner.read(offset, length);
    const bytes = signal === undefined ? await pending : await raceAbort(pending, signal);
    this.#bytesRead += bytes.length;
    onRead?.(bytes.length);
    return bytes;
  }

  /** @inheritdoc */
  async close(): Promise<void> {
    await this.#inner.close?.();
  }
}
