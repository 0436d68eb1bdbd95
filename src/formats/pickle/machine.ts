/**
 * The symbolic pickle machine: CPython's unpickler (`Modules/_pickle.c`) with every effect
 * replaced by a record. Exact stack, mark stack and memo; values with provenance; resolution of
 * what each REDUCE / INST / OBJ / NEWOBJ / NEWOBJ_EX / BUILD really calls, through resolver
 * chains (`getattr`, `__import__`, `operator.*getter`, `functools.partial`, ...), monkey-patches
 * and the copyreg extension registry. It never imports or runs anything.
 * @module
 */
import { gunzipSync, inflateSync } from "node:zlib";
import { ModelgateError } from "../../errors.js";
import { fixImports } from "./compat.js";
import { type DecoderState, type FastSink, type OpArg, PickleError, SinkAction } from "./decoder.js";
import type { PickleInput } from "./input.js";
import { opcodeName } from "./opcodes.js";
import {
  type CallRecord,
  CONTAINER_CAP,
  decodeUtf8,
  intOf,
  isStr,
  latin1,
  materialize,
  PyBuffer,
  PyBytes,
  PyCall,
  PyCode,
  PyDict,
  PyFloat,
  PyLargeStr,
  PyNamespace,
  PyOperator,
  PyPartial,
  PyPersistent,
  PyRef,
  PySeq,
  PyStr,
  PyUnknown,
  preview,
  previewArgs,
  type RefOrigin,
  type RefSite,
  seqItems,
  strOf,
  type Value,
} from "./values.js";

/** Kinds of noteworthy events the machine records besides references. */
export type MachineEventKind =
  | "monkeypatch"
  | "dynamic-import"
  | "dynamic-call"
  | "ext-unregistered"
  | "persistent-id"
  | "joblib-array";

/** Something the machine saw that is worth a finding. */
export interface MachineEvent {
  /** What happened. */
  readonly kind: MachineEventKind;
  /** Opcode offset. */
  readonly offset: number;
  /** Opcode name. */
  readonly opcode: string;
  /** Human-readable description. */
  readonly message: string;
  /** Extra evidence. */
  readonly evidence: Record<string, string | number | boolean>;
  /** Severity the event deserves when it differs from the rule default. */
  readonly severity?: "critical" | "high" | "medium" | "low" | "info";
}

/** How a nested payload will be loaded. */
export type NestedKind = "pickle" | "torch" | "numpy" | "joblib" | "marshal" | "code" | "literal";

/** Bytes or text handed to a deserializer or code evaluator (or a literal that looks like one). */
export interface NestedPayload {
  /** What will interpret it. */
  readonly kind: NestedKind;
  /** The callee that receives it (`pickle.loads` ...), or `literal`. */
  readonly via: string;
  /** Offset of the opcode that passed it (or of the literal). */
  readonly offset: number;
  /** The payload. */
  readonly value: PyBytes | PyLargeStr | string | undefined;
}

/** State shared by the pickles of one file (the process-wide registries CPython keeps). */
export interface SharedState {
  /** copyreg extension codes registered by the stream itself (`copyreg.add_extension`). */
  readonly ext: Map<number, readonly [string, string]>;
  /** Attributes of globals overwritten by BUILD/setattr, by dotted name. */
  readonly patches: Map<string, Value>;
}

/** Machine settings and budgets. */
export interface MachineOptions {
  /** Items a container keeps. */
  containerCap: number;
  /** Memo entries kept in full; later literal entries are only marked present. */
  memoDetailCap: number;
  /** Maximum stack depth. */
  maxStack: number;
  /** Maximum mark-stack depth. */
  maxMarks: number;
  /** Maximum memo entries. */
  maxMemo: number;
  /** Maximum distinct names referenced. */
  maxRefs: number;
  /** The loader has a `persistent_load` (torch); otherwise PERSID is reported. */
  persistentLoad: boolean;
  /** Registries shared with the other pickles of the file. */
  shared: SharedState;
  /** Reads joblib's inline array data after `NumpyArrayWrapper` BUILDs. */
  inlineArrays: boolean;
  /**
   * Analyses a pickle embedded inline at the input's position (joblib object arrays), returning
   * after its STOP.
   */
  inlinePickle: ((input: PickleInput, offset: number) => Promise<void>) | undefined;
}

/** Default machine settings. */
export function defaultMachineOptions(): MachineOptions {
  return {
    containerCap: CONTAINER_CAP,
    memoDetailCap: 65_536,
    maxStack: 4_000_000,
    maxMarks: 100_000,
    maxMemo: 100_000_000,
    maxRefs: 100_000,
    persistentLoad: false,
    shared: { ext: new Map(), patches: new Map() },
    inlineArrays: true,
    inlinePickle: undefined,
  };
}

const ELIDED = new PyUnknown("memo entry not kept (memo larger than the detail budget)");

/** Whether a value is worth keeping in a large memo (it can name a callee). */
function isReference(v: Value): boolean {
  if (v === null || typeof v !== "object" || v instanceof PyStr) return false;
  return (
    v instanceof PyRef ||
    v instanceof PyCall ||
    v instanceof PyPartial ||
    v instanceof PyOperator ||
    v instanceof PyNamespace ||
    v instanceof PyCode ||
    v instanceof PyPersistent ||
    v instanceof PyUnknown
  );
}

/**
 * The memo. Entries below `detailCap` live in a dense array; up to `detailCap` further entries
 * in a map; past that only references are kept and other entries are only marked present (a GET
 * of one yields an unknown value, so a callee built from it is reported as unresolvable).
 */
class Memo {
  readonly #dense: (Value | undefined)[] = [];
  readonly #far = new Map<number, Value>();
  #farMax = -1;
  /** Every index below it is present (MEMOIZE fills the memo in order: no bit needed). */
  #contig = 0;
  /** Presence of indexes from `#contig` up to 2**28 (others in `#sparse`). */
  #bits = new Uint8Array(1024);
  readonly #sparse = new Set<number>();
  size = 0;

  constructor(
    private readonly detailCap: number,
    private readonly max: number,
  ) {}

