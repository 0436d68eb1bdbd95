/**
 * The symbolic pickle machine: CPython's unpickler (`Modules/_pickle.c`) with every effect
 * replaced by a record. Exact stack, mark stack and memo; values with provenance; resolution of
 * what each REDUCE / INST / OBJ / NEWOBJ / NEWOBJ_EX / BUILD really calls, through resolver
 * chains, monkey-patches and the copyreg extension registry. It never imports or runs anything.
 *
 * This file is the VM (stack, marks, memo, opcode dispatch, references and calls); the fast path
 * is `fastpath.ts`, what library callables do is the Python model (`pymodel.ts`), protocol 0 text
 * arguments are parsed by `literals.ts`, and the memo is `memo.ts`.
 * @module
 */
import { pushAll } from "../../core/arrays.js";
import { BoundMethods, builtState, isBoundClass, storesItems } from "./bound.js";
import { fixImports } from "./compat.js";
import { type DecoderState, type FastSink, type OpArg, PickleError, SinkAction } from "./decoder.js";
import { CALL_RECORDS, FastPath } from "./fastpath.js";
import type { PickleInput } from "./input.js";
import {
  asciiLine,
  parseDecimal,
  parseFloatLine,
  parseIntLine,
  parseLongLine,
  parseQuotedString,
  rawUnicodeEscape,
  twosComplement,
  utf8Line,
} from "./literals.js";
import { DEFAULT_STR_BYTES, ELIDED, Memo } from "./memo.js";
import { opcodeName, POPS } from "./opcodes.js";
import {
  type ContainerOp,
  containerOpMethods,
  hashHits,
  isCallableValue,
  type ProtocolHit,
  protocolHits,
} from "./protocol.js";
import {
  callOperator,
  countTensor,
  isArrayWrapperName,
  isNumpyBuilt,
  JOBLIB_WRAPPER,
  joblibArrayLayout,
  looksSerialized,
  MAX_COMPUTED_BYTES,
  type ModelHost,
  modelOf,
  type NestedPayload,
  rebuildsTensor,
  type SharedState,
} from "./pymodel.js";
import {
  type CallRecord,
  COMPOUND_UNITS,
  CONTAINER_CAP,
  DROPPED,
  decodeUtf8,
  HANDED,
  isAsciiText,
  isStr,
  latin1,
  markEscaped,
  markMutated,
  materialize,
  PyBoundMethod,
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
  RETAINED,
  type RefOrigin,
  type RefSite,
  retainCost,
  seqItems,
  strOf,
  tupleFrom,
  type Value,
} from "./values.js";

/** Kinds of noteworthy events the machine records besides references. */
export type MachineEventKind =
  | "monkeypatch"
  | "dynamic-import"
  | "dynamic-call"
  | "ext-unregistered"
  | "persistent-id"
  | "joblib-array"
  | "protocol-method";

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

/** Machine settings and budgets. */
export interface MachineOptions {
  /** Items a container keeps. */
  containerCap: number;
  /** Memo entries kept in full; later literal entries are only marked present. */
  memoDetailCap: number;
  /**
   * Memo puts of tuples and lists of scalars and strs that keep their items; later ones keep only
   * their kind (see `memo.ts`).
   */
  memoSeqCap: number;
  /** Bytes the memo's strs past its detail budget may take (see `memo-strs.ts`). */
  memoStrBytes: number;
  /** Maximum stack depth. */
  maxStack: number;
  /** Maximum mark-stack depth. */
  maxMarks: number;
  /** Maximum memo entries. */
  maxMemo: number;
  /** Maximum distinct names referenced. */
  maxRefs: number;
  /**
   * Most units of values kept inside other values (container items, call arguments, BUILD state:
   * see `RETAINED` in `values.ts`), charged as they are kept and never refunded. Past it the
   * analysis stops (`BUDGET_EXCEEDED`, and the rest of the stream is swept for imports).
   */
  maxRetained: number;
  /**
   * Most milliseconds the machine runs (checked every {@link TIME_CHECK_EVERY} opcode batches).
   * Past it the analysis stops with `BUDGET_EXCEEDED` while the file's own deadline still leaves
   * time to sweep the rest of the stream for imports and report what was found; the file's
   * deadline would end the analysis with nothing but `scan/timeout`.
   */
  maxMillis: number;
  /** The loader has a `persistent_load` (torch); otherwise PERSID is reported. */
  persistentLoad: boolean;
  /**
   * Whose `persistent_load` it is: `zip` (torch.load's: storages, and the legacy
   * `('module', cls, ...)` ids yield the class); `tar` (the legacy tar loader's `legacy_load`, for
   * the tar's `pickle` member: a tuple id yields its first item, any other id an object read from
   * the `storages` or `tensors` member); `package` (torch.package's `PackageImporter.load_pickle`:
   * a `("reduce_package", [id,] func, args)` id calls `func(importer, *args)`).
   */
  persistentLayout: PersistentLayout;
  /** Registries shared with the other pickles of the file. */
  shared: SharedState;
  /** Reads joblib's inline array data after `NumpyArrayWrapper` BUILDs. */
  inlineArrays: boolean;
  /**
   * Analyses a pickle embedded inline at the input's position (joblib object arrays), returning
   * after its STOP.
   */
  inlinePickle: ((input: PickleInput, offset: number) => Promise<void>) | undefined;
  /**
   * Counts bytes the Python model decompresses (`zlib.decompress` of literal bytes ...) against
   * the analysis's budget; throws `BUDGET_EXCEEDED` past it.
   */
  chargeDecompressed: ((bytes: number) => void) | undefined;
}

