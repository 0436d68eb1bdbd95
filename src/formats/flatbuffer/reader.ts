/**
 * A small strict FlatBuffers table reader for hostile input (TFLite models, ExecuTorch programs).
 *
 * Why hand-written: the `flatbuffers` npm runtime (its `ByteBuffer` and generated accessors) trusts
 * the buffer. It follows offsets without checking that they stay inside the bytes (a hostile
 * offset ends in a `RangeError` from `DataView`, or silently reads `undefined` from a typed
 * array), takes vector lengths at face value (a vector claiming 2^31 elements is iterated), does
 * not validate vtables (size, evenness, fields past the table) and has no depth or table budget.
 * The C++ `Verifier` does those checks, but it is not part of the JavaScript runtime, and
 * TFLite's `BuildFromFile` does not run it anyway. This reader implements only the wire format
 * (facts from the FlatBuffers specification: root `uoffset` at byte 0, optional 4-byte file
 * identifier at bytes 4–8, tables with an `soffset` to their vtable, vtables of `u16` sizes and
 * field offsets, forward `uoffset`s to tables, vectors and strings, vectors and strings prefixed by
 * a `u32` length, strings NUL-terminated) and checks every offset and length against the buffer
 * before it reads.
 *
 * Errors: a structure a loader would read out of bounds (an offset or a length past the end, a
 * vtable that is too small or odd-sized, a string without its terminator, a union whose value is
 * missing) is `MALFORMED`; the reader's budgets (depth, tables visited, elements iterated) are
 * `BUDGET_EXCEEDED`. What a loader still accepts but a writer never produces (misaligned tables,
 * vectors or scalars, a field outside its table's inline size) is recorded as an
 * {@link FlatbufferAnomaly} and the reading goes on.
 *
 * The bytes come from a {@link FlatBytes}: a whole `Uint8Array` ({@link ArrayBytes}) or a sparse
 * page cache over a large file (`./paged.ts`), which throws {@link MissingBytes} for a page it does
 * not hold yet; the walker is then re-run once the page is loaded. The reader never catches it.
 * @module
 */
import { charCodes } from "../../core/arrays.js";
import { ModelgateError } from "../../core/errors.js";

/** Random access to the flatbuffer's bytes; callers check bounds before they read. */
export interface FlatBytes {
  /** Size of the flatbuffer region in bytes. */
  readonly size: number;
  /** Unsigned byte at `offset`. */
  u8(offset: number): number;
  /**
   * The bytes `[offset, offset + length)` (a view or a copy; callers keep `length` small).
   * @param offset - start
   * @param length - count
   */
  bytes(offset: number, length: number): Uint8Array;
  /**
   * Makes sure the given ranges are available, throwing one {@link MissingBytes} for all of them
   * when some are not (so that a vector of tables costs one reload, not one per element).
   */
  prefetch?(ranges: readonly (readonly [number, number])[]): void;
}

/** Thrown by a sparse {@link FlatBytes} for bytes it does not hold yet (not a `ModelgateError`). */
export class MissingBytes extends Error {
  /** The ranges `[offset, length]` to load. */
  readonly ranges: readonly (readonly [number, number])[];
  /** @param ranges - what is missing */
  constructor(ranges: readonly (readonly [number, number])[]) {
    super("bytes not loaded yet");
    this.name = "MissingBytes";
    this.ranges = ranges;
  }
}

/** A {@link FlatBytes} over bytes in memory. */
export class ArrayBytes implements FlatBytes {
  readonly size: number;
  readonly #b: Uint8Array;
  /** @param bytes - the flatbuffer */
  constructor(bytes: Uint8Array) {
    this.#b = bytes;
    this.size = bytes.length;
  }
  /** @inheritdoc */
  u8(offset: number): number {
    return this.#b[offset] ?? 0;
  }
  /** @inheritdoc */
  bytes(offset: number, length: number): Uint8Array {
    return this.#b.subarray(offset, offset + length);
  }
}

