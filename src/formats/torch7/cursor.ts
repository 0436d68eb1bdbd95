/**
 * A forward cursor over a {@link ByteSource} with a small read-ahead window: little-endian scalars,
 * bounded byte strings and skips that never read what they skip (tensor payloads). Shared by the
 * Torch7 and GGML readers.
 * @module
 */
import { charCodes } from "../../core/arrays.js";
import { type ByteSource, readClamped } from "../../core/byte-source.js";
import { ModelgateError } from "../../core/errors.js";

const WINDOW = 64 * 1024;

/** A forward reader over a byte source. */
export class Cursor {
  readonly #source: ByteSource;
  #window: Uint8Array = new Uint8Array(0);
  #windowStart = 0;
  readonly #windowSize: number;
  /** Current offset. */
  pos: number;

  /**
   * @param source - the bytes
   * @param start - first offset
   * @param head - bytes already read from offset 0 (used as the first window)
   * @param window - read-ahead in bytes (smaller when the reader skips large payloads often)
   */
  constructor(source: ByteSource, start = 0, head?: Uint8Array, window = WINDOW) {
    this.#source = source;
    this.#windowSize = Math.max(16, Math.min(window, WINDOW));
    this.pos = start;
    if (head !== undefined) this.#window = head;
  }

  /** Total size of the source. */
  get size(): number {
    return this.#source.size;
  }

  /** Bytes left after the cursor. */
  get remaining(): number {
    return Math.max(0, this.#source.size - this.pos);
  }

  /** Throws `TRUNCATED` unless `n` more bytes exist. */
  need(n: number, what: string): void {
    if (!Number.isSafeInteger(n) || n < 0 || n > this.remaining) {
      throw new ModelgateError(
        "TRUNCATED",
        `${what}: needs ${n} bytes at offset ${this.pos}, ${this.remaining} remain`,
        { offset: this.pos },
      );
    }
  }

  async #fill(n: number): Promise<void> {
    const end = this.#windowStart + this.#window.length;
    if (this.pos >= this.#windowStart && this.pos + n <= end) return;
    this.#window = await readClamped(this.#source, this.pos, Math.max(n, this.#windowSize));
    this.#windowStart = this.pos;
    if (this.#window.length < n) {
      throw new ModelgateError("TRUNCATED", `short read at offset ${this.pos}`, { offset: this.pos });
    }
  }

  /** Reads `n` bytes (callers bound `n`); the result may be a view into the window. */
  async bytes(n: number, what: string): Promise<Uint8Array> {
    this.need(n, what);
    if (n === 0) return new Uint8Array(0);
    if (n > WINDOW) {
      const out = await readClamped(this.#source, this.pos, n);
      if (out.length !== n) throw new ModelgateError("TRUNCATED", `short read at offset ${this.pos}`);
      this.pos += n;
      return out;
    }
    await this.#fill(n);
    const at = this.pos - this.#windowStart;
    this.pos += n;
    return this.#window.subarray(at, at + n);
  }

  /** Peeks one byte, or undefined at the end. */
  async peek(): Promise<number | undefined> {
    if (this.remaining === 0) return undefined;
    await this.#fill(1);
    return this.#window[this.pos - this.#windowStart];
  }

  /** Moves past `n` bytes without reading them. */
  skip(n: number, what: string): void {
    this.need(n, what);
    this.pos += n;
  }

  async #view(n: number, what: string): Promise<DataView> {
    const b = await this.bytes(n, what);
    return new DataView(b.buffer, b.byteOffset, n);
  }

  /** int32, little-endian. */
  async i32(what: string): Promise<number> {
    return (await this.#view(4, what)).getInt32(0, true);
  }

  /** uint32, little-endian. */
  async u32(what: string): Promise<number> {
    return (await this.#view(4, what)).getUint32(0, true);
  }

  /** int64, little-endian (a bigint). */
  async i64(what: string): Promise<bigint> {
    return (await this.#view(8, what)).getBigInt64(0, true);
  }

  /** float64, little-endian. */
  async f64(what: string): Promise<number> {
    return (await this.#view(8, what)).getFloat64(0, true);
  }
}

/** Latin-1 decoding of bytes (never throws; class names and keys are ASCII). */
export function latin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    s += charCodes(bytes.subarray(i, Math.min(bytes.length, i + 4096)));
  }
  return s;
}
