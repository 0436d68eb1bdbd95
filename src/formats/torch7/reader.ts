/**
 * A reader of Lua Torch7 serialization (`torch.save`, the `torch.File` object format), walked
 * without executing anything: type tags (NIL 0, NUMBER 1, STRING 2, TABLE 3, TORCH 4, BOOLEAN 5,
 * FUNCTION 6, LEGACY_RECUR_FUNCTION 7, RECUR_FUNCTION 8), reference ids of tables, objects and
 * functions, `V <n>` version strings, class names, tensor and storage layouts (storage payloads are
 * skipped, never read). Binary files (ints 4 bytes, longs 8, numbers doubles, little-endian) and
 * ASCII files (whitespace-separated numbers, raw strings each followed by a newline) are read.
 *
 * What `torch.load` would do with each object is recorded: serialized Lua functions (bytecode it
 * passes to `loadstring`), and the classes it instantiates (whose `read` methods the loading
 * environment defines).
 * @module
 */
import type { ByteSource } from "../../core/byte-source.js";
import { ModelgateError } from "../../core/errors.js";
import { Cursor, latin1 } from "./cursor.js";
import { looksAscii } from "./index.js";

/** Type tags of `torch.File:writeObject`. */
export const T7 = {
  NIL: 0,
  NUMBER: 1,
  STRING: 2,
  TABLE: 3,
  TORCH: 4,
  BOOLEAN: 5,
  FUNCTION: 6,
  LEGACY_RECUR_FUNCTION: 7,
  RECUR_FUNCTION: 8,
} as const;

/** Bytes per element of each storage type (CUDA storages are written as their CPU copies). */
const ELEMENT_SIZE: Readonly<Record<string, number>> = {
  Byte: 1,
  Char: 1,
  Short: 2,
  Half: 2,
  Int: 4,
  Float: 4,
  Long: 8,
  Double: 8,
};

const TENSOR_CLASS = /^torch\.(Cuda)?(Byte|Char|Short|Half|Int|Float|Long|Double)?(Tensor|Storage)$/;

/** The element type and kind of a tensor or storage class, or undefined for other classes. */
export function tensorClass(name: string): { kind: "Tensor" | "Storage"; elementSize: number } | undefined {
  const m = TENSOR_CLASS.exec(name);
  if (m === null || (m[1] === undefined && m[2] === undefined)) return undefined;
  return { kind: m[3] as "Tensor" | "Storage", elementSize: ELEMENT_SIZE[m[2] ?? "Float"] ?? 4 };
}

/**
 * Classes whose deserialization is known: tensors and storages (read by torch's C code), and the
 * module classes of nn, cunn, cudnn, nngraph and graph, which keep torch's default `read` (one
 * table of fields).
 */
const KNOWN_CLASS = /^(nn|cudnn|cunn|nngraph|graph)\.[A-Za-z_][A-Za-z0-9_]*$/;

/** Whether `torch.load` instantiating this class runs only code known to be benign. */
export function isKnownClass(name: string): boolean {
  return tensorClass(name) !== undefined || KNOWN_CLASS.test(name);
}

/** A serialized Lua function. */
export interface T7Function {
  /** Offset of its type tag. */
  readonly offset: number;
  /** FUNCTION, RECUR_FUNCTION or LEGACY_RECUR_FUNCTION. */
  readonly kind: string;
  /** Size of the dumped bytecode. */
  readonly size: number;
  /** What the bytecode header says (`Lua 5.1 bytecode`, `LuaJIT bytecode`, `unknown`). */
  readonly bytecode: string;
  /** Printable strings found in the first bytes of the dump (constants: `os`, `execute` ...). */
  readonly strings: string;
}

/** An object of a class outside the known set. */
export interface T7Class {
  readonly offset: number;
  readonly name: string;
  readonly version: number;
}