  #has(i: number): boolean {
    if (i < this.#contig) return true;
    if (i < this.#bits.length * 8) return ((this.#bits[i >>> 3] as number) & (1 << (i & 7))) !== 0;
    return i >= 1 << 28 && this.#sparse.has(i);
  }

  #mark(i: number): void {
    if (i === this.#contig) {
      let c = i + 1;
      const bits = this.#bits;
      while (c < bits.length * 8 && ((bits[c >>> 3] as number) & (1 << (c & 7))) !== 0) c++;
      this.#contig = c;
    } else if (i < 1 << 28) {
      if (i >= this.#bits.length * 8) {
        let n = this.#bits.length * 2;
        while (n * 8 <= i) n *= 2;
        const next = new Uint8Array(n);
        next.set(this.#bits);
        this.#bits = next;
      }
      this.#bits[i >>> 3] = (this.#bits[i >>> 3] as number) | (1 << (i & 7));
    } else {
      this.#sparse.add(i);
    }
  }

  put(i: number, v: Value, offset: number): void {
    this.store(i, materialize(v), offset);
  }

  /** {@link Memo.put} of a value that refers to no input buffer (no lazy str inside). */
  store(i: number, v: Value, offset: number): void {
    const fresh = !this.#has(i);
    if (fresh) {
      this.size++;
      if (this.size > this.max)
        throw new PickleError(`memo larger than ${this.max} entries`, offset, "budget", "maxMemo");
      this.#mark(i);
    }
    if (i < this.detailCap) {
      this.#dense[i] = v;
      return;
    }
    const far = this.#far;
    if (far.size < this.detailCap || isReference(v) || (i <= this.#farMax && far.has(i))) {
      if (far.size < this.detailCap * 4 || far.has(i)) {
        far.set(i, v);
        if (i > this.#farMax) this.#farMax = i;
        return;
      }
    }
    if (!fresh && i <= this.#farMax) far.delete(i);
  }

  /**
   * Does what `put(i, literal, _)` does when that keeps no value (entry `i` is only marked
   * present) and cannot exceed the budget; otherwise does nothing.
   * @returns whether it applied the put
   */
  putPresence(i: number): boolean {
    if (i < this.detailCap) return false;
    const far = this.#far;
    if (far.size < this.detailCap || (i <= this.#farMax && far.has(i))) return false;
    if (!this.#has(i)) {
      if (this.size >= this.max) return false;
      this.size++;
      this.#mark(i);
    }
    return true;
  }

  /**
   * {@link Memo.putPresence} for the next index of a memo filled in order, the common case of
   * large pickles (MEMOIZE): a few comparisons.
   */
  appendPresence(i: number): boolean {
    // #mark keeps #contig past every marked index: entry #contig is never present
    if (i !== this.#contig || i >= 1 << 28 || i <= this.#farMax) return false;
    if (i < this.detailCap || this.#far.size < this.detailCap || this.size >= this.max) return false;
    this.size++;
    this.#contig = i + 1;
    return true;
  }

  /** Whether a put of a fresh entry would exceed the budget. */
  get full(): boolean {
    return this.size >= this.max;
  }

  get(i: number): Value | undefined {
    if (!this.#has(i)) return undefined;
    if (i < this.detailCap) return this.#dense[i] as Value;
    const v = this.#far.get(i);
    return v !== undefined || this.#far.has(i) ? v : ELIDED;
  }
}

const RESOLVER_NAMES = new Set([
  "builtins.getattr",
  "builtins.__import__",
  "importlib.import_module",
  "importlib.__import__",
  "pkgutil.resolve_name",
  "pydoc.locate",
  "operator.attrgetter",
  "_operator.attrgetter",
  "operator.itemgetter",
  "_operator.itemgetter",
  "operator.methodcaller",
  "_operator.methodcaller",
  "operator.getitem",
  "_operator.getitem",
  "builtins.vars",
  "builtins.object.__getattribute__",
  "builtins.type.__getattribute__",
  "builtins.dict.get",
  "builtins.dict.__getitem__",
  "functools.partial",
  "_functools.partial",
]);

/**
 * Whether a name is a resolver the machine sees through (its calls become references to what
 * they resolve).
 * @param name - canonical name
 */
export function isResolver(name: string): boolean {
  return RESOLVER_NAMES.has(name);
}

const DESERIALIZERS: Readonly<Record<string, "pickle" | "torch" | "numpy" | "joblib" | "marshal">> = {
  "pickle.loads": "pickle",
  "pickle._loads": "pickle",
  "_pickle.loads": "pickle",
  "pickle.load": "pickle",
  "pickle._load": "pickle",
  "_pickle.load": "pickle",
  "dill.loads": "pickle",
  "dill._dill.loads": "pickle",
  "dill.load": "pickle",
  "cloudpickle.loads": "pickle",
  "cloudpickle.load": "pickle",
  "numpy.loads": "pickle",
  "pandas.read_pickle": "pickle",
  "joblib.load": "joblib",
  "joblib.numpy_pickle.load": "joblib",
  "torch.load": "torch",
  "torch.serialization.load": "torch",
  "torch.storage._load_from_bytes": "torch",
  "numpy.load": "numpy",
  "marshal.loads": "marshal",
  "marshal.load": "marshal",
};

const CODE_EVALUATORS = new Set([
  "builtins.eval",
  "builtins.exec",
  "builtins.compile",
  "builtins.execfile",
  "code.compile_command",
  "codeop.compile_command",
  "codeop.CommandCompiler",
  "runpy._run_code",
  "numpy.testing._private.utils.runstring",
  "timeit.timeit",
  "timeit.repeat",
  "cProfile.run",
  "cProfile.runctx",
  "profile.run",
  "profile.runctx",
]);

const BYTESIO = new Set(["io.BytesIO", "_io.BytesIO"]);

/** Element type and byte size of each legacy PyTorch storage class. */
export const TORCH_STORAGES: Readonly<Record<string, readonly [string, number]>> = Object.freeze({
  DoubleStorage: ["float64", 8],
  FloatStorage: ["float32", 4],
  HalfStorage: ["float16", 2],
  BFloat16Storage: ["bfloat16", 2],
  LongStorage: ["int64", 8],
  IntStorage: ["int32", 4],
  ShortStorage: ["int16", 2],
  CharStorage: ["int8", 1],
  ByteStorage: ["uint8", 1],
  BoolStorage: ["bool", 1],
  ComplexFloatStorage: ["complex64", 8],
  ComplexDoubleStorage: ["complex128", 16],
  QInt8Storage: ["qint8", 1],
  QUInt8Storage: ["quint8", 1],
  QInt32Storage: ["qint32", 4],
  QUInt4x2Storage: ["quint4x2", 1],
  QUInt2x4Storage: ["quint2x4", 1],
  UntypedStorage: ["uint8", 1],
});
const TORCH_STORAGE_DTYPES: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(TORCH_STORAGES).map(([k, [d]]) => [k, d]),
);
/** Instance attributes the unpickler looks up on the object itself (BUILD, APPENDS, ADDITEMS). */
const INSTANCE_HOOKS = new Set(["__setstate__", "extend", "append", "add"]);
const MAX_DECODED = 64 << 20;

// ---------------------------------------------------------------- fast path
//
// PickleMachine.fastRun executes the opcodes that dominate opcode-dense pickles (literal pushes,
// MARK, memo puts, and the APPENDS/SETITEMS that end a batch) straight from the decoder's
// buffer. When a MARK is set over a list, set or dict that already holds `containerCap` items,
// the literals of the batch that follows are not even built: they can only be counted by the
// container. The machine then keeps just where the batch starts in the buffer and how many
// items it holds (a "deferred run"). A batch that ends in APPENDS/ADDITEMS/SETITEMS on that
// container adds the count; anything else first re-reads the run from the buffer and pushes
// the exact values (the machine is then in the same state as without the fast path). Memo puts
// inside a run store the exact value of the top item, read back from its bytes, whenever the
// memo keeps it.

/** Opcodes {@link PickleMachine.fastRun} may execute. */
const FAST_CODES = new Uint8Array(256);
for (const c of [0x28, 0x47, 0x4a, 0x4b, 0x4d, 0x4e, 0x88, 0x89, 0x8c, 0x58, 0x94, 0x71, 0x72, 0x65, 0x90, 0x75]) {
  FAST_CODES[c] = 1;
}
/** Width of the literal opcodes of fixed width the fast path executes (0: not one). */
const LITERAL_WIDTH = new Uint8Array(256);
LITERAL_WIDTH[0x47] = 9; // BINFLOAT
LITERAL_WIDTH[0x4a] = 5; // BININT
LITERAL_WIDTH[0x4b] = 2; // BININT1
LITERAL_WIDTH[0x4d] = 3; // BININT2
LITERAL_WIDTH[0x4e] = 1; // NONE
LITERAL_WIDTH[0x88] = 1; // NEWTRUE
LITERAL_WIDTH[0x89] = 1; // NEWFALSE

/** Memo index of MEMOIZE (`size`), BINPUT or LONG_BINPUT at `p`. */
function memoIndex(buf: Uint8Array, p: number, size: number): number {
  const code = buf[p] as number;
  if (code === 0x94) return size;
  if (code === 0x71) return buf[p + 1] as number;
  return (
    ((buf[p + 1] as number) |
      ((buf[p + 2] as number) << 8) |
      ((buf[p + 3] as number) << 16) |
      ((buf[p + 4] as number) << 24)) >>>
    0
  );
}

/** A list, set or dict that keeps no more items: further items are only counted. */
function isSaturated(v: Value | undefined, cap: number): boolean {
  return (
    (v instanceof PySeq && (v.kind === "list" || v.kind === "set") && v.items.length >= cap) ||
    (v instanceof PyDict && v.keys.length >= cap)
  );
}

/** Strings at least this long go through {@link PickleMachine.op} (literal sniffing). */
const FAST_STR_MAX = 16;
const EMPTY_BUF = new Uint8Array(0);
/** Most bytes per item a deferred run may keep when copied out of a buffer (see release). */
const SEG_BYTES_PER_ITEM = 32;

/** Byte width of an opcode that can appear inside a deferred run. */
function runOpWidth(buf: Uint8Array, p: number): number {
  switch (buf[p]) {
    case 0x47: // BINFLOAT
    case 0x95: // FRAME
      return 9;
    case 0x4a: // BININT
    case 0x72: // LONG_BINPUT
      return 5;
    case 0x4b: // BININT1
    case 0x71: // BINPUT
      return 2;
    case 0x4d: // BININT2
      return 3;
    case 0x4e: // NONE
    case 0x88: // NEWTRUE
    case 0x89: // NEWFALSE
    case 0x94: // MEMOIZE
      return 1;
    case 0x8c: // SHORT_BINUNICODE
      return 2 + (buf[p + 1] as number);
    case 0x58: // BINUNICODE (short: the length fits one byte)
      return 5 + (buf[p + 1] as number);
    default:
      throw new ModelgateError("INTERNAL", `opcode 0x${(buf[p] ?? 0).toString(16)} inside a deferred run`);
  }
}

/** The symbolic unpickler for one pickle. */
export class PickleMachine implements FastSink {
  /** Value stack. */
  readonly stack: Value[] = [];
  /** Mark stack (stack lengths). */
  readonly marks: number[] = [];
  /** Protocol in force (PROTO; 0 until one is seen, as in CPython). */
  proto = 0;
  /** Highest PROTO seen. */
  maxProto = 0;
  /** Names referenced, by canonical name. */
  readonly refs = new Map<string, RefSite>();
  /** Noteworthy events. */
  readonly events: MachineEvent[] = [];
  /** Payloads handed to deserializers or evaluators. */
  readonly nested: NestedPayload[] = [];
  /** Persistent ids seen (first ones kept in full). */
  readonly persistentIds: PyPersistent[] = [];
  /** Number of persistent ids seen. */
  persistentCount = 0;
  /** The value STOP returned. */
  result: Value | undefined;
  /** Tensors rebuilt by `torch._utils._rebuild_tensor*` calls: count, elements, dtypes. */
  readonly tensors = { count: 0, elements: 0, dtypes: new Set<string>() };

  readonly #o: MachineOptions;
  readonly #maxStack: number;
  readonly #memo: Memo;
  /** Buffer the lazy strs above {@link PickleMachine.#lowWater} on the stack refer to. */
  #lazyBuf: Uint8Array | undefined;
  #lowWater = 0;
  /** A lazy str was made since the last {@link PickleMachine.release}. */
  #pinned = false;
  #pendingArray: PyCall | undefined;
  #eventCounts = new Map<string, number>();

  /** @param options - settings (defaults from {@link defaultMachineOptions}) */
  constructor(options: Partial<MachineOptions> = {}) {
    this.#o = { ...defaultMachineOptions(), ...options };
    this.#maxStack = this.#o.maxStack;
    this.#memo = new Memo(this.#o.memoDetailCap, this.#o.maxMemo);
  }

  /** Options in force. */
  get options(): Readonly<MachineOptions> {
    return this.#o;
  }

  // ---------------------------------------------------------------- stack helpers

  #fence(): number {
    const n = this.marks.length;
    return n === 0 ? 0 : (this.marks[n - 1] as number);
  }

  #underflow(offset: number): never {
    throw new PickleError(this.marks.length > 0 ? "unexpected MARK found" : "unpickling stack underflow", offset);
  }

  #pop(offset: number): Value {
    const s = this.stack;
    if (s.length <= this.#fence()) this.#underflow(offset);
    const v = s.pop() as Value;
    if (s.length < this.#lowWater) this.#lowWater = s.length;
    return v;
  }

  #push(v: Value, offset: number): void {
    const s = this.stack;
    if (s.length >= this.#maxStack) {
      throw new PickleError(`stack deeper than ${this.#o.maxStack}`, offset, "budget", "maxStack");
    }
    s.push(v);
  }

  #truncate(n: number): void {
    this.stack.length = n;
    if (n < this.#lowWater) this.#lowWater = n;
  }

  #marker(offset: number): number {
    const m = this.marks.pop();
    if (m === undefined) throw new PickleError("could not find MARK", offset);
    return m;
  }

  #tuple(from: number): PySeq {
    const t = new PySeq("tuple");
    const s = this.stack;
    const cap = this.#o.containerCap;
    for (let i = from; i < s.length; i++) t.push(s[i] as Value, cap);
    this.#truncate(from);
    return t;
  }

  /** Materialises lazy strings pushed since the last input chunk change. */
  #flushLazy(buf: Uint8Array): void {
    if (buf === this.#lazyBuf) return;
    const s = this.stack;
    for (let i = Math.min(this.#lowWater, s.length); i < s.length; i++) {
      const v = s[i];
      if (v instanceof PyStr) materialize(v);
    }
    this.#lowWater = s.length;
    this.#lazyBuf = buf;
  }

  /**
   * A str decoded only when looked at (opcode-dense pickles carry millions of strs nobody looks
   * at). It refers to `buf`, which the input must then not reuse (see {@link PickleMachine.release}).
   */
  #lazyStr(buf: Uint8Array, start: number, end: number): PyStr {
    if (buf !== this.#lazyBuf) this.#flushLazy(buf);
    this.#pinned = true;
    return new PyStr(buf, start, end);
  }

  // ---------------------------------------------------------------- events & references

  #event(e: MachineEvent): void {
    const key = `${e.kind}:${e.message}`;
    const n = (this.#eventCounts.get(key) ?? 0) + 1;
    this.#eventCounts.set(key, n);
    if (n <= 3) this.events.push(e);
  }

  /** How many times an event with this kind and message occurred (including ones not kept). */
  eventCount(e: MachineEvent): number {
    return this.#eventCounts.get(`${e.kind}:${e.message}`) ?? 1;
  }

  #site(
    name: string,
    module: string,
    qualname: string,
    origin: RefOrigin,
    offset: number,
    extra: { rawName?: string; via?: string } = {},
  ): RefSite {
    let site = this.refs.get(name);
    if (site === undefined) {
      if (this.refs.size >= this.#o.maxRefs) {
        throw new PickleError(`more than ${this.#o.maxRefs} distinct globals`, offset, "budget", "maxRefs");
      }
      site = {
        name,
        module,
        qualname,
        origin,
        offset,
        proto: this.proto,
        ...(extra.rawName !== undefined ? { rawName: extra.rawName } : {}),
        ...(extra.via !== undefined ? { via: extra.via } : {}),
        calls: [],
        callCount: 0,
        refCount: 0,
        consumed: false,
        escaped: false,
        unresolvedCalls: 0,
        resolvedTo: [],
        mutated: false,
      };
      this.refs.set(name, site);
    }
    site.refCount++;
    return site;
  }

  /** CPython's find_class: compat renames below protocol 3, dotted names from protocol 4. */
  #findClass(module: string, name: string, origin: RefOrigin, offset: number): Value {
    const fixed = fixImports(module, name, this.proto);
    const canonical = `${fixed.module}.${fixed.name}`;
    const patched = this.#patched(canonical);
    if (patched !== undefined) return patched;
    const site = this.#site(canonical, fixed.module, fixed.name, origin, offset, {
      ...(fixed.renamed ? { rawName: `${module}.${name}` } : {}),
    });
    return new PyRef(canonical, site);
  }

  /** A value an earlier monkey-patch put at this dotted name (or under a prefix of it). */
  #patched(name: string): Value | undefined {
    const patches = this.#o.shared.patches;
    if (patches.size === 0) return undefined;
    let cut = name.length;
    for (;;) {
      const prefix = name.slice(0, cut);
      const hit = patches.get(prefix);
      if (hit !== undefined || patches.has(prefix)) {
        let v: Value = hit ?? null;
        for (const part of name
          .slice(cut + 1)
          .split(".")
          .filter((p) => p.length > 0)) {
          v = this.#derive(v, part, "monkey-patched attribute", -1);
        }
        return v;
      }
      cut = name.lastIndexOf(".", cut - 1);
      if (cut <= 0) return undefined;
    }
  }

