/**
 * A bounded reader of Python's `marshal` format, for the code objects that model files smuggle:
 * Keras `Lambda` layers (base64 `marshal.dumps(fn.__code__)`) and pickles that call
 * `marshal.loads`. It never executes anything; it decodes the object tree and lists, per code
 * object, the names it uses, its string constants and its nested code, and guesses the Python
 * version from the code object layout (which changed in 3.0, 3.8 and 3.11) and the bytecode.
 * @module
 */

import { ModelgateError } from "../../core/errors.js";
import { latin1 } from "../../core/sniffing.js";

/** Budgets of one {@link parseMarshal} call. */
export interface MarshalBudgets {
  /** Maximum input size in bytes. */
  maxBytes: number;
  /** Maximum container nesting (CPython allows 2000). */
  maxDepth: number;
  /** Maximum objects decoded. */
  maxObjects: number;
  /** Maximum code objects. */
  maxCodeObjects: number;
}

/** Default marshal budgets. */
export const DEFAULT_MARSHAL_BUDGETS: Readonly<MarshalBudgets> = Object.freeze({
  maxBytes: 16 * 1024 * 1024,
  maxDepth: 200,
  maxObjects: 1_000_000,
  maxCodeObjects: 10_000,
});

/** Which code-object field layout a code object was read with. */
export type CodeLayout = "py2" | "py3.0-3.7" | "py3.8-3.10" | "py3.11+";

/** A decoded code object (what `fn.__code__` holds). */
export interface CodeObject {
  /** `co_name`. */
  readonly name: string;
  /** `co_qualname` (3.11+), else the name. */
  readonly qualname: string;
  /** `co_filename`. */
  readonly filename: string;
  /** `co_firstlineno`. */
  readonly firstLine: number;
  /** `co_argcount`. */
  readonly argcount: number;
  /** `co_flags`. */
  readonly flags: number;
  /** `co_names`: globals, attributes and imported modules the code refers to. */
  readonly names: readonly string[];
  /** Local variable names (`co_varnames`, or the locals of `co_localsplusnames`). */
  readonly varnames: readonly string[];
  /** String constants, including those inside constant tuples. */
  readonly stringConsts: readonly string[];
  /** Code objects among the constants (nested functions, lambdas, comprehensions). */
  readonly nested: readonly CodeObject[];
  /** The raw bytecode. */
  readonly bytecode: Uint8Array;
  /** The field layout it was read with. */
  readonly layout: CodeLayout;
}

/** A decoded marshal value. Containers keep their items; code objects are {@link CodeObject}s. */
export type MarshalValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | { readonly kind: "tuple" | "list" | "set" | "frozenset" | "slice"; readonly items: readonly MarshalValue[] }
  | { readonly kind: "dict"; readonly entries: ReadonlyArray<readonly [MarshalValue, MarshalValue]> }
  | { readonly kind: "code"; readonly code: CodeObject }
  | { readonly kind: "complex"; readonly re: number; readonly im: number }
  | { readonly kind: "singleton"; readonly name: "Ellipsis" | "StopIteration" }
  | { readonly kind: "ref"; readonly index: number };

/** Result of {@link parseMarshal}. */
export interface MarshalResult {
  /** The top-level value. */
  readonly value: MarshalValue;
  /** Every code object, outermost first (pre-order). */
  readonly codeObjects: readonly CodeObject[];
  /** The Python version the data looks like (`"3.11/3.12"`, `"3.8-3.10"`, `"2.x"` ...), or `"unknown"`. */
  readonly pythonVersion: string;
  /** Bytes consumed; less than the input when data follows the object. */
  readonly consumed: number;
}

const LAYOUT_INTS: Record<CodeLayout, number> = { py2: 4, "py3.0-3.7": 5, "py3.8-3.10": 6, "py3.11+": 5 };
/** Tried in this order; a layout that does not fit backtracks to the next. */
const LAYOUTS: readonly CodeLayout[] = ["py3.11+", "py3.8-3.10", "py3.0-3.7", "py2"];

class Fail extends Error {}

const utf8 = new TextDecoder("utf-8", { fatal: false });

class MarshalReader {
  pos = 0;
  objects = 0;
  readonly refs: MarshalValue[] = [];
  readonly codes: CodeObject[] = [];
  readonly view: DataView;
  layout: CodeLayout | undefined;