/** What a walk found. */
export interface T7File {
  readonly mode: "binary" | "ascii";
  /** Class name → number of objects. */
  readonly classes: Map<string, number>;
  readonly functions: T7Function[];
  readonly unknownClasses: T7Class[];
  /** Tensors and storages. */
  tensors: number;
  storages: number;
  /** Objects (tables, torch objects, functions) with their own reference id. */
  objects: number;
  /** Where the top-level object ends. */
  end: number;
  /** Class of the top-level object, when it is a torch object. */
  root?: string;
}

/** A walk, possibly cut short by malformed input. */
export interface T7Result {
  readonly file: T7File;
  /** Why the walk stopped before the end of the top-level object. */
  readonly error?: ModelgateError;
}

/** Budgets of a walk. */
export interface T7Options {
  /** Bytes already read from offset 0. */
  head?: Uint8Array;
  /** Called in long loops (throws on abort). */
  checkpoint?: () => void;
  /** Maximum objects with a reference id (default 1,000,000). */
  maxObjects?: number;
  /** Maximum nesting (default 200). */
  maxDepth?: number;
  /** Maximum table entries in total (default 10,000,000). */
  maxEntries?: number;
}

const MAX_NAME = 1024;
const MAX_DIMS = 64;
const KEEP_STRING = 256;
const FUNCTION_PREVIEW = 4096;

/** Primitive reads of one encoding. */
interface T7Input {
  readonly cursor: Cursor;
  int(what: string): Promise<number>;
  long(what: string): Promise<bigint>;
  number(what: string): Promise<number>;
  /** A string of `n` bytes: its first `keep` bytes are returned, the rest skipped. */
  chars(n: number, keep: number, what: string): Promise<Uint8Array>;
  /** Skips `n` elements of `size` bytes each (a storage payload). */
  elements(n: bigint, size: number, what: string): Promise<void>;
}

class BinaryInput implements T7Input {
  constructor(readonly cursor: Cursor) {}
  int(what: string): Promise<number> {
    return this.cursor.i32(what);
  }
  long(what: string): Promise<bigint> {
    return this.cursor.i64(what);
  }
  number(what: string): Promise<number> {
    return this.cursor.f64(what);
  }
  async chars(n: number, keep: number, what: string): Promise<Uint8Array> {
    this.cursor.need(n, what);
    const kept = await this.cursor.bytes(Math.min(n, keep), what);
    const out = kept.slice();
    this.cursor.skip(n - kept.length, what);
    return out;
  }
  async elements(n: bigint, size: number, what: string): Promise<void> {
    const bytes = n * BigInt(size);
    if (bytes > BigInt(this.cursor.remaining)) {
      throw new ModelgateError(
        "TRUNCATED",
        `${what}: ${n} elements of ${size} bytes exceed the ${this.cursor.remaining} bytes left`,
        { offset: this.cursor.pos },
      );
    }
    this.cursor.skip(Number(bytes), what);
  }
}

const isSpace = (b: number): boolean => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
const NUMBER_TOKEN = /^[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|inf|nan|-?inf(?:inity)?|-?nan)$/i;

/** ASCII `torch.File`s: numbers are text separated by blanks, a group ends with a newline. */
class AsciiInput implements T7Input {
  constructor(
    readonly cursor: Cursor,
    readonly checkpoint: () => void,
  ) {}

