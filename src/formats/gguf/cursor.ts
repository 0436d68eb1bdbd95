/**
 * A sliding-window reader over a {@link ByteSource} for the GGUF header: little/big-endian
 * scalars, v1 (u32) or v2+ (u64) length fields and lenient UTF-8 text. It reads a window at a time
 * (1 MiB for the header walk, smaller for single-element lookups), never the whole file.
 * @module
 */
import type { ByteSource } from "../../core/byte-source.js";
import { ModelgateError } from "../../core/errors.js";
import type { GgufScalar } from "./reader.js";
import { GGUF_TYPE, GGUF_TYPE_SIZE } from "./types.js";

/** Default read window. */
const WINDOW = 1 << 20;

/** A position in the source with the bytes around it. */
export class Cursor {
  readonly #source: ByteSource;
  pos: number;
  #buf: Uint8Array;
  #start = 0;
  #view: DataView;
  le = true;
  v1 = false;
  readonly #window: number;

  constructor(source: ByteSource, head: Uint8Array | undefined, window = WINDOW) {
    this.#source = source;
    this.#window = window;
    this.pos = 0;
    this.#buf = head ?? new Uint8Array(0);
    this.#view = new DataView(this.#buf.buffer, this.#buf.byteOffset, this.#buf.byteLength);
  }

  get size(): number {
    return this.#source.size;
  }

  get remaining(): number {
    return this.#source.size - this.pos;
  }

  has(n: number): boolean {
    return this.pos >= this.#start && this.pos + n <= this.#start + this.#buf.length;
  }

  /** Makes `n` bytes at `pos` available; throws TRUNCATED past the end. */
  async fill(n: number): Promise<void> {
    if (this.has(n)) return;
    if (this.pos + n > this.#source.size) {
      throw new ModelgateError("TRUNCATED", `need ${n} bytes at ${this.pos}; the file has ${this.#source.size}`, {
        offset: this.pos,
      });
    }
    const want = Math.min(Math.max(n, this.#window), this.#source.size - this.pos);
    const bytes = await this.#source.read(this.pos, want);
    if (bytes.length < n) {
      throw new ModelgateError("TRUNCATED", `short read at ${this.pos}`, { offset: this.pos });
    }
    this.#buf = bytes;
    this.#start = this.pos;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  #at(): number {
    return this.pos - this.#start;
  }

  u8(): number {
    const v = this.#view.getUint8(this.#at());
    this.pos += 1;
    return v;
  }

  u32(): number {
    const v = this.#view.getUint32(this.#at(), this.le);
    this.pos += 4;
    return v;
  }

  /** Reads a u64 as a bigint. */
  u64(): bigint {
    const v = this.#view.getBigUint64(this.#at(), this.le);
    this.pos += 8;
    return v;
  }

  /** Reads a u64 as a number when below 2^53, else returns Infinity (callers bound it). */
  u64n(): number {
    const at = this.#at();
    const a = this.#view.getUint32(at, this.le);
    const b = this.#view.getUint32(at + 4, this.le);
    this.pos += 8;
    const lo = this.le ? a : b;
    const hi = this.le ? b : a;
    return hi >= 0x200000 ? Number.POSITIVE_INFINITY : hi * 0x1_0000_0000 + lo;
  }

  /** Reads a length field (u32 in v1, u64 after). */
  len(): number {
    return this.v1 ? this.u32() : this.u64n();
  }

  get lenSize(): number {
    return this.v1 ? 4 : 8;
  }

  scalar(type: number): GgufScalar {
    const at = this.#at();
    const v = this.#view;
    let out: GgufScalar;
    switch (type) {
      case GGUF_TYPE.UINT8:
        out = v.getUint8(at);
        break;
      case GGUF_TYPE.INT8:
        out = v.getInt8(at);
        break;
      case GGUF_TYPE.UINT16:
        out = v.getUint16(at, this.le);
        break;
      case GGUF_TYPE.INT16:
        out = v.getInt16(at, this.le);
        break;
      case GGUF_TYPE.UINT32:
        out = v.getUint32(at, this.le);
        break;
      case GGUF_TYPE.INT32:
        out = v.getInt32(at, this.le);
        break;
      case GGUF_TYPE.FLOAT32:
        out = v.getFloat32(at, this.le);
        break;
      case GGUF_TYPE.BOOL:
        out = v.getUint8(at) !== 0;
        break;
      case GGUF_TYPE.UINT64:
        out = v.getBigUint64(at, this.le);
        break;
      case GGUF_TYPE.INT64:
        out = v.getBigInt64(at, this.le);
        break;
      default:
        out = v.getFloat64(at, this.le);
        break;
    }
    this.pos += GGUF_TYPE_SIZE[type] ?? 0;
    return out;
  }

  /** Decodes `n` bytes at `pos` as UTF-8 (lenient: loaders do not validate) and advances. */
  text(n: number): string {
    const at = this.#at();
    const s = Buffer.from(this.#buf.buffer, this.#buf.byteOffset + at, n).toString("utf8");
    this.pos += n;
    return s;
  }
}
