/**
 * A bounded UBJSON reader (Universal Binary JSON, draft 12, as XGBoost writes `.ubj` models):
 * big-endian numbers, keys as a length then bytes, optimised containers (`$` type, `#` count).
 * Objects become null-prototype records and typed numeric arrays typed arrays, so the values look
 * like what the strict JSON parser returns for `.json` models and one validator reads both.
 * Every value is charged to a budget, nesting to a depth budget, and a count or length is checked
 * against the bytes left before anything is allocated.
 * @module
 */
import type { ByteSource } from "../../core/byte-source.js";
import { ModelgateError } from "../../core/errors.js";
import { Cursor } from "../msgpack/cursor.js";

/** Budgets of {@link readUbjson}. */
export interface UbjsonOptions {
  /** Values in all (default 20,000,000; elements of typed arrays count). */
  readonly maxValues?: number;
  /** Nesting (default 64). */
  readonly maxDepth?: number;
  /** Longest string kept, in bytes (default 16 MiB). */
  readonly maxStringBytes?: number;
  /** Called every 65,536 values. */
  readonly checkpoint?: () => void;
  /** The first bytes, already read. */
  readonly head?: Uint8Array;
}

const malformed = (message: string, offset: number): ModelgateError =>
  new ModelgateError("MALFORMED", message, { offset });

/** Bytes of the fixed-size value types. */
const SIZES: Readonly<Record<string, number>> = { i: 1, U: 1, I: 2, l: 4, L: 8, d: 4, D: 8, C: 1 };

/**
 * Reads one UBJSON value spanning the whole source.
 * @throws ModelgateError `MALFORMED`/`TRUNCATED` for bad input, `BUDGET_EXCEEDED` past a budget
 */
export async function readUbjson(source: ByteSource, options: UbjsonOptions = {}): Promise<unknown> {
  const r = new UbjReader(new Cursor(source, 0, source.size, options.head), options);
  const value = await r.value(await r.marker(), 0);
  if (r.cursor.pos !== source.size)
    throw malformed(`${source.size - r.cursor.pos} bytes after the UBJSON value`, r.cursor.pos);
  return value;
}

class UbjReader {
  readonly cursor: Cursor;
  #values = 0;
  readonly #maxValues: number;
  readonly #maxDepth: number;
  readonly #maxString: number;
  readonly #checkpoint: (() => void) | undefined;
  readonly #utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

  constructor(cursor: Cursor, options: UbjsonOptions) {
    this.cursor = cursor;
    this.#maxValues = options.maxValues ?? 20_000_000;
    this.#maxDepth = options.maxDepth ?? 64;
    this.#maxString = options.maxStringBytes ?? 16 * 1024 * 1024;
    this.#checkpoint = options.checkpoint;
  }

  #charge(n: number): void {
    const before = this.#values;
    this.#values += n;
    if (this.#values > this.#maxValues) {
      throw new ModelgateError("BUDGET_EXCEEDED", `more than ${this.#maxValues} UBJSON values`, {
        offset: this.cursor.pos,
        budget: "ubjsonValues",
      });
    }
    if (before >>> 16 !== this.#values >>> 16) this.#checkpoint?.();
  }

  /** The next marker, skipping no-ops. */
  async marker(): Promise<string> {
    for (;;) {
      await this.cursor.need(1);
      const m = String.fromCharCode(this.cursor.u8());
      if (m !== "N") return m;
    }
  }