  async #token(what: string): Promise<string> {
    let b = await this.cursor.peek();
    while (b !== undefined && isSpace(b)) {
      this.cursor.skip(1, what);
      b = await this.cursor.peek();
    }
    const start = this.cursor.pos;
    let s = "";
    while (b !== undefined && !isSpace(b)) {
      if (s.length >= 64)
        throw new ModelgateError("MALFORMED", `${what}: number too long at ${start}`, { offset: start });
      s += String.fromCharCode(b);
      this.cursor.skip(1, what);
      b = await this.cursor.peek();
    }
    if (s === "") throw new ModelgateError("TRUNCATED", `${what}: input ends at ${start}`, { offset: start });
    if (!NUMBER_TOKEN.test(s)) {
      throw new ModelgateError("MALFORMED", `${what}: ${JSON.stringify(s.slice(0, 20))} is not a number`, {
        offset: start,
      });
    }
    return s;
  }

  /** Consumes the newline a group of elements ends with (as torch's auto-spacing reader does). */
  async #endGroup(): Promise<void> {
    if ((await this.cursor.peek()) === 0x0a) this.cursor.skip(1, "newline");
  }

  async int(what: string): Promise<number> {
    const t = await this.#token(what);
    await this.#endGroup();
    const v = Number(t);
    if (!Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) {
      throw new ModelgateError("MALFORMED", `${what}: ${t} is not an int`, { offset: this.cursor.pos });
    }
    return v;
  }
  async long(what: string): Promise<bigint> {
    const t = await this.#token(what);
    await this.#endGroup();
    if (!/^[-+]?\d{1,19}$/.test(t)) {
      throw new ModelgateError("MALFORMED", `${what}: ${t} is not a long`, { offset: this.cursor.pos });
    }
    return BigInt(t);
  }
  async number(what: string): Promise<number> {
    const t = await this.#token(what);
    await this.#endGroup();
    return Number(t);
  }
  async chars(n: number, keep: number, what: string): Promise<Uint8Array> {
    this.cursor.need(n, what);
    const kept = (await this.cursor.bytes(Math.min(n, keep), what)).slice();
    this.cursor.skip(n - kept.length, what);
    if (n > 0) await this.#endGroup();
    return kept;
  }
  async elements(n: bigint, _size: number, what: string): Promise<void> {
    // Each element takes at least two bytes (a digit and a blank).
    if (n * 2n > BigInt(this.cursor.remaining) + 1n) {
      throw new ModelgateError("TRUNCATED", `${what}: ${n} elements cannot fit in the bytes left`, {
        offset: this.cursor.pos,
      });
    }
    for (let i = 0n; i < n; i++) {
      if ((i & 0xfffn) === 0n) this.checkpoint();
      await this.#token(what);
    }
    if (n > 0n) await this.#endGroup();
  }
}

/** What a bytecode dump's header says. */
export function bytecodeKind(dump: Uint8Array): string {
  if (dump[0] === 0x1b && dump[1] === 0x4c && dump[2] === 0x75 && dump[3] === 0x61) {
    const v = dump[4];
    return v === undefined ? "Lua bytecode" : `Lua ${v >> 4}.${v & 0xf} bytecode`;
  }
  if (dump[0] === 0x1b && dump[1] === 0x4c && dump[2] === 0x4a) return "LuaJIT bytecode";
  return "unknown (not a Lua bytecode header: loadstring compiles it as source)";
}

