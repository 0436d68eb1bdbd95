/**
 * Random-access byte sources: the one way analyzers see bytes, whether they come from a local
 * file, an in-memory buffer, a container member or an HTTP range reader. The interface, exact and
 * clamped reads, chunked iteration and the in-memory views (buffers, slices, a head read before)
 * live here; files, guards and remote sources are in `src/sources/`.
 * @module
 */
import { ModelgateError } from "./errors.js";

/**
 * A random-access, read-only sequence of bytes of known size.
 *
 * Implementations must be safe for concurrent `read` calls. Callers must not mutate the returned
 * arrays: an implementation may hand out views into memory it keeps.
 */
export interface ByteSource {
  /** Total size in bytes. */
  readonly size: number;
  /**
   * Reads up to `length` bytes starting at `offset`. Returns fewer bytes only when the end of the
   * source is reached (an empty array at or past the end). Rejects with a `ModelgateError` on
   * I/O failure.
   * @param offset - byte offset, `0 <= offset`
   * @param length - number of bytes wanted, `0 <= length`
   */
  read(offset: number, length: number): Promise<Uint8Array>;
  /**
   * Optional: like {@link ByteSource.read} for `target.length` bytes, but into the caller's
   * buffer, so that streaming readers can reuse their buffers instead of allocating one per read.
   * Returns the number of bytes written at the start of `target` (fewer only at the end of the
   * source). Wrappers provide it only when what they wrap does.
   * @param offset - byte offset, `0 <= offset`
   * @param target - where the bytes go
   */
  readInto?(offset: number, target: Uint8Array): Promise<number>;
  /** Releases resources held by the source (file handles, sockets). Idempotent. */
  close?(): Promise<void>;
}

/**
 * Reads exactly `length` bytes at `offset`, or throws `TRUNCATED`.
 * @param source - where to read
 * @param offset - byte offset
 * @param length - exact number of bytes required
 */
export async function readExact(source: ByteSource, offset: number, length: number): Promise<Uint8Array> {
  if (offset < 0 || length < 0 || !Number.isSafeInteger(offset) || !Number.isSafeInteger(length)) {
    throw new ModelgateError("MALFORMED", `invalid read range ${offset}+${length}`, { offset });
  }
  if (offset + length > source.size) {
    throw new ModelgateError(
      "TRUNCATED",
      `need ${length} bytes at offset ${offset}, but the input has ${source.size} bytes`,
      { offset },
    );
  }
  const bytes = await source.read(offset, length);
  if (bytes.length !== length) {
    throw new ModelgateError("TRUNCATED", `short read at offset ${offset}: ${bytes.length} of ${length} bytes`, {
      offset,
    });
  }
  return bytes;
}

/**
 * Reads up to `length` bytes at `offset`, clamped to the source's end.
 * @param source - where to read
 * @param offset - byte offset
 * @param length - maximum number of bytes
 */
export function readClamped(source: ByteSource, offset: number, length: number): Promise<Uint8Array> {
  const start = Math.min(Math.max(0, offset), source.size);
  const n = Math.max(0, Math.min(length, source.size - start));
  return n === 0 ? Promise.resolve(new Uint8Array(0)) : source.read(start, n);
}

/** A {@link ByteSource} over bytes already in memory (zero-copy). */
export class BufferSource implements ByteSource {
  readonly size: number;
  readonly #bytes: Uint8Array;

  /** @param bytes - the bytes; they are not copied and must not change while in use */
  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.size = bytes.length;
  }

  /** @inheritdoc */
  read(offset: number, length: number): Promise<Uint8Array> {
    const start = Math.min(Math.max(0, offset), this.size);
    return Promise.resolve(this.#bytes.subarray(start, Math.min(this.size, start + Math.max(0, length))));
  }

  /** The whole underlying array (zero-copy). */
  get bytes(): Uint8Array {
    return this.#bytes;
  }
}

/**
 * A source whose first bytes are already in memory (the sniffer's head): reads inside them cost no
 * I/O, reads past them go to the source. Speculative readings use it so that content that is not
 * what they hoped costs nothing beyond the head.
 */
export class HeadFirstSource implements ByteSource {
  readonly size: number;
  readonly #source: ByteSource;
  readonly #head: Uint8Array;

  /**
   * @param source - the whole stream
   * @param head - its first bytes, as read before
   */
  constructor(source: ByteSource, head: Uint8Array) {
    this.#source = source;
    this.#head = head;
    this.size = source.size;
  }

  /** @inheritdoc */
  read(offset: number, length: number): Promise<Uint8Array> {
    const end = Math.min(offset + length, this.size);
    if (offset >= 0 && end <= this.#head.length)
      return Promise.resolve(this.#head.subarray(offset, Math.max(offset, end)));
    return this.#source.read(offset, length);
  }
}

/** A window `[offset, offset + size)` of another source, addressed from 0. */
export class SliceSource implements ByteSource {
  readonly size: number;
  readonly #inner: ByteSource;
  readonly #offset: number;

  /**
   * @param inner - the source to view
   * @param offset - start of the window in `inner`
   * @param size - length of the window; clamped to what `inner` holds
   */
  constructor(inner: ByteSource, offset: number, size: number) {
    this.#inner = inner;
    this.#offset = Math.min(Math.max(0, offset), inner.size);
    this.size = Math.max(0, Math.min(size, inner.size - this.#offset));
    const into = inner.readInto;
    if (into !== undefined) {
      this.readInto = (at, target) => {
        const start = Math.min(Math.max(0, at), this.size);
        const n = Math.max(0, Math.min(target.length, this.size - start));
        return n === 0 ? Promise.resolve(0) : into.call(inner, this.#offset + start, target.subarray(0, n));
      };
    }
  }

  /** Present when the wrapped source has it (see {@link ByteSource.readInto}). */
  readonly readInto?: (offset: number, target: Uint8Array) => Promise<number>;

  /** @inheritdoc */
  read(offset: number, length: number): Promise<Uint8Array> {
    const start = Math.min(Math.max(0, offset), this.size);
    const n = Math.max(0, Math.min(length, this.size - start));
    return n === 0 ? Promise.resolve(new Uint8Array(0)) : this.#inner.read(this.#offset + start, n);
  }
}

/** Options of {@link readChunks}. */
export interface ChunkOptions {
  /** First byte (default 0). */
  start?: number;
  /** End, exclusive (default the source's size). */
  end?: number;
  /** Chunk size in bytes (default 1 MiB). */
  chunkSize?: number;
}

/**
 * Iterates over `[start, end)` in consecutive chunks.
 * @param source - where to read
 * @param options - range and chunk size
 */
export async function* readChunks(source: ByteSource, options: ChunkOptions = {}): AsyncGenerator<Uint8Array> {
  const end = Math.min(options.end ?? source.size, source.size);
  const chunkSize = Math.max(1, options.chunkSize ?? 1 << 20);
  let pos = Math.max(0, options.start ?? 0);
  while (pos < end) {
    const chunk = await source.read(pos, Math.min(chunkSize, end - pos));
    if (chunk.length === 0) {
      throw new ModelgateError("TRUNCATED", `source ended at ${pos}, before its declared size ${end}`, {
        offset: pos,
      });
    }
    pos += chunk.length;
    yield chunk;
  }
}

/**
 * `head` followed by `tail` in one new array (a streaming decoder's unread input with the next
 * chunk appended).
 */
export function concatBytes(head: Uint8Array, tail: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(head.length + tail.length);
  out.set(head);
  out.set(tail, head.length);
  return out;
}