  /** `getattr(base, attr)` as a value. */
  #derive(base: Value, attr: string, via: string, offset: number): Value {
    const name = this.#nameOf(base);
    if (base instanceof PyRef) base.site.consumed = true;
    if (base instanceof PyNamespace) {
      const full = base.modules ? attr : `${base.of}.${attr}`;
      return this.#refTo(full, via, offset, base.modules);
    }
    if (name === undefined) return new PyUnknown(`attribute ${attr} of an unknown object`);
    return this.#refTo(`${name}.${attr}`, via, offset);
  }

  #refTo(full: string, via: string, offset: number, isModule = false): Value {
    const patched = this.#patched(full);
    if (patched !== undefined) return patched;
    const dot = full.indexOf(".");
    const module = dot < 0 ? full : full.slice(0, dot);
    const qualname = dot < 0 ? "" : full.slice(dot + 1);
    return new PyRef(full, this.#site(full, module, qualname, "resolver", offset, { via }), isModule);
  }

  /** A dotted name for a value when it has one (refs, namespaces, instances of named classes). */
  #nameOf(v: Value): string | undefined {
    if (v instanceof PyRef) return v.name;
    if (v instanceof PyNamespace) return v.modules ? "sys.modules" : `vars(${v.of})`;
    if (v instanceof PyCall) return `${v.calleeName ?? "<dynamic>"}()`;
    if (typeof v === "string" || v instanceof PyStr) return "builtins.str()";
    if (typeof v === "number") return Number.isInteger(v) ? "builtins.int()" : "builtins.float()";
    if (typeof v === "bigint") return "builtins.int()";
    if (v instanceof PyBytes) return v.mutable ? "builtins.bytearray()" : "builtins.bytes()";
    if (v instanceof PyDict) return "builtins.dict()";
    if (v instanceof PySeq) return `builtins.${v.kind}()`;
    return undefined;
  }

  /** Marks references found in a value (to a small depth) as escaped. */
  #escape(v: Value | undefined, depth = 0): void {
    if (v instanceof PyRef) v.site.escaped = true;
    else if (v instanceof PySeq && depth < 3) for (const x of v.items) this.#escape(x, depth + 1);
    else if (v instanceof PyDict && depth < 3) for (const x of v.values) this.#escape(x, depth + 1);
    else if (v instanceof PyPartial && depth < 3) {
      this.#escape(v.func, depth + 1);
      for (const x of v.args) this.#escape(x, depth + 1);
    }
  }

  // ---------------------------------------------------------------- calls

  /**
   * Models `callee(*args, **kwargs)` (use `call`) or `callee.__new__(callee, *args)` (use `new`).
   */
  #call(
    callee: Value,
    args: Value,
    kwargs: Value | undefined,
    opcode: string,
    offset: number,
    use: "call" | "new",
    via?: string,
  ): Value {
    if (callee instanceof PyRef) {
      const site = callee.site;
      site.callCount++;
      const rec: CallRecord = {
        opcode,
        offset,
        args: previewArgs(args, kwargs),
        use,
        ...(via !== undefined ? { via } : {}),
      };
      if (site.calls.length < 4) site.calls.push(rec);
      if (callee.name.startsWith("torch._utils._rebuild_tensor")) this.#tensorStats(args);
      const result = use === "call" ? this.#semantics(callee, args, opcode, offset) : undefined;
      if (result === undefined) {
        this.#escape(args);
        this.#escape(kwargs);
        return new PyCall(callee, callee.name, args, opcode, offset, kwargs);
      }
      return result;
    }
    if (callee instanceof PyPartial) {
      const merged = new PySeq("tuple");
      for (const a of callee.args) merged.push(a, this.#o.containerCap);
      for (const a of seqItems(args) ?? []) merged.push(a, this.#o.containerCap);
      return this.#call(callee.func, merged, kwargs, opcode, offset, use, "functools.partial");
    }
    if (callee instanceof PyOperator && use === "call") {
      const target = seqItems(args)?.[0];
      if (target === undefined) return new PyUnknown("operator called without arguments");
      if (callee.kind === "attrgetter") {
        const out: Value[] = [];
        for (const item of callee.items) {
          const path = strOf(item);
          if (path === undefined) {
            this.#dynamicResolution(opcode, offset, "operator.attrgetter with a computed attribute name");
            out.push(new PyUnknown("computed attribute"));
            continue;
          }
          let v: Value = target;
          for (const part of path.split(".")) v = this.#derive(v, part, "operator.attrgetter", offset);
          out.push(v);
        }
        if (out.length === 1) return out[0] as Value;
        const t = new PySeq("tuple");
        for (const v of out) t.push(v, this.#o.containerCap);
        return t;
      }
      if (callee.kind === "itemgetter") {
        return this.#getitem(target, callee.items[0] ?? null, opcode, offset, "operator.itemgetter");
      }
      const method = strOf(callee.items[0]);
      if (method === undefined) {
        this.#dynamicResolution(opcode, offset, "operator.methodcaller with a computed method name");
        return new PyUnknown("computed method");
      }
      const margs = new PySeq("tuple");
      for (const a of callee.items.slice(1)) margs.push(a, this.#o.containerCap);
      const fn = this.#derive(target, method, "operator.methodcaller", offset);
      return this.#call(fn, margs, undefined, opcode, offset, "call", "operator.methodcaller");
    }
    if (callee instanceof PyCode) {
      this.#event({
        kind: "dynamic-call",
        offset,
        opcode,
        severity: "critical",
        message: `calls a function built from code (${callee.how})`,
        evidence: { callee: `<code via ${callee.how}>`, args: previewArgs(args, kwargs) },
      });
      return new PyCall(callee, `<code via ${callee.how}>`, args, opcode, offset, kwargs);
    }
    if (
      callee === null ||
      typeof callee !== "object" ||
      callee instanceof PyStr ||
      callee instanceof PyFloat ||
      callee instanceof PyBytes ||
      callee instanceof PyLargeStr ||
      callee instanceof PySeq ||
      callee instanceof PyDict
    ) {
      throw new PickleError(`${opcode} on a ${pyType(callee)} object, which is not callable`, offset);
    }
    const label =
      callee instanceof PyCall
        ? `${callee.calleeName ?? "<dynamic>"}()`
        : callee instanceof PyPersistent
          ? "persistent_load(...)"
          : preview(callee, 80);
    this.#event({
      kind: "dynamic-call",
      offset,
      opcode,
      message: `${opcode} calls a value that cannot be resolved to a name (${label})`,
      evidence: { callee: label, args: previewArgs(args, kwargs), use },
    });
    this.#escape(args);
    return new PyCall(callee, undefined, args, opcode, offset, kwargs);
  }

  #tensorStats(args: Value): void {
    const a = seqItems(args) ?? [];
    const t = this.tensors;
    t.count++;
    const size = seqItems(a[2]);
    if (size !== undefined) {
      let n = 1;
      for (const d of size) n *= intOf(d) ?? 0;
      if (Number.isSafeInteger(t.elements + n)) t.elements += n;
    }
    const storage = a[0];
    const st = storage instanceof PyPersistent ? seqItems(storage.pid)?.[1] : undefined;
    const dtype = st instanceof PyRef ? TORCH_STORAGE_DTYPES[st.name.slice(st.name.lastIndexOf(".") + 1)] : undefined;
    if (dtype !== undefined && t.dtypes.size < 32) t.dtypes.add(dtype);
  }

  #dynamicResolution(opcode: string, offset: number, message: string): void {
    this.#event({ kind: "dynamic-import", offset, opcode, message, evidence: {} });
  }

  #getitem(target: Value, key: Value, opcode: string, offset: number, via: string): Value {
    const k = strOf(key);
    if (target instanceof PyRef && target.name === "sys.modules") {
      target.site.consumed = true;
      if (k === undefined) {
        this.#dynamicResolution(opcode, offset, `${via} on sys.modules with a computed key`);
        return new PyUnknown("computed module");
      }
      return this.#refTo(k, via, offset, true);
    }
    if (target instanceof PyRef && k !== undefined && /(^|\.)__(builtins|dict)__$/.test(target.name)) {
      // X.__builtins__ is the builtins namespace; X.__dict__ is X's own
      target.site.consumed = true;
      const base = target.name.endsWith("__builtins__") ? "builtins" : target.name.slice(0, -".__dict__".length);
      return this.#refTo(`${base}.${k}`, via, offset);
    }
    if (target instanceof PyNamespace) {
      if (k === undefined) {
        this.#dynamicResolution(opcode, offset, `${via} on a namespace with a computed key`);
        return new PyUnknown("computed name");
      }
      return this.#derive(target, k, via, offset);
    }
    if (target instanceof PyDict && key !== null) {
      const v = k !== undefined ? target.get(k) : undefined;
      if (v !== undefined) return v;
    }
    if (target instanceof PySeq) {
      const i = intOf(key);
      if (i !== undefined && i >= 0 && i < target.items.length) return target.items[i] as Value;
    }
    return new PyUnknown(`item of ${this.#nameOf(target) ?? "an unknown object"}`);
  }

  /** What known callables return, and the nested payloads they take. Undefined: a plain call. */
  #semantics(callee: PyRef, args: Value, opcode: string, offset: number): Value | undefined {
    const name = callee.name;
    const a = seqItems(args) ?? [];
    const cap = this.#o.containerCap;
    const site = callee.site;
    const resolved = (v: Value): Value => {
      if (v instanceof PyRef) site.resolvedTo.push(v.name);
      else site.unresolvedCalls++;
      return v;
    };
    switch (name) {
      case "builtins.getattr":
      case "builtins.object.__getattribute__":
      case "builtins.type.__getattribute__": {
        const attr = strOf(a[1]);
        const base = a[0];
        if (attr === undefined || base === undefined) {
          site.unresolvedCalls++;
          this.#dynamicResolution(opcode, offset, `${name} with a computed attribute name`);
          this.#escape(args);
          return new PyUnknown("computed attribute");
        }
        return resolved(this.#derive(base, attr, name, offset));
      }
      case "builtins.__import__":
      case "importlib.__import__": {
        const mod = strOf(a[0]);
        if (mod === undefined) {
          site.unresolvedCalls++;
          this.#dynamicResolution(opcode, offset, `${name} of a computed module name`);
          return new PyUnknown("computed module");
        }
        const fromlist = a[3];
        const nonEmpty = fromlist instanceof PySeq ? fromlist.count > 0 : fromlist !== undefined && fromlist !== null;
        const target = nonEmpty ? mod : (mod.split(".")[0] ?? mod);
        if (target !== mod) this.#refTo(mod, name, offset, true); // the submodule is imported too
        return resolved(this.#refTo(target, name, offset, true));
      }
      case "importlib.import_module": {
        const mod = strOf(a[0]);
        const pkg = strOf(a[1]);
        if (mod === undefined) {
          site.unresolvedCalls++;
          this.#dynamicResolution(opcode, offset, `${name} of a computed module name`);
          return new PyUnknown("computed module");
        }
        const full = mod.startsWith(".") && pkg !== undefined ? `${pkg}${mod}` : mod;
        return resolved(this.#refTo(full, name, offset, true));
      }
      case "pkgutil.resolve_name":
      case "pydoc.locate": {
        const spec = strOf(a[0]);
        if (spec === undefined) {
          site.unresolvedCalls++;
          this.#dynamicResolution(opcode, offset, `${name} of a computed name`);
          return new PyUnknown("computed name");
        }
        return resolved(this.#refTo(spec.replace(":", "."), name, offset));
      }
      case "operator.attrgetter":
      case "_operator.attrgetter":
        return new PyOperator("attrgetter", a);
      case "operator.itemgetter":
      case "_operator.itemgetter":
        return new PyOperator("itemgetter", a);
      case "operator.methodcaller":
      case "_operator.methodcaller":
        return new PyOperator("methodcaller", a);
      case "operator.getitem":
      case "_operator.getitem":
      case "builtins.dict.get":
      case "builtins.dict.__getitem__": {
        const v = this.#getitem(a[0] ?? null, a[1] ?? null, opcode, offset, name);
        if (v instanceof PyRef) site.resolvedTo.push(v.name);
        else if (a[0] instanceof PyNamespace || (a[0] instanceof PyRef && a[0].name === "sys.modules"))
          site.unresolvedCalls++;
        return v;
      }
      case "builtins.vars": {
        const of = a[0] === undefined ? "<caller globals>" : this.#nameOf(a[0]);
        if (a[0] instanceof PyRef) a[0].site.consumed = true;
        site.resolvedTo.push(`vars(${of ?? "?"})`);
        return new PyNamespace(of ?? "<unknown>");
      }
      case "builtins.globals":
      case "builtins.locals":
        return new PyNamespace("<caller globals>");
      case "functools.partial":
      case "_functools.partial": {
        const func = a[0];
        if (func === undefined) return undefined;
        if (func instanceof PyRef) site.resolvedTo.push(func.name);
        return new PyPartial(func, a.slice(1));
      }
      case "copyreg.add_extension": {
        const m = strOf(a[0]);
        const n = strOf(a[1]);
        const code = intOf(a[2]);
        if (m !== undefined && n !== undefined && code !== undefined) {
          this.#o.shared.ext.set(code, [m, n]);
          site.resolvedTo.push(`${m}.${n}`);
        } else site.unresolvedCalls++;
        return null;
      }
      case "copyreg._reconstructor": {
        const cls = a[0];
        const base = a[1];
        if (cls === undefined) return undefined;
        if (base !== undefined && !(base instanceof PyRef && base.name === "builtins.object")) {
          // base.__init__(obj, state) runs when base is not object.
          const initArgs = new PySeq("tuple");
          initArgs.push(a[2] ?? null, cap);
          this.#call(base, initArgs, undefined, opcode, offset, "call", "copyreg._reconstructor");
        }
        return this.#instantiate(cls, new PySeq("tuple"), opcode, offset, "copyreg._reconstructor");
      }
      case "copyreg.__newobj__":
      case "copyreg.__newobj_ex__": {
        const cls = a[0];
        if (cls === undefined) return undefined;
        const rest = new PySeq("tuple");
        for (const x of a.slice(1)) rest.push(x, cap);
        return this.#instantiate(cls, rest, opcode, offset, name);
      }
      case "torch._tensor._rebuild_from_type_v2":
      case "torch._tensor._rebuild_from_type": {
        const func = a[0];
        const newType = a[1];
        if (func !== undefined) this.#call(func, a[2] ?? new PySeq("tuple"), undefined, opcode, offset, "call", name);
        if (newType !== undefined) this.#instantiate(newType, new PySeq("tuple"), opcode, offset, name);
        return undefined;
      }
      case "torch._utils._rebuild_wrapper_subclass":
      case "numpy.core.multiarray._reconstruct":
      case "numpy._core.multiarray._reconstruct": {
        const cls = a[0];
        if (cls !== undefined) this.#instantiate(cls, new PySeq("tuple"), opcode, offset, name);
        return undefined;
      }
      case "copyreg._reconstructor_new":
        return undefined;
      case "builtins.setattr": {
        const target = a[0];
        const attr = strOf(a[1]);
        this.#mutate(
          target ?? null,
          attr !== undefined ? [[attr, a[2] ?? null]] : [],
          opcode,
          offset,
          "builtins.setattr",
        );
        return null;
      }
      case "builtins.compile": {
        const src = this.#text(a[0]);
        if (src !== undefined || a[0] instanceof PyBytes) {
          this.nested.push({ kind: "code", via: name, offset, value: a[0] instanceof PyBytes ? a[0] : src });
        }
        return new PyCode(name, src);
      }
      case "types.FunctionType":
      case "types.LambdaType": {
        const code = a[0];
        return new PyCode(code instanceof PyCode ? `${name}(${code.how})` : name, undefined);
      }
      case "types.CodeType":
        return new PyCode(name, undefined);
    }
    if (name.endsWith(".newObj") && name.startsWith("sklearn.")) {
      const cls = a[0];
      if (cls !== undefined) return this.#instantiate(cls, new PySeq("tuple"), opcode, offset, name);
      return undefined;
    }
    const deser = DESERIALIZERS[name];
    if (deser !== undefined) {
      const payload = this.#payloadOf(a[0]);
      this.nested.push({ kind: deser, via: name, offset, value: payload });
      return deser === "marshal" ? new PyCode(name, undefined) : undefined;
    }
    if (CODE_EVALUATORS.has(name)) {
      const first = name === "numpy.testing._private.utils.runstring" || name.startsWith("builtins.") ? a[0] : a[0];
      const src = first instanceof PyCode ? first.source : this.#text(first);
      if (first instanceof PyCode) {
        if (src !== undefined) this.nested.push({ kind: "code", via: name, offset, value: src });
      } else this.nested.push({ kind: "code", via: name, offset, value: first instanceof PyBytes ? first : src });
      return undefined;
    }
    return this.#transform(name, a, offset);
  }

  /** The text of a str literal, or of bytes that decode as UTF-8. */
  #text(v: Value | undefined): string | undefined {
    const s = strOf(v);
    if (s !== undefined) return s;
    if (v instanceof PyBytes && v.data !== undefined) return decodeUtf8(v.data, 0, v.data.length).text;
    return undefined;
  }

  /** The bytes a deserializer will read: a bytes value, or the bytes behind `io.BytesIO(b)`. */
  #payloadOf(v: Value | undefined): PyBytes | PyLargeStr | string | undefined {
    if (v instanceof PyBytes || v instanceof PyLargeStr) return v;
    if (v instanceof PyCall && v.calleeName !== undefined && BYTESIO.has(v.calleeName)) {
      return this.#payloadOf(seqItems(v.args)?.[0]);
    }
    const s = strOf(v);
    return s;
  }

  /** Pure decoding functions whose results feed nested payloads (base64, hex, zlib, latin-1). */
  #transform(name: string, a: readonly Value[], _offset: number): Value | undefined {
    const input = a[0];
    const apply = (t: string): Value | undefined => {
      if (input instanceof PyBytes && input.data === undefined) {
        return new PyBytes(undefined, input.blob, [...input.transforms, t]);
      }
      if (input instanceof PyLargeStr) return new PyBytes(undefined, input.blob, [t]);
      const bytes = input instanceof PyBytes ? input.data : undefined;
      const text = strOf(input);
      const src = bytes ?? (text !== undefined ? Buffer.from(text, "latin1") : undefined);
      if (src === undefined) return undefined;
      const out = applyTransform(t, src);
      return out === undefined ? undefined : new PyBytes(out);
    };
    switch (name) {
      case "base64.b64decode":
      case "base64.standard_b64decode":
      case "base64.decodebytes":
      case "base64.decodestring":
      case "binascii.a2b_base64":
        return apply("base64");
      case "base64.urlsafe_b64decode":
        return apply("base64url");
      case "base64.b16decode":
      case "binascii.a2b_hex":
      case "binascii.unhexlify":
      case "builtins.bytes.fromhex":
      case "builtins.bytearray.fromhex":
        return apply("hex");
      case "zlib.decompress":
        return apply("zlib");
      case "gzip.decompress":
        return apply("gzip");
      case "codecs.decode":
      case "_codecs.decode": {
        const enc = (strOf(a[1]) ?? "utf-8").toLowerCase().replace(/[-_]/g, "");
        if (enc === "base64" || enc === "base64codec") return apply("base64");
        if (enc === "hex" || enc === "hexcodec") return apply("hex");
        if (enc === "zlib" || enc === "zlibcodec" || enc === "zip") return apply("zlib");
        return undefined;
      }
      case "_codecs.encode":
      case "codecs.encode": {
        const enc = (strOf(a[1]) ?? "utf-8").toLowerCase().replace(/[-_]/g, "");
        if (input instanceof PyLargeStr) {
          return new PyBytes(undefined, input.blob, enc === "latin1" || enc === "iso88591" ? ["latin1"] : []);
        }
        const text = strOf(input);
        if (text === undefined) return undefined;
        if (enc === "latin1" || enc === "iso88591" || enc === "l1") {
          return new PyBytes(Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff));
        }
        if (enc === "utf8" || enc === "ascii") return new PyBytes(new Uint8Array(Buffer.from(text, "utf8")));
        return undefined;
      }
      case "builtins.str.join": {
        const sep = strOf(a[0]);
        const parts =
          a[1] instanceof PySeq && a[1].count === a[1].items.length ? a[1].items.map((x) => strOf(x)) : undefined;
        if (sep === undefined || parts === undefined || parts.some((x) => x === undefined)) return undefined;
        const out = parts.join(sep);
        return out.length <= MAX_DECODED ? out : undefined;
      }
      case "builtins.str.__add__":
      case "operator.add":
      case "_operator.add":
      case "operator.concat":
      case "_operator.concat": {
        const l = strOf(a[0]);
        const r = strOf(a[1]);
        return l !== undefined && r !== undefined && l.length + r.length <= MAX_DECODED ? l + r : undefined;
      }
      case "builtins.bytes":
      case "builtins.bytearray": {
        const text = strOf(input);
        if (text !== undefined)
          return new PyBytes(new Uint8Array(Buffer.from(text, "utf8")), undefined, [], name.endsWith("array"));
        if (input instanceof PySeq && input.count === input.items.length) {
          const out = new Uint8Array(input.items.length);
          for (let i = 0; i < out.length; i++) out[i] = (intOf(input.items[i]) ?? 0) & 0xff;
          return new PyBytes(out, undefined, [], name.endsWith("array"));
        }
        if (input instanceof PyBytes)
          return new PyBytes(input.data, input.blob, input.transforms, name.endsWith("array"));
        return undefined;
      }
    }
    return undefined;
  }

  /** `cls.__new__(cls, *args)` through a helper (the class is instantiated, not called). */
  /** The items above the top MARK as a new list or frozenset (LIST, FROZENSET). */
  #markedSeq(kind: "list" | "frozenset", offset: number): PySeq {
    const t = this.#tuple(this.#marker(offset));
    const seq = new PySeq(kind);
    seq.items.push(...t.items); // at most the container cap
    seq.count = t.count;
    return seq;
  }

  #instantiate(cls: Value, args: PySeq, opcode: string, offset: number, via: string): Value {
    const result = this.#call(cls, args, undefined, opcode, offset, "new", via);
    return result;
  }

  /** Attributes set on a value (BUILD state, setattr, item assignment on a global). */
  #mutate(target: Value, attrs: readonly [string, Value][], opcode: string, offset: number, how: string): void {
    if (target instanceof PyRef || target instanceof PyNamespace) {
      const base = target instanceof PyRef ? target.name : target.modules ? "" : target.of;
      if (target instanceof PyRef) target.site.mutated = true;
      for (const [k, v] of attrs) {
        if (!k.startsWith("[")) this.#o.shared.patches.set(base === "" ? k : `${base}.${k}`, v);
        this.#escape(v);
      }
      this.#event({
        kind: "monkeypatch",
        offset,
        opcode,
        message: `${how} modifies ${target instanceof PyRef ? target.name : preview(target)} (monkey-patching a module, class or function)`,
        evidence: {
          target: target instanceof PyRef ? target.name : preview(target),
          attributes: attrs.map(([k]) => k).join(", ") || "?",
          values: attrs.map(([, v]) => preview(v, 60)).join(", "),
        },
      });
      return;
    }
    const dunders = attrs.filter(([k]) => (k.startsWith("__") && k.endsWith("__")) || INSTANCE_HOOKS.has(k));
    if (target instanceof PyCall) {
      for (const [k, v] of attrs) {
        if (!INSTANCE_HOOKS.has(k)) continue;
        target.attrs ??= new Map();
        target.attrs.set(k, v);
      }
    }
    for (const [, v] of attrs) this.#escape(v);
    if (dunders.length > 0) {
      this.#event({
        kind: "monkeypatch",
        offset,
        opcode,
        message: `${how} sets special attribute(s) ${dunders.map(([k]) => k).join(", ")} on an object (the unpickler or Python looks them up on the instance)`,
        evidence: {
          target: preview(target, 80),
          attributes: dunders.map(([k]) => k).join(", "),
          values: dunders.map(([, v]) => preview(v, 60)).join(", "),
        },
      });
    }
  }

  // ---------------------------------------------------------------- opcodes

  /** @inheritdoc */
  op(code: number, offset: number, a: OpArg): SinkAction {
    // A deferred run is pushed for real before anything but FRAME (which cannot touch it).
    if (this.#defer && code !== 0x95) this.#undefer();
    // The most frequent opcodes, kept small so the decoder's loop can inline this method.
    const s = this.stack;
    switch (code) {
      case 0x47: // BINFLOAT
        if (s.length >= this.#maxStack) break;
        // non-integral floats stay JS numbers (ints are always integral): no allocation
        s.push(Number.isInteger(a.float) ? new PyFloat(a.float) : a.float);
        return 0;
      case 0x4a: // BININT
      case 0x4b: // BININT1
      case 0x4d: // BININT2
        if (s.length >= this.#maxStack) break;
        s.push(a.num);
        return 0;
      case 0x8c: // SHORT_BINUNICODE
        if (s.length >= this.#maxStack || a.end - a.start >= 16 || !isAscii(a.buf, a.start, a.end)) break;
        s.push(this.#lazyStr(a.buf, a.start, a.end));
        return 0;
      case 0x94: // MEMOIZE
        if (s.length <= this.#fence()) break;
        this.#memo.put(this.#memo.size, s[s.length - 1] as Value, offset);
        return 0;
      case 0x28: // MARK
        if (this.marks.length >= this.#o.maxMarks) break;
        this.marks.push(s.length);
        return 0;
      case 0x4e: // NONE
        if (s.length >= this.#maxStack) break;
        s.push(null);
        return 0;
      case 0x95: // FRAME
        return 0;
    }
    return this.#cold(code, offset, a);
  }

  // ---------------------------------------------------------------- fast path

  /** Opcode bytes {@link PickleMachine.fastRun} may execute. */
  readonly fastCodes: Uint8Array = FAST_CODES;
  /** Opcodes executed by the last {@link PickleMachine.fastRun}. */
  fastOps = 0;
  /** Buffer position of the last opcode executed by the last {@link PickleMachine.fastRun}. */
  fastLast = 0;
  /** Items above the top mark are counted, not pushed (see the fast path notes above). */
  #defer = false;
  /** Buffer holding the deferred run. */
  #runBuf: Uint8Array = EMPTY_BUF;
  /** Position of its first item. */
  #runStart = 0;
  /** Position of its last item. */
  #runTop = 0;
  /** Items deferred. */
  #runCount = 0;
  /** Earlier parts of the run, copied out of buffers the input has moved on from. */
  #segs: { buf: Uint8Array; start: number; count: number }[] = [];
  /** Items in {@link PickleMachine.#segs}. */
  #segCount = 0;
  #view: DataView = new DataView(EMPTY_BUF.buffer);

  #viewOf(buf: Uint8Array): DataView {
    let v = this.#view;
    if (v.buffer !== buf.buffer || v.byteOffset !== buf.byteOffset || v.byteLength !== buf.byteLength) {
      v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
      this.#view = v;
    }
    return v;
  }

  /** The value the literal opcode at `p` pushes (a lazy str refers to `buf`). */
  #literalAt(buf: Uint8Array, p: number): Value {
    switch (buf[p]) {
      case 0x47: {
        // BINFLOAT
        const f = this.#viewOf(buf).getFloat64(p + 1, false);
        return Number.isInteger(f) ? new PyFloat(f) : f;
      }
      case 0x4a: // BININT
        return (
          (buf[p + 1] as number) |
          ((buf[p + 2] as number) << 8) |
          ((buf[p + 3] as number) << 16) |
          ((buf[p + 4] as number) << 24)
        );
      case 0x4b: // BININT1
        return buf[p + 1] as number;
      case 0x4d: // BININT2
        return (buf[p + 1] as number) | ((buf[p + 2] as number) << 8);
      case 0x4e: // NONE
        return null;
      case 0x88: // NEWTRUE
        return true;
      case 0x89: // NEWFALSE
        return false;
      case 0x8c: // SHORT_BINUNICODE
        return this.#lazyStr(buf, p + 2, p + 2 + (buf[p + 1] as number));
      case 0x58: // BINUNICODE
        return this.#lazyStr(buf, p + 5, p + 5 + (buf[p + 1] as number));
      default:
        throw new ModelgateError("INTERNAL", `opcode 0x${(buf[p] ?? 0).toString(16)} is not a fast literal`);
    }
  }

  /** The value of the literal at `p` for the memo, which keeps strs decoded (no lazy str). */
  #memoValue(buf: Uint8Array, p: number): Value {
    const code = buf[p] as number;
    if (code === 0x8c) return latin1(buf, p + 2, p + 2 + (buf[p + 1] as number));
    if (code === 0x58) return latin1(buf, p + 5, p + 5 + (buf[p + 1] as number));
    return this.#literalAt(buf, p);
  }

  /** Ends a deferred run: pushes its items for real. */
  #undefer(): void {
    const n = this.#runCount;
    const buf = this.#runBuf;
    this.#defer = false;
    this.#runCount = 0;
    this.#runBuf = EMPTY_BUF;
    if (this.#segCount > 0) {
      for (const seg of this.#segs) this.#pushRun(seg.buf, seg.start, seg.count);
      this.#segs = [];
      this.#segCount = 0;
    }
    if (n > 0) this.#pushRun(buf, this.#runStart, n);
  }

  /** Pushes the `n` literal items of a run from `buf[p]` on (memo puts and FRAMEs are skipped). */
  #pushRun(buf: Uint8Array, p: number, n: number): void {
    const s = this.stack;
    for (let k = 0; k < n; ) {
      const code = buf[p] as number;
      if (code !== 0x94 && code !== 0x71 && code !== 0x72 && code !== 0x95) {
        s.push(this.#literalAt(buf, p));
        k++;
      }
      p += runOpWidth(buf, p);
    }
  }

  /**
   * The input's buffer is about to change: a deferred run is copied out of it.
   * @returns whether lazy strs may still refer to the buffer (the input must not reuse it)
   */
  release(): boolean {
    const count = this.#runCount;
    if (count > 0) {
      const buf = this.#runBuf;
      const start = this.#runStart;
      const end = this.#runTop + runOpWidth(buf, this.#runTop);
      if (end - start > SEG_BYTES_PER_ITEM * count + 1024) {
        // memo puts or FRAMEs between the items: copying would cost more than the items
        this.#undefer();
      } else {
        // keep the run deferred: copy its bytes out of the buffer
        this.#segs.push({ buf: buf.slice(start, end), start: 0, count });
        this.#segCount += count;
        this.#runCount = 0;
      }
    }
    this.#runBuf = EMPTY_BUF;
    const pinned = this.#pinned;
    this.#pinned = false;
    return pinned;
  }

  /**
   * The fast path (see {@link FastSink}): executes literal pushes, MARK, memo puts and the
   * APPENDS/ADDITEMS/SETITEMS ending a deferred run, exactly as {@link PickleMachine.op} would;
   * returns at the first opcode it cannot (errors, budgets and everything else stay with `op`).
   * @param buf - decoder buffer
   * @param pos - first opcode
   * @param stop - opcodes must end at or before this position
   * @param maxOps - most opcodes to execute
   * @param base - absolute offset of `buf[0]`
   */
  fastRun(buf: Uint8Array, pos: number, stop: number, maxOps: number, base: number): number {
    if (this.#defer && buf !== this.#runBuf) {
      if (this.#runCount > 0)
        this.#undefer(); // not released: cannot happen with the decoder
      else this.#runBuf = buf;
    }
    let p = pos;
    let n = 0;
    let last = pos;
    while (n < maxOps && p < stop) {
      if (this.#defer) {
        const q = this.#countRun(buf, p, stop, maxOps - n);
        if (q !== p) {
          n += this.#ops;
          last = this.#last;
          p = q;
          if (n >= maxOps || p >= stop) break;
        }
        // what the counting loop leaves: a memo put that keeps a value, the end of the run
        const w = this.#runStep(buf, p, stop, base);
        if (w === 0) break;
        last = p;
        p += w;
        n++;
      } else if (buf[p] === 0x28) {
        // MARK, typically starting the next batch
        const marks = this.marks;
        if (marks.length >= this.#o.maxMarks) break;
        marks.push(this.stack.length);
        this.#tryDefer(buf);
        last = p;
        p++;
        n++;
      } else {
        const q = this.#fastPlain(buf, p, stop, maxOps - n, base);
        if (q === p) break;
        n += this.#ops;
        last = this.#last;
        p = q;
        if (!this.#defer) break; // it stopped at an opcode it cannot execute
      }
    }
    this.fastOps = n;
    this.fastLast = last;
    return p;
  }

  /** Opcodes executed by the last fast loop. */
  #ops = 0;
  /** Position of the last opcode it executed. */
  #last = 0;

  /**
   * After a MARK: starts a deferred run when the items of the batch can only be counted by a
   * full list, set or dict below the mark (and the mark is not the bottom of another one).
   */
  #tryDefer(buf: Uint8Array): boolean {
    const marks = this.marks;
    const m = marks.length;
    const x = marks[m - 1] as number;
    const s = this.stack;
    if (m === 0 || x !== s.length || x <= (m === 1 ? 0 : (marks[m - 2] as number))) return false;
    if (!isSaturated(s[x - 1], this.#o.containerCap)) return false;
    this.#defer = true;
    this.#runBuf = buf;
    this.#runCount = 0;
    this.#segs = [];
    this.#segCount = 0;
    return true;
  }

  /** Fast loop outside deferred runs: pushes real values. Returns after a MARK that starts one. */
  #fastPlain(buf: Uint8Array, pos: number, stop: number, maxOps: number, base: number): number {
    const s = this.stack;
    const marks = this.marks;
    const memo = this.#memo;
    const maxStack = this.#maxStack;
    let p = pos;
    let last = pos;
    let n = 0;
    while (n < maxOps && p < stop) {
      const code = buf[p] as number;
      let w = LITERAL_WIDTH[code] as number;
      if (w !== 0) {
        if (p + w > stop || s.length >= maxStack) break;
        s.push(this.#literalAt(buf, p));
      } else if (code === 0x8c || code === 0x58) {
        // SHORT_BINUNICODE, BINUNICODE: short ASCII only
        const h = code === 0x8c ? 2 : 5;
        if (p + h > stop) break;
        const len = buf[p + 1] as number;
        const e = p + h + len;
        if (len >= FAST_STR_MAX || e > stop || s.length >= maxStack) break;
        if (code === 0x58 && ((buf[p + 2] as number) | (buf[p + 3] as number) | (buf[p + 4] as number)) !== 0) break;
        let bits = 0;
        for (let i = p + h; i < e; i++) bits |= buf[i] as number;
        if (bits >= 0x80) break;
        s.push(this.#lazyStr(buf, p + h, e));
        w = e - p;
      } else if (code === 0x94 || code === 0x71 || code === 0x72) {
        // MEMOIZE, BINPUT, LONG_BINPUT
        w = code === 0x94 ? 1 : code === 0x71 ? 2 : 5;
        const m = marks.length;
        if (p + w > stop || s.length <= (m === 0 ? 0 : (marks[m - 1] as number)) || memo.full) break;
        memo.put(memoIndex(buf, p, memo.size), s[s.length - 1] as Value, base + p);
      } else if (code === 0x28) {
        // MARK
        if (marks.length >= this.#o.maxMarks) break;
        marks.push(s.length);
        last = p;
        p += 1;
        n++;
        if (this.#tryDefer(buf)) break;
        continue;
      } else break;
      last = p;
      p += w;
      n++;
    }
    this.#ops = n;
    this.#last = last;
    return p;
  }

  /**
   * Fast loop inside a deferred run: counts literal items and applies memo puts that keep no
   * value. Kept small (it is the hottest code of the engine); everything else is left to
   * {@link PickleMachine.#runStep} and {@link PickleMachine.op}.
   */
  #countRun(buf: Uint8Array, pos: number, stop: number, maxOps: number): number {
    const memo = this.#memo;
    const view = this.#viewOf(buf);
    // items already in the run, in copied segments
    const before = this.#segCount;
    const limit = this.#maxStack - this.stack.length - this.#segCount;
    let count = this.#runCount;
    let runStart = this.#runStart;
    let runTop = this.#runTop;
    let p = pos;
    let last = pos;
    let n = 0;
    while (n < maxOps && p < stop) {
      const code = buf[p] as number;
      let w = LITERAL_WIDTH[code] as number;
      if (w === 0) {
        if (code === 0x8c || code === 0x58) {
          // SHORT_BINUNICODE, BINUNICODE: short ASCII only
          const h = code === 0x8c ? 2 : 5;
          if (p + h > stop) break;
          const len = buf[p + 1] as number;
          const e = p + h + len;
          if (len >= FAST_STR_MAX || e > stop) break;
          if (code === 0x58 && ((buf[p + 2] as number) | (buf[p + 3] as number) | (buf[p + 4] as number)) !== 0) break;
          let bits = 0;
          let i = p + h;
          for (; i + 4 <= e; i += 4) bits |= view.getUint32(i);
          for (; i < e; i++) bits |= buf[i] as number;
          if ((bits & 0x80808080) !== 0) break;
          // a dunder str where a dict key may be: a full dict still keeps it, so it must exist
          if (((before + count) & 1) === 0 && len >= 2 && buf[p + h] === 0x5f && buf[p + h + 1] === 0x5f) break;
          w = e - p;
        } else if (code === 0x94 || code === 0x72 || code === 0x71) {
          // MEMOIZE, LONG_BINPUT, BINPUT of the top item, when the memo only marks it present
          w = code === 0x94 ? 1 : code === 0x72 ? 5 : 2;
          if (count === 0 || p + w > stop || !memo.appendPresence(memoIndex(buf, p, memo.size))) break;
          last = p;
          p += w;
          n++;
          continue;
        } else break;
      } else {
        // fixed-width literals: a run of the same opcode (floats, ints) in a tight loop
        const fit = Math.min(maxOps - n, limit - count, Math.floor((stop - p) / w));
        if (fit <= 0) break;
        if (count === 0) runStart = p;
        let q = p + w;
        let j = 1;
        while (j < fit && buf[q] === code) {
          q += w;
          j++;
        }
        count += j;
        n += j;
        p = q;
        runTop = q - w;
        last = runTop;
        continue;
      }
      // a str item
      if (count >= limit) break;
      if (count === 0) runStart = p;
      runTop = p;
      count++;
      last = p;
      p += w;
      n++;
    }
    this.#runCount = count;
    this.#runStart = runStart;
    this.#runTop = runTop;
    this.#ops = n;
    this.#last = last;
    return p;
  }

  /**
   * One opcode inside a deferred run that {@link PickleMachine.#countRun} leaves: a memo put
   * that keeps a value, or the APPENDS/ADDITEMS/SETITEMS giving the run to its container.
   * @returns its width, or 0 when {@link PickleMachine.op} must execute it
   */
  #runStep(buf: Uint8Array, p: number, stop: number, base: number): number {
    const code = buf[p] as number;
    const count = this.#runCount;
    if (code === 0x94 || code === 0x72 || code === 0x71) {
      const w = code === 0x94 ? 1 : code === 0x72 ? 5 : 2;
      if (count === 0 || p + w > stop) return 0;
      const memo = this.#memo;
      const i = memoIndex(buf, p, memo.size);
      if (!memo.putPresence(i)) {
        if (memo.full) return 0;
        memo.store(i, this.#memoValue(buf, this.#runTop), base + p);
      }
      return w;
    }
    if (code !== 0x65 && code !== 0x90 && code !== 0x75) return 0;
    // APPENDS, ADDITEMS, SETITEMS: the run's items go to the full container below the mark
    const total = this.#segCount + count;
    if (total === 0 || (code === 0x75 && (total & 1) !== 0)) return 0;
    const marks = this.marks;
    const m = marks.length;
    if (m === 0) return 0;
    const x = marks[m - 1] as number;
    const s = this.stack;
    if (x !== s.length || x <= (m === 1 ? 0 : (marks[m - 2] as number))) return 0;
    const t = s[x - 1];
    const cap = this.#o.containerCap;
    if (code === 0x75) {
      if (!(t instanceof PyDict && t.keys.length >= cap)) return 0;
      t.count += total / 2;
    } else {
      if (!(t instanceof PySeq && (t.kind === "list" || t.kind === "set") && t.items.length >= cap)) return 0;
      t.count += total;
    }
    marks.pop();
    this.#defer = false;
    this.#runCount = 0;
    this.#runBuf = EMPTY_BUF;
    if (this.#segCount > 0) {
      this.#segs = [];
      this.#segCount = 0;
    }
    return 1;
  }

  #cold(code: number, offset: number, a: OpArg): SinkAction {
    const s = this.stack;
    switch (code) {
      case 0x28: // MARK
        if (this.marks.length >= this.#o.maxMarks) {
          throw new PickleError(`more than ${this.#o.maxMarks} nested MARKs`, offset, "budget", "maxMarks");
        }
        this.marks.push(s.length);
        break;
      case 0x2e: // STOP
        this.result = this.#pop(offset);
        return SinkAction.Stop;
      case 0x30: {
        // POP: pops the topmost mark when nothing is above it
        const n = this.marks.length;
        if (n > 0 && this.marks[n - 1] === s.length) this.marks.pop();
        else this.#pop(offset);
        break;
      }
      case 0x31: // POP_MARK
        this.#truncate(this.#marker(offset));
        break;
      case 0x32: // DUP
        if (s.length <= this.#fence()) this.#underflow(offset);
        this.#push(s[s.length - 1] as Value, offset);
        break;
      case 0x46: {
        // FLOAT
        const f = parseFloatLine(a, offset);
        this.#push(Number.isInteger(f) ? new PyFloat(f) : f, offset);
        break;
      }
      case 0x49: // INT
        this.#push(parseIntLine(a, offset), offset);
        break;
      case 0x4c: // LONG
        this.#push(parseLongLine(a, offset), offset);
        break;
      case 0x4a: // BININT
      case 0x4b: // BININT1
      case 0x4d: // BININT2
        this.#push(a.num, offset);
        break;
      case 0x8a: // LONG1
      case 0x8b: // LONG4
        this.#push(
          a.blob !== undefined ? new PyUnknown(`int of ${a.blob.length} bytes`) : twosComplement(a.buf, a.start, a.end),
          offset,
        );
        break;
      case 0x4e: // NONE
        this.#push(null, offset);
        break;
      case 0x88: // NEWTRUE
        this.#push(true, offset);
        break;
      case 0x89: // NEWFALSE
        this.#push(false, offset);
        break;
      case 0x47: // BINFLOAT
        this.#push(Number.isInteger(a.float) ? new PyFloat(a.float) : a.float, offset);
        break;
      case 0x53: // STRING
        this.#push(this.#literalStr(parseQuotedString(a, offset), offset), offset);
        break;
      case 0x54: // BINSTRING
      case 0x55: // SHORT_BINSTRING
        if (a.blob !== undefined) this.#push(new PyLargeStr(a.blob), offset);
        else this.#push(this.#literalStr(latin1(a.buf, a.start, a.end), offset), offset);
        break;
      case 0x56: // UNICODE
        this.#push(this.#literalStr(rawUnicodeEscape(a.buf, a.start, a.end), offset), offset);
        break;
      case 0x58: // BINUNICODE
      case 0x8c: // SHORT_BINUNICODE
      case 0x8d: {
        // BINUNICODE8
        if (a.blob !== undefined) {
          const big = new PyLargeStr(a.blob);
          this.#push(big, offset);
          this.#sniffLiteral(a.blob.head, offset, big);
          break;
        }
        const buf = a.buf;
        let ascii = true;
        for (let i = a.start; i < a.end; i++) {
          if ((buf[i] as number) >= 0x80) {
            ascii = false;
            break;
          }
        }
        let v: Value;
        if (ascii) {
          v = this.#lazyStr(buf, a.start, a.end);
        } else {
          const d = decodeUtf8(buf, a.start, a.end);
          if (!d.ok) throw new PickleError(`${opcodeName(code)}: 'utf-8' codec can't decode the string`, offset);
          v = d.text;
        }
        if (a.end - a.start >= 16) this.#sniffLiteral(buf.subarray(a.start, a.start + 8), offset, v);
        this.#push(v, offset);
        break;
      }
      case 0x42: // BINBYTES
      case 0x43: // SHORT_BINBYTES
      case 0x8e: // BINBYTES8
      case 0x96: {
        // BYTEARRAY8
        const mutable = code === 0x96;
        if (a.blob !== undefined) {
          const b = new PyBytes(undefined, a.blob, [], mutable);
          this.#push(b, offset);
          this.#sniffLiteral(a.blob.head, offset, b);
        } else {
          const b = new PyBytes(a.buf.slice(a.start, a.end), undefined, [], mutable);
          this.#push(b, offset);
          if (a.end - a.start >= 16) this.#sniffLiteral(b.data as Uint8Array, offset, b);
        }
        break;
      }
      case 0x97: // NEXT_BUFFER
        throw new PickleError(
          "pickle stream refers to out-of-band data but no *buffers* argument was given (NEXT_BUFFER)",
          offset,
        );
      case 0x98: {
        // READONLY_BUFFER
        if (s.length <= this.#fence()) this.#underflow(offset);
        const top = s[s.length - 1];
        if (top instanceof PyBuffer) s[s.length - 1] = new PyBuffer(true);
        break;
      }
      case 0x29: // EMPTY_TUPLE
        this.#push(new PySeq("tuple"), offset);
        break;
      case 0x85: // TUPLE1
      case 0x86: // TUPLE2
      case 0x87: {
        // TUPLE3
        const n = code - 0x84;
        if (s.length < n) this.#underflow(offset);
        this.#push(this.#tuple(s.length - n), offset);
        break;
      }
      case 0x74: // TUPLE
        this.#push(this.#tuple(this.#marker(offset)), offset);
        break;
      case 0x5d: // EMPTY_LIST
        this.#push(new PySeq("list"), offset);
        break;
      case 0x6c: // LIST
        this.#push(this.#markedSeq("list", offset), offset);
        break;
      case 0x7d: // EMPTY_DICT
        this.#push(new PyDict(), offset);
        break;
      case 0x64: {
        // DICT
        const from = this.#marker(offset);
        if ((s.length - from) % 2 !== 0) throw new PickleError("odd number of items for DICT", offset);
        const d = new PyDict();
        const cap = this.#o.containerCap;
        for (let i = from; i < s.length; i += 2) d.set(s[i] as Value, s[i + 1] as Value, cap);
        this.#truncate(from);
        this.#push(d, offset);
        break;
      }
      case 0x8f: // EMPTY_SET
        this.#push(new PySeq("set"), offset);
        break;
      case 0x91: // FROZENSET
        this.#push(this.#markedSeq("frozenset", offset), offset);
        break;
      case 0x61: // APPEND
        if (s.length - 1 <= this.#fence()) this.#underflow(offset);
        this.#extend(s.length - 1, offset, "APPEND");
        break;
      case 0x65: // APPENDS
        this.#extend(this.#marker(offset), offset, "APPENDS");
        break;
      case 0x90: // ADDITEMS
        this.#extend(this.#marker(offset), offset, "ADDITEMS");
        break;
      case 0x73: // SETITEM
        this.#setitems(s.length - 2, offset, "SETITEM");
        break;
      case 0x75: // SETITEMS
        this.#setitems(this.#marker(offset), offset, "SETITEMS");
        break;
      case 0x62: // BUILD
        return this.#build(offset);
      case 0x63: {
        // GLOBAL
        const module = utf8Line(a.buf, a.start, a.end, offset, "GLOBAL");
        const name = utf8Line(a.buf, a.start2, a.end2, offset, "GLOBAL");
        this.#push(this.#findClass(module, name, "GLOBAL", offset), offset);
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = this.#pop(offset);
        const module = this.#pop(offset);
        this.#push(this.#stackGlobal(module, name, offset), offset);
        break;
      }
      case 0x69: {
        // INST
        const from = this.#marker(offset);
        const module = asciiLine(a.buf, a.start, a.end, offset, "INST");
        const name = asciiLine(a.buf, a.start2, a.end2, offset, "INST");
        const cls = this.#findClass(module, name, "INST", offset);
        const args = this.#tuple(from);
        this.#push(this.#call(cls, args, undefined, "INST", offset, "call"), offset);
        break;
      }
      case 0x6f: {
        // OBJ
        const from = this.#marker(offset);
        if (s.length - from < 1) this.#underflow(offset);
        const args = this.#tuple(from + 1);
        const cls = this.#pop(offset);
        this.#push(this.#call(cls, args, undefined, "OBJ", offset, "call"), offset);
        break;
      }
      case 0x81: // NEWOBJ
      case 0x92: {
        // NEWOBJ_EX
        const opname = code === 0x81 ? "NEWOBJ" : "NEWOBJ_EX";
        const kwargs = code === 0x92 ? this.#pop(offset) : undefined;
        const args = this.#pop(offset);
        const cls = this.#pop(offset);
        if (isDefinitelyNot(args, "tuple")) {
          throw new PickleError(`${opname} args argument must be a tuple, not ${pyType(args)}`, offset);
        }
        if (kwargs !== undefined && isDefinitelyNot(kwargs, "dict")) {
          throw new PickleError(`${opname} kwargs argument must be a dict, not ${pyType(kwargs)}`, offset);
        }
        if (isLiteralValue(cls))
          throw new PickleError(`${opname} class argument must be a type, not ${pyType(cls)}`, offset);
        this.#push(this.#call(cls, args, kwargs, opname, offset, "new"), offset);
        break;
      }
      case 0x52: {
        // REDUCE
        const args = this.#pop(offset);
        const callee = this.#pop(offset);
        if (isDefinitelyNot(args, "tuple")) throw new PickleError("REDUCE argument list must be a tuple", offset);
        this.#push(this.#call(callee, args, undefined, "REDUCE", offset, "call"), offset);
        break;
      }
      case 0x50: {
        // PERSID
        const pid = asciiLine(a.buf, a.start, a.end, offset, "PERSID");
        this.#push(this.#persistent(PyStr.of(pid), offset, "PERSID"), offset);
        break;
      }
      case 0x51: {
        // BINPERSID
        const pid = this.#pop(offset);
        this.#push(this.#persistent(pid, offset, "BINPERSID"), offset);
        break;
      }
      case 0x67: {
        // GET
        const i = parseDecimal(a, offset, "GET");
        this.#push(this.#memoGet(i, offset), offset);
        break;
      }
      case 0x68: // BINGET
      case 0x6a: // LONG_BINGET
        this.#push(this.#memoGet(a.num, offset), offset);
        break;
      case 0x70: {
        // PUT
        if (s.length <= this.#fence()) this.#underflow(offset);
        const i = parseDecimal(a, offset, "PUT");
        if (i < 0) throw new PickleError("negative PUT argument", offset);
        this.#memo.put(i, s[s.length - 1] as Value, offset);
        break;
      }
      case 0x71: // BINPUT
      case 0x72: // LONG_BINPUT
        if (s.length <= this.#fence()) this.#underflow(offset);
        this.#memo.put(a.num, s[s.length - 1] as Value, offset);
        break;
      case 0x94: // MEMOIZE
        if (s.length <= this.#fence()) this.#underflow(offset);
        this.#memo.put(this.#memo.size, s[s.length - 1] as Value, offset);
        break;
      case 0x80: // PROTO
        this.proto = a.num;
        if (a.num > this.maxProto) this.maxProto = a.num;
        break;
      case 0x95: // FRAME
        break;
      case 0x82: // EXT1
      case 0x83: // EXT2
      case 0x84: {
        // EXT4
        if (a.num <= 0) throw new PickleError("EXT specifies code <= 0", offset);
        this.#push(this.#extension(a.num, opcodeName(code), offset), offset);
        break;
      }
      default:
        throw new PickleError(`invalid load key 0x${code.toString(16)}`, offset);
    }
    return SinkAction.Continue;
  }

  #literalStr(text: string, offset: number): string {
    if (text.length >= 16) this.#sniffLiteral(Buffer.from(text.slice(0, 8), "latin1"), offset, text);
    return text;
  }

  /** Records literal bytes/str that look like serialized data (pickle, zip, base64/hex pickle). */
  #sniffLiteral(head: Uint8Array, offset: number, value: PyBytes | PyLargeStr | PyStr | string): void {
    if (looksSerialized(head) && this.nested.length < 1000) {
      const v = value instanceof PyStr ? value.value : value;
      this.nested.push({ kind: "literal", via: "literal", offset, value: v });
    }
  }

  #memoGet(i: number, offset: number): Value {
    const v = this.#memo.get(i);
    if (v === undefined) throw new PickleError(`Memo value not found at index ${i}`, offset);
    return v;
  }

  #stackGlobal(module: Value, name: Value, offset: number): Value {
    const m = strOf(module);
    const n = strOf(name);
    if (m !== undefined && n !== undefined) return this.#findClass(m, n, "STACK_GLOBAL", offset);
    if ((isLiteralValue(module) && !isStr(module)) || (isLiteralValue(name) && !isStr(name))) {
      throw new PickleError("STACK_GLOBAL requires str", offset);
    }
    const shown = `${m ?? preview(module, 60)}.${n ?? preview(name, 60)}`;
    this.#event({
      kind: "dynamic-import",
      offset,
      opcode: "STACK_GLOBAL",
      message: `STACK_GLOBAL imports a name computed at run time (${shown})`,
      evidence: { module: m ?? preview(module, 80), name: n ?? preview(name, 80) },
    });
    return new PyUnknown(`global ${shown}`);
  }

  #extension(codeValue: number, opname: string, offset: number): Value {
    const pair = this.#o.shared.ext.get(codeValue);
    if (pair !== undefined) return this.#findClass(pair[0], pair[1], "EXT", offset);
    this.#event({
      kind: "ext-unregistered",
      offset,
      opcode: opname,
      message: `${opname} refers to extension code ${codeValue}, which the stream does not register: what it imports depends on the loading process's copyreg registry (a stock CPython raises)`,
      evidence: { code: codeValue },
    });
    return new PyUnknown(`extension ${codeValue}`);
  }

  #persistent(pid: Value, offset: number, opname: string): Value {
    this.persistentCount++;
    const items = seqItems(pid);
    if (this.#o.persistentLoad && strOf(items?.[0]) === "module" && items?.[1] !== undefined) {
      // torch's legacy persistent_load returns the class object of ('module', cls, file, source)
      if (this.persistentIds.length < 1_000_000) this.persistentIds.push(new PyPersistent(pid, offset));
      return items[1] as Value;
    }
    const p = new PyPersistent(pid, offset);
    if (this.persistentIds.length < 1_000_000) this.persistentIds.push(p);
    this.#escape(pid);
    if (!this.#o.persistentLoad) {
      this.#event({
        kind: "persistent-id",
        offset,
        opcode: opname,
        message: `${opname} needs a persistent_load hook: pickle.load raises, custom loaders resolve it arbitrarily`,
        evidence: { pid: preview(pid, 120) },
      });
    }
    return p;
  }

  #extend(x: number, offset: number, opname: string): void {
    const s = this.stack;
    if (x > s.length || x <= this.#fence()) this.#underflow(offset);
    const target = s[x - 1] as Value;
    if (x === s.length) return;
    const cap = this.#o.containerCap;
    if (target instanceof PySeq && (target.kind === "list" || target.kind === "set")) {
      if (target.items.length >= cap) target.count += s.length - x;
      else for (let i = x; i < s.length; i++) target.push(s[i] as Value, cap);
    } else if (target instanceof PyRef || target instanceof PyNamespace) {
      const items: [string, Value][] = [];
      for (let i = x; i < s.length && items.length < 8; i++)
        items.push([`[${opname === "ADDITEMS" ? "add" : "append"}]`, s[i] as Value]);
      this.#mutate(target, items, opname, offset, opname);
    } else if (isLiteralValue(target)) {
      throw new PickleError(`${opname} on a ${pyType(target)} object`, offset);
    } else {
      const hook =
        target instanceof PyCall
          ? opname === "ADDITEMS"
            ? target.attrs?.get("add")
            : (target.attrs?.get("extend") ?? target.attrs?.get("append"))
          : undefined;
      if (hook !== undefined) {
        const items = new PySeq("list");
        for (let i = x; i < s.length; i++) items.push(s[i] as Value, cap);
        const args = new PySeq("tuple");
        args.push(items, cap);
        this.#call(hook, args, undefined, opname, offset, "call", `${opname} through an attribute set by BUILD`);
      }
      for (let i = x; i < s.length; i++) this.#escape(s[i]);
    }
    this.#truncate(x);
  }

  #setitems(x: number, offset: number, opname: string): void {
    const s = this.stack;
    if (x > s.length || x <= this.#fence()) this.#underflow(offset);
    if (x === s.length) return;
    if ((s.length - x) % 2 !== 0) throw new PickleError(`odd number of items for ${opname}`, offset);
    const target = s[x - 1] as Value;
    const cap = this.#o.containerCap;
    if (target instanceof PyDict) {
      for (let i = x; i < s.length; i += 2) target.set(s[i] as Value, s[i + 1] as Value, cap);
    } else if (target instanceof PyRef || target instanceof PyNamespace) {
      const items: [string, Value][] = [];
      for (let i = x; i < s.length; i += 2) items.push([strOf(s[i]) ?? `[${preview(s[i], 40)}]`, s[i + 1] as Value]);
      this.#mutate(target, items, opname, offset, `${opname} on a global`);
    } else if (target instanceof PyCall && target.calleeName !== undefined) {
      for (let i = x + 1; i < s.length; i += 2) this.#escape(s[i]);
    } else if (isLiteralValue(target) && !(target instanceof PySeq)) {
      throw new PickleError(`${opname} on a ${pyType(target)} object`, offset);
    } else {
      for (let i = x; i < s.length; i++) this.#escape(s[i]);
    }
    this.#truncate(x);
  }

  #build(offset: number): SinkAction {
    const s = this.stack;
    if (s.length - 2 < this.#fence()) this.#underflow(offset);
    const state = this.#pop(offset);
    const inst = s[s.length - 1] as Value;
    if (inst instanceof PyCall && inst.attrs?.has("__setstate__")) {
      const fn = inst.attrs.get("__setstate__") as Value;
      const args = new PySeq("tuple");
      args.push(state, this.#o.containerCap);
      this.#call(fn, args, undefined, "BUILD", offset, "call", "__setstate__ set by an earlier BUILD");
      return SinkAction.Continue;
    }
    let dictState: Value = state;
    let slotState: Value | undefined;
    if (state instanceof PySeq && state.kind === "tuple" && state.count === 2) {
      dictState = state.items[0] ?? null;
      slotState = state.items[1];
    }
    const attrs: [string, Value][] = [];
    for (const part of [dictState, slotState]) {
      if (part instanceof PyDict) {
        part.keys.forEach((k, i) => {
          attrs.push([strOf(k) ?? `[${preview(k, 40)}]`, part.values[i] ?? null]);
        });
        for (const [k, v] of part.overflowDunders ?? []) attrs.push([k, v]);
      }
    }
    if (inst instanceof PyRef || inst instanceof PyNamespace) {
      this.#mutate(inst, attrs, "BUILD", offset, "BUILD");
      return SinkAction.Continue;
    }
    if (inst instanceof PyCall) {
      inst.state = state;
      this.#mutate(inst, attrs, "BUILD", offset, "BUILD");
      if (this.#o.inlineArrays && inst.calleeName === "joblib.numpy_pickle.NumpyArrayWrapper") {
        this.#pendingArray = inst;
        return SinkAction.Special;
      }
      return SinkAction.Continue;
    }
    if (isLiteralValue(inst) && state !== null) {
      throw new PickleError(`BUILD on a ${pyType(inst)} object, which has no __dict__`, offset);
    }
    this.#escape(state);
    return SinkAction.Continue;
  }

  /**
   * Reads joblib's inline array data after a `NumpyArrayWrapper` BUILD (padding and raw bytes
   * skipped; an object array's inline pickle analysed).
   * @param input - positioned after the BUILD opcode
   * @param dec - decoder state (the current frame)
   */
  async special(input: PickleInput, dec: DecoderState): Promise<SinkAction> {
    if (this.release()) input.retain(); // reads below move the input on
    const wrapper = this.#pendingArray;
    this.#pendingArray = undefined;
    if (wrapper === undefined) return SinkAction.Continue;
    const at = input.offset;
    const layout = joblibArrayLayout(wrapper.state);
    if (layout === undefined) {
      throw new PickleError(
        "joblib NumpyArrayWrapper whose dtype or shape cannot be read: its inline data cannot be skipped",
        at,
      );
    }
    if (dec.frameEnd >= 0 && at < dec.frameEnd) {
      throw new PickleError(
        "joblib array data starts inside a FRAME: joblib's Python unpickler would read it from after the frame",
        at,
      );
    }
    if (layout.alignment && !layout.object) {
      if (!(await input.fill(1))) throw new PickleError("joblib array padding truncated", at, "truncated");
      const pad = input.buf[input.pos] as number;
      input.pos += 1;
      if (!(await input.skip(pad))) throw new PickleError("joblib array padding truncated", at, "truncated");
    }
    this.#event({
      kind: "joblib-array",
      offset: at,
      opcode: "BUILD",
      message: `joblib inline array ${layout.dtype} ${JSON.stringify(layout.shape)}`,
      evidence: {
        dtype: layout.dtype,
        shape: JSON.stringify(layout.shape),
        bytes: layout.bytes,
        object: layout.object,
      },
      severity: "info",
    });
    if (layout.object) {
      const nested = this.#o.inlinePickle;
      if (nested === undefined) throw new PickleError("joblib object array: nested pickle not analysed", at);
      await nested(input, input.offset);
    } else if (!(await input.skip(layout.bytes))) {
      throw new PickleError(`joblib array data truncated (${layout.bytes} bytes announced)`, at, "truncated");
    }
    const s = this.stack;
    s[s.length - 1] = new PyCall(wrapper.callee, "numpy.ndarray", wrapper.args, "BUILD", wrapper.offset);
    return SinkAction.Continue;
  }
}

/** dtype, shape and byte size of a joblib NumpyArrayWrapper, from its BUILD state. */
export function joblibArrayLayout(
  state: Value | undefined,
): { dtype: string; shape: number[]; bytes: number; object: boolean; alignment: boolean } | undefined {
  if (!(state instanceof PyDict)) return undefined;
  const shapeV = state.get("shape");
  const dtypeV = state.get("dtype");
  const shape: number[] = [];
  if (!(shapeV instanceof PySeq) || shapeV.count !== shapeV.items.length) return undefined;
  for (const d of shapeV.items) {
    const n = intOf(d);
    if (n === undefined || n < 0) return undefined;
    shape.push(n);
  }
  const dt = dtypeInfo(dtypeV);
  if (dt === undefined) return undefined;
  const count = shape.reduce((x, y) => x * y, 1);
  const bytes = count * dt.itemsize;
  if (!Number.isSafeInteger(bytes)) return undefined;
  const align = state.get("numpy_array_alignment_bytes");
  return { dtype: dt.str, shape, bytes, object: dt.object, alignment: align !== undefined && align !== null };
}

/**
 * Type string, item size and object-ness of a `numpy.dtype(...)` value rebuilt by a pickle.
 * @param v - the dtype value
 */
export function dtypeInfo(v: Value | undefined): { str: string; itemsize: number; object: boolean } | undefined {
  if (!(v instanceof PyCall)) return undefined;
  const name = v.calleeName;
  if (name !== "numpy.dtype") return undefined;
  const typestr = strOf(seqItems(v.args)?.[0]);
  if (typestr === undefined) return undefined;
  const st = seqItems(v.state);
  const elsize = intOf(st?.[5]);
  const flags = intOf(st?.[7]) ?? 0;
  const kind = typestr.replace(/^[<>|=]/, "")[0] ?? "";
  const digits = Number.parseInt(typestr.replace(/^[<>|=]?[a-zA-Z]/, ""), 10);
  let itemsize = elsize !== undefined && elsize > 0 ? elsize : Number.isFinite(digits) ? digits : -1;
  if (kind === "U" && (elsize === undefined || elsize <= 0)) itemsize = Number.isFinite(digits) ? digits * 4 : -1;
  if (kind === "O") itemsize = 8;
  if (itemsize < 0) return undefined;
  return { str: typestr, itemsize, object: kind === "O" || (flags & 1) !== 0 };
}

function isAscii(buf: Uint8Array, start: number, end: number): boolean {
  let bits = 0;
  for (let i = start; i < end; i++) bits |= buf[i] as number;
  return bits < 0x80;
}

function pyType(v: Value): string {
  if (v === null) return "NoneType";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "number") return Number.isInteger(v) ? "int" : "float";
  if (typeof v === "bigint") return "int";
  if (typeof v === "string" || v instanceof PyStr || v instanceof PyLargeStr) return "str";
  if (v instanceof PyFloat) return "float";
  if (v instanceof PyBytes) return v.mutable ? "bytearray" : "bytes";
  if (v instanceof PySeq) return v.kind;
  if (v instanceof PyDict) return "dict";
  return "object";
}

