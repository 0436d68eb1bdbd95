/**
 * A streaming, schema-driven walker over the protobuf wire format.
 *
 * Model files that are protobufs (ONNX, TensorFlow SavedModel) can be gigabytes, almost all of it
 * tensor payloads in `bytes` fields. This walker reads a message tree straight from a
 * {@link ByteSource}: it descends only into the sub-messages a {@link MessageSpec} names, hands
 * strings and small leaf messages to a {@link WireVisitor}, and skips payload fields by offset
 * arithmetic, so a 2 GB initializer costs one header read. Small messages are read whole and
 * walked in memory with protobufjs's `Reader`; large ones are walked field by field.
 * @module
 */
import protobuf from "protobufjs/minimal.js";
import type { ByteSource } from "../../core/byte-source.js";
import { ModelgateError } from "../../core/errors.js";

const { Reader } = protobuf;
type ReaderT = InstanceType<typeof Reader>;

/** How the walker treats one field of a message. */
export type FieldSpec =
  /** A sub-message to descend into (length-delimited). */
  | { readonly kind: "message"; readonly spec: () => MessageSpec }
  /** A UTF-8 string, handed to the visitor; longer than `max` bytes is a budget error. */
  | { readonly kind: "string"; readonly max?: number }
  /** A small message or bytes value handed over whole (decode it with generated code). */
  | { readonly kind: "leaf"; readonly max?: number }
  /** An integer (varint, or packed varints when length-delimited). */
  | { readonly kind: "varint" }
  /** Payload: skipped without reading; the visitor learns its offset and length. */
  | { readonly kind: "blob" };

/** Which fields of a message the walker reads; unlisted fields are skipped. */
export interface MessageSpec {
  /** Message name, passed to the visitor. */
  readonly name: string;
  /** Field number → treatment. */
  readonly fields: Readonly<Record<number, FieldSpec>>;
  /**
   * Messages up to this many bytes are read whole and walked in memory (default 64 KiB).
   * Messages that can hold large payloads should keep this small so payloads are skipped unread.
   */
  readonly inlineMax?: number;
}

/** Receives what the walker finds. Offsets are absolute within the source. */
export interface WireVisitor {
  /** A message starts (its fields follow). */
  enter(message: string, field: number, offset: number, length: number, depth: number): void;
  /** A message ends. */
  exit(message: string): void;
  /** A string field. */
  string(message: string, field: number, value: string, offset: number): void;
  /** An integer field (one call per value; packed values are unpacked). */
  varint(message: string, field: number, value: number, offset: number): void;
  /** A leaf field, bytes still in protobuf encoding. */
  leaf(message: string, field: number, bytes: Uint8Array, offset: number): void;
  /** A skipped payload field. */
  blob(message: string, field: number, offset: number, length: number): void;
}

/** Budgets of one walk. */
export interface WalkBudgets {
  /** Maximum message nesting (the C++ protobuf runtime stops at 100). */
  maxDepth: number;
  /** Maximum fields visited in total (including skipped ones). */
  maxFields: number;
  /** Default maximum length of a string field. */
  maxString: number;
  /** Called every few thousand fields; may throw to stop (abort, timeout). */
  checkpoint?: () => void;
}

/** Default walk budgets. */
export const DEFAULT_WALK_BUDGETS: Readonly<WalkBudgets> = Object.freeze({
  maxDepth: 100,
  maxFields: 50_000_000,
  maxString: 1 << 20,
});

const HEADER_READ = 64 * 1024;
const DEFAULT_INLINE = 64 * 1024;
const CHECK_EVERY = 4096;
const utf8 = new TextDecoder("utf-8", { fatal: false });

/** Reads an unsigned varint of up to 64 bits as a number (exact below 2^53). */
function varint64(r: ReaderT): number {
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < 10; i++) {
    if (r.pos >= r.len) throw new RangeError("index out of range");
    const b = r.buf[r.pos++] as number;
    if (i < 4) lo |= (b & 0x7f) << (7 * i);
    else if (i === 4) {
      lo |= (b & 0x0f) << 28;
      hi |= (b & 0x7f) >>> 4;
    } else hi |= (b & 0x7f) << (7 * (i - 5) + 3);
    if (b < 0x80) {
      if ((hi & 0x8000_0000) === 0) return (hi >>> 0) * 0x1_0000_0000 + (lo >>> 0);
      // int32/int64 fields store negatives as 64-bit two's complement: negate the two halves exactly
      // (subtracting 2^64 from the rounded double would turn -1 into 0)
      const nlo = (~lo >>> 0) + 1;
      const nhi = (~hi >>> 0) + (nlo > 0xffff_ffff ? 1 : 0);
      return -((nhi >>> 0) * 0x1_0000_0000 + (nlo >>> 0));
    }
  }
  throw new RangeError("invalid varint encoding");
}

/**
 * Walks one protobuf message tree of a source.
 *
 * Throws `MALFORMED`/`TRUNCATED` for broken wire data and `BUDGET_EXCEEDED` when a budget is hit;
 * never a `RangeError`.
 */
