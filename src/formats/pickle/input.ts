/**
 * Forward-only chunked input for the pickle decoder: over a random-access {@link ByteSource}
 * (re-reads overlap instead of copying, skips without reading) or over an async stream of chunks
 * (a decompressor's output).
 * @module
 */
import { ModelgateError } from "../../core/errors.js";
import { type ByteSource, SliceSource } from "../../sources/byte-source.js";

const EMPTY = new Uint8Array(0);

const OVERLAP = 4096;

/** Default chunk size for reads from a {@link ByteSource}. */
export const DEFAULT_CHUNK = 1 << 20;

/**
 * A window over the input: `buf[pos..end)` are the next unread bytes, `base` is the absolute
 * offset of `buf[0]`. Consumers read `buf` directly between awaits and advance `pos`. An input may
 * reuse the memory of `buf` after {@link PickleInput.fill} or {@link PickleInput.skip}, unless
 * the consumer calls {@link PickleInput.retain} first because it keeps views of it.
 */
export abstract class PickleInput {
  /** Current buffer. */
  buf: Uint8Array = EMPTY;
  /** Next unread byte in {@link PickleInput.buf}. */
  pos = 0;
  /** End of valid data in {@link PickleInput.buf}. */
  end = 0;
  /** Absolute offset of `buf[0]`. */
  base = 0;

  /** Absolute offset of the next unread byte. */
  get offset(): number {
    return this.base + this.pos;
  }

  /** Total length of the input when known up front. */
  abstract readonly size: number | undefined;

  /**
   * Makes at least `min` unread bytes available in `buf`.
   * @param min - bytes wanted
   * @returns false when the input ends first (then every remaining byte is in `buf`)
   */
  abstract fill(min: number): Promise<boolean>;

  /**
   * Advances past `n` bytes without keeping them.
   * @param n - bytes to skip
   * @returns false when the input ends first
   */
  abstract skip(n: number): Promise<boolean>;

  /**
   * A zero-copy view of a range of the input, when the input is random-access.
   * @param offset - absolute offset
   * @param length - bytes
   */
  abstract slice(offset: number, length: number): ByteSource | undefined;

  /** The consumer keeps referring to the bytes of the current `buf`: they must not be reused. */
  retain(): void {}

  /** Whether no unread byte remains. */
  async atEnd(): Promise<boolean> {
    return this.pos >= this.end && !(await this.fill(1));
  }

  /**
   * Copies `n` bytes at the current position (filling as needed) without consuming them.
   * @param n - bytes wanted; fewer are returned at the end of the input
   */
  async peek(n: number): Promise<Uint8Array> {
    await this.fill(n);
    return this.buf.slice(this.pos, Math.min(this.end, this.pos + n));
  }
}

/**
 * {@link PickleInput} over a range of a {@link ByteSource}, reading the next chunk ahead. When the
 * source can read into a caller's buffer ({@link ByteSource.readInto}) it alternates between two
 * buffers instead of allocating one per chunk: `buf` is then only valid until the next
 * {@link PickleInput.fill} or {@link PickleInput.skip}.
 */
export class SourceInput extends PickleInput {
  readonly size: number;
  readonly #source: ByteSource;
  readonly #limit: number;
  readonly #chunk: number;
  readonly #readAheadOn: boolean;
  readonly #reuse: boolean;
  /** Buffer behind `buf` (when reusing). */
  #cur: Uint8Array | undefined;
  /** The other buffer, target of the next read (when reusing). */
  #spare: Uint8Array | undefined;
  /** A read into {@link SourceInput.#spare} that may still be running. */
  #spareBusy: Promise<unknown> | undefined;
  #ahead: { offset: number; data: Promise<Uint8Array> } | undefined;