/** What a loader accepts but no writer produces. */
export interface FlatbufferAnomaly {
  /** Kind, stable for evidence. */
  readonly kind: "misaligned" | "field-outside-table" | "vtable-misaligned" | "union-without-value";
  /** Where. */
  readonly offset: number;
  /** One line. */
  readonly message: string;
}

/** Budgets of one reading. */
export interface FlatbufferBudgets {
  /** Deepest nesting of tables (the C++ Verifier's default is 64). */
  readonly maxDepth: number;
  /** Tables visited in all (the C++ Verifier's default is 1,000,000). */
  readonly maxTables: number;
  /** Elements of vectors iterated in all. */
  readonly maxElements: number;
  /** Bytes of one string decoded (longer strings are cut, with `…`). */
  readonly maxStringBytes: number;
}

/** Default budgets. */
export const DEFAULT_FLATBUFFER_BUDGETS: Readonly<FlatbufferBudgets> = Object.freeze({
  maxDepth: 64,
  maxTables: 1_000_000,
  maxElements: 20_000_000,
  maxStringBytes: 4096,
});

/** Anomalies kept (the rest are counted). */
const MAX_ANOMALIES = 100;

const utf8 = new TextDecoder("utf-8", { fatal: false });

/** A vector located in the buffer: its elements start at `start`. */
export interface VectorRef {
  /** Offset of the `u32` length. */
  readonly offset: number;
  /** Offset of the first element. */
  readonly start: number;
  /** Element count (validated: the elements lie inside the buffer). */
  readonly length: number;
}

/**
 * The reader: the buffer, its budgets, the counters they apply to and the anomalies found.
 * One instance per walk (a re-run after {@link MissingBytes} starts a new one).
 */
export class FlatbufferReader {
  readonly bytes: FlatBytes;
  readonly size: number;
  readonly budgets: FlatbufferBudgets;
  /** Anomalies, at most 100 kept. */
  readonly anomalies: FlatbufferAnomaly[] = [];
  /** Anomalies found in all. */
  anomalyCount = 0;
  /** Tables visited so far. */
  tables = 0;
  /** Vector elements iterated so far. */
  elements = 0;
  readonly #checkpoint: (() => void) | undefined;

  /**
   * @param bytes - the flatbuffer region
   * @param budgets - budgets (defaults: {@link DEFAULT_FLATBUFFER_BUDGETS})
   * @param checkpoint - called every few thousand tables (abort and time budget)
   */
  constructor(bytes: FlatBytes, budgets: Partial<FlatbufferBudgets> = {}, checkpoint?: () => void) {
    this.bytes = bytes;
    this.size = bytes.size;
    this.budgets = { ...DEFAULT_FLATBUFFER_BUDGETS, ...budgets };
    this.#checkpoint = checkpoint;
  }

  /** Records an anomaly (capped). */
  anomaly(kind: FlatbufferAnomaly["kind"], offset: number, message: string): void {
    this.anomalyCount++;
    if (this.anomalies.length < MAX_ANOMALIES) this.anomalies.push({ kind, offset, message });
  }

  /** Throws `MALFORMED` unless `[offset, offset + length)` lies inside the buffer. */
  need(offset: number, length: number, what: string): void {
    if (!Number.isSafeInteger(offset) || offset < 0 || length < 0 || offset + length > this.size) {
      throw new ModelgateError(
        "MALFORMED",
        `${what} at offset ${offset} (${length} bytes) lies outside the ${this.size}-byte flatbuffer`,
        { offset: Number.isSafeInteger(offset) && offset >= 0 ? offset : 0 },
      );
    }
  }