export class WireWalker {
  readonly #source: ByteSource;
  readonly #visitor: WireVisitor;
  readonly #budgets: WalkBudgets;
  #buf: Uint8Array = new Uint8Array(0);
  #bufStart = 0;
  #fields = 0;
  #bytesRead = 0;

  /**
   * @param source - the bytes
   * @param visitor - receives the fields
   * @param budgets - limits of the walk
   */
  constructor(source: ByteSource, visitor: WireVisitor, budgets: Partial<WalkBudgets> = {}) {
    this.#source = source;
    this.#visitor = visitor;
    this.#budgets = { ...DEFAULT_WALK_BUDGETS, ...budgets };
  }

  /** Bytes read from the source so far. */
  get bytesRead(): number {
    return this.#bytesRead;
  }

  /** Fields visited so far. */
  get fieldsVisited(): number {
    return this.#fields;
  }

  /**
   * Walks the message `spec` occupying `[start, end)` of the source (by default the whole source).
   * @param spec - the root message
   * @param start - first byte
   * @param end - end, exclusive
   */
  async walk(spec: MessageSpec, start = 0, end = this.#source.size): Promise<void> {
    this.#visitor.enter(spec.name, 0, start, end - start, 0);
    await this.#walkRange(spec, start, end, 1);
    this.#visitor.exit(spec.name);
  }

  /** Makes `[offset, offset + length)` available in the window; reads `want` bytes if it must. */
  async #ensure(offset: number, length: number, want: number): Promise<void> {
    if (offset >= this.#bufStart && offset + length <= this.#bufStart + this.#buf.length) return;
    const n = Math.min(Math.max(length, want), this.#source.size - offset);
    if (n < length) {
      throw new ModelgateError("TRUNCATED", `protobuf field needs ${length} bytes at offset ${offset}`, { offset });
    }
    const bytes = await this.#source.read(offset, n);
    if (bytes.length < length) {
      throw new ModelgateError("TRUNCATED", `short read at offset ${offset}`, { offset });
    }
    this.#bytesRead += bytes.length;
    this.#buf = bytes;
    this.#bufStart = offset;
  }

  #count(offset: number): void {
    this.#fields++;
    if (this.#fields > this.#budgets.maxFields) {
      throw new ModelgateError("BUDGET_EXCEEDED", `more than ${this.#budgets.maxFields} protobuf fields`, {
        offset,
        budget: "protobuf.maxFields",
      });
    }
    if (this.#fields % CHECK_EVERY === 0) this.#budgets.checkpoint?.();
  }

  #depthCheck(depth: number, offset: number): void {
    if (depth > this.#budgets.maxDepth) {
      throw new ModelgateError("BUDGET_EXCEEDED", `protobuf messages nested deeper than ${this.#budgets.maxDepth}`, {
        offset,
        budget: "protobuf.maxDepth",
      });
    }
  }

  /** Walks the fields of a message in `[start, end)`: in memory when small, streamed otherwise. */
  async #walkRange(spec: MessageSpec, start: number, end: number, depth: number): Promise<void> {
    this.#depthCheck(depth, start);
    if (end - start <= (spec.inlineMax ?? DEFAULT_INLINE)) {
      await this.#ensure(start, end - start, HEADER_READ);
      const reader = new Reader(this.#buf);
      reader.pos = start - this.#bufStart;
      reader.len = end - this.#bufStart;
      this.#walkSync(reader, spec, depth);
      return;
    }
    let pos = start;
    while (pos < end) {
      await this.#ensure(pos, Math.min(20, end - pos), HEADER_READ);
      const reader = new Reader(this.#buf);
      reader.pos = pos - this.#bufStart;
      reader.len = Math.min(this.#buf.length, end - this.#bufStart);
      const tag = wrap(() => reader.tag(), pos);
      const field = tag >>> 3;
      const wireType = tag & 7;
      if (field === 0) throw malformed("field number 0", pos);
      this.#count(pos);
      const fieldSpec = spec.fields[field];
      if (wireType !== 2) {
        // Scalars and groups are small; walk them in memory from the window.
        if (wireType === 3 || wireType === 4) throw malformed("protobuf groups are not supported here", pos);
        if (wireType === 0 && fieldSpec?.kind === "varint") {
          const valueAt = reader.pos + this.#bufStart;
          const value = wrap(() => varint64(reader), valueAt);
          this.#visitor.varint(spec.name, field, value, valueAt);
        } else wrap(() => reader.skipType(wireType), pos);
        pos = reader.pos + this.#bufStart;
        continue;
      }
      const length = wrap(() => reader.size(), pos);
      const at = reader.pos + this.#bufStart;
      if (at + length > end) throw truncated(`field ${field} of ${spec.name} runs past its message`, pos);
      pos = at + length;
      await this.#lengthDelimited(spec, field, fieldSpec, at, length, depth);
    }
    if (pos !== end) throw malformed(`${spec.name} fields overrun the message end`, pos);
  }

  /** Handles a length-delimited field in streaming mode. */
  async #lengthDelimited(
    spec: MessageSpec,
    field: number,
    fieldSpec: FieldSpec | undefined,
    at: number,
    length: number,
    depth: number,
  ): Promise<void> {
    const v = this.#visitor;
    switch (fieldSpec?.kind) {
      case "message": {
        const child = fieldSpec.spec();
        v.enter(child.name, field, at, length, depth);
        await this.#walkRange(child, at, at + length, depth + 1);
        v.exit(child.name);
        return;
      }
      case "string":
      case "leaf": {
        this.#checkString(fieldSpec, spec, field, length, at);
        await this.#ensure(at, length, length);
        const bytes = this.#buf.subarray(at - this.#bufStart, at - this.#bufStart + length);
        if (fieldSpec.kind === "string") v.string(spec.name, field, utf8.decode(bytes), at);
        else v.leaf(spec.name, field, bytes, at);
        return;
      }
      case "varint": {
        if (length > DEFAULT_INLINE) {
          v.blob(spec.name, field, at, length);
          return;
        }
        await this.#ensure(at, length, length);
        const reader = new Reader(this.#buf);
        reader.pos = at - this.#bufStart;
        reader.len = reader.pos + length;
        this.#packed(reader, spec, field);
        return;
      }
      default:
        v.blob(spec.name, field, at, length);
    }
  }

  #checkString(fieldSpec: { max?: number }, spec: MessageSpec, field: number, length: number, at: number): void {
    const max = fieldSpec.max ?? this.#budgets.maxString;
    if (length > max) {
      throw new ModelgateError("BUDGET_EXCEEDED", `field ${field} of ${spec.name} is ${length} bytes (budget ${max})`, {
        offset: at,
        budget: "protobuf.maxString",
      });
    }
  }

  #packed(reader: ReaderT, spec: MessageSpec, field: number): void {
    while (reader.pos < reader.len) {
      const at = reader.pos + this.#bufStart;
      const value = wrap(() => varint64(reader), at);
      this.#visitor.varint(spec.name, field, value, at);
    }
  }

