/**
 * Pulling a decoder's output (a Node `Duplex`: zlib, bzip2, LZMA ...) piece by piece, for every
 * container that decodes: the compressed-file readers and the 7z coders.
 *
 * Output is taken with `read(n)`, n at most the decoder's own buffer size (its chunks' size, so a
 * read is mostly one chunk as pushed), not with the stream's async iterator: that calls `read()`,
 * which joins everything buffered into one new buffer, and a decoder may push tens of MB at once
 * (a bzip2 block of runs expands about fiftyfold), so each pull of a decompression bomb copied that
 * much into fresh memory.
 * @module
 */
import { type Duplex, pipeline, Readable } from "node:stream";
import { ModelgateError } from "../../core/errors.js";

/** Most output bytes {@link PullDecoder.next} returns at once (less when the decoder's buffer is smaller). */
const OUTPUT_PIECE = 64 * 1024;

/** Input chunks buffered ahead of the decoder. */
const INPUT_BUFFER = 256 * 1024;

/**
 * The typed error of a failed decode: an abort or a deadline as such, a typed error as it is,
 * anything else (the decoder's own errors, a plain I/O error) `MALFORMED` with the label.
 */
export function decodeError(label: string, error: unknown): ModelgateError {
  if (error instanceof ModelgateError) return error;
  const e = error as { name?: string; message?: string; code?: string } | null;
  if (e?.name === "AbortError") return new ModelgateError("ABORTED", "scan aborted", { cause: error });
  if (e?.name === "TimeoutError") return new ModelgateError("TIMEOUT", "time budget exceeded", { cause: error });
  return new ModelgateError("MALFORMED", `${label}: corrupt compressed data (${e?.message ?? String(error)})`, {
    cause: error,
  });
}

/** A decoder that is pulled chunk by chunk (backpressure keeps it from running ahead). */
export class PullDecoder {
  readonly #source: Readable;
  readonly #decoder: Duplex;
  #fed = 0;
  #failure: unknown;
  #wake: (() => void) | undefined;
  #unlisten: () => void = () => undefined;
  /** Settles once the input was fed whole (or failed) and the decoder finished. */
  readonly #settled: Promise<void>;
  #done = false;
  /** Called when input is fed (one waiter: {@link trailing}). */
  #onFed: (() => void) | undefined;
  /** Bytes taken per read (a larger read(n) would raise the decoder's buffer size). */
  readonly #piece: number;

  /**
   * @param input - the compressed bytes, in order
   * @param decoder - a new decoder (this object owns it)
   * @param signal - aborts a pull that waits (a stalled input or decoder)
   */
  constructor(
    input: AsyncIterable<Uint8Array>,
    decoder: Duplex,
    private readonly signal?: AbortSignal,
  ) {
    const self = this;
    async function* feed(): AsyncGenerator<Uint8Array> {
      for await (const chunk of input) {
        self.#fed += chunk.length;
        self.#onFed?.();
        yield chunk;
      }
    }
    this.#source = Readable.from(feed(), { objectMode: false, highWaterMark: INPUT_BUFFER });
    this.#decoder = decoder;
    this.#piece = Math.max(1, Math.min(OUTPUT_PIECE, decoder.readableHighWaterMark || OUTPUT_PIECE));
    const wake = (): void => {
      const w = this.#wake;
      this.#wake = undefined;
      w?.();
    };
    decoder.on("readable", wake);
    decoder.on("end", wake);
    decoder.on("error", (error) => {
      this.#failure ??= error;
      wake();
    });
    decoder.on("close", wake);
    signal?.addEventListener("abort", wake, { once: true });
    this.#unlisten = () => signal?.removeEventListener("abort", wake);
    this.#settled = new Promise<void>((resolve) => {
      pipeline(this.#source, decoder, (error) => {
        if (error) this.#failure ??= error;
        this.#done = true;
        wake();
        resolve();
      });
    });
  }

  /**
   * After `next()` returned `null`: the input bytes fed after the end of the coded stream (the
   * decoder took them and ignored them), 0 if none, and whether the input was fed whole (else
   * more may follow). Answers as soon as one such byte was fed, else once the input was fed whole
   * (a long run of bytes after the end is not read through); throws what failed meanwhile.
   */
  async trailing(): Promise<{ bytes: number; whole: boolean }> {
    for (;;) {
      // A decoder whose output ended consumed every byte of its stream: more fed is after it.
      const bytes = this.#fed - this.consumed;
      if (bytes > 0) return { bytes, whole: this.#done };
      if (this.#done) {
        if (this.#failure !== undefined) throw this.#failure;
        return { bytes: 0, whole: true };
      }
      await new Promise<void>((resolve) => {
        this.#onFed = resolve;
        void this.#settled.then(resolve);
      });
      this.#onFed = undefined;
    }
  }

  /** Input bytes consumed by the decoder (zlib's own count when it has one). */
  get consumed(): number {
    const written = (this.#decoder as { bytesWritten?: unknown }).bytesWritten;
    return typeof written === "number" && written > 0 ? written : this.#fed;
  }

  /**
   * Next output chunk (at most 64 KiB, possibly a view of a larger buffer the decoder pushed), or
   * `null` at the end of the stream. Throws the decoder's or the input's error as it is, once the
   * output it produced before the error was taken.
   */
  async next(): Promise<Uint8Array | null> {
    const decoder = this.#decoder;
    for (;;) {
      this.signal?.throwIfAborted();
      const buffered = decoder.readableLength;
      if (this.#failure !== undefined) {
        // what the decoder put out before its error comes first: Python's streaming readers hand
        // it on (pickle.load runs a pickle that ends there), so it is analysed
        const before = buffered > 0 ? (decoder.read(Math.min(buffered, this.#piece)) as Uint8Array | null) : null;
        if (before !== null && before.length > 0) return before;
        throw this.#failure;
      }
      // read(n) of at most the bytes buffered: a view or the first chunk when it holds n, a copy
      // of n bytes otherwise; read() with nothing buffered asks the decoder for more.
      const chunk = (
        buffered > 0 ? decoder.read(Math.min(buffered, this.#piece)) : decoder.read()
      ) as Uint8Array | null;
      if (chunk !== null && chunk.length > 0) return chunk;
      if (decoder.readableEnded) {
        if (this.#failure !== undefined) throw this.#failure;
        return null;
      }
      // a decoder destroyed by its own error has it as `errored` before its error event is emitted
      if (decoder.destroyed)
        throw this.#failure ?? decoder.errored ?? new Error("the decoder was closed before its end");
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  /** Stops the decoder and the input; idempotent. */
  destroy(): void {
    this.#unlisten();
    this.#decoder.destroy();
    this.#source.destroy();
  }
}