/** Printable runs (4+ characters) in some bytes, joined by spaces. */
export function printableRuns(bytes: Uint8Array, max = 200): string {
  const runs: string[] = [];
  let run = "";
  for (const b of bytes) {
    if (b >= 0x20 && b < 0x7f) run += String.fromCharCode(b);
    else {
      if (run.length >= 2) runs.push(run);
      run = "";
    }
  }
  if (run.length >= 2) runs.push(run);
  const s = runs.join(" ");
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/** The walker. */
class Walker {
  readonly file: T7File;
  readonly #seen = new Set<number>();
  readonly #checkpoint: () => void;
  readonly #maxObjects: number;
  readonly #maxDepth: number;
  #entries = 0;
  readonly #maxEntries: number;

  constructor(
    readonly input: T7Input,
    mode: "binary" | "ascii",
    options: T7Options,
  ) {
    this.file = {
      mode,
      classes: new Map(),
      functions: [],
      unknownClasses: [],
      tensors: 0,
      storages: 0,
      objects: 0,
      end: 0,
    };
    this.#checkpoint = options.checkpoint ?? (() => undefined);
    this.#maxObjects = options.maxObjects ?? 1_000_000;
    this.#maxDepth = options.maxDepth ?? 200;
    this.#maxEntries = options.maxEntries ?? 10_000_000;
  }

  get #pos(): number {
    return this.input.cursor.pos;
  }

  async #string(what: string, keep = KEEP_STRING): Promise<{ text: string; length: number }> {
    const at = this.#pos;
    const n = await this.input.int(`${what} length`);
    if (n < 0) throw new ModelgateError("MALFORMED", `${what}: negative length ${n} at ${at}`, { offset: at });
    const bytes = await this.input.chars(n, keep, what);
    return { text: latin1(bytes), length: n };
  }

  /** A new object id: references to ids already read return true. */
  #reference(id: number, at: number): boolean {
    if (this.#seen.has(id)) return true;
    if (this.#seen.size >= this.#maxObjects) {
      throw new ModelgateError("BUDGET_EXCEEDED", `more than ${this.#maxObjects} objects`, {
        offset: at,
        budget: "torch7.objects",
      });
    }
    this.#seen.add(id);
    this.file.objects++;
    return false;
  }

  async #function(kind: string, at: number, depth: number): Promise<void> {
    const size = await this.input.int("function bytecode length");
    if (size < 0) throw new ModelgateError("MALFORMED", `negative bytecode length at ${at}`, { offset: at });
    const dump = await this.input.chars(size, FUNCTION_PREVIEW, "function bytecode");
    this.file.functions.push({ offset: at, kind, size, bytecode: bytecodeKind(dump), strings: printableRuns(dump) });
    await this.object(depth + 1); // the upvalues table
  }

  /** Reads one object; returns its value when it is a short string (table keys). */
  async object(depth: number): Promise<string | undefined> {
    if (depth > this.#maxDepth) {
      throw new ModelgateError("BUDGET_EXCEEDED", `objects nested deeper than ${this.#maxDepth}`, {
        offset: this.#pos,
        budget: "torch7.depth",
      });
    }
    const at = this.#pos;
    const tag = await this.input.int("type tag");
    switch (tag) {
      case T7.NIL:
        return undefined;
      case T7.NUMBER:
        await this.input.number("number");
        return undefined;
      case T7.BOOLEAN:
        await this.input.int("boolean");
        return undefined;
      case T7.STRING:
        return (await this.#string("string")).text;
      case T7.FUNCTION:
        await this.#function("FUNCTION", at, depth);
        return undefined;
      case T7.TABLE:
      case T7.TORCH:
      case T7.RECUR_FUNCTION:
      case T7.LEGACY_RECUR_FUNCTION: {
        const id = await this.input.int("reference id");
        if (this.#reference(id, at)) return undefined;
        if (tag === T7.TABLE) await this.#table(depth);
        else if (tag === T7.TORCH) await this.#torch(at, depth);
        else await this.#function(tag === T7.RECUR_FUNCTION ? "RECUR_FUNCTION" : "LEGACY_RECUR_FUNCTION", at, depth);
        return undefined;
      }
      default:
        throw new ModelgateError("MALFORMED", `unknown type tag ${tag} at offset ${at}`, { offset: at });
    }
  }

  async #table(depth: number): Promise<void> {
    const at = this.#pos;
    const size = await this.input.int("table size");
    // Each entry is at least two type tags.
    if (size < 0 || size * 2 > this.input.cursor.remaining) {
      throw new ModelgateError("MALFORMED", `table of ${size} entries cannot fit in the bytes left (at ${at})`, {
        offset: at,
      });
    }
    this.#entries += size;
    if (this.#entries > this.#maxEntries) {
      throw new ModelgateError("BUDGET_EXCEEDED", `more than ${this.#maxEntries} table entries`, {
        offset: at,
        budget: "torch7.entries",
      });
    }
    for (let i = 0; i < size; i++) {
      if ((i & 0xff) === 0) this.#checkpoint();
      await this.object(depth + 1);
      await this.object(depth + 1);
    }
  }

  async #torch(at: number, depth: number, storageOnly = false): Promise<void> {
    const first = await this.#string("version", MAX_NAME);
    let name = first.text;
    let version = 0;
    const m = /^V (.*)$/s.exec(first.text);
    if (m !== null && m[1] !== undefined && Number.isFinite(Number(m[1])) && m[1].trim() !== "") {
      version = Number(m[1]);
      const cls = await this.#string("class name", MAX_NAME);
      if (cls.length > MAX_NAME) throw new ModelgateError("MALFORMED", `class name of ${cls.length} bytes at ${at}`);
      name = cls.text;
    } else if (first.length > MAX_NAME) {
      throw new ModelgateError("MALFORMED", `class name of ${first.length} bytes at ${at}`, { offset: at });
    }
    const tensor = tensorClass(name);
    if (storageOnly && tensor?.kind !== "Storage") {
      throw new ModelgateError("MALFORMED", `a tensor's storage is a ${JSON.stringify(name.slice(0, 60))} (at ${at})`, {
        offset: at,
      });
    }
    this.file.classes.set(name, (this.file.classes.get(name) ?? 0) + 1);
    if (depth === 0) this.file.root = name;
    if (tensor?.kind === "Tensor") {
      this.file.tensors++;
      const dims = await this.input.int("tensor dimensions");
      if (dims < 0 || dims > MAX_DIMS) {
        throw new ModelgateError("MALFORMED", `tensor with ${dims} dimensions at ${at}`, { offset: at });
      }
      for (let i = 0; i < 2 * dims; i++) await this.input.long("tensor size/stride");
      await this.input.long("storage offset");
      const storageAt = this.#pos;
      const tag = await this.input.int("storage type tag");
      if (tag === T7.NIL) return;
      if (tag !== T7.TORCH) {
        throw new ModelgateError("MALFORMED", `tensor storage has type tag ${tag} at ${storageAt}`, {
          offset: storageAt,
        });
      }
      const id = await this.input.int("reference id");
      if (this.#reference(id, storageAt)) return;
      await this.#torch(storageAt, depth + 1, true);
      return;
    }
    if (tensor?.kind === "Storage") {
      this.file.storages++;
      const n = await this.input.long("storage size");
      if (n < 0n) throw new ModelgateError("MALFORMED", `negative storage size at ${at}`, { offset: at });
      await this.input.elements(n, tensor.elementSize, "storage data");
      return;
    }
    if (!isKnownClass(name)) this.file.unknownClasses.push({ offset: at, name, version });
    // torch's default read: one table of fields (an unknown class's own read may differ).
    await this.object(depth + 1);
  }
}