  /** Walks a message that is entirely in the window. `reader.len` is the message end. */
  #walkSync(reader: ReaderT, spec: MessageSpec, depth: number): void {
    const v = this.#visitor;
    const base = this.#bufStart;
    const end = reader.len;
    while (reader.pos < end) {
      const pos = reader.pos + base;
      const tag = wrap(() => reader.tag(), pos);
      const field = tag >>> 3;
      const wireType = tag & 7;
      if (field === 0) throw malformed("field number 0", pos);
      this.#count(pos);
      const fieldSpec = spec.fields[field];
      if (wireType !== 2) {
        if (wireType === 0 && fieldSpec?.kind === "varint") {
          const at = reader.pos + base;
          v.varint(
            spec.name,
            field,
            wrap(() => varint64(reader), at),
            at,
          );
        } else if (wireType === 4) throw malformed("unmatched end-group tag", pos);
        else wrap(() => reader.skipType(wireType, depth, field), pos);
        continue;
      }
      const length = wrap(() => reader.size(), pos);
      const rel = reader.pos;
      const at = rel + base;
      if (rel + length > end) throw truncated(`field ${field} of ${spec.name} runs past its message`, pos);
      reader.pos = rel + length;
      switch (fieldSpec?.kind) {
        case "message": {
          const child = fieldSpec.spec();
          this.#depthCheck(depth + 1, at);
          v.enter(child.name, field, at, length, depth);
          const sub = new Reader(reader.buf);
          sub.pos = rel;
          sub.len = rel + length;
          this.#walkSync(sub, child, depth + 1);
          v.exit(child.name);
          break;
        }
        case "string":
          this.#checkString(fieldSpec, spec, field, length, at);
          v.string(spec.name, field, utf8.decode(reader.buf.subarray(rel, rel + length)), at);
          break;
        case "leaf":
          this.#checkString(fieldSpec, spec, field, length, at);
          v.leaf(spec.name, field, reader.buf.subarray(rel, rel + length), at);
          break;
        case "varint": {
          const sub = new Reader(reader.buf);
          sub.pos = rel;
          sub.len = rel + length;
          this.#packed(sub, spec, field);
          break;
        }
        default:
          v.blob(spec.name, field, at, length);
      }
    }
    if (reader.pos !== end) throw malformed(`${spec.name} fields overrun the message end`, reader.pos + base);
  }
}

function malformed(message: string, offset: number): ModelgateError {
  return new ModelgateError("MALFORMED", message, { offset });
}

function truncated(message: string, offset: number): ModelgateError {
  return new ModelgateError("TRUNCATED", message, { offset });
}

/** Runs a protobufjs read, turning its RangeError/Error into a typed error. */
function wrap<T>(read: () => T, offset: number): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof ModelgateError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    if (/depth/.test(message)) {
      throw new ModelgateError("BUDGET_EXCEEDED", `protobuf group nesting: ${message}`, {
        offset,
        budget: "protobuf.maxDepth",
        cause: error,
      });
    }
    const code = /out of range/.test(message) ? "TRUNCATED" : "MALFORMED";
    throw new ModelgateError(code, `invalid protobuf at offset ${offset}: ${message}`, { offset, cause: error });
  }
}
