/** A tiny writer of torch.File binary streams for tests (File.lua's writeObject layout). */
export class T7 {
  readonly #parts: Buffer[] = [];
  #id = 0;

  int(v: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    this.#parts.push(b);
    return this;
  }
  long(v: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64LE(v);
    this.#parts.push(b);
    return this;
  }
  raw(b: Uint8Array | string): this {
    this.#parts.push(typeof b === "string" ? Buffer.from(b, "latin1") : Buffer.from(b));
    return this;
  }
  str(s: string): this {
    return this.int(Buffer.byteLength(s, "latin1")).raw(s);
  }
  string(s: string): this {
    return this.int(2).str(s);
  }
  number(v: number): this {
    const b = Buffer.alloc(8);
    b.writeDoubleLE(v);
    this.int(1);
    this.#parts.push(b);
    return this;
  }
  /** TABLE header (the caller writes `size` key/value pairs). */
  table(size: number): this {
    return this.int(3)
      .int(++this.#id)
      .int(size);
  }
  /** TORCH header with a version string and class name (the caller writes the body). */
  torch(cls: string): this {
    return this.int(4)
      .int(++this.#id)
      .str("V 1")
      .str(cls);
  }
  /** A FloatTensor of n elements with its storage. */
  floatTensor(n: number): this {
    this.torch("torch.FloatTensor").int(1).long(BigInt(n)).long(1n).long(1n);
    this.torch("torch.FloatStorage").long(BigInt(n));
    return this.raw(new Uint8Array(4 * n));
  }
  /** A RECUR_FUNCTION with a dump and an empty upvalue table. */
  fn(dump: Uint8Array | string): this {
    const d = typeof dump === "string" ? Buffer.from(dump, "latin1") : Buffer.from(dump);
    this.int(8)
      .int(++this.#id)
      .int(d.length)
      .raw(d);
    return this.table(0);
  }
  bytes(): Uint8Array {
    return new Uint8Array(Buffer.concat(this.#parts));
  }
}

/** A Lua 5.1 bytecode header followed by some constants' text. */
export const LUA_DUMP = "\x1bLuaQ\x00\x01\x04\x08\x04\x08\x00\x04os\x00\x08execute\x00";