function isLiteralValue(v: Value): boolean {
  return (
    v === null ||
    typeof v !== "object" ||
    v instanceof PyStr ||
    v instanceof PyLargeStr ||
    v instanceof PyFloat ||
    v instanceof PyBytes ||
    v instanceof PySeq ||
    v instanceof PyDict
  );
}

function isDefinitelyNot(v: Value, type: "tuple" | "dict"): boolean {
  if (!isLiteralValue(v)) return false;
  if (type === "tuple") return !(v instanceof PySeq && v.kind === "tuple");
  return !(v instanceof PyDict);
}

/** Whether bytes look like a serialized payload worth a nested look (pickle, zip, base64/hex pickle). */
export function looksSerialized(h: Uint8Array): boolean {
  if (h.length < 4) return false;
  const b0 = h[0] as number;
  const b1 = h[1] as number;
  if (b0 === 0x80 && b1 >= 2 && b1 <= 5) return true;
  if (b0 === 0x50 && b1 === 0x4b && h[2] === 3 && h[3] === 4) return true;
  // base64 of \x80\x02..\x05: "gAJ" "gAN" "gAS" "gAU"
  if (b0 === 0x67 && b1 === 0x41 && (h[2] === 0x4a || h[2] === 0x4e || h[2] === 0x53 || h[2] === 0x55)) return true;
  // hex of \x80\x02..\x05
  if (b0 === 0x38 && b1 === 0x30 && h[2] === 0x30 && h[3] !== undefined && h[3] >= 0x32 && h[3] <= 0x35) return true;
  return false;
}