  async #int(m: string): Promise<number> {
    const c = this.cursor;
    const at = c.pos;
    const size = SIZES[m];
    if (size === undefined || m === "d" || m === "D" || m === "C")
      throw malformed(`expected an integer marker, got ${JSON.stringify(m)}`, at);
    await c.need(size);
    const b = c.bytes(size);
    let v = 0n;
    for (const x of b) v = (v << 8n) | BigInt(x);
    if (m !== "U") v = BigInt.asIntN(size * 8, v);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw malformed(`integer ${v} out of range`, at);
    }
    return Number(v);
  }

  async #length(): Promise<number> {
    const at = this.cursor.pos;
    const n = await this.#int(await this.marker());
    if (n < 0) throw malformed(`negative length ${n}`, at);
    return n;
  }

  async #string(): Promise<string> {
    const at = this.cursor.pos;
    const n = await this.#length();
    if (n > this.cursor.remaining) {
      throw new ModelgateError("TRUNCATED", `string of ${n} bytes at ${at}, ${this.cursor.remaining} left`, {
        offset: at,
      });
    }
    if (n > this.#maxString) {
      throw new ModelgateError("BUDGET_EXCEEDED", `string of ${n} bytes at ${at}`, {
        offset: at,
        budget: "ubjsonString",
      });
    }
    await this.cursor.need(n);
    try {
      return this.#utf8.decode(this.cursor.bytes(n));
    } catch {
      throw malformed(`string at ${at} is not UTF-8`, at);
    }
  }

  async value(m: string, depth: number): Promise<unknown> {
    this.#charge(1);
    const c = this.cursor;
    const at = c.pos - 1;
    switch (m) {
      case "Z":
        return null;
      case "T":
        return true;
      case "F":
        return false;
      case "i":
      case "U":
      case "I":
      case "l":
      case "L":
        return this.#int(m);
      case "d":
        await c.need(4);
        return new DataView(c.bytes(4).slice().buffer).getFloat32(0, false);
      case "D":
        await c.need(8);
        return new DataView(c.bytes(8).slice().buffer).getFloat64(0, false);
      case "C":
        await c.need(1);
        return String.fromCharCode(c.u8());
      case "S":
        return this.#string();
      case "H": {
        const text = await this.#string();
        if (!/^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/.test(text))
          throw malformed(`bad high-precision number`, at);
        return Number(text);
      }
      case "[":
        return this.#array(depth, at);
      case "{":
        return this.#object(depth, at);
      default:
        throw malformed(`unknown UBJSON marker ${JSON.stringify(m)} at ${at}`, at);
    }
  }

  #enter(depth: number, at: number): void {
    if (depth >= this.#maxDepth) {
      throw new ModelgateError("BUDGET_EXCEEDED", `UBJSON nested deeper than ${this.#maxDepth}`, {
        offset: at,
        budget: "ubjsonDepth",
      });
    }
  }

  /** The optimised-container header: `$type` and/or `#count`; returns the marker after it otherwise. */
  async #header(): Promise<{ type?: string; count?: number; next?: string }> {
    let m = await this.marker();
    let type: string | undefined;
    if (m === "$") {
      await this.cursor.need(1);
      type = String.fromCharCode(this.cursor.u8());
      m = await this.marker();
      if (m !== "#") throw malformed("typed container without a count", this.cursor.pos - 1);
    }
    if (m === "#") {
      const count = await this.#length();
      return type === undefined ? { count } : { type, count };
    }
    return { next: m };
  }

  async #array(depth: number, at: number): Promise<unknown> {
    this.#enter(depth, at);
    const h = await this.#header();
    const c = this.cursor;
    if (h.count !== undefined) {
      const size = h.type === undefined ? 1 : (SIZES[h.type] ?? (["Z", "T", "F"].includes(h.type) ? 0 : 1));
      if (h.count * Math.max(size, h.type === undefined ? 1 : 0) > c.remaining) {
        throw new ModelgateError(
          "TRUNCATED",
          `array at ${at} declares ${h.count} elements, ${c.remaining} bytes left`,
          {
            offset: at,
          },
        );
      }
      if (h.type !== undefined && SIZES[h.type] !== undefined && h.type !== "C") return this.#typed(h.type, h.count);
      if (h.type !== undefined && ["Z", "T", "F"].includes(h.type) && h.count > this.#maxValues) {
        throw new ModelgateError("BUDGET_EXCEEDED", `array of ${h.count} constants`, {
          offset: at,
          budget: "ubjsonValues",
        });
      }
      const out: unknown[] = [];
      for (let i = 0; i < h.count; i++) out.push(await this.value(h.type ?? (await this.marker()), depth + 1));
      return out;
    }
    const out: unknown[] = [];
    let m = h.next ?? (await this.marker());
    while (m !== "]") {
      out.push(await this.value(m, depth + 1));
      m = await this.marker();
    }
    return out;
  }

  /** A typed numeric array, read in chunks into a typed array (no per-element objects). */
  async #typed(type: string, count: number): Promise<ArrayLike<number>> {
    this.#charge(count);
    const size = SIZES[type]!;
    const c = this.cursor;
    const out =
      type === "d"
        ? new Float32Array(count)
        : type === "D" || type === "L"
          ? new Float64Array(count)
          : type === "l"
            ? new Int32Array(count)
            : type === "I"
              ? new Int16Array(count)
              : type === "i"
                ? new Int8Array(count)
                : new Uint8Array(count);
    let i = 0;
    while (i < count) {
      const n = Math.min(count - i, Math.floor((1 << 20) / size));
      await c.need(n * size);
      const bytes = c.bytes(n * size);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let k = 0; k < n; k++, i++) {
        const o = k * size;
        out[i] =
          type === "d"
            ? view.getFloat32(o, false)
            : type === "D"
              ? view.getFloat64(o, false)
              : type === "L"
                ? Number(view.getBigInt64(o, false))
                : type === "l"
                  ? view.getInt32(o, false)
                  : type === "I"
                    ? view.getInt16(o, false)
                    : type === "i"
                      ? view.getInt8(o)
                      : view.getUint8(o);
      }
      this.#checkpoint?.();
    }
    return out;
  }

  async #object(depth: number, at: number): Promise<unknown> {
    this.#enter(depth, at);
    const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    const h = await this.#header();
    const c = this.cursor;
    if (h.count !== undefined) {
      if (h.count * 2 > c.remaining) {
        throw new ModelgateError(
          "TRUNCATED",
          `object at ${at} declares ${h.count} entries, ${c.remaining} bytes left`,
          {
            offset: at,
          },
        );
      }
      for (let i = 0; i < h.count; i++) {
        const key = await this.#string();
        out[key] = await this.value(h.type ?? (await this.marker()), depth + 1);
      }
      return out;
    }
    // Keys are lengths without the S marker: the first "marker" read by #header is the key's length type.
    let m = h.next ?? (await this.marker());
    while (m !== "}") {
      const keyAt = c.pos - 1;
      const n = await this.#int(m);
      if (n < 0 || n > c.remaining) throw malformed(`bad key length ${n}`, keyAt);
      await c.need(n);
      let key: string;
      try {
        key = this.#utf8.decode(c.bytes(n));
      } catch {
        throw malformed(`key at ${keyAt} is not UTF-8`, keyAt);
      }
      out[key] = await this.value(await this.marker(), depth + 1);
      m = await this.marker();
    }
    return out;
  }
}
