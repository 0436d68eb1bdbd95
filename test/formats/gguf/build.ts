/**
 * A GGUF writer for tests, from the spec: versions 1–3, either byte order, with hooks to break it.
 */
import { GGML_TYPES } from "../../../src/formats/gguf/types.js";

/** GGUF value type ids. */
export const T = {
  u8: 0,
  i8: 1,
  u16: 2,
  i16: 3,
  u32: 4,
  i32: 5,
  f32: 6,
  bool: 7,
  str: 8,
  arr: 9,
  u64: 10,
  i64: 11,
  f64: 12,
} as const;

type Scalar = number | bigint | boolean | string;

/** An array value. */
export interface ArrayValue {
  readonly arrayType: number;
  readonly items: readonly Scalar[];
}

class Bytes {
  readonly parts: Uint8Array[] = [];
  length = 0;

  constructor(readonly le: boolean) {}

  push(b: Uint8Array): this {
    this.parts.push(b);
    this.length += b.length;
    return this;
  }

  num(type: number, v: Scalar): this {
    const size = [1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8][type] ?? 0;
    const b = new Uint8Array(size);
    const d = new DataView(b.buffer);
    const le = this.le;
    switch (type) {
      case T.u8:
      case T.bool:
        d.setUint8(0, Number(v));
        break;
      case T.i8:
        d.setInt8(0, Number(v));
        break;
      case T.u16:
        d.setUint16(0, Number(v), le);
        break;
      case T.i16:
        d.setInt16(0, Number(v), le);
        break;
      case T.u32:
        d.setUint32(0, Number(v), le);
        break;
      case T.i32:
        d.setInt32(0, Number(v), le);
        break;
      case T.f32:
        d.setFloat32(0, Number(v), le);
        break;
      case T.u64:
        d.setBigUint64(0, BigInt(v), le);
        break;
      case T.i64:
        d.setBigInt64(0, BigInt(v), le);
        break;
      case T.f64:
        d.setFloat64(0, Number(v), le);
        break;
      default:
        throw new Error(`not a scalar type ${type}`);
    }
    return this.push(b);
  }

  concat(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

interface TensorSpec {
  name: string;
  dims: readonly (number | bigint)[];
  type: number;
  offset?: bigint;
  write: boolean;
}

/** Builds GGUF files. */
export class GgufBuilder {
  readonly version: number;
  readonly le: boolean;
  readonly alignment: number;
  readonly #kvs: Uint8Array[] = [];
  readonly #tensors: TensorSpec[] = [];

  constructor(options: { version?: number; le?: boolean; alignment?: number } = {}) {
    this.version = options.version ?? 3;
    this.le = options.le ?? true;
    this.alignment = options.alignment ?? 32;
  }

  #len(b: Bytes, n: number | bigint): void {
    if (this.version === 1) b.num(T.u32, Number(n));
    else b.num(T.u64, BigInt(n));
  }

  #str(b: Bytes, s: string | Uint8Array): void {
    const raw = typeof s === "string" ? new TextEncoder().encode(s) : s;
    this.#len(b, raw.length);
    b.push(raw);
  }

  #value(b: Bytes, type: number, v: Scalar | ArrayValue): void {
    if (type === T.str) this.#str(b, String(v));
    else if (type === T.arr) {
      const a = v as ArrayValue;
      b.num(T.u32, a.arrayType);
      this.#len(b, a.items.length);
      for (const item of a.items) this.#value(b, a.arrayType, item);
    } else b.num(type, v as Scalar);
  }

  /** Adds a key/value. */
  kv(key: string, type: number, value: Scalar | ArrayValue): this {
    const b = new Bytes(this.le);
    this.#str(b, key);
    b.num(T.u32, type);
    this.#value(b, type, value);
    this.#kvs.push(b.concat());
    return this;
  }

  /** Adds raw key/value bytes (to break things). */
  rawKv(
    build: (b: { str: (s: string) => void; u32: (n: number) => void; len: (n: number | bigint) => void }) => void,
  ): this {
    const b = new Bytes(this.le);
    build({ str: (s) => this.#str(b, s), u32: (n) => b.num(T.u32, n), len: (n) => this.#len(b, n) });
    this.#kvs.push(b.concat());
    return this;
  }

  /** Adds a tensor; its data is zeros of the right size unless `write` is false. */
  tensor(
    name: string,
    dims: readonly (number | bigint)[],
    type = 0,
    options: { offset?: bigint; write?: boolean } = {},
  ): this {
    this.#tensors.push({
      name,
      dims,
      type,
      write: options.write ?? true,
      ...(options.offset === undefined ? {} : { offset: options.offset }),
    });
    return this;
  }

  /** Bytes of one tensor's data. */
  static byteSize(dims: readonly (number | bigint)[], type: number): number {
    const t = GGML_TYPES.get(type) ?? { blockSize: 1, typeSize: 4 };
    const n = dims.reduce<number>((a, d) => a * Number(d), 1);
    return (n / t.blockSize) * t.typeSize;
  }

  /** The file. */
  build(options: { tensorCount?: bigint; kvCount?: bigint; trailing?: Uint8Array } = {}): Uint8Array {
    const b = new Bytes(this.le);
    b.push(new TextEncoder().encode("GGUF"));
    b.num(T.u32, this.version);
    this.#len(b, options.tensorCount ?? BigInt(this.#tensors.length));
    this.#len(b, options.kvCount ?? BigInt(this.#kvs.length));
    for (const kv of this.#kvs) b.push(kv);
    let cursor = 0n;
    const data = new Bytes(this.le);
    const pad = (n: number) => (this.alignment - (n % this.alignment)) % this.alignment;
    for (const t of this.#tensors) {
      this.#str(b, t.name);
      b.num(T.u32, t.dims.length);
      for (const d of t.dims) {
        if (this.version === 1) b.num(T.u32, Number(d));
        else b.num(T.u64, BigInt(d));
      }
      b.num(T.u32, t.type);
      b.num(T.u64, t.offset ?? cursor);
      if (t.offset === undefined && t.write) {
        const size = GgufBuilder.byteSize(t.dims, t.type);
        data.push(new Uint8Array(size + pad(size)));
        cursor = BigInt(data.length);
      }
    }
    if (this.#tensors.length > 0) b.push(new Uint8Array(pad(b.length)));
    b.push(data.concat());
    if (options.trailing !== undefined) b.push(options.trailing);
    return b.concat();
  }
}
