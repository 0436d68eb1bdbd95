/**
 * A bounded, buffered forward cursor over a {@link ByteSource}: the binary readers of data-only
 * model formats (msgpack, UBJSON, XGBoost's and MXNet's binary layouts, SSTable blocks) read their
 * headers through it in chunks, skip payloads without reading them, and get `TRUNCATED` (never a
 * `RangeError`) when a declared length runs past the end.
 * @module
 */
import { type ByteSource, readClamped } from "../../core/byte-source.js";
import { ModelgateError } from "../../core/errors.js";

/** Bytes read ahead at a time. */
const CHUNK = 64 * 1024;

/** A forward cursor over `[start, end)` of a source. */
export class Cursor {
  /** Absolute offset of the next byte. */
  pos: number;
  /** End of the readable range (exclusive). */
  readonly end: number;
  readonly #source: ByteSource;
  #buf: Uint8Array = new Uint8Array(0);
  #bufStart = 0;
  #view: DataView = new DataView(new ArrayBuffer(0));

  /**
   * @param source - the bytes
   * @param start - first byte
   * @param end - end of the range (default the source's size)
   * @param head - bytes already read at offset 0 (the sniffer's head), used before any read
   */
  constructor(source: ByteSource, start = 0, end = source.size, head?: Uint8Array) {
    this.#source = source;
    this.pos = start;
    this.end = Math.min(end, source.size);
    if (head !== undefined) this.#setBuffer(head, 0);
  }

  /** Bytes left in the range. */
  get remaining(): number {
    return this.end - this.pos;
  }

  #setBuffer(buf: Uint8Array, start: number): void {
    this.#buf = buf;
    this.#bufStart = start;
    this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /**
   * Makes `n` bytes at the cursor available to the synchronous getters.
   * @throws ModelgateError `TRUNCATED` when the range ends first
   */
  async need(n: number): Promise<void> {
    if (n < 0 || this.pos + n > this.end) {
      throw new ModelgateError("TRUNCATED", `need ${n} bytes at offset ${this.pos}, the data ends at ${this.end}`, {
        offset: this.pos,
      });
    }
    const at = this.pos - this.#bufStart;
    if (at >= 0 && at + n <= this.#buf.length) return;
    const want = Math.min(Math.max(n, CHUNK), this.end - this.pos);
    const bytes = await readClamped(this.#source, this.pos, want);
    if (bytes.length < n) {
      throw new ModelgateError("TRUNCATED", `short read at offset ${this.pos}: ${bytes.length} of ${n} bytes`, {
        offset: this.pos,
      });
    }
    this.#setBuffer(bytes, this.pos);
  }

  /**
   * Advances past `n` bytes without reading them.
   * @throws ModelgateError `TRUNCATED` when they run past the end
   */
  skip(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0 || n > this.end - this.pos) {
      throw new ModelgateError("TRUNCATED", `${n} bytes declared at offset ${this.pos}, ${this.end - this.pos} left`, {
        offset: this.pos,
      });
    }
    this.pos += n;
  }

  #at(n: number): number {
    const at = this.pos - this.#bufStart;
    this.pos += n;
    return at;
  }

  /** One byte (after {@link need}). */
  u8(): number {
    return this.#view.getUint8(this.#at(1));
  }
  /** Big-endian unsigned 16 bits. */
  u16be(): number {
    return this.#view.getUint16(this.#at(2), false);
  }
  /** Big-endian unsigned 32 bits. */
  u32be(): number {
    return this.#view.getUint32(this.#at(4), false);
  }
  /** Big-endian unsigned 64 bits. */
  u64be(): bigint {
    return this.#view.getBigUint64(this.#at(8), false);
  }
  /** Big-endian signed 64 bits. */
  i64be(): bigint {
    return this.#view.getBigInt64(this.#at(8), false);
  }
  /** Little-endian unsigned 32 bits. */
  u32le(): number {
    return this.#view.getUint32(this.#at(4), true);
  }
  /** Little-endian signed 32 bits. */
  i32le(): number {
    return this.#view.getInt32(this.#at(4), true);
  }
  /** Little-endian unsigned 64 bits. */
  u64le(): bigint {
    return this.#view.getBigUint64(this.#at(8), true);
  }
  /** Little-endian signed 64 bits. */
  i64le(): bigint {
    return this.#view.getBigInt64(this.#at(8), true);
  }
  /** Little-endian float32. */
  f32le(): number {
    return this.#view.getFloat32(this.#at(4), true);
  }

  /** `n` bytes (after {@link need}): a view into the cursor's buffer, valid until the next `need`. */
  bytes(n: number): Uint8Array {
    const at = this.#at(n);
    return this.#buf.subarray(at, at + n);
  }

  /** Reads `n` bytes (a copy), checking the range first. */
  async take(n: number): Promise<Uint8Array> {
    await this.need(n);
    return this.bytes(n).slice();
  }
}

/** A `bigint` length as a safe number, or `TRUNCATED`/`MALFORMED` when it cannot fit what is left. */
export function lengthWithin(n: bigint, cursor: Cursor, what: string): number {
  if (n < 0n || n > BigInt(cursor.remaining)) {
    throw new ModelgateError(
      "TRUNCATED",
      `${what} declares ${n} bytes at offset ${cursor.pos}, ${cursor.remaining} left`,
      {
        offset: cursor.pos,
      },
    );
  }
  return Number(n);
}