/** Applies a named decoding to bytes (bounded); undefined when the input is not valid for it. */
export function applyTransform(t: string, src: Uint8Array): Uint8Array | undefined {
  try {
    switch (t) {
      case "base64":
      case "base64url": {
        const text = Buffer.from(src).toString("latin1").replace(/\s+/g, "");
        if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(text)) return undefined;
        return new Uint8Array(Buffer.from(text, t === "base64" ? "base64" : "base64url"));
      }
      case "hex": {
        const text = Buffer.from(src).toString("latin1").replace(/\s+/g, "");
        if (!/^([0-9a-fA-F]{2})*$/.test(text)) return undefined;
        return new Uint8Array(Buffer.from(text, "hex"));
      }
      case "latin1":
        return Uint8Array.from(decodeUtf8(src, 0, src.length).text, (c) => c.charCodeAt(0) & 0xff);
      case "zlib":
      case "gzip": {
        return new Uint8Array(
          t === "zlib"
            ? inflateSync(src, { maxOutputLength: MAX_DECODED })
            : gunzipSync(src, { maxOutputLength: MAX_DECODED }),
        );
      }
    }
  } catch {
    return undefined;
  }
  return undefined;
}

// ---------------------------------------------------------------- line argument parsing

function lineText(a: OpArg): string {
  return latin1(a.buf, a.start, a.end);
}