  constructor(
    readonly bytes: Uint8Array,
    readonly budgets: MarshalBudgets,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  need(n: number): void {
    if (n < 0 || this.pos + n > this.bytes.length) {
      throw new ModelgateError("TRUNCATED", `marshal data ends inside an object at ${this.pos}`, { offset: this.pos });
    }
  }

  u8(): number {
    this.need(1);
    return this.bytes[this.pos++] as number;
  }

  i32(): number {
    this.need(4);
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }

  size(): number {
    const n = this.i32();
    if (n < 0) throw new ModelgateError("MALFORMED", `negative size ${n} at ${this.pos - 4}`, { offset: this.pos - 4 });
    return n;
  }

  take(n: number): Uint8Array {
    this.need(n);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  read(depth: number): MarshalValue {
    if (depth > this.budgets.maxDepth) {
      throw new ModelgateError("BUDGET_EXCEEDED", `marshal nesting deeper than ${this.budgets.maxDepth}`, {
        offset: this.pos,
        budget: "marshal.maxDepth",
      });
    }
    if (++this.objects > this.budgets.maxObjects) {
      throw new ModelgateError("BUDGET_EXCEEDED", `more than ${this.budgets.maxObjects} marshal objects`, {
        offset: this.pos,
        budget: "marshal.maxObjects",
      });
    }
    const at = this.pos;
    const code = this.u8();
    const flag = (code & 0x80) !== 0;
    const type = String.fromCharCode(code & 0x7f);
    let index = -1;
    if (flag) {
      index = this.refs.length;
      this.refs.push({ kind: "ref", index });
    }
    const value = this.readType(type, at, depth);
    if (flag) this.refs[index] = value;
    return value;
  }

  readType(type: string, at: number, depth: number): MarshalValue {
    switch (type) {
      case "N":
        return null;
      case "T":
        return true;
      case "F":
        return false;
      case ".":
        return { kind: "singleton", name: "Ellipsis" };
      case "S":
        return { kind: "singleton", name: "StopIteration" };
      case "i":
        return this.i32();
      case "I": {
        this.need(8);
        const v = this.view.getBigInt64(this.pos, true);
        this.pos += 8;
        return v;
      }
      case "l":
        return this.long();
      case "g": {
        this.need(8);
        const v = this.view.getFloat64(this.pos, true);
        this.pos += 8;
        return v;
      }
      case "f":
        return Number(latin1(this.take(this.u8())));
      case "y": {
        this.need(16);
        const re = this.view.getFloat64(this.pos, true);
        const im = this.view.getFloat64(this.pos + 8, true);
        this.pos += 16;
        return { kind: "complex", re, im };
      }
      case "x": {
        const re = Number(latin1(this.take(this.u8())));
        const im = Number(latin1(this.take(this.u8())));
        return { kind: "complex", re, im };
      }
      case "s":
        return this.take(this.size());
      case "t":
      case "u":
        return utf8.decode(this.take(this.size()));
      case "a":
      case "A":
        return latin1(this.take(this.size()));
      case "z":
      case "Z":
        return latin1(this.take(this.u8()));
      case "R": {
        // Python 2 interned-string back-reference
        const i = this.size();
        const v = this.refs[i];
        if (v === undefined) throw new ModelgateError("MALFORMED", `bad string reference ${i}`, { offset: at });
        return v;
      }
      case "(":
      case "[":
      case "<":
      case ">":
        return this.sequence(type, this.size(), depth);
      case ")":
        return this.sequence("(", this.u8(), depth);
      case ":":
        return { kind: "slice", items: [this.read(depth + 1), this.read(depth + 1), this.read(depth + 1)] };
      case "{": {
        const entries: Array<[MarshalValue, MarshalValue]> = [];
        for (;;) {
          this.need(1);
          if (this.bytes[this.pos] === 0x30) {
            this.pos++;
            break;
          }
          const key = this.read(depth + 1);
          entries.push([key, this.read(depth + 1)]);
        }
        return { kind: "dict", entries };
      }
      case "r": {
        const i = this.size();
        const v = this.refs[i];
        if (v === undefined) throw new ModelgateError("MALFORMED", `bad reference ${i} at ${at}`, { offset: at });
        return v;
      }
      case "c":
        return { kind: "code", code: this.code(depth) };
      case "0":
        throw new ModelgateError("MALFORMED", `NULL object at ${at}`, { offset: at });
      default:
        throw new ModelgateError("MALFORMED", `unknown marshal type 0x${type.charCodeAt(0).toString(16)} at ${at}`, {
          offset: at,
        });
    }
  }

  sequence(type: string, n: number, depth: number): MarshalValue {
    // every item takes at least one byte: a count beyond the rest of the input is a lie
    if (n > this.bytes.length - this.pos) {
      throw new ModelgateError("TRUNCATED", `container of ${n} items in ${this.bytes.length - this.pos} bytes`, {
        offset: this.pos,
      });
    }
    const items: MarshalValue[] = [];
    for (let i = 0; i < n; i++) items.push(this.read(depth + 1));
    const kind = type === "(" ? "tuple" : type === "[" ? "list" : type === "<" ? "set" : "frozenset";
    return { kind, items };
  }

  long(): number | bigint {
    const n = this.i32();
    const digits = Math.abs(n);
    if (digits > this.bytes.length)
      throw new ModelgateError("TRUNCATED", "long integer too long", { offset: this.pos });
    this.need(digits * 2);
    let v = 0n;
    for (let i = digits - 1; i >= 0; i--) v = (v << 15n) | BigInt(this.view.getUint16(this.pos + 2 * i, true) & 0x7fff);
    this.pos += digits * 2;
    if (n < 0) v = -v;
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }

  code(depth: number): CodeObject {
    if (this.codes.length >= this.budgets.maxCodeObjects) {
      throw new ModelgateError("BUDGET_EXCEEDED", `more than ${this.budgets.maxCodeObjects} code objects`, {
        offset: this.pos,
        budget: "marshal.maxCodeObjects",
      });
    }
    const start = this.pos;
    const refs = this.refs.length;
    const codes = this.codes.length;
    const objects = this.objects;
    let last: unknown;
    // Nested code objects share their parent's layout: trying every layout at every level would
    // cost 4^depth on hostile input.
    const outer = this.layout;
    for (const layout of outer === undefined ? LAYOUTS : [outer]) {
      try {
        this.layout = layout;
        return this.codeWith(layout, depth);
      } catch (error) {
        if (error instanceof ModelgateError && error.code === "BUDGET_EXCEEDED") throw error;
        last = error;
        this.pos = start;
        this.refs.length = refs;
        this.codes.length = codes;
        this.objects = objects;
      } finally {
        this.layout = outer;
      }
    }
    if (last instanceof ModelgateError) throw last;
    throw new ModelgateError("MALFORMED", `code object at ${start} matches no known Python layout`, { offset: start });
  }

  codeWith(layout: CodeLayout, depth: number): CodeObject {
    const ints: number[] = [];
    for (let i = 0; i < LAYOUT_INTS[layout]; i++) ints.push(this.i32());
    const slot = this.codes.length;
    this.codes.push(undefined as unknown as CodeObject); // pre-order position
    const bytecode = this.expectBytes(depth);
    const consts = this.expectTuple(depth);
    const names = this.expectStrings(depth);
    let varnames: string[];
    let name: string;
    let qualname: string;
    let filename: string;
    let firstLine: number;
    if (layout === "py3.11+") {
      const localsPlus = this.expectStrings(depth);
      const kinds = this.expectBytes(depth);
      if (kinds.length !== localsPlus.length) throw new Fail("localspluskinds length");
      filename = this.expectString(depth);
      name = this.expectString(depth);
      qualname = this.expectString(depth);
      firstLine = this.i32();
      this.expectBytes(depth); // linetable
      this.expectBytes(depth); // exceptiontable
      // kind bit 0x20 marks a local (CO_FAST_LOCAL)
      varnames = localsPlus.filter((_, i) => ((kinds[i] as number) & 0x20) !== 0);
    } else {
      varnames = this.expectStrings(depth);
      this.expectStrings(depth); // freevars
      this.expectStrings(depth); // cellvars
      filename = this.expectString(depth);
      name = this.expectString(depth);
      qualname = name;
      firstLine = this.i32();
      this.expectBytes(depth); // lnotab / linetable
    }
    const stringConsts: string[] = [];
    const nested: CodeObject[] = [];
    collectConsts(consts, stringConsts, nested, 0);
    const code: CodeObject = {
      name,
      qualname,
      filename,
      firstLine,
      argcount: ints[0] ?? 0,
      flags: ints[LAYOUT_INTS[layout] - 1] ?? 0,
      names,
      varnames,
      stringConsts,
      nested,
      bytecode,
      layout,
    };
    this.codes[slot] = code;
    return code;
  }

  expectBytes(depth: number): Uint8Array {
    const v = this.read(depth + 1);
    if (v instanceof Uint8Array) return v;
    throw new Fail("expected bytes");
  }

  expectString(depth: number): string {
    const v = this.read(depth + 1);
    if (typeof v === "string") return v;
    if (v instanceof Uint8Array) return latin1(v); // Python 2 str
    throw new Fail("expected str");
  }

  expectTuple(depth: number): readonly MarshalValue[] {
    const v = this.read(depth + 1);
    if (v !== null && typeof v === "object" && "kind" in v && v.kind === "tuple") return v.items;
    throw new Fail("expected tuple");
  }

  expectStrings(depth: number): string[] {
    return this.expectTuple(depth).map((item) => {
      if (typeof item === "string") return item;
      if (item instanceof Uint8Array) return latin1(item);
      throw new Fail("expected tuple of str");
    });
  }
}

function collectConsts(items: readonly MarshalValue[], strings: string[], nested: CodeObject[], depth: number): void {
  if (depth > 8) return;
  for (const item of items) {
    if (typeof item === "string") strings.push(item);
    else if (item !== null && typeof item === "object" && "kind" in item) {
      if (item.kind === "code") nested.push(item.code);
      else if (item.kind === "tuple" || item.kind === "frozenset" || item.kind === "list" || item.kind === "set") {
        collectConsts(item.items, strings, nested, depth + 1);
      }
    }
  }
}

/** Guesses the Python version from the layout and the first instruction (RESUME's opcode moved). */
function guessVersion(codes: readonly CodeObject[]): string {
  const first = codes[0];
  if (first === undefined) return "unknown";
  switch (first.layout) {
    case "py2":
      return "2.x";
    case "py3.0-3.7":
      return "3.0-3.7";
    case "py3.8-3.10":
      return "3.8-3.10";
    case "py3.11+": {
      const op = first.bytecode[0];
      if (op === 151) return "3.11/3.12";
      if (op === 149) return "3.13";
      if (op === 128) return "3.14";
      return "3.11+";
    }
  }
}

/**
 * Decodes marshal data (as `marshal.loads` would, without creating any Python object).
 * @param bytes - the marshalled bytes (no `.pyc` header)
 * @param budgets - limits (defaults: {@link DEFAULT_MARSHAL_BUDGETS})
 * @throws ModelgateError `TRUNCATED`, `MALFORMED` or `BUDGET_EXCEEDED`
 */
export function parseMarshal(bytes: Uint8Array, budgets: Partial<MarshalBudgets> = {}): MarshalResult {
  const full: MarshalBudgets = { ...DEFAULT_MARSHAL_BUDGETS, ...budgets };
  if (bytes.length > full.maxBytes) {
    throw new ModelgateError("BUDGET_EXCEEDED", `marshal data of ${bytes.length} bytes (budget ${full.maxBytes})`, {
      budget: "marshal.maxBytes",
    });
  }
  const reader = new MarshalReader(bytes, full);
  try {
    const value = reader.read(0);
    return {
      value,
      codeObjects: reader.codes,
      pythonVersion: guessVersion(reader.codes),
      consumed: reader.pos,
    };
  } catch (error) {
    if (error instanceof Fail) {
      throw new ModelgateError("MALFORMED", `marshal code object: ${error.message}`, { offset: reader.pos });
    }
    throw error;
  }
}

/**
 * Names and constants in code that point at code execution, the OS, the file system or the
 * network: what makes a Lambda layer or a `marshal.loads` payload dangerous rather than odd.
 */
export const DANGEROUS_CODE_NAMES: ReadonlySet<string> = new Set([
  "__import__",
  "__builtins__",
  "__globals__",
  "__subclasses__",
  "__code__",
  "builtins",
  "eval",
  "exec",
  "execfile",
  "compile",
  "open",
  "breakpoint",
  "globals",
  "getattr",
  "setattr",
  "os",
  "posix",
  "nt",
  "system",
  "popen",
  "spawnl",
  "spawnv",
  "execv",
  "execve",
  "execl",
  "fork",
  "remove",
  "unlink",
  "rmtree",
  "subprocess",
  "Popen",
  "check_output",
  "check_call",
  "getoutput",
  "getstatusoutput",
  "shutil",
  "socket",
  "urllib",
  "urlopen",
  "requests",
  "http",
  "pickle",
  "marshal",
  "ctypes",
  "importlib",
  "import_module",
  "runpy",
  "pty",
  "sys",
  "webbrowser",
]);

/**
 * The dangerous names and constants of some code objects (see {@link DANGEROUS_CODE_NAMES}).
 * @param codes - code objects, e.g. {@link MarshalResult.codeObjects}
 */
export function dangerousNames(codes: readonly CodeObject[]): string[] {
  const found = new Set<string>();
  for (const code of codes) {
    for (const n of code.names) if (DANGEROUS_CODE_NAMES.has(n)) found.add(n);
    for (const s of code.stringConsts) if (DANGEROUS_CODE_NAMES.has(s)) found.add(s);
  }
  return [...found].sort();
}
