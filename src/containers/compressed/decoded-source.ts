/**
 * Decompressed views of compressed bytes, with hard budgets and bounded memory.
 *
 * Two shapes, because containers know different things up front:
 *
 * - {@link DecodedWindowSource}: the decompressed size is declared (a zip member). Nothing is
 *   decoded until someone reads; reads are served from a kept head (the sniffer and most header
 *   parsers only look there), a sliding window of recent output, or by decoding forward. A read
 *   before the window restarts the decoder from the beginning. Members up to
 *   {@link WindowOptions.fullCacheBytes} are simply kept whole once decoded. Memory stays around
 *   head + window whatever the member's size, and analysers that only read a header of a
 *   multi-GB member decode only that header.
 * - {@link decodeStream}: the size is unknown until the end (gzip, zstd, ...). One pass decodes
 *   the whole stream, keeping it in memory while it is small and spilling it to a temporary file
 *   once it is not; the result is a random-access source of exact size.
 *
 * Every byte produced is charged to a {@link DecompressionBudget} (the scan's
 * `chargeDecompressed`), and the expansion ratio is checked once output passes
 * {@link RATIO_CHECK_THRESHOLD}.
 * @module
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { BufferSource, type ByteSource, readChunks } from "../../core/byte-source.js";
import { ModelgateError } from "../../core/errors.js";
import { FileSource } from "../../sources/file.js";
import { decodeError, PullDecoder } from "./pull-decoder.js";

/** Output size after which the compression ratio is enforced (small zero-filled tensors are fine). */
export const RATIO_CHECK_THRESHOLD = 16 * 1024 * 1024;

/** Where decompressed bytes are charged, and how much expansion is tolerated. */
export interface DecompressionBudget {
  /** Counts decompressed bytes; throws `BUDGET_EXCEEDED` past the budget (the scan's `chargeDecompressed`). */
  charge(bytes: number): void;
  /** Maximum output / input ratio of one stream, enforced past {@link RATIO_CHECK_THRESHOLD}. */
  readonly maxRatio: number;
  /** Aborts decoding. */
  readonly signal?: AbortSignal;
}

/** Creates a fresh decoder: a node:zlib stream or any Duplex that takes compressed bytes in. */
export type DecoderFactory = () => Duplex;

/** Whether an error is the ratio or size budget of a decompressed stream (a decompression bomb). */
export function isBombError(error: unknown): error is ModelgateError {
  return (
    error instanceof ModelgateError &&
    error.code === "BUDGET_EXCEEDED" &&
    (error.budget === "maxCompressionRatio" || error.budget === "maxDecompressedBytes")
  );
}

/**
 * Tracks one stream's output against the budget: charges only bytes beyond the high-water mark
 * (re-decoding after a restart is not charged twice) and checks the ratio.
 */
export class OutputMeter {
  readonly #budget: DecompressionBudget;
  readonly #label: string;
  #charged = 0;

  constructor(budget: DecompressionBudget, label: string) {
    this.#budget = budget;
    this.#label = label;
  }

  /** Records that `produced` bytes of output came from `consumed` bytes of input. */
  update(produced: number, consumed: number): void {
    if (produced <= this.#charged) return;
    const delta = produced - this.#charged;
    this.#charged = produced;
    this.#budget.charge(delta);
    const ratio = produced / Math.max(1, consumed);
    if (produced > RATIO_CHECK_THRESHOLD && ratio > this.#budget.maxRatio) {
      throw new ModelgateError(
        "BUDGET_EXCEEDED",
        `${this.#label} expands ${Math.round(ratio)}× (${produced} bytes from ${consumed}), over the ratio budget of ${this.#budget.maxRatio}`,
        { budget: "maxCompressionRatio" },
      );
    }
  }
}

const INPUT_CHUNK = 256 * 1024;

/** Memory tuning of {@link DecodedWindowSource}. */
export interface WindowOptions {
  /** Output bytes kept from the start of the stream (default 1 MiB). */
  headBytes?: number;
  /** Recent output kept for re-reads (default 8 MiB). */
  windowBytes?: number;
  /** Members up to this size are kept whole once decoded (default 16 MiB). */
  fullCacheBytes?: number;
}

/**
 * A lazily decoded view of a compressed range whose decompressed size is declared. Reads past
 * the declared size return nothing; a stream that ends before it makes reads throw `MALFORMED`.
 */
export class DecodedWindowSource implements ByteSource {
  readonly size: number;
  readonly #input: ByteSource;
  readonly #factory: DecoderFactory;
  readonly #meter: OutputMeter;
  readonly #label: string;
  readonly #signal: AbortSignal | undefined;
  readonly #head: Uint8Array;
  readonly #windowLimit: number;
  #headFilled = 0;
  #decoder: PullDecoder | undefined;
  /** Output offset of the next chunk the decoder yields. */
  #pos = 0;
  #window: Uint8Array[] = [];
  #windowStart = 0;
  #windowBytes = 0;
  #lock: Promise<unknown> = Promise.resolve();
  #closed = false;