function utf8Line(buf: Uint8Array, start: number, end: number, offset: number, op: string): string {
  if (end - start < 1) throw new PickleError(`${op}: empty line (pickle data was truncated)`, offset);
  const d = decodeUtf8(buf, start, end);
  if (!d.ok) throw new PickleError(`${op}: line is not valid UTF-8`, offset);
  return d.text;
}

function asciiLine(buf: Uint8Array, start: number, end: number, offset: number, op: string): string {
  if (op !== "PERSID" && end - start < 1)
    throw new PickleError(`${op}: empty line (pickle data was truncated)`, offset);
  for (let i = start; i < end; i++) {
    if ((buf[i] as number) >= 0x80) throw new PickleError(`${op}: line is not ASCII`, offset);
  }
  return latin1(buf, start, end);
}

/** The line up to its first NUL: CPython parses number lines as C strings. */
function cString(raw: string): string {
  const nul = raw.indexOf("\0");
  return nul < 0 ? raw : raw.slice(0, nul);
}

/**
 * What `load_int` reads from a line (without its newline): C `strtol(s, &end, 0)` ending at the
 * newline or a NUL, else Python `int(s, 0)` on the C string; `len == 3` lines of 0/1 are bools.
 * Undefined when CPython raises.
 */
function intLineValue(raw: string): bigint | boolean | undefined {
  if (raw.length < 1) return undefined;
  const s = cString(raw);
  // strtol("") converts nothing and leaves its end pointer on the NUL: CPython accepts 0.
  const c = s === "" ? 0n : cStrtol(s);
  if (c !== undefined) return raw.length === 2 && (c === 0n || c === 1n) ? c === 1n : c;
  return pyIntLiteral(s);
}