/**
 * Walks a Torch7 file. Malformed input (and exceeded budgets) end the walk: what was found before
 * is returned with the error, so that a function read before the break is still reported.
 * @param source - the bytes
 * @param options - budgets
 * @returns what was found, and why the walk stopped early if it did; aborts and timeouts throw
 */
export async function readTorch7(source: ByteSource, options: T7Options = {}): Promise<T7Result> {
  const head = options.head;
  const cursor = new Cursor(source, 0, head);
  const probe = head ?? (await source.read(0, Math.min(256, source.size)));
  const ascii = looksAscii(probe);
  const input = ascii ? new AsciiInput(cursor, options.checkpoint ?? (() => undefined)) : new BinaryInput(cursor);
  const walker = new Walker(input, ascii ? "ascii" : "binary", options);
  try {
    await walker.object(0);
  } catch (error) {
    if (
      error instanceof ModelgateError &&
      (error.code === "MALFORMED" || error.code === "TRUNCATED" || error.code === "BUDGET_EXCEEDED")
    ) {
      walker.file.end = cursor.pos;
      return { file: walker.file, error };
    }
    throw error;
  }
  if (ascii) {
    // trailing blanks are part of the text encoding
    let b = await cursor.peek();
    while (b !== undefined && isSpace(b) && cursor.remaining > 0) {
      cursor.skip(1, "blank");
      b = await cursor.peek();
    }
  }
  walker.file.end = cursor.pos;
  return { file: walker.file };
}