  /**
   * @param source - the bytes
   * @param start - first byte of the range
   * @param end - end of the range, exclusive (default: the source's end)
   * @param chunk - read size
   * @param readAhead - read the next chunk while the current one is decoded (off for speculative
   *   readings, which usually stop within the first bytes)
   */
  constructor(source: ByteSource, start = 0, end = source.size, chunk = DEFAULT_CHUNK, readAhead = true) {
    super();
    this.#readAheadOn = readAhead;
    this.#source = source;
    this.#limit = Math.min(end, source.size);
    this.#chunk = chunk;
    this.#reuse = typeof source.readInto === "function";
    this.base = Math.min(start, this.#limit);
    this.size = this.#limit;
  }

  /** Starts reading `n` bytes at `at` (into the spare buffer when reusing). */
  #read(at: number, n: number): Promise<Uint8Array> {
    const source = this.#source;
    if (!this.#reuse || source.readInto === undefined) return source.read(at, n);
    let target = this.#spare;
    if (target === undefined || target.length < n) {
      target = new Uint8Array(Math.max(n, this.#chunk));
      this.#spare = target;
    }
    const into = target;
    const data = source.readInto(at, into.subarray(0, n)).then((k) => into.subarray(0, k));
    this.#spareBusy = data;
    return data;
  }

  /** @inheritdoc */
  override retain(): void {
    this.#cur = undefined; // no longer ours: the next reads go to a new buffer
  }

  /** The buffer just read becomes `buf`'s; the previous one is free for the next read. */
  #adopt(): void {
    if (!this.#reuse) return;
    const cur = this.#cur;
    this.#cur = this.#spare;
    this.#spare = cur;
    this.#spareBusy = undefined;
  }

  #readAhead(): void {
    if (!this.#readAheadOn) {
      this.#ahead = undefined;
      return;
    }
    // Start a little before the end of the current buffer, so the next buffer usually holds the
    // unread tail too and can be used without copying.
    const at = Math.max(this.base + this.pos, this.base + this.end - OVERLAP);
    const n = Math.min(this.#chunk, this.#limit - at);
    if (n <= 0) {
      this.#ahead = undefined;
      return;
    }
    const data = this.#read(at, n);
    data.catch(() => undefined); // awaited later; never an unhandled rejection
    this.#ahead = { offset: at, data };
  }

  /** @inheritdoc */
  async fill(min: number): Promise<boolean> {
    while (this.end - this.pos < min) {
      const at = this.base + this.pos;
      if (at + (this.end - this.pos) >= this.#limit) return false;
      const ahead = this.#ahead;
      this.#ahead = undefined;
      if (ahead !== undefined && ahead.offset <= at && ahead.offset + this.#chunk >= at + min) {
        const data = await ahead.data;
        this.#adopt();
        this.buf = data;
        this.base = ahead.offset;
        this.pos = at - ahead.offset;
        this.end = data.length;
        if (this.base + this.end > this.#limit || this.end < this.pos) {
          throw new ModelgateError("TRUNCATED", `short read at offset ${ahead.offset}`, { offset: ahead.offset });
        }
        this.#readAhead();
        if (this.end - this.pos < min && this.base + this.end >= this.#limit) return false;
        continue;
      } else {
        // a read ahead that is of no use may still be writing into the spare buffer
        await this.#spareBusy?.catch(() => undefined);
        const want = Math.min(Math.max(min, this.#chunk), this.#limit - at);
        const data = await this.#read(at, want);
        this.#adopt();
        this.buf = data;
      }
      this.base = at;
      this.pos = 0;
      this.end = this.buf.length;
      if (this.end === 0 || this.base + this.end > this.#limit) {
        throw new ModelgateError("TRUNCATED", `short read at offset ${at}`, { offset: at });
      }
      this.#readAhead();
    }
    return true;
  }

  /** @inheritdoc */
  async skip(n: number): Promise<boolean> {
    const inBuf = this.end - this.pos;
    if (n <= inBuf) {
      this.pos += n;
      return true;
    }
    const target = this.base + this.pos + n;
    this.#ahead = undefined;
    this.buf = EMPTY;
    this.pos = 0;
    this.end = 0;
    if (target > this.#limit) {
      this.base = this.#limit;
      return false;
    }
    this.base = target;
    return true;
  }

  /** @inheritdoc */
  slice(offset: number, length: number): ByteSource | undefined {
    return new SliceSource(this.#source, offset, length);
  }
}

/** {@link PickleInput} over an async stream of chunks (not random-access). */
export class StreamInput extends PickleInput {
  readonly size = undefined;
  readonly #iter: AsyncIterator<Uint8Array>;
  #done = false;

  /**
   * @param chunks - the stream
   * @param start - absolute offset of the stream's first byte (for evidence)
   */
  constructor(chunks: AsyncIterable<Uint8Array>, start = 0) {
    super();
    this.#iter = chunks[Symbol.asyncIterator]();
    this.base = start;
  }

  async #next(): Promise<Uint8Array | undefined> {
    while (!this.#done) {
      const r = await this.#iter.next();
      if (r.done === true) {
        this.#done = true;
        return undefined;
      }
      if (r.value.length > 0) return r.value;
    }
    return undefined;
  }

  /** @inheritdoc */
  async fill(min: number): Promise<boolean> {
    while (this.end - this.pos < min) {
      const chunk = await this.#next();
      if (chunk === undefined) return false;
      const tail = this.end - this.pos;
      if (tail === 0) {
        this.base += this.pos;
        this.buf = chunk;
      } else {
        const merged = new Uint8Array(tail + chunk.length);
        merged.set(this.buf.subarray(this.pos, this.end), 0);
        merged.set(chunk, tail);
        this.base += this.pos;
        this.buf = merged;
      }
      this.pos = 0;
      this.end = this.buf.length;
    }
    return true;
  }

  /** @inheritdoc */
  async skip(n: number): Promise<boolean> {
    let left = n;
    for (;;) {
      const inBuf = this.end - this.pos;
      if (left <= inBuf) {
        this.pos += left;
        return true;
      }
      left -= inBuf;
      this.pos = this.end;
      const chunk = await this.#next();
      if (chunk === undefined) return false;
      this.base += this.end;
      this.buf = chunk;
      this.pos = 0;
      this.end = chunk.length;
    }
  }

  /** @inheritdoc */
  slice(): ByteSource | undefined {
    return undefined;
  }
}