/** Whose `persistent_load` a torch pickle is read with (see {@link MachineOptions.persistentLayout}). */
export type PersistentLayout = "zip" | "tar" | "package";

/**
 * Default {@link MachineOptions.maxRetained}: 4 million units (a str kept is 1, a compound value
 * 4), about 350 MB of modelled values at worst (a million nested lists), so that six such files
 * scanned at once fit a 4 GB heap. Real pickles keep far fewer: a torch state_dict of 10,000
 * tensors 230,000, an nn.Module of 2,000 layers 250,000, a random forest of 500 trees 78,000, a
 * 1M-item vocabulary list or dict and a DataFrame of object columns under 300 (containers keep
 * 64 items); a data pickle of 200,000 record dicts 2.5 million.
 */
export const DEFAULT_MAX_RETAINED = 4_000_000;

/**
 * Default {@link MachineOptions.maxMillis}: 150 s, half the default per-file budget (5 minutes), so
 * that a pickle that keeps the machine busy stops as a budget (its rest swept, its findings kept)
 * before the file's deadline. A scan with a shorter per-file budget meets its deadline first.
 */
export const DEFAULT_MAX_MILLIS = 150_000;
/** Opcode batches (slow opcodes, fast runs) between two reads of the clock. */
const TIME_CHECK_EVERY = 1024;

/** Default machine settings. */
export function defaultMachineOptions(): MachineOptions {
  return {
    containerCap: CONTAINER_CAP,
    memoDetailCap: 65_536,
    memoSeqCap: 4_096,
    memoStrBytes: DEFAULT_STR_BYTES,
    maxStack: 1_000_000,
    maxMarks: 100_000,
    maxMemo: 100_000_000,
    maxRefs: 100_000,
    maxRetained: DEFAULT_MAX_RETAINED,
    maxMillis: DEFAULT_MAX_MILLIS,
    persistentLoad: false,
    persistentLayout: "zip",
    shared: { ext: new Map(), patches: new Map() },
    inlineArrays: true,
    inlinePickle: undefined,
    chargeDecompressed: undefined,
  };
}

/** Instance attributes the unpickler looks up on the object itself (BUILD, APPENDS, ADDITEMS). */
const INSTANCE_HOOKS = new Set(["__setstate__", "extend", "append", "add"]);

/**
 * Attribute names of the object protocol (attribute access, class, state, pickling, calls). A
 * BUILD's dict state writes straight into the instance `__dict__`, where CPython ignores most of
 * them, but no tool writes them there: they stay flagged whatever their value.
 */
const PROTOCOL_DUNDERS = new Set([
  "__class__",
  "__dict__",
  "__slots__",
  "__setstate__",
  "__getstate__",
  "__reduce__",
  "__reduce_ex__",
  "__getnewargs__",
  "__getnewargs_ex__",
  "__getattr__",
  "__getattribute__",
  "__setattr__",
  "__delattr__",
  "__init__",
  "__new__",
  "__call__",
  "__del__",
  "__get__",
  "__set__",
  "__delete__",
  "__set_name__",
  "__init_subclass__",
  "__class_getitem__",
  "__missing__",
  "__index__",
  "__wrapped__",
]);

/**
 * Whether a BUILD dict-state entry is inert: a plain literal (str, bytes, int, float, bool, None)
 * stored in an instance `__dict__` under a name that is not an object-protocol hook. The unpickler
 * or a later APPENDS that looks the name up on the instance gets a value that cannot be called
 * (Python raises), so a docstring (`__doc__` on statsmodels' results wrappers), a version string
 * (matplotlib's `__mpl_version__`) or `extend='neither'` (a Colorbar) run nothing.
 */
