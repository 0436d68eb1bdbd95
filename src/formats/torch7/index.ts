/**
 * The torch7 module: Lua Torch `torch.save` files (`.t7`), walked without executing anything.
 *
 * Detection: recognises Lua Torch7 files. The serialization has no magic: a file is one object, so it starts
 * with a type tag. `torch.load` ignores the name, so content decides: a file that opens like a torch
 * object (`TORCH`, id 1, `V <n>`, a dotted class name), or whose root (a table, a torch object, a
 * function) walks as a Torch7 stream within the head and holds a serialized function, a classed
 * object or printable string keys (below). Any plausible opening is enough under a `.t7` name.
 * @module
 */
import { charCodes } from "../../core/arrays.js";
import { type Detector, type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { extensionOf } from "../../core/sniffing.js";
import { latin1 } from "./cursor.js";

/** Whether the head looks like an ASCII torch.File (`4\n1\n3\nV 1\n...`, `3\n1\n...`). */
export function looksAscii(head: Uint8Array): boolean {
  // Every member of every archive meets this detector: decide on the first two bytes when they
  // cannot open either form ("4\n" or "3\n") before decoding any text.
  if ((head[0] !== 0x34 && head[0] !== 0x33) || head[1] !== 0x0a) return false;
  const text = latin1(head.subarray(0, 256));
  return /^(?:4\n\d+\n\d+\n(?:V \d+\n\d+\n)?[A-Za-z_][\w.]*\n|3\n\d+\n\d+\n)/.test(text);
}

const CLASS = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+$/;

const i32 = (b: Uint8Array, at: number): number | undefined =>
  at + 4 <= b.length ? b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24) : undefined;

/** A string (int32 length + bytes) at `at` within the head, or undefined. */
function str(head: Uint8Array, at: number, max: number): string | undefined {
  const n = i32(head, at);
  if (n === undefined || n < 1 || n > max || at + 4 + n > head.length) return undefined;
  return latin1(head.subarray(at + 4, at + 4 + n));
}

/** The class name of a binary file opening with a torch object, or undefined. */
function torchObjectClass(head: Uint8Array): string | undefined {
  if (i32(head, 0) !== 4 || i32(head, 4) !== 1) return undefined;
  const first = str(head, 8, 200);
  if (first === undefined) return undefined;
  if (/^V \d+$/.test(first)) {
    const name = str(head, 12 + first.length, 200);
    return name !== undefined && CLASS.test(name) ? name : undefined;
  }
  return CLASS.test(first) && /^(torch|nn|cudnn|nngraph)\./.test(first) ? first : undefined;
}

/** A plausible first object of any type (for `.t7` names). */
function plausible(head: Uint8Array, size: number): boolean {
  const tag = i32(head, 0);
  switch (tag) {
    case 0:
      return size === 4;
    case 1:
      return size >= 12;
    case 5: {
      const v = i32(head, 4);
      return v === 0 || v === 1;
    }
    case 2:
    case 6: {
      const n = i32(head, 4);
      return n !== undefined && n >= 0 && n <= size - 8;
    }
    case 3:
    case 7:
    case 8: {
      const id = i32(head, 4);
      const n = i32(head, 8);
      return id !== undefined && id >= 1 && n !== undefined && n >= 0 && n <= size;
    }
    case 4:
      return i32(head, 4) !== undefined && str(head, 8, 1024) !== undefined;
    default:
      return false;
  }
}

const ROOT_NAMES: Readonly<Record<number, string>> = {
  3: "table",
  4: "torch object",
  6: "function",
  7: "legacy recursive function",
  8: "recursive function",
};

/*
 * A synchronous, bounded walk of a binary Torch7 stream in the sniffer's head, for detection.
 *
 * `torch.load` ignores the file name and reads one object of any type: a table holding a
 * serialized function loads (and the function is compiled) as well as a torch object does. The
 * format has no magic, so the detector walks the root object's structure as `torch.File:readObject`
 * would (type tags, reference ids, table sizes, strings, class names, tensor and storage layouts)
 * without reading past the head: it stops at the first grammar break, at a payload that runs past
 * the head, at the end of the root object, or at a budget. What it saw decides: a serialized
 * function whose dump is Lua bytecode or source text, a torch object with a class name, or string
 * keys up to the end of the file (or up to the head's end) are a Torch7 stream; a raw array of
 * small integers (which can open like a table) has none of them.
 */

/** Type tags of `torch.File:writeObject`. */
const NIL = 0;
const NUMBER = 1;
const STRING = 2;
const TABLE = 3;
const TORCH = 4;
const BOOLEAN = 5;
const FUNCTION = 6;
const LEGACY_RECUR_FUNCTION = 7;
const RECUR_FUNCTION = 8;