  /** Unsigned 16-bit little-endian (bounds-checked). */
  u16(offset: number): number {
    this.need(offset, 2, "u16");
    return this.bytes.u8(offset) | (this.bytes.u8(offset + 1) << 8);
  }
  /** Unsigned 32-bit little-endian (bounds-checked). */
  u32(offset: number): number {
    this.need(offset, 4, "u32");
    const b = this.bytes;
    return (b.u8(offset) | (b.u8(offset + 1) << 8) | (b.u8(offset + 2) << 16) | (b.u8(offset + 3) << 24)) >>> 0;
  }
  /** Signed 32-bit little-endian (bounds-checked). */
  i32(offset: number): number {
    return this.u32(offset) | 0;
  }
  /** Unsigned 64-bit little-endian as a number (exact below 2^53, else `Infinity`). */
  u64(offset: number): number {
    const lo = this.u32(offset);
    const hi = this.u32(offset + 4);
    return hi >= 0x200000 ? Number.POSITIVE_INFINITY : hi * 0x1_0000_0000 + lo;
  }

  /** The 4-character file identifier at bytes 4–8 (empty when the buffer is shorter). */
  identifier(): string {
    if (this.size < 8) return "";
    return charCodes(this.bytes.bytes(4, 4));
  }

  /** The root table (its `uoffset` at byte 0). */
  root(): Table {
    const at = this.u32(0);
    if (at < 4) throw new ModelgateError("MALFORMED", `root table offset ${at} points into the header`, { offset: 0 });
    return this.table(at, 0);
  }

  /**
   * Follows the `uoffset` stored at `at` (forward, unsigned).
   * @param at - where the offset is stored
   * @param what - for messages
   */
  follow(at: number, what: string): number {
    const rel = this.u32(at);
    const target = at + rel;
    if (rel === 0) throw new ModelgateError("MALFORMED", `${what}: offset at ${at} points to itself`, { offset: at });
    this.need(target, 4, what);
    return target;
  }

  /**
   * The table starting at `pos` (validates its vtable).
   * @param pos - table start
   * @param depth - nesting depth
   */
  table(pos: number, depth: number): Table {
    if (depth > this.budgets.maxDepth) {
      throw new ModelgateError("BUDGET_EXCEEDED", `flatbuffer tables nested deeper than ${this.budgets.maxDepth}`, {
        offset: pos,
        budget: "flatbuffer.maxDepth",
      });
    }
    if (++this.tables > this.budgets.maxTables) {
      throw new ModelgateError("BUDGET_EXCEEDED", `more than ${this.budgets.maxTables} flatbuffer tables`, {
        offset: pos,
        budget: "flatbuffer.maxTables",
      });
    }
    if ((this.tables & 0x3fff) === 0) this.#checkpoint?.();
    this.need(pos, 4, "table");
    if (pos % 4 !== 0) this.anomaly("misaligned", pos, `table at ${pos} is not 4-byte aligned`);
    const vt = pos - this.i32(pos);
    if (!Number.isSafeInteger(vt) || vt < 0 || vt + 4 > this.size) {
      throw new ModelgateError("MALFORMED", `the vtable of the table at ${pos} lies outside the buffer (at ${vt})`, {
        offset: pos,
      });
    }
    if (vt % 2 !== 0) this.anomaly("vtable-misaligned", vt, `vtable at ${vt} is not 2-byte aligned`);
    const vtSize = this.u16(vt);
    const inline = this.u16(vt + 2);
    if (vtSize < 4 || vtSize % 2 !== 0) {
      throw new ModelgateError("MALFORMED", `vtable at ${vt} has an invalid size ${vtSize}`, { offset: vt });
    }
    this.need(vt, vtSize, "vtable");
    if (inline < 4) {
      throw new ModelgateError("MALFORMED", `table at ${pos} declares an inline size of ${inline} bytes`, {
        offset: vt,
      });
    }
    this.need(pos, inline, "table inline data");
    return new Table(this, pos, vt, vtSize, inline, depth);
  }