function inertDictEntry(k: string, v: Value): boolean {
  if (k === COMPUTED_KEY || PROTOCOL_DUNDERS.has(k)) return false;
  return (
    v === null ||
    typeof v === "boolean" ||
    typeof v === "number" ||
    typeof v === "bigint" ||
    typeof v === "string" ||
    v instanceof PyStr ||
    v instanceof PyLargeStr ||
    v instanceof PyFloat ||
    v instanceof PyBytes
  );
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
  /** Units of values this machine kept inside others (see {@link MachineOptions.maxRetained}). */
  #retained = 0;
  /** When the machine was made, and batches run since the clock was last read. */
  readonly #started = Date.now();
  #ticks = 0;
  readonly #memo: Memo;
  /** Buffer the lazy strs above {@link PickleMachine.#lowWater} on the stack refer to. */
  #lazyBuf: Uint8Array | undefined;
  #lowWater = 0;
  /** A lazy str was made since the last {@link PickleMachine.release}. */
  #pinned = false;
  #pendingArray: PyCall | undefined;
  /**
   * The stream may hold a joblib array wrapper made otherwise than by naming its class (see
   * {@link PickleMachine.#build}): the class was referenced, or a name was computed at run time.
   */
  #wrapperReachable = false;
  #eventCounts = new Map<string, number>();
  /** The fast path and its deferred runs. */
  readonly #fast: FastPath;
  /** What the Python model may do with the machine. */
  readonly #host: ModelHost;
  /** Bound methods made by getattr (see bound.ts). */
  readonly #bound = new BoundMethods();

  /** @param options - settings (defaults from {@link defaultMachineOptions}) */
  constructor(options: Partial<MachineOptions> = {}) {
    const o: MachineOptions = { ...defaultMachineOptions(), ...options };
    this.#o = o;
    this.#maxStack = o.maxStack;
    this.#memo = new Memo(o.memoDetailCap, o.maxMemo, o.memoSeqCap, o.memoStrBytes);
    this.#fast = new FastPath({
      stack: this.stack,
      marks: this.marks,
      memo: this.#memo,
      maxStack: o.maxStack,
      maxMarks: o.maxMarks,
      containerCap: o.containerCap,
      lazyStr: (buf, start, end) => this.#lazyStr(buf, start, end),
      truncate: (n) => this.#truncate(n),
      plainCall: (callee) => modelOf(callee.name) === undefined && !rebuildsTensor(callee.name),
    });
    this.#host = {
      cap: o.containerCap,
      shared: o.shared,
      chargeDecompressed: o.chargeDecompressed,
      chargeComputed: (n, scan) => this.#chargeComputed(n, scan),
      nested: this.nested,
      derive: (base, attr, via, offset) => this.#derive(base, attr, via, offset),
      refTo: (full, via, offset, isModule) => this.#refTo(full, via, offset, isModule),
      call: (callee, args, kwargs, opcode, offset, use, via) =>
        this.#call(callee, args, kwargs, opcode, offset, use, via),
      mutate: (target, attrs, opcode, offset, how, shared) =>
        this.#mutate(target, attrs, opcode, offset, how, 0, shared === true),
      build: (inst, state, opcode, offset, how) => {
        this.#buildOn(inst, state, offset, opcode, how);
      },
      updateDict: (inst, dict, opcode, offset, how) => this.#updateDict(inst, dict, opcode, offset, how),
      escape: (v) => this.#escape(v),
      nameOf: (v) => this.#nameOf(v),
      dynamicResolution: (opcode, offset, message) => this.#dynamicResolution(opcode, offset, message),
      bound: this.#bound,
    };
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

  /** The memo's size: the index MEMOIZE writes next. */
  memoSize(): number {
    return this.#memo.size;
  }

  /** The memo's entry `index` when it is a string (the sweep after a stop looks imports up here). */
  memoString(index: number): string | undefined {
    return strOf(this.#memo.get(index));
  }

  #push(v: Value, offset: number): void {
    const s = this.stack;
    if (s.length >= this.#maxStack) {
      throw new PickleError(`stack deeper than ${this.#o.maxStack}`, offset, "budget", "maxStack");
    }
    s.push(v);
  }

  #truncate(n: number): void {
    const s = this.stack;
    if (s.length - n <= 8) while (s.length > n) s.pop();
    else s.length = n;
    if (n < this.#lowWater) this.#lowWater = n;
  }

  #marker(offset: number): number {
    const m = this.marks.pop();
    if (m === undefined) throw new PickleError("could not find MARK", offset);
    return m;
  }

  #tuple(from: number): PySeq {
    const s = this.stack;
    const cap = this.#o.containerCap;
    const t = tupleFrom(s, from, cap);
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
        boundMethods: 0,
      };
      this.refs.set(name, site);
      if (isArrayWrapperName(name)) this.#wrapperReachable = true;
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
    // a bound method of a list, bytearray or object may change it when called
    markMutated(base);
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

  /** Bytes the models computed so far (see {@link MAX_COMPUTED_BYTES}). */
  #computed = 0;

  #chargeComputed(n: number, scan = true): boolean {
    if (this.#computed + n > MAX_COMPUTED_BYTES) return false;
    this.#computed += n;
    if (scan) this.#o.chargeDecompressed?.(n);
    return true;
  }

  /** Marks references found in a value (to a small depth) as escaped. */
  #escape(v: Value | undefined): void {
    markEscaped(v);
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
      if (site.calls.length < CALL_RECORDS) {
        const rec: CallRecord = {
          opcode,
          offset,
          args: previewArgs(args, kwargs),
          use,
          ...(via !== undefined ? { via } : {}),
        };
        site.calls.push(rec);
      }
      if (rebuildsTensor(callee.name)) countTensor(this.tensors, args);
      if (use === "call") this.#protocolCall(callee.name, args, opcode, offset);
      const model = use === "call" ? modelOf(callee.name) : undefined;
      const result =
        model === undefined
          ? undefined
          : model(this.#host, { name: callee.name, a: seqItems(args) ?? [], args, site, opcode, offset });
      if (result === undefined) {
        this.#bound.handed([args, kwargs]);
        this.#escape(args);
        this.#escape(kwargs);
        const made = new PyCall(callee, callee.name, args, opcode, offset, kwargs);
        made.allocated = use === "new";
        return made;
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
      return callOperator(this.#host, callee, args, opcode, offset);
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
      callee instanceof PyBoundMethod
        ? `bound method ${callee.method}`
        : callee instanceof PyCall
          ? `${callee.calleeName ?? "<dynamic>"}()`
          : callee instanceof PyPersistent
            ? "persistent_load(...)"
            : preview(callee, 80);
    // a method may change the instance it is bound to
    if (callee instanceof PyBoundMethod) markMutated(callee.self);
    const anyCallable = mayBeAnyCallable(callee);
    this.#event({
      kind: "dynamic-call",
      offset,
      opcode,
      message: anyCallable
        ? `${opcode} calls what ${label} returned, which may be any callable (the machine does not know what that call returns: a function that returns an object it looks up or builds is a way to run anything)`
        : `${opcode} calls a value that cannot be resolved to a name (${label})`,
      evidence: { callee: label, args: previewArgs(args, kwargs), use },
      ...(anyCallable ? { severity: "high" as const } : {}),
    });
    this.#bound.handed([args, kwargs]);
    this.#escape(args);
    const made = new PyCall(callee, undefined, args, opcode, offset, kwargs);
    made.allocated = use === "new";
    return made;
  }

  /** An allowed (or any named) callable runs protocol methods on the instances it is handed (see protocol.ts). */
  #protocolCall(name: string, args: Value, opcode: string, offset: number): void {
    const hits = protocolHits(name, seqItems(args) ?? []);
    if (hits.length > 0) this.#protocolEvent(hits, `${name}()`, opcode, offset);
  }

  #protocolEvent(hits: readonly ProtocolHit[], by: string, opcode: string, offset: number): void {
    const first = hits.find((h) => h.io) ?? (hits[0] as ProtocolHit);
    this.#event({
      kind: "protocol-method",
      offset,
      opcode,
      ...(first.io ? { severity: "high" as const } : {}),
      message: `${by} runs ${first.methods.join(", ")} of a ${first.cls} instance (${first.where}) on pickled state: ${first.io ? "library code whose source may open files or URLs, import or evaluate" : "library code not vetted (it looks attributes up by computed names, or has no source to read)"}`,
      evidence: {
        caller: by,
        class: first.cls,
        methods: first.methods.join(", "),
        instances: hits.length,
      },
    });
  }

  /**
   * SETITEM(S) / APPEND(S) / ADDITEMS on an instance of a library class call its own
   * `__setitem__` / `extend` (`append`) / `add` (see protocol.ts): reported unless vetted.
   */
  #containerOp(target: Value, opname: string, values: readonly Value[], offset: number): void {
    const op: ContainerOp = opname.startsWith("SETITEM") ? "SETITEMS" : opname === "ADDITEMS" ? "ADDITEMS" : "APPENDS";
    const run = containerOpMethods(target, op);
    if (run === undefined) return;
    const callable = values.some((v) => isCallableValue(v));
    const cls = target instanceof PyCall ? (target.calleeName ?? "?") : "?";
    this.#event({
      kind: "protocol-method",
      offset,
      opcode: opname,
      ...(callable ? { severity: "high" as const } : {}),
      message: `${opname} on a ${cls} instance calls ${run.join(", ")}: library code the unpickler runs on pickled values${callable ? " (a callable among them)" : ""}`,
      evidence: {
        class: cls,
        methods: run.join(", "),
        values: previewArgs(seqFrom(values, this.#o.containerCap), undefined),
      },
    });
  }

  #dynamicResolution(opcode: string, offset: number, message: string): void {
    this.#wrapperReachable = true; // the name may be joblib's wrapper
    this.#event({ kind: "dynamic-import", offset, opcode, message, evidence: {} });
  }

  /** The items above the top MARK as a new list or frozenset (LIST, FROZENSET). */
  #markedSeq(kind: "list" | "frozenset", offset: number): PySeq {
    const t = this.#tuple(this.#marker(offset));
    const seq = new PySeq(kind);
    pushAll(seq.items, t.items);
    seq.count = t.count;
    seq.adoptOctets(t);
    return seq;
  }

  /**
   * Attributes set on a value (BUILD state, setattr, item assignment on a global).
   * @param dictCount - how many leading `attrs` are BUILD dict state (written into `__dict__`,
   *   no descriptor runs): an inert literal among them is not a patch; the rest are set with setattr
   * @param shared - the target is not known to be a new object (it may be a class, module or
   *   function of the process): every attribute is a monkey-patch (a class a `type(...)` call
   *   returned is one too)
   */
  #mutate(
    target: Value,
    attrs: readonly [string, Value][],
    opcode: string,
    offset: number,
    how: string,
    dictCount = 0,
    shared = false,
  ): void {
    if (
      !(target instanceof PyRef || target instanceof PyNamespace) &&
      attrs.length > 0 &&
      (shared || (target instanceof PyCall && target.calleeName === "builtins.type"))
    ) {
      this.#patchUnnamed(target, attrs, opcode, offset, how);
      return;
    }
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
    // the first BUILD of an object is its state (read by the models); anything else changes it
    if (how !== "BUILD") markMutated(target);
    const dunders = attrs.filter(
      ([k, v], i) =>
        ((k.startsWith("__") && k.endsWith("__")) || INSTANCE_HOOKS.has(k) || k === COMPUTED_KEY) &&
        !(i < dictCount && inertDictEntry(k, v)),
    );
    if (target instanceof PyCall) {
      for (const [k, v] of attrs) {
        if (!INSTANCE_HOOKS.has(k)) continue;
        target.attrs ??= new Map();
        target.attrs.set(k, v);
        RETAINED.units += 1 + retainCost(v);
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

  /**
   * Attributes set on a value the machine cannot name that may be a class, module or function of
   * the process (a class `type(x)` returned, the result of a call not modelled): reported as a
   * monkey-patch, and recorded among the patches under a name no import can reach (so the checks
   * that trust a global's attributes, such as bound.ts's, know that something was patched).
   */
  #patchUnnamed(target: Value, attrs: readonly [string, Value][], opcode: string, offset: number, how: string): void {
    markMutated(target);
    for (const [k, v] of attrs) {
      if (this.#o.shared.patches.size < MAX_UNNAMED_PATCHES) this.#o.shared.patches.set(`${UNNAMED_TARGET}.${k}`, v);
      this.#escape(v);
    }
    const shown = preview(target, 80);
    this.#event({
      kind: "monkeypatch",
      offset,
      opcode,
      message: `${how} sets attributes on ${shown}, which may be a class, module or function (not known to be a new object)`,
      evidence: {
        target: shown,
        attributes: attrs.map(([k]) => k).join(", "),
        values: attrs.map(([, v]) => preview(v, 60)).join(", "),
      },
    });
  }

  // ---------------------------------------------------------------- opcodes

  /** @inheritdoc */
  op(code: number, offset: number, a: OpArg): SinkAction {
    // A deferred run is pushed for real before anything but FRAME (which cannot touch it).
    if (this.#fast.defer && code !== 0x95) this.#undefer(offset); // 0x95: FRAME
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

  // ---------------------------------------------------------------- fast path (fastpath.ts)

  /**
   * Opcode bytes {@link PickleMachine.fastRun} may execute: this machine's table, which adds the
   * memo gets and REDUCE while a run is deferred (see `fastpath.ts`).
   */
  get fastCodes(): Uint8Array {
    return this.#fast.codes;
  }
  /** Opcodes executed by the last {@link PickleMachine.fastRun}. */
  fastOps = 0;
  /** Buffer position of the last opcode executed by the last {@link PickleMachine.fastRun}. */
  fastLast = 0;

  /**
   * The fast path (see {@link FastSink} and `fastpath.ts`): executes literal pushes, MARK, memo
   * puts and the APPENDS/ADDITEMS/SETITEMS ending a deferred run, exactly as
   * {@link PickleMachine.op} would; returns at the first opcode it cannot.
   * @param buf - decoder buffer
   * @param pos - first opcode
   * @param stop - opcodes must end at or before this position
   * @param maxOps - most opcodes to execute
   * @param base - absolute offset of `buf[0]`
   */
  fastRun(buf: Uint8Array, pos: number, stop: number, maxOps: number, base: number): number {
    const fast = this.#fast;
    const before = RETAINED.units;
    const p = fast.run(buf, pos, stop, maxOps, base);
    this.fastOps = fast.fastOps;
    this.fastLast = fast.fastLast;
    this.#charge(RETAINED.units - before, base + fast.fastLast);
    return p;
  }

  /** Pushes a deferred run for real (its values charged). */
  #undefer(offset: number): void {
    const before = RETAINED.units;
    this.#fast.undefer();
    this.#charge(RETAINED.units - before, offset);
  }

  /**
   * Adds what the code just run kept inside other values to this machine's account (the meter
   * moved by nothing else meanwhile: no await in between) and stops past the budget; reads the
   * clock every {@link TIME_CHECK_EVERY} calls and stops past {@link MachineOptions.maxMillis}.
   * @param units - units kept
   * @param offset - offset of the opcode that ran
   */
  #charge(units: number, offset: number): void {
    if (++this.#ticks >= TIME_CHECK_EVERY) {
      this.#ticks = 0;
      if (Date.now() - this.#started > this.#o.maxMillis) {
        throw new PickleError(`the machine ran longer than ${this.#o.maxMillis} ms`, offset, "budget", "maxMillis");
      }
    }
    this.#retained += units;
    if (this.#retained > this.#o.maxRetained) {
      throw new PickleError(
        `values kept inside other values exceed ${this.#o.maxRetained} units (a str 1, a container or object ${COMPOUND_UNITS}): the pickle builds more nested structure than the analysis holds`,
        offset,
        "budget",
        "maxRetained",
      );
    }
  }

  /** Units of values this machine kept inside others so far. */
  get retainedUnits(): number {
    return this.#retained;
  }

  /**
   * The input's buffer is about to change: a deferred run is copied out of it.
   * @returns whether lazy strs may still refer to the buffer (the input must not reuse it)
   */
  release(): boolean {
    const before = RETAINED.units;
    this.#fast.release();
    // checked at the next opcode (the decoder's buffer is changing)
    this.#retained += RETAINED.units - before;
    const pinned = this.#pinned;
    this.#pinned = false;
    return pinned;
  }

  #cold(code: number, offset: number, a: OpArg): SinkAction {
    const before = RETAINED.units;
    const action = this.#coldOp(code, offset, a);
    this.#charge(RETAINED.units - before, offset);
    return action;
  }

  #coldOp(code: number, offset: number, a: OpArg): SinkAction {
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
      case 0x53: {
        // STRING
        const text = parseQuotedString(a, offset);
        this.#push(isAsciiText(text) ? this.#literalStr(text, offset) : PY2_STR, offset);
        break;
      }
      case 0x54: // BINSTRING
      case 0x55: // SHORT_BINSTRING
        // A Python 2 str is decoded by the loader's `encoding` (torch.load: UTF-8; pickle.load:
        // ASCII unless told latin-1 or bytes): only ASCII is the same for all of them.
        if (a.blob !== undefined) this.#push(PY2_STR, offset);
        else if (isAscii(a.buf, a.start, a.end))
          this.#push(this.#literalStr(latin1(a.buf, a.start, a.end), offset), offset);
        else this.#push(PY2_STR, offset);
        break;
      case 0x56: // UNICODE
        this.#push(this.#literalStr(rawUnicodeEscape(a.buf, a.start, a.end, offset), offset), offset);
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
        const n = (POPS[code] as number) - 1; // items taken, from the table
        if (s.length - this.#fence() < n) this.#underflow(offset); // as CPython, not across a MARK
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
        this.#hashed(dictKeys(s, from), "DICT", offset);
        for (let i = from; i < s.length; i += 2) d.set(s[i] as Value, s[i + 1] as Value, cap);
        this.#truncate(from);
        this.#push(d, offset);
        break;
      }
      case 0x8f: // EMPTY_SET
        this.#push(new PySeq("set"), offset);
        break;
      case 0x91: {
        // FROZENSET
        const set = this.#markedSeq("frozenset", offset);
        this.#hashed(set.items.slice(0, 256), "FROZENSET", offset);
        this.#push(set, offset);
        break;
      }
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
    if (module === ELIDED || name === ELIDED) {
      // a literal name the memo did not keep (past its detail budget): not computed, but unread
      throw new PickleError(
        "STACK_GLOBAL names a memo entry not kept (the memo is larger than its detail budget)",
        offset,
        "budget",
        "maxMemo",
      );
    }
    const shown = `${m ?? preview(module, 60)}.${n ?? preview(name, 60)}`;
    this.#wrapperReachable = true; // the name may be joblib's wrapper
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
    this.#wrapperReachable = true; // the name may be joblib's wrapper
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
    if (this.#o.persistentLoad && this.#o.persistentLayout === "tar" && pid instanceof PySeq && pid.kind === "tuple") {
      // legacy_load's persistent_load returns the tuple's first item (the rest is compared with
      // the class's source, a warning at most); an empty tuple raises
      const first = pid.items[0];
      if (first !== undefined) {
        if (this.persistentIds.length < 1_000_000) this.persistentIds.push(new PyPersistent(pid, offset));
        for (let i = 1; i < pid.items.length; i++) markEscaped(pid.items[i] as Value, DROPPED);
        return first;
      }
    }
    if (
      this.#o.persistentLoad &&
      this.#o.persistentLayout === "package" &&
      pid instanceof PySeq &&
      pid.kind === "tuple" &&
      strOf(items?.[0]) === "reduce_package" &&
      (pid.items.length === 3 || pid.items.length === 4)
    ) {
      // PackageImporter's persistent_load calls func(importer, *args) (`__reduce_package__`)
      const [func, args] = pid.items.length === 3 ? [pid.items[1], pid.items[2]] : [pid.items[2], pid.items[3]];
      if (this.persistentIds.length < 1_000_000) this.persistentIds.push(new PyPersistent(pid, offset));
      const callArgs = new PySeq("tuple");
      callArgs.push(new PyUnknown("the PackageImporter"), this.#o.containerCap);
      const given = seqItems(args as Value);
      if (given !== undefined) for (const a of given) callArgs.push(a, this.#o.containerCap);
      else callArgs.push(args as Value, this.#o.containerCap);
      return this.#call(func as Value, callArgs, undefined, opname, offset, "call", "torch.package reduce_package");
    }
    if (
      this.#o.persistentLoad &&
      this.#o.persistentLayout === "zip" &&
      strOf(items?.[0]) === "module" &&
      items?.[1] !== undefined
    ) {
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
      if (target.kind === "set") this.#hashed(s.slice(x, x + 256), opname, offset);
      // past the cap push only counts, and marks what it drops as escaped
      for (let i = x; i < s.length; i++) target.push(s[i] as Value, cap);
    } else if (target instanceof PyRef || target instanceof PyNamespace) {
      const items: [string, Value][] = [];
      for (let i = x; i < s.length && items.length < 8; i++)
        items.push([`[${opname === "ADDITEMS" ? "add" : "append"}]`, s[i] as Value]);
      this.#mutate(target, items, opname, offset, opname);
    } else if (target instanceof PyBytes && target.mutable && opname !== "ADDITEMS") {
      // bytearray.extend / append: Python changes it; its bytes are no longer known
      markMutated(target);
      for (let i = x; i < s.length; i++) this.#escape(s[i]);
    } else if (isLiteralValue(target)) {
      throw new PickleError(`${opname} on a ${pyType(target)} object`, offset);
    } else {
      markMutated(target); // extend / append / add of an object: not modelled
      if (!(target instanceof PyCall && storesItems(target.calleeName))) this.#bound.handed(s.slice(x));
      const hook =
        target instanceof PyCall
          ? opname === "ADDITEMS"
            ? target.attrs?.get("add")
            : (target.attrs?.get("extend") ?? target.attrs?.get("append"))
          : undefined;
      if (hook === undefined) this.#containerOp(target, opname, s.slice(x, x + 256), offset);
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
      this.#hashed(dictKeys(s, x), opname, offset);
      for (let i = x; i < s.length; i += 2) target.set(s[i] as Value, s[i + 1] as Value, cap);
    } else if (target instanceof PyRef || target instanceof PyNamespace) {
      const items: [string, Value][] = [];
      for (let i = x; i < s.length; i += 2) items.push([strOf(s[i]) ?? `[${preview(s[i], 40)}]`, s[i + 1] as Value]);
      this.#mutate(target, items, opname, offset, `${opname} on a global`);
    } else if (target instanceof PyCall && target.calleeName !== undefined) {
      this.#containerOp(target, opname, s.slice(x, x + 512), offset);
      markMutated(target); // __setitem__ of an object (a numpy array's items ...): not modelled
      if (!storesItems(target.calleeName)) this.#bound.handed(s.slice(x));
      for (let i = x; i < s.length; i++) this.#escape(s[i]); // keys too: the object may keep them
    } else if (isLiteralValue(target) && !(target instanceof PySeq) && !(target instanceof PyBytes && target.mutable)) {
      throw new PickleError(`${opname} on a ${pyType(target)} object`, offset);
    } else {
      // item assignment on a list or bytearray (an int or slice key) or an unknown object: not
      // modelled, so what it holds is no longer known (Python raises on other keys)
      markMutated(target);
      if (!(target instanceof PySeq)) this.#bound.handed(s.slice(x));
      for (let i = x; i < s.length; i++) this.#escape(s[i]);
    }
    this.#truncate(x);
  }

  /** Dict keys or set items the unpickler hashes: an unvetted `__hash__`/`__eq__` of theirs runs. */
  #hashed(keys: readonly Value[], opname: string, offset: number): void {
    const hits = hashHits(keys);
    if (hits.length > 0) this.#protocolEvent(hits, opname, opname, offset);
  }

  #build(offset: number): SinkAction {
    const s = this.stack;
    if (s.length - 2 < this.#fence()) this.#underflow(offset);
    const state = this.#pop(offset);
    return this.#buildOn(s[s.length - 1] as Value, state, offset, "BUILD", "BUILD");
  }

  /**
   * BUILD of `inst` with `state`: the opcode (`how` is `BUILD`), or a model's
   * `obj.__setstate__(state)` such as dill's `_create_array` (`how` names the callee; joblib reads
   * no array data after it, and its wrapper has no `__setstate__`).
   */
  #buildOn(inst: Value, state: Value, offset: number, opcode: string, how: string): SinkAction {
    const opcodeBuild = how === "BUILD";
    if (inst instanceof PyCall && inst.attrs?.has("__setstate__")) {
      markMutated(inst); // what the hook does to the instance is not modelled
      const fn = inst.attrs.get("__setstate__") as Value;
      const args = new PySeq("tuple");
      args.push(state, this.#o.containerCap);
      const via = opcodeBuild ? "" : `, called by ${how}`;
      this.#call(fn, args, undefined, opcode, offset, "call", `__setstate__ set by an earlier BUILD${via}`);
      return SinkAction.Continue;
    }
    let dictState: Value = state;
    let slotState: Value | undefined;
    if (state instanceof PySeq && state.kind === "tuple" && state.count === 2) {
      dictState = state.items[0] ?? null;
      slotState = state.items[1];
    }
    const attrs = stateAttrs(dictState, offset);
    // attrs[0, dictCount) come from the dict state; a dict state handed to code before this BUILD
    // may hold values the machine did not see
    const dictCount = dictState instanceof PyDict && dictState.escaped === HANDED ? 0 : attrs.length;
    if (slotState !== undefined) pushAll(attrs, stateAttrs(slotState, offset));
    if (opcodeBuild && this.#o.inlineArrays && this.#wrapperReachable && inst !== undefined)
      this.#wrapperCertain(inst, offset);
    if (inst instanceof PyRef || inst instanceof PyNamespace) {
      this.#mutate(inst, attrs, opcode, offset, how);
      return SinkAction.Continue;
    }
    if (inst instanceof PyCall) {
      if (!opcodeBuild && inst.calleeName === JOBLIB_WRAPPER) {
        throw new PickleError(`${how} on a joblib NumpyArrayWrapper, which has no __setstate__`, offset);
      }
      const wrapper = this.#o.inlineArrays && inst.calleeName === JOBLIB_WRAPPER;
      if (wrapper && inst.state !== undefined) {
        // Python merges a second state into the object's __dict__ (an attribute the first set
        // stays): the array layout would be the merge of both
        throw new PickleError("joblib NumpyArrayWrapper built twice: its array layout is not certain", offset);
      }
      const initArgs = inst.args instanceof PySeq ? inst.args.count : 1;
      if (wrapper && initArgs !== 0 && (inst.opcode === "REDUCE" || inst.opcode === "INST" || inst.opcode === "OBJ")) {
        // made by calling the class: __init__ set attributes (the alignment ...) the state may omit
        throw new PickleError("joblib NumpyArrayWrapper made by a call: its array layout is not certain", offset);
      }
      // a class's own __setstate__ may call what the state holds (the table's classes do not)
      if (!isBoundClass(inst.calleeName)) this.#bound.handed([state]);
      // a second BUILD: Python merges or replaces the state (the models read only one); the names
      // the first one sets are read now, before the state escapes (bound methods, see bound.ts)
      if (inst.state !== undefined) markMutated(inst);
      else inst.built = builtState(dictState, slotState, state);
      // The state goes to the object's __setstate__ or __dict__, which may keep or change what it
      // holds (the joblib wrapper's layout is read from it below: it has no __setstate__).
      // numpy's arrays and dtypes keep their state as it is (markEscaped: refs escape, the objects in
      // it are not changed)
      if (!wrapper) markEscaped(state, HANDED, !isNumpyBuilt(inst));
      inst.state = state;
      RETAINED.units += retainCost(state);
      this.#mutate(inst, attrs, opcode, offset, how, dictCount);
      if (this.#o.inlineArrays && inst.calleeName === JOBLIB_WRAPPER) {
        this.#pendingArray = inst;
        return SinkAction.Special;
      }
      return SinkAction.Continue;
    }
    if (isLiteralValue(inst) && state !== null) {
      throw new PickleError(`BUILD on a ${pyType(inst)} object, which has no __dict__`, offset);
    }
    this.#bound.handed([state]);
    this.#escape(state);
    return SinkAction.Continue;
  }

  /** `inst.__dict__.update(d)` made by a model (dill's `_create_array` npdict): BUILD's dict state. */
  #updateDict(inst: Value, d: Value, opcode: string, offset: number, how: string): void {
    if (d === null) return;
    if (!(inst instanceof PyCall) || !(d instanceof PyDict)) {
      // not modelled: what the object keeps may be any of it
      markMutated(inst);
      this.#bound.handed([d]);
      this.#escape(d);
      return;
    }
    const attrs = stateAttrs(d, offset);
    const inert = d.escaped === HANDED ? 0 : attrs.length;
    markEscaped(d, HANDED);
    this.#mutate(inst, attrs, opcode, offset, how, inert);
  }

  /**
   * joblib's `NumpyUnpickler.load_build` reads inline array data after a BUILD whose object is a
   * `NumpyArrayWrapper` instance (an `isinstance` test), however it was made. Once the stream can
   * hold one, a BUILD on an object whose class the machine does not know exactly (an unknown value,
   * a memo entry not kept, a persistent object, the result of a call that was handed a wrapper, its
   * class or an unknown value, an attribute read from an object) may be followed by array data the
   * analysis would read as opcodes:
   * the reading stops there (`joblib/array-layout`).
   */
  #wrapperCertain(inst: Value, offset: number): void {
    if (inst instanceof PyCall && inst.calleeName === JOBLIB_WRAPPER) return;
    if (inst instanceof PyNamespace) return;
    if (inst instanceof PyRef) {
      // a module, class or function, unless it is an attribute of an object (`X().attr`, reached
      // by getattr on an instance): that may be any object, a wrapper among them
      if (!inst.name.includes("()")) return;
    } else if (!mayBeArrayWrapper(inst, 0, { budget: WRAPPER_WALK })) return;
    throw new PickleError(
      `joblib NumpyArrayWrapper may be the object of this BUILD (${preview(inst, 80)}): joblib would read inline array data the analysis cannot locate`,
      offset,
    );
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

/** Values {@link mayBeArrayWrapper} looks at for one BUILD. */
const WRAPPER_WALK = 256;

/**
 * Whether a value may be a joblib array wrapper instance, or may become one when handed to code
 * the machine does not model (it holds the wrapper, its class, or a value not known).
 * @param v - the value
 * @param depth - nesting depth reached
 * @param walk - values left to look at (past it: may)
 */
function mayBeArrayWrapper(v: Value | undefined, depth: number, walk: { budget: number }): boolean {
  if (v === undefined || v === null || typeof v !== "object") return false;
  if (--walk.budget < 0 || depth > 6) return true;
  if (v instanceof PyUnknown || v instanceof PyPersistent || v instanceof PyBuffer) return true;
  if (v instanceof PyRef) return isArrayWrapperName(v.name);
  if (v instanceof PyCall) {
    if (v.calleeName === undefined || isArrayWrapperName(v.calleeName)) return true;
    return (
      mayBeArrayWrapper(v.args, depth + 1, walk) ||
      mayBeArrayWrapper(v.kwargs, depth + 1, walk) ||
      mayBeArrayWrapper(v.state, depth + 1, walk)
    );
  }
  if (v instanceof PySeq) {
    if (v.count !== v.items.length) return true; // items not kept (past the cap, or a memo entry's kind)
    return v.items.some((x) => mayBeArrayWrapper(x, depth + 1, walk));
  }
  if (v instanceof PyDict) {
    if (v.truncated || v.inexact) return true;
    return v.values.some((x) => mayBeArrayWrapper(x, depth + 1, walk));
  }
  if (v instanceof PyPartial) {
    return mayBeArrayWrapper(v.func, depth + 1, walk) || v.args.some((x) => mayBeArrayWrapper(x, depth + 1, walk));
  }
  if (v instanceof PyOperator) return v.items.some((x) => mayBeArrayWrapper(x, depth + 1, walk));
  return false; // strs, bytes, floats, namespaces, code
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

/** A Python 2 str of non-ASCII bytes: its value depends on the loader's encoding. */
const PY2_STR = new PyUnknown("Python 2 str of non-ASCII bytes (its value depends on the loader's encoding)");

/**
 * Whether a called value may be any callable: the result of a call the machine does not model (an
 * unknown function, a resolver given a name it cannot resolve, a class `type(...)` returned), or a
 * value a resolver could not determine. The machine knows what these are only by their callee, and
 * a callee that returns what its arguments designate reaches anything. Objects a class allocated
 * (`cls.__new__`: calling one runs the class's `__call__`, judged with the class), bound methods of
 * the method table, persistent-id objects and registry lookups (`EXT`) are what they are named.
 */
function mayBeAnyCallable(callee: Value): boolean {
  if (callee instanceof PyBoundMethod) return false;
  if (callee instanceof PyCall) return !callee.allocated || callee.calleeName === "builtins.type";
  if (!(callee instanceof PyUnknown) || callee === ELIDED || callee === PY2_STR) return false;
  // an extension code names a registered global; a large int is not callable
  return !callee.why.startsWith("extension ") && !callee.why.startsWith("int of ");
}

/** The name patches of objects the machine cannot name are recorded under (no import reaches it). */
const UNNAMED_TARGET = "<object not known to be new>";

/** Patches of unnamed objects recorded at most (they are reported all the same). */
const MAX_UNNAMED_PATCHES = 4_096;

/** What a BUILD state key computed at run time is called among the attributes it sets. */
const COMPUTED_KEY = "[key computed at run time]";

/**
 * The attributes a BUILD state dict sets, as `[name, value]` (a non-str key as `[preview]`, a key
 * computed at run time as {@link COMPUTED_KEY}); none for a state that is not a dict.
 * @throws PickleError (budget) when a key is a memo entry the memo did not keep
 */
function stateAttrs(part: Value, offset: number): [string, Value][] {
  const attrs: [string, Value][] = [];
  if (!(part instanceof PyDict)) return attrs;
  part.keys.forEach((k, i) => {
    attrs.push([strOf(k) ?? `[${preview(k, 40)}]`, part.values[i] ?? null]);
  });
  for (const [k, v] of part.overflowDunders ?? []) attrs.push([k, v]);
  if (part.unreadKey) {
    // a literal key the memo did not keep (past its budgets): not computed, but unread
    throw new PickleError(
      "BUILD state has a key the memo did not keep (the memo is larger than its budgets)",
      offset,
      "budget",
      "maxMemo",
    );
  }
  // a key computed at run time may be any attribute name (`__class__` ...)
  if (part.inexact) attrs.push([COMPUTED_KEY, null]);
  return attrs;
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

/** The keys of the pairs above `x` (SETITEMS), at most 256. */
function dictKeys(s: readonly Value[], x: number): Value[] {
  const out: Value[] = [];
  for (let i = x; i < s.length && out.length < 256; i += 2) out.push(s[i] as Value);
  return out;
}

/** A tuple of values, for evidence. */
function seqFrom(values: readonly Value[], cap: number): PySeq {
  const t = new PySeq("tuple");
  for (const v of values) t.push(v, cap);
  return t;
}