/** Objects read before the walk stops (the head holds at most 64 KiB). */
const MAX_OBJECTS = 4096;
/** Nesting followed. */
const MAX_DEPTH = 64;
/** Longest class name or version string accepted. */
const MAX_NAME = 200;
/** Class names: Lua identifiers joined by dots (`nn.Linear`, `torch.FloatTensor`, `MyClass`). */
const ANY_CLASS = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/;
/** Tensor and storage classes (the reader's `tensorClass`): `torch.Tensor` alone is a plain class. */
const TENSOR = /^torch\.(Cuda)?(Byte|Char|Short|Half|Int|Float|Long|Double)?(Tensor|Storage)$/;
const ELEMENT: Readonly<Record<string, number>> = { Byte: 1, Char: 1, Short: 2, Half: 2, Int: 4, Long: 8, Double: 8 };
/** Shortest text dump counted as Lua source (a few bytes of an integer array can be printable). */
const MIN_SOURCE = 8;

/** What the walk saw. */
export interface T7HeadWalk {
  /** Type tag of the root object. */
  readonly root: number;
  /** A serialized function whose dump is Lua bytecode or text. */
  readonly functions: number;
  /** Torch objects with a versioned (`V 1`) or dotted class name. */
  readonly classes: number;
  /** Table keys that are printable strings. */
  readonly stringKeys: number;
  /** The root object ended exactly at the end of the file. */
  readonly complete: boolean;
  /** The walk stopped at the end of the head (or a budget), the structure valid up to there. */
  readonly partial: boolean;
  /** The bytes broke the grammar (after what the counts record). */
  readonly broken: boolean;
}

/** Why the walk stopped early. */
class Stop {
  constructor(readonly why: "head" | "broken") {}
}

/** Whether a function dump (its visible part) is Lua bytecode or source text `loadstring` compiles. */
function plausibleDump(dump: Uint8Array): boolean {
  if (dump[0] === 0x1b) return dump.length >= 4 && dump[1] === 0x4c; // "\x1bLua", "\x1bLJ"
  if (dump.length < MIN_SOURCE) return false;
  for (const b of dump) if ((b < 0x20 || b > 0x7e) && b !== 0x0a && b !== 0x0d && b !== 0x09) return false;
  return true;
}

class Walk {
  pos = 0;
  functions = 0;
  classes = 0;
  stringKeys = 0;
  objects = 0;
  readonly #seen = new Set<number>();

  constructor(
    readonly head: Uint8Array,
    readonly size: number,
  ) {}

  /** Checks that `n` more bytes exist in the file, then that the head holds them. */
  #need(n: number): void {
    if (n < 0 || this.pos + n > this.size) throw new Stop("broken");
    if (this.pos + n > this.head.length) throw new Stop("head");
  }

  int(): number {
    this.#need(4);
    const b = this.head;
    const p = this.pos;
    this.pos += 4;
    return b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24);
  }

  /** A long's low 53 bits (sizes); negative or huge values break the grammar for the callers. */
  long(): number {
    const lo = this.int() >>> 0;
    const hi = this.int();
    return hi < 0 || hi >= 0x200000 ? -1 : hi * 2 ** 32 + lo;
  }

  /** Skips `n` bytes that may run past the head (a payload), within the file. */
  skip(n: number): void {
    if (n < 0 || this.pos + n > this.size) throw new Stop("broken");
    this.pos += n;
    if (this.pos > this.head.length) throw new Stop("head");
  }

  /** A string: its visible bytes (the whole string when the head holds it). */
  bytes(n: number): Uint8Array {
    if (n < 0 || this.pos + n > this.size) throw new Stop("broken");
    const visible = this.head.subarray(this.pos, Math.min(this.pos + n, this.head.length));
    this.skip(n);
    return visible;
  }

  name(): string {
    const n = this.int();
    if (n < 1 || n > MAX_NAME) throw new Stop("broken");
    return charCodes(this.bytes(n));
  }

  /** A reference id: true when already read (the object is not repeated). */
  #reference(): boolean {
    const id = this.int();
    if (id < 1) throw new Stop("broken");
    if (this.#seen.has(id)) return true;
    this.#seen.add(id);
    return false;
  }

  /** Reads one object; returns its text when it is a string. */
  object(depth: number): string | undefined {
    if (depth > MAX_DEPTH || ++this.objects > MAX_OBJECTS) throw new Stop("head");
    const tag = this.int();
    switch (tag) {
      case NIL:
        return undefined;
      case NUMBER:
        this.skip(8);
        return undefined;
      case BOOLEAN: {
        const v = this.int();
        if (v !== 0 && v !== 1) throw new Stop("broken");
        return undefined;
      }
      case STRING: {
        const s = this.bytes(this.int());
        return charCodes(s.subarray(0, 64));
      }
      case FUNCTION:
        this.#function(depth);
        return undefined;
      case TABLE:
      case TORCH:
      case RECUR_FUNCTION:
      case LEGACY_RECUR_FUNCTION:
        if (this.#reference()) return undefined;
        if (tag === TABLE) this.#table(depth);
        else if (tag === TORCH) this.#torch(depth);
        else this.#function(depth);
        return undefined;
      default:
        throw new Stop("broken");
    }
  }

  #function(depth: number): void {
    const dump = this.bytes(this.int());
    if (!plausibleDump(dump)) throw new Stop("broken");
    this.functions++;
    this.object(depth + 1); // upvalues
  }

  #table(depth: number): void {
    const n = this.int();
    if (n < 0 || n * 8 > this.size - this.pos) throw new Stop("broken");
    for (let i = 0; i < n; i++) {
      const key = this.object(depth + 1);
      if (key !== undefined && key.length > 0 && /^[\x20-\x7e]+$/.test(key)) this.stringKeys++;
      this.object(depth + 1);
    }
  }

  #torch(depth: number): void {
    let cls = this.name();
    const versioned = /^V \d+$/.test(cls);
    if (versioned) cls = this.name();
    if (!ANY_CLASS.test(cls)) throw new Stop("broken");
    if (versioned || cls.includes(".")) this.classes++;
    const m = TENSOR.exec(cls);
    if (m === null || (m[1] === undefined && m[2] === undefined)) {
      this.object(depth + 1); // the default read: one table of fields
      return;
    }
    const element = ELEMENT[m[2] ?? "Float"] ?? 4;
    if (m[3] === "Storage") {
      const n = this.long();
      if (n < 0) throw new Stop("broken");
      this.skip(n * element);
      return;
    }
    const dims = this.int();
    if (dims < 0 || dims > 64) throw new Stop("broken");
    for (let i = 0; i <= 2 * dims; i++) if (this.long() < 0) throw new Stop("broken");
    const tag = this.int();
    if (tag === NIL) return;
    if (tag !== TORCH) throw new Stop("broken");
    if (this.#reference()) return;
    this.#torch(depth + 1);
  }
}