  /**
   * The vector whose `uoffset` is stored at `at`.
   * @param at - where the offset is stored
   * @param elementSize - bytes per element
   * @param what - for messages
   */
  vectorAt(at: number, elementSize: number, what: string): VectorRef {
    const offset = this.follow(at, what);
    if (offset % 4 !== 0) this.anomaly("misaligned", offset, `${what}: vector length at ${offset} is not aligned`);
    const length = this.u32(offset);
    const start = offset + 4;
    if (length > (this.size - start) / elementSize) {
      throw new ModelgateError(
        "MALFORMED",
        `${what}: vector at ${offset} claims ${length} elements of ${elementSize} bytes, more than the ${this.size - start} bytes left`,
        { offset },
      );
    }
    return { offset, start, length };
  }

  /** Charges `n` iterated elements against the budget. */
  charge(n: number, at: number): void {
    this.elements += n;
    if (this.elements > this.budgets.maxElements) {
      throw new ModelgateError("BUDGET_EXCEEDED", `more than ${this.budgets.maxElements} flatbuffer vector elements`, {
        offset: at,
        budget: "flatbuffer.maxElements",
      });
    }
  }

  /**
   * The string whose `uoffset` is stored at `at` (cut at `maxStringBytes`).
   * @param at - where the offset is stored
   * @param what - for messages
   */
  stringAt(at: number, what: string): string {
    const v = this.vectorAt(at, 1, what);
    this.need(v.start + v.length, 1, `${what} terminator`);
    if (this.bytes.u8(v.start + v.length) !== 0) {
      throw new ModelgateError("MALFORMED", `${what}: string at ${v.offset} is not NUL-terminated`, {
        offset: v.offset,
      });
    }
    const n = Math.min(v.length, this.budgets.maxStringBytes);
    const text = utf8.decode(this.bytes.bytes(v.start, n));
    return n < v.length ? `${text}…` : text;
  }
}

/** A validated table: typed access to its fields by index (the order of the schema). */
export class Table {
  readonly reader: FlatbufferReader;
  /** Table start. */
  readonly pos: number;
  /** Nesting depth. */
  readonly depth: number;
  readonly #vt: number;
  readonly #vtSize: number;
  /** Declared inline size of the table. */
  readonly inlineSize: number;

  /** Made by {@link FlatbufferReader.table}. */
  constructor(reader: FlatbufferReader, pos: number, vt: number, vtSize: number, inline: number, depth: number) {
    this.reader = reader;
    this.pos = pos;
    this.#vt = vt;
    this.#vtSize = vtSize;
    this.inlineSize = inline;
    this.depth = depth;
  }