/** What `load_long` reads: a trailing `L` (just before the newline) dropped, then `int(s, 0)` on the C string. */
function longLineValue(raw: string): bigint | undefined {
  if (raw.length < 1) return undefined;
  return pyIntLiteral(cString(raw.endsWith("L") ? raw.slice(0, -1) : raw));
}

/** What `load_float` reads: `PyOS_string_to_double` ending at the newline or a NUL. */
function floatLineValue(raw: string): number | undefined {
  const s = cString(raw);
  const t = s.toLowerCase();
  if (/^[+-]?(inf|infinity)$/.test(t)) return t.startsWith("-") ? -Infinity : Infinity;
  if (/^[+-]?nan$/.test(t)) return Number.NaN;
  return FLOAT_LINE.test(s) ? Number(s) : undefined;
}

function parseIntLine(a: OpArg, offset: number): Value {
  const v = intLineValue(lineText(a));
  if (v === undefined) throw new PickleError("could not convert string to int", offset);
  return typeof v === "boolean" ? v : normInt(v);
}

function parseLongLine(a: OpArg, offset: number): Value {
  const v = longLineValue(lineText(a));
  if (v === undefined) throw new PickleError("invalid literal for LONG", offset);
  return normInt(v);
}

/**
 * Whether CPython's `load_int`/`load_long`/`load_float` accept a protocol 0 line (without its
 * newline): the sniffer uses the same grammar as the engine.
 * @param op - the opcode's letter
 * @param line - the argument line
 */
