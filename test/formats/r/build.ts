/**
 * Builds R serialization streams byte by byte, exactly as R Internals ("Serialization Formats")
 * describes them, for hostile and hand-made cases the R writer cannot produce.
 */

export const T = {
  SYM: 1,
  LIST: 2,
  CLO: 3,
  ENV: 4,
  PROM: 5,
  LANG: 6,
  CHAR: 9,
  INT: 13,
  REAL: 14,
  STR: 16,
  VEC: 19,
  EXTPTR: 22,
  ALTREP: 238,
  NAMESPACE: 249,
  GLOBALENV: 253,
  UNBOUND: 252,
  NIL: 254,
  REF: 255,
} as const;

export const HAS_ATTR = 1 << 9;
export const HAS_TAG = 1 << 10;
export const ACTIVE = 1 << 27; // ACTIVE_BINDING_MASK (1 << 15) in the levels (flags >> 12)

/** An XDR stream under construction. */
export class XdrBuilder {
  readonly bytes: number[] = [];

  int(v: number): this {
    this.bytes.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
    return this;
  }

  raw(...b: number[]): this {
    this.bytes.push(...b);
    return this;
  }

  /** A CHARSXP (ASCII). */
  char(s: string): this {
    this.int(T.CHAR | (64 << 12)).int(s.length);
    for (const c of s) this.bytes.push(c.charCodeAt(0));
    return this;
  }

  sym(name: string): this {
    return this.int(T.SYM).char(name);
  }

  nil(): this {
    return this.int(T.NIL);
  }

  /** A character vector. */
  str(...values: string[]): this {
    this.int(T.STR).int(values.length);
    for (const v of values) this.char(v);
    return this;
  }

  /** A call `fn(args...)`: each arg writes itself (tags: `[name, write]`). */
  call(fn: string, ...args: ((b: XdrBuilder) => void)[]): this {
    this.int(T.LANG).sym(fn);
    for (const arg of args) {
      this.int(T.LIST);
      arg(this);
    }
    return this.nil();
  }

  /** A reference to a package namespace (`namespace:stats`). */
  namespace(name: string, version = "4.2.2"): this {
    return this.int(T.NAMESPACE).int(0).int(2).char(name).char(version);
  }

  /** A closure of no arguments with this body, in the global environment (or `env`). */
  closure(body: (b: XdrBuilder) => void, env: (b: XdrBuilder) => void = (b) => b.int(T.GLOBALENV)): this {
    this.int(T.CLO | HAS_TAG);
    env(this);
    this.nil();
    body(this);
    return this;
  }

  /** An unforced promise of this expression, in the global environment. */
  promise(expr: (b: XdrBuilder) => void): this {
    this.int(T.PROM | HAS_TAG)
      .int(T.GLOBALENV)
      .int(T.UNBOUND);
    expr(this);
    return this;
  }

  /** The whole stream: `X\n`, version 3, written by R 4.2.2, UTF-8. */
  stream(version = 3): Uint8Array {
    const head = new XdrBuilder()
      .raw(0x58, 0x0a)
      .int(version)
      .int(0x040202)
      .int(version === 3 ? 0x030500 : 0x020300);
    if (version === 3) head.int(5).raw(..."UTF-8".split("").map((c) => c.charCodeAt(0)));
    return new Uint8Array([...head.bytes, ...this.bytes]);
  }
}

/** A fresh builder. */
export const xdr = (): XdrBuilder => new XdrBuilder();