  /**
   * Where field `index` is stored, or undefined when absent. A field past the buffer is
   * `MALFORMED`; one overlapping the table's own `soffset` is an anomaly. A field past the table's
   * declared inline size is not: the C++ verifier does not check it, and the Python builder
   * writes such tables (it shares vtables whose field offsets match without comparing the inline
   * size).
   */
  field(index: number, size: number): number | undefined {
    const slot = 4 + 2 * index;
    if (slot + 2 > this.#vtSize) return undefined;
    const rel = this.reader.u16(this.#vt + slot);
    if (rel === 0) return undefined;
    const at = this.pos + rel;
    this.reader.need(at, size, `field ${index} of the table at ${this.pos}`);
    if (rel < 4) {
      this.reader.anomaly(
        "field-outside-table",
        at,
        `field ${index} of the table at ${this.pos} overlaps its vtable offset`,
      );
    }
    if (size > 1 && at % Math.min(size, 8) !== 0) {
      this.reader.anomaly("misaligned", at, `field ${index} of the table at ${this.pos} is not aligned`);
    }
    return at;
  }

  /** Whether field `index` is present. */
  has(index: number): boolean {
    const slot = 4 + 2 * index;
    return slot + 2 <= this.#vtSize && this.reader.u16(this.#vt + slot) !== 0;
  }

  /** Unsigned byte field (also `bool` and `byte` enums). */
  u8(index: number, fallback = 0): number {
    const at = this.field(index, 1);
    return at === undefined ? fallback : this.reader.bytes.u8(at);
  }
  /** Signed byte field. */
  i8(index: number, fallback = 0): number {
    const v = this.u8(index, fallback & 0xff);
    return v >= 0x80 ? v - 0x100 : v;
  }
  /** Unsigned 32-bit field. */
  u32(index: number, fallback = 0): number {
    const at = this.field(index, 4);
    return at === undefined ? fallback : this.reader.u32(at);
  }
  /** Signed 32-bit field. */
  i32(index: number, fallback = 0): number {
    const at = this.field(index, 4);
    return at === undefined ? fallback : this.reader.i32(at);
  }
  /** Unsigned 64-bit field as a number (`Infinity` from 2^53). */
  u64(index: number, fallback = 0): number {
    const at = this.field(index, 8);
    return at === undefined ? fallback : this.reader.u64(at);
  }
  /** String field, or undefined when absent. */
  string(index: number, what = `string field ${index}`): string | undefined {
    const at = this.field(index, 4);
    return at === undefined ? undefined : this.reader.stringAt(at, what);
  }
  /** Sub-table field, or undefined when absent. */
  table(index: number, what = `table field ${index}`): Table | undefined {
    const at = this.field(index, 4);
    return at === undefined ? undefined : this.reader.table(this.reader.follow(at, what), this.depth + 1);
  }
  /** Vector field of scalars or structs, or undefined when absent. */
  vector(index: number, elementSize: number, what = `vector field ${index}`): VectorRef | undefined {
    const at = this.field(index, 4);
    return at === undefined ? undefined : this.reader.vectorAt(at, elementSize, what);
  }
  /** Length of a vector field (0 when absent). */
  length(index: number, elementSize: number): number {
    return this.vector(index, elementSize)?.length ?? 0;
  }
  /**
   * The `i32` elements of a vector field, at most `max` of them (the budget is charged for those).
   */
  i32s(index: number, max = 1 << 16, what?: string): { values: number[]; length: number } {
    const v = this.vector(index, 4, what);
    if (v === undefined) return { values: [], length: 0 };
    const n = Math.min(v.length, max);
    this.reader.charge(n, v.offset);
    const values: number[] = [];
    for (let i = 0; i < n; i++) values.push(this.reader.i32(v.start + 4 * i));
    return { values, length: v.length };
  }
  /**
   * Iterates the tables of a vector-of-tables field, calling `visit` for each (in order). Each
   * element is charged against the elements budget and each table against the tables budget.
   * @param index - field index
   * @param visit - called with each table and its index
   * @param what - for messages
   * @returns the vector's length (0 when absent)
   */
  tables(index: number, visit: (t: Table, i: number) => void, what = `tables field ${index}`): number {
    const v = this.vector(index, 4, what);
    if (v === undefined) return 0;
    this.reader.charge(v.length, v.offset);
    const r = this.reader;
    if (r.bytes.prefetch !== undefined && v.length > 1) {
      const ranges: [number, number][] = [];
      for (let i = 0; i < v.length; i++) {
        const at = v.start + 4 * i;
        const target = at + r.u32(at);
        if (target + 4 <= r.size) ranges.push([target, 8]);
      }
      r.bytes.prefetch(ranges);
    }
    for (let i = 0; i < v.length; i++) visit(r.table(r.follow(v.start + 4 * i, `${what}[${i}]`), this.depth + 1), i);
    return v.length;
  }
  /**
   * A union: its type byte (field `index`) and its value table (field `index + 1`), or undefined
   * when the type is NONE (0). A non-zero type without a value is an anomaly (the C++ verifier
   * accepts it and accessors return null), and the type is returned without a value.
   */
  union(index: number, what = `union field ${index}`): { type: number; value: Table | undefined } | undefined {
    const type = this.u8(index);
    if (type === 0) return undefined;
    const value = this.table(index + 1, what);
    if (value === undefined) {
      this.reader.anomaly("union-without-value", this.pos, `${what}: union type ${type} without a value`);
    }
    return { type, value };
  }
}