export function acceptsLine(op: "I" | "L" | "F", line: string): boolean {
  if (op === "I") return intLineValue(line) !== undefined;
  if (op === "L") return longLineValue(line) !== undefined;
  return floatLineValue(line) !== undefined;
}

const FLOAT_LINE = /^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?)$/;

function parseDecimal(a: OpArg, offset: number, op: string): number {
  // PyLong_FromString(s, NULL, 10) on the C string (up to a NUL).
  const raw = cString(lineText(a)).trim().replace(/_/g, "");
  if (!/^[+-]?\d+$/.test(raw)) throw new PickleError(`${op}: invalid memo index`, offset);
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw new PickleError(`${op}: memo index out of range`, offset);
  return n;
}

function parseFloatLine(a: OpArg, offset: number): number {
  const v = floatLineValue(lineText(a));
  if (v === undefined) throw new PickleError("could not convert string to float", offset);
  return v;
}

function normInt(v: bigint): number | bigint {
  return v >= -BigInt(Number.MAX_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function cStrtol(s: string): bigint | undefined {
  const m = /^[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (m === null) return undefined;
  const body = m[2] ?? "0";
  let v: bigint;
  if (/^0[xX]/.test(body)) v = BigInt(body);
  else if (body.length > 1 && body.startsWith("0")) v = BigInt(`0o${body.slice(1)}`);
  else v = BigInt(body);
  v = m[1] === "-" ? -v : v;
  // strtol overflows past a C long; CPython then re-parses with int(s, 0).
  if (v > 0x7fffffffffffffffn || v < -0x8000000000000000n) return undefined;
  return v;
}

function pyIntLiteral(s: string): bigint | undefined {
  const t = s.trim();
  const m = /^([+-]?)(0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|0(?:_?0)*|[1-9](?:_?\d)*)$/.exec(t);
  if (m === null) return undefined;
  const body = (m[2] ?? "0").replace(/_/g, "");
  const v = BigInt(body);
  return m[1] === "-" ? -v : v;
}

function twosComplement(buf: Uint8Array, start: number, end: number): number | bigint {
  const n = end - start;
  if (n === 0) return 0;
  let v = 0n;
  for (let i = end - 1; i >= start; i--) v = (v << 8n) | BigInt(buf[i] as number);
  if (((buf[end - 1] as number) & 0x80) !== 0) v -= 1n << BigInt(8 * n);
  return normInt(v);
}

/** Python 2 `str` literal of the STRING opcode: quoted, backslash-escaped. */
function parseQuotedString(a: OpArg, offset: number): string {
  const buf = a.buf;
  const len = a.end - a.start;
  const q = buf[a.start];
  if (len < 2 || q !== buf[a.end - 1] || (q !== 0x27 && q !== 0x22)) {
    throw new PickleError("the STRING opcode argument must be quoted", offset);
  }
  let out = "";
  const end = a.end - 1;
  for (let i = a.start + 1; i < end; i++) {
    const c = buf[i] as number;
    if (c !== 0x5c || i + 1 >= end) {
      if (c === 0x5c) throw new PickleError("STRING: trailing \\ in string", offset);
      out += String.fromCharCode(c);
      continue;
    }
    const e = buf[++i] as number;
    switch (e) {
      case 0x0a:
        break;
      case 0x5c:
        out += "\\";
        break;
      case 0x27:
        out += "'";
        break;
      case 0x22:
        out += '"';
        break;
      case 0x62:
        out += "\b";
        break;
      case 0x66:
        out += "\f";
        break;
      case 0x74:
        out += "\t";
        break;
      case 0x6e:
        out += "\n";
        break;
      case 0x72:
        out += "\r";
        break;
      case 0x76:
        out += "\v";
        break;
      case 0x61:
        out += "\x07";
        break;
      case 0x78: {
        const hex = String.fromCharCode(buf[i + 1] ?? 0, buf[i + 2] ?? 0);
        if (i + 2 >= end || !/^[0-9a-fA-F]{2}$/.test(hex)) {
          throw new PickleError("STRING: invalid \\x escape", offset);
        }
        out += String.fromCharCode(Number.parseInt(hex, 16));
        i += 2;
        break;
      }
      default:
        if (e >= 0x30 && e <= 0x37) {
          let v = e - 0x30;
          for (
            let k = 0;
            k < 2 && i + 1 < end && (buf[i + 1] as number) >= 0x30 && (buf[i + 1] as number) <= 0x37;
            k++
          ) {
            v = v * 8 + ((buf[++i] as number) - 0x30);
          }
          out += String.fromCharCode(v & 0xff);
        } else {
          out += `\\${String.fromCharCode(e)}`;
        }
    }
  }
  return out;
}

/** `raw-unicode-escape` decoding of a UNICODE line. */
function rawUnicodeEscape(buf: Uint8Array, start: number, end: number): string {
  let out = "";
  for (let i = start; i < end; i++) {
    const c = buf[i] as number;
    if (c === 0x5c && i + 1 < end && (buf[i + 1] === 0x75 || buf[i + 1] === 0x55)) {
      // An odd run of backslashes escapes; keep it simple: \uXXXX / \UXXXXXXXX
      const w = buf[i + 1] === 0x75 ? 4 : 8;
      const hex = latin1(buf, i + 2, Math.min(end, i + 2 + w));
      if (hex.length === w && /^[0-9a-fA-F]+$/.test(hex)) {
        const cp = Number.parseInt(hex, 16);
        if (cp <= 0x10ffff) {
          out += String.fromCodePoint(cp);
          i += 1 + w;
          continue;
        }
      }
    }
    out += String.fromCharCode(c);
  }
  return out;
}