/**
 * Walks the root object of a binary Torch7 stream within the head.
 * @param head - the first bytes
 * @param size - the file's size
 */
export function walkTorch7Head(head: Uint8Array, size: number): T7HeadWalk {
  const walk = new Walk(head, size);
  let stop: Stop["why"] | undefined;
  let root = -1;
  if (head.length >= 4) root = head[0]! | (head[1]! << 8) | (head[2]! << 16) | (head[3]! << 24);
  try {
    walk.object(0);
  } catch (error) {
    if (!(error instanceof Stop)) throw error;
    stop = error.why;
  }
  return {
    root,
    functions: walk.functions,
    classes: walk.classes,
    stringKeys: walk.stringKeys,
    complete: stop === undefined && walk.pos === size,
    partial: stop === "head",
    broken: stop === "broken",
  };
}

/**
 * Whether the walk shows a Torch7 stream: a root `torch.load` reads (table, torch object,
 * function) holding a serialized function (even when the bytes break after it: the reader reports
 * both), or, with the structure valid to the end of the root, of the file or of the head, a
 * classed torch object or printable string keys.
 * @param w - the walk
 */
export function isTorch7Walk(w: T7HeadWalk): boolean {
  if (![TABLE, TORCH, FUNCTION, RECUR_FUNCTION, LEGACY_RECUR_FUNCTION].includes(w.root)) return false;
  if (w.functions > 0) return true;
  if (w.broken) return false;
  return w.classes > 0 || (w.stringKeys > 0 && (w.complete || w.partial));
}

export const detectTorch7: Detector = ({ head, size, name }) => {
  const cls = torchObjectClass(head);
  if (cls !== undefined) return { format: "torch7", offset: 0, reason: `Torch7 object of class ${cls}` };
  const t7 = extensionOf(name) === "t7";
  if (looksAscii(head)) {
    const text = latin1(head.subarray(0, 64));
    if (t7 || text.startsWith("4\n")) return { format: "torch7", offset: 0, reason: "Torch7 ASCII serialization" };
  }
  // Roots torch.load reads (TABLE, TORCH, FUNCTION, LEGACY_RECUR_FUNCTION, RECUR_FUNCTION): only
  // these first bytes are walked.
  const root = i32(head, 0);
  if (root !== undefined && root >= 3 && root <= 8 && root !== 5 && isTorch7Walk(walkTorch7Head(head, size))) {
    return { format: "torch7", offset: 0, reason: `Torch7 object stream (root ${ROOT_NAMES[root] ?? root})` };
  }
  if (t7 && plausible(head, size)) return { format: "torch7", offset: 0, reason: "Torch7 object stream (.t7)" };
  return undefined;
};

declare module "../../core/formats.js" {
  interface FormatRegistry {
    torch7: true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "torch7Rules");

/** Lua Torch7 serialized objects. */
export const torch7Module = {
  name: "torch7",
  formats: [{ id: "torch7", description: "Lua Torch7 serialized object (torch.save)", claimExtensions: ["t7"] }],
  // Below the text formats: ASCII torch files are text, binary ones have no magic.
  detectors: [{ rank: 185, detect: detectTorch7 }],
  analyzers: [lazyAnalyzer("torch7", ["torch7"], async () => (await import("./analyzer.js")).torch7Analyzer)],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