  /**
   * @param input - the compressed bytes (exactly the stream)
   * @param size - declared decompressed size
   * @param factory - creates a decoder for the stream
   * @param budget - decompressed-bytes and ratio budget
   * @param label - what to call the stream in errors
   * @param options - memory tuning
   */
  constructor(
    input: ByteSource,
    size: number,
    factory: DecoderFactory,
    budget: DecompressionBudget,
    label: string,
    options: WindowOptions = {},
  ) {
    this.#input = input;
    this.size = Math.max(0, size);
    this.#factory = factory;
    this.#meter = new OutputMeter(budget, label);
    this.#label = label;
    this.#signal = budget.signal;
    const fullCache = options.fullCacheBytes ?? 16 * 1024 * 1024;
    this.#head = new Uint8Array(Math.min(this.size, options.headBytes ?? 1024 * 1024));
    this.#windowLimit = this.size <= fullCache ? this.size : (options.windowBytes ?? 8 * 1024 * 1024);
  }

  /** @inheritdoc */
  read(offset: number, length: number): Promise<Uint8Array> {
    const start = Math.min(Math.max(0, offset), this.size);
    const end = Math.min(this.size, start + Math.max(0, length));
    if (end <= start) return Promise.resolve(new Uint8Array(0));
    if (end <= this.#headFilled) return Promise.resolve(this.#head.slice(start, end));
    const run = this.#lock.then(() => this.#readLocked(start, end));
    this.#lock = run.catch(() => undefined);
    return run;
  }

  async #readLocked(start: number, end: number): Promise<Uint8Array> {
    if (this.#closed) throw new ModelgateError("IO", `${this.#label}: read after close`);
    if (end <= this.#headFilled) return this.#head.slice(start, end);
    if (start < this.#windowStart || this.#decoder === undefined) {
      if (!(start >= this.#windowStart && end <= this.#pos)) this.#restart();
    }
    const out = new Uint8Array(end - start);
    // Copy what the window already holds.
    let chunkStart = this.#windowStart;
    for (const chunk of this.#window) {
      copyOverlap(out, start, end, chunk, chunkStart);
      chunkStart += chunk.length;
    }
    while (this.#pos < end) {
      this.#signal?.throwIfAborted();
      const decoder = this.#decoder;
      if (decoder === undefined) throw new ModelgateError("INTERNAL", "decoder missing");
      let chunk: Uint8Array | null;
      try {
        chunk = await decoder.next();
      } catch (error) {
        this.#reset();
        throw decodeError(this.#label, error);
      }
      if (chunk === null) {
        const produced = this.#pos;
        this.#reset();
        throw new ModelgateError(
          "MALFORMED",
          `${this.#label}: stream ends after ${produced} bytes, but ${this.size} are declared`,
          { offset: produced },
        );
      }
      if (this.#pos + chunk.length > this.size) chunk = chunk.subarray(0, this.size - this.#pos);
      const at = this.#pos;
      this.#pos += chunk.length;
      this.#meter.update(this.#pos, decoder.consumed);
      copyOverlap(out, start, end, chunk, at);
      if (at < this.#head.length) {
        const n = Math.min(chunk.length, this.#head.length - at);
        this.#head.set(chunk.subarray(0, n), at);
        this.#headFilled = Math.max(this.#headFilled, at + n);
      }
      this.#remember(chunk);
    }
    if (this.#pos >= this.size && this.#windowStart === 0 && this.#windowBytes === this.size) {
      // Whole member cached: the decoder is no longer needed.
      this.#decoder?.destroy();
      this.#decoder = undefined;
    }
    return out;
  }

  #remember(chunk: Uint8Array): void {
    // zlib may hand out views into a shared pool; keep our own copy.
    this.#window.push(chunk.slice());
    this.#windowBytes += chunk.length;
    while (this.#window.length > 1 && this.#windowBytes - (this.#window[0]?.length ?? 0) >= this.#windowLimit) {
      const dropped = this.#window.shift();
      const n = dropped?.length ?? 0;
      this.#windowBytes -= n;
      this.#windowStart += n;
    }
  }

  #restart(): void {
    this.#reset();
    this.#decoder = new PullDecoder(readChunks(this.#input, { chunkSize: INPUT_CHUNK }), this.#factory(), this.#signal);
  }

  #reset(): void {
    this.#decoder?.destroy();
    this.#decoder = undefined;
    this.#pos = 0;
    this.#window = [];
    this.#windowStart = 0;
    this.#windowBytes = 0;
  }

  /** @inheritdoc */
  async close(): Promise<void> {
    this.#closed = true;
    this.#reset();
  }
}

function copyOverlap(out: Uint8Array, start: number, end: number, chunk: Uint8Array, chunkStart: number): void {
  const from = Math.max(start, chunkStart);
  const to = Math.min(end, chunkStart + chunk.length);
  if (to > from) out.set(chunk.subarray(from - chunkStart, to - chunkStart), from - start);
}

/** Options of {@link decodeStream}. */
export interface DecodeStreamOptions {
  /** Output kept in memory before spilling to a temporary file (default 32 MiB). */
  memoryBytes?: number;
  /** Directory for the temporary file (default the OS temp dir). */
  tmpDir?: string;
  /** What to call the stream in errors. */
  label?: string;
  /** Stops decoding early when the output so far is content whose analysis needs no more. */
  probe?: OutputProbe;
}

/**
 * A look at a stream's output once `at` bytes have been decoded: when `enough` says the rest
 * cannot change the analysis, decoding stops there ({@link DecodingStopped}). A decompression of
 * gigabytes of opaque data otherwise ran for minutes (bzip2 decodes about 60 MB/s).
 */
export interface OutputProbe {
  /** Output size at which the probe looks (once). */
  readonly at: number;
  /**
   * Whether the output so far is all the analysis needs.
   * @param head - its first 64 KiB
   * @param recent - its last 64 KiB or so
   * @param size - its size so far
   */
  enough(head: Uint8Array, recent: Uint8Array, size: number): boolean;
}

/** Thrown by a {@link SpillSink} whose probe found the output so far sufficient. */
export class DecodingStopped extends Error {
  /** @param decoded - output bytes kept */
  constructor(readonly decoded: number) {
    super(`decoding stopped after ${decoded} bytes: the rest is not needed`);
    this.name = "DecodingStopped";
  }
}

const PROBE_HEAD = 64 * 1024;

/** Result of {@link decodeStream}. */
export interface DecodedStream {
  /** The decompressed bytes; call `close()` when done (it deletes any temporary file). */
  readonly source: ByteSource;
  /** Input bytes the decoder consumed; less than the input's size means trailing data. */
  readonly consumed: number;
}

/**
 * Collects decoded output: in memory while small, then in a private temporary file. The result
 * is a random-access source of exact size.
 */
export class SpillSink {
  readonly #memoryBytes: number;
  readonly #tmpDir: string;
  readonly #chunks: Uint8Array[] = [];
  #size = 0;
  #spill: { dir: string; path: string; handle: Awaited<ReturnType<typeof open>> } | undefined;
  #probe: OutputProbe | undefined;
  /** The output's first bytes, kept for the probe. */
  readonly #head: Uint8Array;
  #headFilled = 0;

  /** @param options - memory threshold, temp directory and probe */
  constructor(options: Pick<DecodeStreamOptions, "memoryBytes" | "tmpDir" | "probe"> = {}) {
    this.#memoryBytes = options.memoryBytes ?? 32 * 1024 * 1024;
    this.#tmpDir = options.tmpDir ?? tmpdir();
    this.#probe = options.probe;
    this.#head = new Uint8Array(this.#probe === undefined ? 0 : PROBE_HEAD);
  }

  /** Keeps the head for the probe and asks it once the output reaches its size. */
  #look(chunk: Uint8Array): void {
    const probe = this.#probe;
    if (probe === undefined) return;
    if (this.#headFilled < this.#head.length) {
      const n = Math.min(chunk.length, this.#head.length - this.#headFilled);
      this.#head.set(chunk.subarray(0, n), this.#headFilled);
      this.#headFilled += n;
    }
    if (this.#size < probe.at) return;
    this.#probe = undefined;
    if (probe.enough(this.#head.subarray(0, this.#headFilled), chunk, this.#size)) {
      throw new DecodingStopped(this.#size);
    }
  }

  /** Bytes written so far. */
  get size(): number {
    return this.#size;
  }

  /** Appends a chunk (copied); throws {@link DecodingStopped} after it when the probe says so. */
  async write(chunk: Uint8Array): Promise<void> {
    this.#size += chunk.length;
    if (this.#spill === undefined) {
      this.#chunks.push(chunk.slice());
      if (this.#size > this.#memoryBytes) {
        const dir = await mkdtemp(join(this.#tmpDir, "modelgate-"));
        const path = join(dir, `stream-${randomBytes(6).toString("hex")}`);
        this.#spill = { dir, path, handle: await open(path, "wx", 0o600) };
        for (const c of this.#chunks) await this.#spill.handle.write(c);
        this.#chunks.length = 0;
      }
    } else {
      await this.#spill.handle.write(chunk);
    }
    this.#look(chunk);
  }

  /** The collected bytes as a source (call its `close()` to delete any temporary file). */
  async finish(): Promise<ByteSource> {
    const spill = this.#spill;
    if (spill === undefined) return new BufferSource(concat(this.#chunks, this.#size));
    this.#spill = undefined;
    await spill.handle.close();
    const file = await FileSource.open(spill.path);
    return new TempFileSource(file, spill.dir);
  }

  /** Drops everything (deletes any temporary file). */
  async abort(): Promise<void> {
    this.#chunks.length = 0;
    const spill = this.#spill;
    this.#spill = undefined;
    if (spill !== undefined) {
      await spill.handle.close().catch(() => undefined);
      await rm(spill.dir, { recursive: true, force: true }).catch(() => undefined);
    }
  }
}

/**
 * Decodes a whole stream once, into memory or, past `memoryBytes`, a temporary file.
 * @param input - the compressed bytes
 * @param factory - creates the decoder
 * @param budget - decompressed-bytes and ratio budget
 * @param options - memory and naming
 */
export async function decodeStream(
  input: ByteSource,
  factory: DecoderFactory,
  budget: DecompressionBudget,
  options: DecodeStreamOptions = {},
): Promise<DecodedStream> {
  const sink = new SpillSink(options);
  try {
    const totals = await decodeInto(input, factory, budget, options.label ?? "compressed stream", sink);
    return { source: await sink.finish(), consumed: totals.consumed };
  } catch (error) {
    await sink.abort();
    throw error;
  }
}

/**
 * Decodes one stream into a sink (several calls may share a sink: multi-member gzip).
 * @param input - the compressed bytes
 * @param factory - creates the decoder
 * @param budget - decompressed-bytes and ratio budget
 * @param label - what to call the stream in errors
 * @param sink - where output goes
 * @param onChunk - also sees every output chunk (CRC computation)
 */
export async function decodeInto(
  input: ByteSource,
  factory: DecoderFactory,
  budget: DecompressionBudget,
  label: string,
  sink: SpillSink,
  onChunk?: (chunk: Uint8Array) => void,
): Promise<DecodeTotals> {
  return pump(input, factory, budget, label, async (chunk) => {
    onChunk?.(chunk);
    await sink.write(chunk);
  });
}

/** The decoding loop: pulls output chunks under the budget and hands each to `each`. */
async function pump(
  input: ByteSource,
  factory: DecoderFactory,
  budget: DecompressionBudget,
  label: string,
  each: (chunk: Uint8Array) => void | Promise<void>,
): Promise<DecodeTotals> {
  const meter = new OutputMeter(budget, label);
  const decoder = new PullDecoder(readChunks(input, { chunkSize: INPUT_CHUNK }), factory(), budget.signal);
  let produced = 0;
  try {
    for (;;) {
      budget.signal?.throwIfAborted();
      let chunk: Uint8Array | null;
      try {
        chunk = await decoder.next();
      } catch (error) {
        throw decodeError(label, error);
      }
      if (chunk === null) break;
      produced += chunk.length;
      meter.update(produced, decoder.consumed);
      await each(chunk);
    }
    return { produced, consumed: decoder.consumed };
  } finally {
    decoder.destroy();
  }
}

function concat(chunks: readonly Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1 && chunks[0] !== undefined) return chunks[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** A file-backed source that deletes its temporary directory on close. */
class TempFileSource implements ByteSource {
  readonly size: number;
  readonly #file: FileSource;
  readonly #dir: string;

  constructor(file: FileSource, dir: string) {
    this.#file = file;
    this.#dir = dir;
    this.size = file.size;
  }

  read(offset: number, length: number): Promise<Uint8Array> {
    return this.#file.read(offset, length);
  }

  async close(): Promise<void> {
    await this.#file.close();
    await rm(this.#dir, { recursive: true, force: true });
  }
}

/** Totals of {@link forEachDecodedChunk}. */
export interface DecodeTotals {
  /** Output bytes produced. */
  readonly produced: number;
  /** Input bytes consumed. */
  readonly consumed: number;
}

/**
 * Decodes a whole stream, handing each output chunk to `onChunk` without keeping it (for CRC
 * checks and size verification). Budgets apply as for any other decoding.
 * @param input - the compressed bytes
 * @param factory - creates the decoder
 * @param budget - decompressed-bytes and ratio budget
 * @param label - what to call the stream in errors
 * @param onChunk - receives every output chunk, in order
 */
export async function forEachDecodedChunk(
  input: ByteSource,
  factory: DecoderFactory,
  budget: DecompressionBudget,
  label: string,
  onChunk: (chunk: Uint8Array) => void,
): Promise<DecodeTotals> {
  return pump(input, factory, budget, label, onChunk);
}
