/**
 * The Python model: what the library callables a pickle can reach do with their arguments, as a
 * name → model table. The machine records every call; for the names here it also knows the
 * result: resolvers (`getattr`, `__import__`, `operator.attrgetter`, `functools.partial`, ...)
 * return the name they resolve, reconstructors (`copyreg._reconstructor`, numpy's
 * `_reconstruct`, ...) instantiate their class, deserializers and code evaluators receive nested
 * payloads, and pure decoders (base64, hex, zlib, codecs) transform bytes. Which name belongs to
 * which class is data (`policy/semantics.json`, next to the denylist); behaviour is one small model
 * function per class, and the name → model table is built from the two. Nothing here imports or
 * runs anything.
 * @module
 */
import { ModelgateError } from "../../core/errors.js";
import { type BoundMethods, boundMethod } from "./bound.js";
import semantics from "./policy/semantics.json" with { type: "json" };
import {
  decodeUtf8,
  intOf,
  isAsciiText,
  isMutated,
  markEscaped,
  markMutated,
  PyBytes,
  PyCall,
  PyCode,
  PyDict,
  PyLargeStr,
  PyNamespace,
  PyOperator,
  PyPartial,
  PyPersistent,
  PyRef,
  PySeq,
  PyUnknown,
  type RefSite,
  seqItems,
  strOf,
  type Value,
} from "./values.js";

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

/** What the machine lends the models: its name resolution, calls and records. */
export interface ModelHost {
  /** Items a container keeps. */
  readonly cap: number;
  /** Registries shared with the other pickles of the file. */
  readonly shared: SharedState;
  /** Counts decompressed bytes against the analysis's budget (throws past it). */
  readonly chargeDecompressed: ((bytes: number) => void) | undefined;
  /**
   * Counts bytes a model computes (`bytes(list)`, concatenations, encodings) against the
   * pickle's budget ({@link MAX_COMPUTED_BYTES}) and the scan's decompression budget: false once
   * the pickle's is spent (the model then leaves the result unknown, which fails closed at a loader).
   * @param bytes - the result's size
   * @param scan - also charge the scan's budget (false: already charged, a decompression)
   */
  chargeComputed(bytes: number, scan?: boolean): boolean;
  /** Payloads handed to deserializers or evaluators. */
  readonly nested: NestedPayload[];
  /** `getattr(base, attr)` as a value. */
  derive(base: Value, attr: string, via: string, offset: number): Value;
  /** A reference to a dotted name reached through a resolver. */
  refTo(full: string, via: string, offset: number, isModule?: boolean): Value;
  /** Models `callee(*args, **kwargs)` (`call`) or `callee.__new__(callee, *args)` (`new`). */
  call(
    callee: Value,
    args: Value,
    kwargs: Value | undefined,
    opcode: string,
    offset: number,
    use: "call" | "new",
    via?: string,
  ): Value;
  /**
   * Attributes set on a value (monkey-patches of globals, special attributes of instances).
   * `shared`: the value is not known to be a new object (it may be a class, module or function
   * of the process), so every attribute set on it is a monkey-patch.
   */
  mutate(
    target: Value,
    attrs: readonly [string, Value][],
    opcode: string,
    offset: number,
    how: string,
    shared?: boolean,
  ): void;
  /** `inst.__setstate__(state)` as BUILD does it (`how`: who calls it, for messages). */
  build(inst: Value, state: Value, opcode: string, offset: number, how: string): void;
  /** `inst.__dict__.update(d)`: BUILD's dict state without `__setstate__`. */
  updateDict(inst: Value, d: Value, opcode: string, offset: number, how: string): void;
  /** Marks references found in a value as escaped. */
  escape(v: Value | undefined): void;
  /** A dotted name for a value when it has one. */
  nameOf(v: Value): string | undefined;
  /** Records a name resolved from data computed at run time. */
  dynamicResolution(opcode: string, offset: number, message: string): void;
  /** Bound methods made so far (see bound.ts). */
  readonly bound: BoundMethods;
}

/** One call of a modelled callable. */
export interface ModelCall {
  /** Canonical name of the callee. */
  readonly name: string;
  /** Its positional arguments (the ones the argument tuple keeps). */
  readonly a: readonly Value[];
  /** The argument tuple as passed. */
  readonly args: Value;
  /** The callee's reference site (resolution results are recorded there). */
  readonly site: RefSite;
  /** Opcode that made the call. */
  readonly opcode: string;
  /** Its offset. */
  readonly offset: number;
}

/** What a call returns; undefined: an ordinary call, recorded as a call result. */
export type Model = (h: ModelHost, c: ModelCall) => Value | undefined;

/** Largest output of a modelled decoder (str joins, concatenations, decompressions). */
export const MAX_DECODED = 64 << 20;

/**
 * Most bytes the models of one pickle compute in all (each `bytes(...)`, concatenation or
 * encoding counts its result, shared or not): past it results are unknown.
 */
export const MAX_COMPUTED_BYTES = 256 << 20;

// ---------------------------------------------------------------- tables (data)

/** The names of a class table of semantics.json (its `$comment` aside). */
type Classes<T> = Exclude<keyof T, "$comment">;

/** `[class, names]` of each class of a semantics.json table. */
function classesOf<T extends object>(table: T): [Classes<T>, readonly string[]][] {
  const out: [Classes<T>, readonly string[]][] = [];
  for (const [key, names] of Object.entries(table)) {
    if (key.startsWith("$")) continue;
    if (!Array.isArray(names) || !names.every((n) => typeof n === "string")) {
      throw new ModelgateError("INTERNAL", `semantics.json: ${key} is not a list of names`);
    }
    out.push([key as Classes<T>, Object.freeze([...names])]);
  }
  return out;
}

/** A record name → class of a semantics.json table (a name in two classes keeps the last). */
function byName<T extends object>(table: T): Readonly<Record<string, Classes<T>>> {
  return Object.freeze(Object.fromEntries(classesOf(table).flatMap(([cls, names]) => names.map((n) => [n, cls]))));
}

/** Deserializers and the kind of payload their first argument is. */
export const DESERIALIZERS: Readonly<Record<string, "pickle" | "torch" | "numpy" | "joblib" | "marshal">> = byName(
  semantics.deserializers,
);

/**
 * Callables that compile or run code given as text (`builtins.compile` has its own model: it
 * returns a code object).
 */
export const CODE_EVALUATORS: readonly string[] = Object.freeze([...semantics.codeEvaluators.names]);

/** A decoding the model applies to bytes. */
export type Transform = "base64" | "base64url" | "hex" | "zlib" | "gzip" | "latin1";

/** Pure decoding functions and the decoding each applies to its first argument. */
export const DECODERS: Readonly<Record<string, Transform>> = byName(semantics.decoders);

/** `codecs.decode` encodings (lower case, without `-`/`_`) and the decoding each is. */
const CODEC_DECODINGS: ReadonlyMap<string, Transform> = new Map(
  classesOf(semantics.codecDecodings).flatMap(([t, encodings]) => encodings.map((e): [string, Transform] => [e, t])),
);

/** The callables that wrap bytes in a file object a deserializer reads. */
const BYTESIO: ReadonlySet<string> = new Set(semantics.bytesIO.names);

/** Element type and byte size of each legacy PyTorch storage class. */
export const TORCH_STORAGES: Readonly<Record<string, readonly [string, number]>> = Object.freeze(
  Object.fromEntries(
    Object.entries(semantics.torchStorages)
      .filter(([k]) => !k.startsWith("$"))
      .map(([k, v]) => {
        const [dtype, size] = Array.isArray(v) ? v : [];
        if (typeof dtype !== "string" || typeof size !== "number" || v.length !== 2) {
          throw new ModelgateError("INTERNAL", `semantics.json: torchStorages.${k} is not [dtype, bytes]`);
        }
        return [k, Object.freeze([dtype, size] as const)];
      }),
  ),
);
// a Map: a name such as `x.constructor` must not find Object's prototype
const TORCH_STORAGE_DTYPES: ReadonlyMap<string, string> = new Map(
  Object.entries(TORCH_STORAGES).map(([k, [d]]) => [k, d]),
);

// ---------------------------------------------------------------- helpers

function resolved(c: ModelCall, v: Value): Value {
  if (v instanceof PyRef) c.site.resolvedTo.push(v.name);
  else c.site.unresolvedCalls++;
  return v;
}

function instantiate(h: ModelHost, cls: Value, args: PySeq, c: ModelCall, via: string): Value {
  return h.call(cls, args, undefined, c.opcode, c.offset, "new", via);
}

function tupleOf(h: ModelHost, items: readonly Value[]): PySeq {
  const t = new PySeq("tuple");
  for (const x of items) t.push(x, h.cap);
  return t;
}

/** The text of a str literal, or of bytes that decode as UTF-8. */
export function textOf(v: Value | undefined): string | undefined {
  const s = strOf(v);
  if (s !== undefined) return s;
  if (v instanceof PyBytes && v.data !== undefined) return decodeUtf8(v.data, 0, v.data.length).text;
  return undefined;
}

/** The bytes a deserializer will read: a bytes value, or the bytes behind `io.BytesIO(b)`. */
export function payloadOf(v: Value | undefined): PyBytes | PyLargeStr | string | undefined {
  if (v instanceof PyBytes) return handedBytes(v);
  if (v instanceof PyLargeStr) return v;
  if (v instanceof PyCall && v.calleeName !== undefined && BYTESIO.has(v.calleeName)) {
    return payloadOf(seqItems(v.args)?.[0]);
  }
  return strOf(v);
}

/**
 * The bytes a loader reads from a bytes or bytearray value as it is handed over: a bytearray
 * changed in a way the machine does not model is unknown (undefined); one not changed is taken as
 * it is now (a change after the loader read it does not matter).
 */
export function handedBytes(v: PyBytes): PyBytes | undefined {
  if (!v.mutable) return v;
  return v.mutated ? undefined : new PyBytes(v.data, v.blob, v.transforms);
}

/**
 * `target[key]` as the model sees it: `sys.modules[...]` and `X.__dict__[...]` /
 * `X.__builtins__[...]` resolve names, namespaces their members, literal dicts and sequences
 * their items.
 */
export function getitem(h: ModelHost, target: Value, key: Value, opcode: string, offset: number, via: string): Value {
  const k = strOf(key);
  if (target instanceof PyRef && target.name === "sys.modules") {
    target.site.consumed = true;
    if (k === undefined) {
      h.dynamicResolution(opcode, offset, `${via} on sys.modules with a computed key`);
      return new PyUnknown("computed module");
    }
    return h.refTo(k, via, offset, true);
  }
  if (target instanceof PyRef && k !== undefined && /(^|\.)__(builtins|dict)__$/.test(target.name)) {
    // X.__builtins__ is the builtins namespace; X.__dict__ is X's own
    target.site.consumed = true;
    const base = target.name.endsWith("__builtins__") ? "builtins" : target.name.slice(0, -".__dict__".length);
    return h.refTo(`${base}.${k}`, via, offset);
  }
  if (target instanceof PyNamespace) {
    if (k === undefined) {
      h.dynamicResolution(opcode, offset, `${via} on a namespace with a computed key`);
      return new PyUnknown("computed name");
    }
    return h.derive(target, k, via, offset);
  }
  if (target instanceof PyDict && key !== null && target.exact) {
    const v = k !== undefined ? target.get(k) : undefined;
    if (v !== undefined) return v;
  }
  if (target instanceof PySeq) {
    const i = intOf(key);
    if (i !== undefined && i >= 0 && i < target.items.length) return target.items[i] as Value;
  }
  // Not known: whatever the container holds may be what the loader gets.
  markEscaped(target);
  markEscaped(key);
  return new PyUnknown(`item of ${h.nameOf(target) ?? "an unknown object"}`);
}

/** A call of an `operator.attrgetter` / `itemgetter` / `methodcaller` object. */
export function callOperator(h: ModelHost, callee: PyOperator, args: Value, opcode: string, offset: number): Value {
  const target = seqItems(args)?.[0];
  if (target === undefined) return new PyUnknown("operator called without arguments");
  if (callee.kind === "attrgetter") {
    const out: Value[] = [];
    for (const item of callee.items) {
      const path = strOf(item);
      if (path === undefined) {
        h.dynamicResolution(opcode, offset, "operator.attrgetter with a computed attribute name");
        out.push(new PyUnknown("computed attribute"));
        continue;
      }
      let v: Value = target;
      for (const part of path.split(".")) v = h.derive(v, part, "operator.attrgetter", offset);
      out.push(v);
    }
    if (out.length === 1) return out[0] as Value;
    return tupleOf(h, out);
  }
  if (callee.kind === "itemgetter") {
    return getitem(h, target, callee.items[0] ?? null, opcode, offset, "operator.itemgetter");
  }
  const method = strOf(callee.items[0]);
  if (method === undefined) {
    h.dynamicResolution(opcode, offset, "operator.methodcaller with a computed method name");
    return new PyUnknown("computed method");
  }
  const margs = tupleOf(h, callee.items.slice(1));
  const fn = h.derive(target, method, "operator.methodcaller", offset);
  return h.call(fn, margs, undefined, opcode, offset, "call", "operator.methodcaller");
}

/** Tensors rebuilt by `torch._utils._rebuild_tensor*` calls: count, elements, dtypes. */
export interface TensorStats {
  count: number;
  elements: number;
  readonly dtypes: Set<string>;
}

/** Whether a callee rebuilds a tensor (its arguments give the tensor's size and storage). */
export function rebuildsTensor(name: string): boolean {
  return name.startsWith("torch._utils._rebuild_tensor");
}

/** Counts a tensor rebuilt from `(storage, offset, size, ...)`. */
export function countTensor(t: TensorStats, args: Value): void {
  const a = seqItems(args) ?? [];
  t.count++;
  const size = seqItems(a[2]);
  if (size !== undefined) {
    let n = 1;
    for (const d of size) n *= intOf(d) ?? 0;
    if (Number.isSafeInteger(t.elements + n)) t.elements += n;
  }
  const storage = a[0];
  const st = storage instanceof PyPersistent ? seqItems(storage.pid)?.[1] : undefined;
  const dtype = st instanceof PyRef ? TORCH_STORAGE_DTYPES.get(st.name.slice(st.name.lastIndexOf(".") + 1)) : undefined;
  if (dtype !== undefined && t.dtypes.size < 32) t.dtypes.add(dtype);
}

// ---------------------------------------------------------------- models (behaviour)

/** `getattr(obj, name)` and the `__getattribute__` spellings of it. */
const getattrModel: Model = (h, c) => {
  const attr = strOf(c.a[1]);
  const base = c.a[0];
  if (attr === undefined || base === undefined) {
    c.site.unresolvedCalls++;
    h.dynamicResolution(c.opcode, c.offset, `${c.name} with a computed attribute name`);
    h.escape(c.args);
    return new PyUnknown("computed attribute");
  }
  // a bound method of a class whose method table says what it is (torch's schedulers, Lazy modules)
  const bound = h.bound.open ? boundMethod({ ...c, callee: new PyRef(c.name, c.site) }, h.shared.patches) : undefined;
  if (bound !== undefined) {
    h.bound.add(bound);
    c.site.boundMethods++;
    return bound;
  }
  return resolved(c, h.derive(base, attr, c.name, c.offset));
};

/** `__import__(name, globals, locals, fromlist)`: the top package unless fromlist is non-empty. */
const importModel: Model = (h, c) => {
  const mod = strOf(c.a[0]);
  if (mod === undefined) {
    c.site.unresolvedCalls++;
    h.dynamicResolution(c.opcode, c.offset, `${c.name} of a computed module name`);
    return new PyUnknown("computed module");
  }
  const fromlist = c.a[3];
  const nonEmpty = fromlist instanceof PySeq ? fromlist.count > 0 : fromlist !== undefined && fromlist !== null;
  const target = nonEmpty ? mod : (mod.split(".")[0] ?? mod);
  if (target !== mod) h.refTo(mod, c.name, c.offset, true); // the submodule is imported too
  return resolved(c, h.refTo(target, c.name, c.offset, true));
};

/** `importlib.import_module(name, package)`. */
const importModuleModel: Model = (h, c) => {
  const mod = strOf(c.a[0]);
  const pkg = strOf(c.a[1]);
  if (mod === undefined) {
    c.site.unresolvedCalls++;
    h.dynamicResolution(c.opcode, c.offset, `${c.name} of a computed module name`);
    return new PyUnknown("computed module");
  }
  const full = mod.startsWith(".") && pkg !== undefined ? `${pkg}${mod}` : mod;
  return resolved(c, h.refTo(full, c.name, c.offset, true));
};

/** `pkgutil.resolve_name("mod:attr")`, `pydoc.locate("mod.attr")`. */
const resolveNameModel: Model = (h, c) => {
  const spec = strOf(c.a[0]);
  if (spec === undefined) {
    c.site.unresolvedCalls++;
    h.dynamicResolution(c.opcode, c.offset, `${c.name} of a computed name`);
    return new PyUnknown("computed name");
  }
  return resolved(c, h.refTo(spec.replace(":", "."), c.name, c.offset));
};

/** `operator.attrgetter` / `itemgetter` / `methodcaller` build an operator object. */
const operatorModel =
  (kind: PyOperator["kind"]): Model =>
  (_h, c) =>
    new PyOperator(kind, c.a);

/** `operator.getitem(obj, key)`, `dict.get(d, key)`, `dict.__getitem__(d, key)`. */
const getitemModel: Model = (h, c) => {
  const a = c.a;
  const v = getitem(h, a[0] ?? null, a[1] ?? null, c.opcode, c.offset, c.name);
  // `dict.get`'s default: Python returns it when the key is missing there
  if (a.length > 2) markEscaped(a[2]);
  if (v instanceof PyRef) c.site.resolvedTo.push(v.name);
  else if (
    v instanceof PyUnknown ||
    a[0] instanceof PyNamespace ||
    (a[0] instanceof PyRef && a[0].name === "sys.modules")
  ) {
    // an item not known (or `dict.get`'s default, the third argument) may be any callable
    c.site.unresolvedCalls++;
    for (const x of a) markEscaped(x);
  }
  return v;
};

/** `vars(obj)`: obj's namespace. */
const varsModel: Model = (h, c) => {
  const a0 = c.a[0];
  const of = a0 === undefined ? "<caller globals>" : h.nameOf(a0);
  if (a0 instanceof PyRef) a0.site.consumed = true;
  // an object's namespace is its __dict__: what is set through it is not modelled
  markMutated(a0);
  c.site.resolvedTo.push(`vars(${of ?? "?"})`);
  return new PyNamespace(of ?? "<unknown>");
};

/** `globals()`, `locals()`: the caller's namespace. */
const globalsModel: Model = () => new PyNamespace("<caller globals>");

/** `functools.partial(func, *args)`. */
const partialModel: Model = (_h, c) => {
  const func = c.a[0];
  if (func === undefined) return undefined;
  if (func instanceof PyRef) c.site.resolvedTo.push(func.name);
  return new PyPartial(func, c.a.slice(1));
};

/** dill's `_reverse_typemap`: the name `_load_type(name)` looks up → the type's qualified name. */
const DILL_TYPES: ReadonlyMap<string, string> = new Map(
  Object.entries(semantics.dillTypes).filter(([k]) => !k.startsWith("$")),
);

/** dill's `_load_type(name)`: `_reverse_typemap[name]`, a fixed table of types. */
const dillLoadTypeModel: Model = (h, c) => {
  const key = strOf(c.a[0]);
  if (key === undefined) {
    c.site.unresolvedCalls++;
    h.dynamicResolution(c.opcode, c.offset, `${c.name} of a computed type name`);
    h.escape(c.args);
    return new PyUnknown("computed dill type");
  }
  const full = DILL_TYPES.get(key);
  if (full === undefined) {
    // KeyError in the dill the table comes from; another dill may know it: not guessed
    c.site.unresolvedCalls++;
    return new PyUnknown(`dill type ${key}`);
  }
  return resolved(c, h.refTo(full, c.name, c.offset));
};

/**
 * dill's `_create_array(f, args, state, npdict)`: `array = f(*args)`, `array.__setstate__(state)`,
 * `array.__dict__.update(npdict)` unless npdict is None. The call of `f` is judged as such (it
 * must be allowed to be called: numpy's `_reconstruct`); a callee that is not a name keeps the
 * call of `_create_array` reported.
 */
const dillCreateArrayModel: Model = (h, c) => {
  const [f, args, state, npdict] = c.a;
  if (f instanceof PyRef) c.site.resolvedTo.push(f.name);
  else c.site.unresolvedCalls++;
  if (f === undefined) {
    h.escape(c.args);
    return undefined;
  }
  const made = h.call(f, args ?? new PySeq("tuple"), undefined, c.opcode, c.offset, "call", c.name);
  if (state !== undefined) h.build(made, state, c.opcode, c.offset, c.name);
  if (npdict !== undefined) h.updateDict(made, npdict, c.opcode, c.offset, c.name);
  return made;
};

/**
 * A call that looks a name up as `find_class` does (numpy's `_ufunc_reconstruct(module, name)` is
 * `getattr(__import__(module, fromlist=[name]), name)`): with literal arguments it is a reference
 * to that name, judged where the pickle uses it as if it had imported it; the call itself is the
 * lookup (the helper's site counts it as consumed, not as called).
 */
function lookedUp(h: ModelHost, c: ModelCall, full: string, isModule = false): Value {
  c.site.callCount--;
  c.site.consumed = true;
  c.site.resolvedTo.push(full);
  return h.refTo(full, c.name, c.offset, isModule);
}

/**
 * A lookup helper given a name computed at run time: judged as the import it makes (`importer`,
 * `__import__` or `importlib.import_module`, called with the same arguments: critical unless it
 * resolves to names allowed to be called), and its result is unknown.
 */
function computedLookup(h: ModelHost, c: ModelCall, importer: string, args: readonly Value[]): Value {
  c.site.unresolvedCalls++;
  h.dynamicResolution(c.opcode, c.offset, `${c.name} of a name computed at run time`);
  h.escape(c.args);
  const callee = h.refTo(importer, c.name, c.offset);
  h.call(callee, tupleOf(h, args), undefined, c.opcode, c.offset, "call", c.name);
  return new PyUnknown(`name looked up by ${c.name}`);
}

/** numpy's `_ufunc_reconstruct(module, name)` (how numpy before 1.20 pickled ufuncs). */
const ufuncReconstructModel: Model = (h, c) => {
  const [m, n] = c.a;
  const mod = strOf(m);
  const name = strOf(n);
  if (mod !== undefined && name !== undefined && c.a.length === 2) return lookedUp(h, c, `${mod}.${name}`);
  return computedLookup(h, c, "builtins.__import__", [m ?? null, null, null, tupleOf(h, [n ?? null])]);
};

/** torch's `_import_dotted_name(name)`: `__import__` of the first component, then getattr of the rest. */
const importDottedNameModel: Model = (h, c) => {
  const name = strOf(c.a[0]);
  if (name !== undefined && c.a.length === 1) return lookedUp(h, c, name, !name.includes("."));
  return computedLookup(h, c, "builtins.__import__", [c.a[0] ?? null]);
};

/**
 * scipy's uarray `unpickle_function(module, qualname, self)`: `importlib.import_module(module)`,
 * getattr along the qualified name, bound to `self` unless it is None (the bound method's
 * function is the name; `self` is handed to it).
 */
const uarrayFunctionModel: Model = (h, c) => {
  const [m, q, self] = c.a;
  const mod = strOf(m);
  const qname = strOf(q);
  if (self !== undefined && self !== null) h.escape(self);
  if (mod !== undefined && qname !== undefined && c.a.length === 3) return lookedUp(h, c, `${mod}.${qname}`);
  return computedLookup(h, c, "importlib.import_module", [m ?? null]);
};

/** A function that returns its first argument as it is (torch.jit's `restore_type_tag(value, type)`). */
const passThroughModel: Model = (_h, c) => c.a[0];

/** `copyreg.add_extension(module, name, code)`: fills the stream's extension registry. */
const addExtensionModel: Model = (h, c) => {
  const m = strOf(c.a[0]);
  const n = strOf(c.a[1]);
  const code = intOf(c.a[2]);
  if (m !== undefined && n !== undefined && code !== undefined) {
    h.shared.ext.set(code, [m, n]);
    c.site.resolvedTo.push(`${m}.${n}`);
  } else c.site.unresolvedCalls++;
  return null;
};

/** `copyreg._reconstructor(cls, base, state)`: `base.__init__(obj, state)` unless base is object. */
const reconstructorModel: Model = (h, c) => {
  const [cls, base] = c.a;
  if (cls === undefined) return undefined;
  if (base !== undefined && !(base instanceof PyRef && base.name === "builtins.object")) {
    const initArgs = new PySeq("tuple");
    initArgs.push(c.a[2] ?? null, h.cap);
    h.call(base, initArgs, undefined, c.opcode, c.offset, "call", "copyreg._reconstructor");
  }
  const made = instantiate(h, cls, new PySeq("tuple"), c, "copyreg._reconstructor");
  // `base.__new__(cls, state)` and `base.__init__(obj, state)` made it: its attributes are not modelled
  if (base !== undefined && !(base instanceof PyRef && base.name === "builtins.object")) markMutated(made);
  return made;
};

/** `copyreg.__newobj__(cls, *args)`: `cls.__new__(cls, *args)`. */
const newobjModel: Model = (h, c) => {
  const cls = c.a[0];
  if (cls === undefined) return undefined;
  return instantiate(h, cls, tupleOf(h, c.a.slice(1)), c, c.name);
};

/**
 * torch's `_rebuild_from_type(func, type, args, dict)` and `_rebuild_from_type_v2(func, type, args,
 * state)`: `ret = func(*args)`, made an instance of `type` by `ret.as_subclass(type)` unless it is
 * one already, then given the state. When `ret` is known to be of exactly `type` already, the
 * result is `ret` itself (a payload passed through an identity such as numpy's object `scalar`);
 * otherwise the call's result is recorded (an instance of `type`, or an error). A joblib array
 * wrapper is never handed on: its layout would depend on the state merged into it. The state is
 * set with `setattr` on `ret` (see {@link applyRebuiltState}).
 */
const rebuildFromTypeModel: Model = (h, c) => {
  const [func, newType] = c.a;
  const ret =
    func === undefined
      ? undefined
      : h.call(func, c.a[2] ?? new PySeq("tuple"), undefined, c.opcode, c.offset, "call", c.name);
  if (newType !== undefined) instantiate(h, newType, new PySeq("tuple"), c, c.name);
  const typeName = newType instanceof PyRef ? newType.name : undefined;
  const state = c.a[3];
  const stateless = state === undefined || state === null || (state instanceof PyDict && state.count === 0);
  if (!stateless && ret !== undefined) applyRebuiltState(h, c, ret, typeName, state);
  if (ret === undefined || typeName === undefined || isArrayWrapperName(typeName)) return undefined;
  if (!stateless) return undefined;
  return h.nameOf(ret) === `${typeName}()` ? ret : undefined;
};

/** The type objects `_rebuild_from_type` returns `func(*args)` for unchanged (legacy version). */
const TENSOR_TYPES = new Set(["torch.Tensor", "torch._tensor.Tensor"]);

/**
 * The state `_rebuild_from_type_v2` gives `ret` through torch's `_set_obj_state`: `setattr(ret, k,
 * v)` for each key of the dict state and of the slots state (`(dict, slots)`); the legacy
 * `_rebuild_from_type` sets `ret.__dict__` unless the type is `torch.Tensor`. A tensor rebuilt by
 * `func` (or an object `func` allocated) made an instance of `type` is a new object: its state is
 * recorded with the call. Anything else (a class passed through numpy's object `scalar`, a value
 * of a call not modelled, whatever `type` is `builtins.type`) may be a class, module or function of
 * the process: the attributes are monkey-patches, set through the machine (reported, and later
 * names see them).
 */
function applyRebuiltState(h: ModelHost, c: ModelCall, ret: Value, typeName: string | undefined, state: Value): void {
  if (c.name.endsWith("._rebuild_from_type") && typeName !== undefined && TENSOR_TYPES.has(typeName)) return;
  const fresh =
    typeName !== undefined &&
    typeName !== "builtins.type" &&
    ret instanceof PyCall &&
    (ret.allocated || (ret.calleeName !== undefined && rebuildsTensor(ret.calleeName)));
  if (fresh) return;
  const parts = state instanceof PySeq && state.kind === "tuple" ? seqItems(state) : [state];
  const attrs: [string, Value][] = [];
  let known = parts !== undefined && parts.length <= 2;
  for (const part of parts ?? []) {
    if (part === null) continue;
    if (!(part instanceof PyDict)) {
      known = false;
      continue;
    }
    part.keys.forEach((k, i) => {
      const name = strOf(k);
      if (name === undefined) known = false;
      else if (attrs.length < ATTRS_KEPT) attrs.push([name, part.values[i] ?? null]);
    });
    for (const [k, v] of part.overflowDunders ?? []) attrs.push([k, v]);
    if (part.inexact || part.truncated) known = false;
  }
  if (!known) attrs.push([COMPUTED_ATTRS, new PyUnknown("attributes not known")]);
  h.mutate(ret, attrs, c.opcode, c.offset, c.name, true);
}

/** Attributes of one state the model names (the rest are set all the same). */
const ATTRS_KEPT = 256;

/** The attribute name that stands for attributes the model cannot name (a state not literal). */
export const COMPUTED_ATTRS = "<computed>";

/** Names of numpy's object dtype as `numpy.dtype(name)` accepts them. */
const OBJECT_DTYPES = new Set(["O", "|O", "<O", ">O", "=O", "O8", "|O8", "<O8", ">O8", "=O8", "object"]);

/**
 * numpy's `scalar(dtype, obj)` (how numpy pickles its scalars): for the object dtype it returns
 * `obj` itself; for others a numpy scalar made of the bytes (the call's result is recorded).
 */
const scalarObjectModel: Model = (_h, c) => {
  const [dtype, obj] = c.a;
  if (obj === undefined || !(dtype instanceof PyCall) || dtype.calleeName === undefined) return undefined;
  if (!/^numpy\.(_core\.multiarray\.|core\.multiarray\.)?dtype$/.test(dtype.calleeName)) return undefined;
  const name = strOf(seqItems(dtype.args)?.[0]);
  return name !== undefined && OBJECT_DTYPES.has(name) ? obj : undefined;
};

/**
 * joblib's array wrappers: `NumpyUnpickler.load_build` reads an array after a BUILD whose object
 * is an instance of one (`NumpyArrayWrapper`: inline data; `NDArrayWrapper`: a file beside it).
 */
export function isArrayWrapperName(name: string): boolean {
  return ARRAY_WRAPPER_NAME.test(name);
}
const ARRAY_WRAPPER_NAME = /(^|\.)(NumpyArrayWrapper|NDArrayWrapper)$/;

/** The joblib wrapper whose BUILD is followed by inline array data. */
export const JOBLIB_WRAPPER = "joblib.numpy_pickle.NumpyArrayWrapper";

/** Helpers that instantiate their first argument (numpy's `_reconstruct`, ...); the call's result is recorded. */
const instantiateFirstModel: Model = (h, c) => {
  const cls = c.a[0];
  if (cls !== undefined) instantiate(h, cls, new PySeq("tuple"), c, c.name);
  return undefined;
};

/** sklearn's `newObj(cls)` helpers: the result is the instance. */
const sklearnNewObjModel: Model = (h, c) => {
  const cls = c.a[0];
  return cls === undefined ? undefined : instantiate(h, cls, new PySeq("tuple"), c, c.name);
};

/** `setattr(obj, name, value)`. */
const setattrModel: Model = (h, c) => {
  const attr = strOf(c.a[1]);
  h.mutate(c.a[0] ?? null, attr !== undefined ? [[attr, c.a[2] ?? null]] : [], c.opcode, c.offset, "builtins.setattr");
  return null;
};

/** `compile(source, ...)`: the source is code; the result a code object. */
const compileModel: Model = (h, c) => {
  const first = c.a[0];
  const src = textOf(first);
  if (src !== undefined || first instanceof PyBytes) {
    h.nested.push({
      kind: "code",
      via: c.name,
      offset: c.offset,
      value: first instanceof PyBytes ? handedBytes(first) : src,
    });
  }
  return new PyCode(c.name, src);
};

/** `types.FunctionType(code, ...)`: a function made of code. */
const functionTypeModel: Model = (_h, c) => {
  const code = c.a[0];
  return new PyCode(code instanceof PyCode ? `${c.name}(${code.how})` : c.name, undefined);
};

/** `types.CodeType(...)`: a code object. */
const codeTypeModel: Model = (_h, c) => new PyCode(c.name, undefined);

/** A deserializer: its first argument (or the bytes behind `io.BytesIO(b)`) is a nested payload. */
const deserializerModel =
  (kind: (typeof DESERIALIZERS)[string]): Model =>
  (h, c) => {
    h.nested.push({ kind, via: c.name, offset: c.offset, value: payloadOf(c.a[0]) });
    return kind === "marshal" ? new PyCode(c.name, undefined) : undefined;
  };

/** A code evaluator: its first argument is code text (or a code object with known source). */
const evaluatorModel: Model = (h, c) => {
  const first = c.a[0];
  if (first instanceof PyCode) {
    if (first.source !== undefined) h.nested.push({ kind: "code", via: c.name, offset: c.offset, value: first.source });
  } else {
    h.nested.push({
      kind: "code",
      via: c.name,
      offset: c.offset,
      value: first instanceof PyBytes ? handedBytes(first) : textOf(first),
    });
  }
  return undefined;
};

/** A decoding applied to the first argument: eagerly to inline bytes, recorded on large ones. */
function decode(h: ModelHost, input: Value | undefined, t: Transform): Value | undefined {
  if (input instanceof PyBytes && input.data === undefined) {
    return new PyBytes(undefined, input.blob, [...input.transforms, t]);
  }
  if (input instanceof PyLargeStr) return new PyBytes(undefined, input.blob, [t]);
  const bytes = input instanceof PyBytes ? input.data : undefined;
  const text = strOf(input);
  // A str argument: the decoders take ASCII text only (others raise), so nothing else is guessed.
  const src = bytes ?? (text !== undefined && isAsciiText(text) ? Buffer.from(text, "latin1") : undefined);
  if (src === undefined) return undefined;
  const out = applyTransform(t, src, h.chargeDecompressed);
  // (zlib and gzip output was charged to the scan's budget by applyTransform)
  return out === undefined || !h.chargeComputed(out.length, t !== "zlib" && t !== "gzip")
    ? undefined
    : new PyBytes(out);
}

const decoderModel =
  (t: Transform): Model =>
  (h, c) =>
    decode(h, c.a[0], t);

/**
 * Encoding name as `codecs` normalises it (lower case, no `-` or `_`); `fallback` when the
 * argument is absent, undefined when it is present but not a literal str (never guessed).
 */
function encodingOf(v: Value | undefined, fallback?: string): string | undefined {
  const text = v === undefined ? fallback : strOf(v);
  return text?.toLowerCase().replace(/[-_]/g, "");
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** `codecs`' names of latin-1, normalised as {@link encodingOf} does. */
const LATIN1 = new Set(["latin1", "iso88591", "l1", "latin", "iso885911987"]);

/**
 * `text.encode(encoding, errors)` for latin-1, UTF-8 and ASCII with strict errors; undefined when
 * the result is not exactly known: another codec or error handler, an argument that is not a
 * literal str, or a character the codec cannot encode (Python raises there, and a payload guessed
 * instead is not the one a loader would see).
 */
function encodeText(text: string, encoding: Value | undefined, errors: Value | undefined): Uint8Array | undefined {
  const enc = encodingOf(encoding, "utf-8");
  if (errors !== undefined && strOf(errors) !== "strict") return undefined;
  if (enc !== undefined && LATIN1.has(enc)) {
    const out = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code > 0xff) return undefined;
      out[i] = code;
    }
    return out;
  }
  if (enc === "ascii" || enc === "usascii" || enc === "646")
    return isAsciiText(text) ? Buffer.from(text, "latin1") : undefined;
  if (enc === "utf8" || enc === "u8" || enc === "utf") {
    // A lone surrogate raises in Python; Node would write U+FFFD.
    return LONE_SURROGATE.test(text) ? undefined : new Uint8Array(Buffer.from(text, "utf8"));
  }
  return undefined;
}

/** `codecs.decode(data, encoding)`: the binary codecs decode. */
const codecsDecodeModel: Model = (h, c) => {
  if (c.a.length > 2) return undefined; // an error handler: not modelled
  const enc = encodingOf(c.a[1], "utf-8");
  const t = enc === undefined ? undefined : CODEC_DECODINGS.get(enc);
  return t === undefined ? undefined : decode(h, c.a[0], t);
};

/** `codecs.encode(text, encoding, errors)`: str → bytes for latin-1, UTF-8 and ASCII (strict). */
const codecsEncodeModel: Model = (h, c) => {
  const input = c.a[0];
  if (input instanceof PyLargeStr) {
    // Its bytes in the input are its UTF-8 encoding: exact for UTF-8, and for ASCII when it is
    // (else Python raises); latin-1 is a transform of them. Nothing else is known.
    if (c.a.length > 2 && strOf(c.a[2]) !== "strict") return undefined;
    const enc = encodingOf(c.a[1], "utf-8");
    if (enc !== undefined && LATIN1.has(enc)) return new PyBytes(undefined, input.blob, ["latin1"]);
    if (enc === "utf8" || enc === "ascii") return new PyBytes(undefined, input.blob, []);
    return undefined;
  }
  const text = strOf(input);
  if (text === undefined) return undefined;
  const out = encodeText(text, c.a[1], c.a[2]);
  return out === undefined || !h.chargeComputed(out.length) ? undefined : new PyBytes(out);
};

/** `str.join(sep, parts)` of literal strs. */
const joinModel: Model = (_h, c) => {
  const sep = strOf(c.a[0]);
  const seq = c.a[1];
  const parts = seq instanceof PySeq && seq.count === seq.items.length ? seq.items.map((x) => strOf(x)) : undefined;
  if (sep === undefined || parts === undefined || parts.some((x) => x === undefined)) return undefined;
  const out = parts.join(sep);
  return out.length <= MAX_DECODED ? out : undefined;
};

/** `str.__add__`, `operator.add`, `operator.concat` of two literal strs, or of two bytes held in memory. */
const concatModel: Model = (h, c) => {
  const [lb, rb] = c.a;
  if (lb instanceof PyBytes && rb instanceof PyBytes && !c.name.startsWith("builtins.str.")) {
    // bytes + bytes (and bytearray + either) is bytes, bytearray when the left one is
    if (lb.data === undefined || rb.data === undefined || lb.data.length + rb.data.length > MAX_DECODED)
      return undefined;
    if (isMutated(lb) || isMutated(rb) || !h.chargeComputed(lb.data.length + rb.data.length)) return undefined;
    const out = new Uint8Array(lb.data.length + rb.data.length);
    out.set(lb.data);
    out.set(rb.data, lb.data.length);
    return new PyBytes(out, undefined, [], lb.mutable);
  }
  const l = strOf(c.a[0]);
  const r = strOf(c.a[1]);
  return l !== undefined && r !== undefined && l.length + r.length <= MAX_DECODED ? l + r : undefined;
};

/**
 * `bytes(x)`, `bytearray(x)` of bytes or a list of ints, and `bytes(text, encoding[, errors])`;
 * undefined whenever Python's result is not exactly known (an item that is not a literal int in
 * 0..255, an encoding not modelled, a str without an encoding: Python raises).
 */
const bytesModel: Model = (h, c) => {
  const input = c.a[0];
  const mutable = c.name.endsWith("array");
  const text = strOf(input);
  if (text !== undefined) {
    if (c.a.length < 2) return undefined;
    const out = encodeText(text, c.a[1], c.a[2]);
    return out === undefined || !h.chargeComputed(out.length) ? undefined : new PyBytes(out, undefined, [], mutable);
  }
  if (c.a.length > 1) return undefined;
  // a value changed in a way the machine does not model (item assignment, handed to other code ...)
  if (isMutated(input)) return undefined;
  let out: PyBytes | undefined;
  if (input instanceof PySeq) {
    if (input.kind === "set" || input.kind === "frozenset") return undefined;
    // the tracked buffer is only appended to past its end: shared, not copied
    const data = input.octets();
    out = data === undefined ? undefined : new PyBytes(data, undefined, [], mutable);
  } else if (input instanceof PyBytes) out = new PyBytes(input.data, input.blob, input.transforms, mutable);
  else {
    const raw = ndarrayBytes(input, h);
    out = raw === undefined ? undefined : new PyBytes(raw.data, raw.blob, raw.transforms, mutable);
  }
  if (out === undefined) return undefined;
  return h.chargeComputed(Math.max(0, out.data?.length ?? 0)) ? out : undefined;
};

/** numpy's array reconstructors (what `ndarray.__reduce__` names). */
const NDARRAY_RECONSTRUCT: ReadonlySet<string> = new Set([
  "numpy.core.multiarray._reconstruct",
  "numpy._core.multiarray._reconstruct",
]);

/** Whether a value is an array `_reconstruct(numpy.ndarray, ...)` made. */
function isNdarray(v: Value | undefined): v is PyCall {
  if (!(v instanceof PyCall) || v.calleeName === undefined || !NDARRAY_RECONSTRUCT.has(v.calleeName)) return false;
  const cls = seqItems(v.args)?.[0];
  return cls instanceof PyRef && cls.name === "numpy.ndarray";
}

/**
 * Whether BUILD on a value runs numpy's own `__setstate__` (an array or a dtype), which keeps the
 * objects of its state as they are.
 */
export function isNumpyBuilt(v: Value | undefined): boolean {
  return isNdarray(v) || (v instanceof PyCall && v.calleeName === "numpy.dtype");
}

/**
 * The buffer of a numpy array a pickle rebuilt, as `bytes(array)` / `array.tobytes()` return it:
 * `_reconstruct(numpy.ndarray, ...)` whose BUILD state is numpy's
 * `(version, shape, dtype, is_fortran, rawdata)` with raw bytes of exactly `count * itemsize`,
 * a dtype of certain size that is not object, and C order (or at most one dimension). numpy swaps
 * data of the other byte order into the loader's (little-endian) order as it unpickles it: that
 * swap is applied (for the kinds whose swap is known, else undefined). Undefined also when the
 * array, its dtype or its data were changed in a way not modelled: anything else is not guessed.
 * @param v - the value handed to `bytes(...)`
 * @param h - charges a swapped copy (omitted: a swapped array is undefined)
 */
export function ndarrayBytes(v: Value | undefined, h?: ModelHost): PyBytes | undefined {
  if (!isNdarray(v) || isMutated(v)) return undefined;
  // a __setstate__ or other attribute set on the instance changes what BUILD did
  if (v.attrs !== undefined && v.attrs.size > 0) return undefined;
  const st = v.state instanceof PySeq && v.state.kind === "tuple" ? v.state : undefined;
  if (st === undefined || st.count !== st.items.length || st.count !== 5) return undefined;
  const [version, shapeV, dtypeV, fortran, raw] = st.items;
  // numpy takes bytes (a bytearray raises); a dtype changed after it was built is not known
  if (intOf(version) !== 1 || !(raw instanceof PyBytes) || raw.mutable || isMutated(dtypeV)) return undefined;
  if (!(shapeV instanceof PySeq) || shapeV.count !== shapeV.items.length) return undefined;
  let count = 1;
  for (const d of shapeV.items) {
    const n = intOf(d);
    if (n === undefined || n < 0) return undefined;
    count *= n;
  }
  const dt = dtypeInfo(dtypeV);
  if (dt === undefined || dt.object || !Number.isSafeInteger(count * dt.itemsize)) return undefined;
  if (fortran !== false && !(fortran === true && shapeV.items.length <= 1)) return undefined;
  // numpy raises on raw data of any other size (a length not yet known is not guessed)
  if (raw.length !== count * dt.itemsize) return undefined;
  if (dt.itemsize === 1 || dt.byteorder !== ">") return raw;
  // non-native order: numpy byte-swaps each item (each half of a complex, each UCS-4 character)
  const unit = swapUnit(dt.str, dt.itemsize);
  if (unit === undefined || raw.data === undefined || h === undefined || !h.chargeComputed(raw.data.length))
    return undefined;
  return new PyBytes(swapped(raw.data, unit));
}

/** The size of the units numpy's byte swap reverses for a dtype kind, or undefined when not modelled. */
function swapUnit(typestr: string, itemsize: number): number | undefined {
  const kind = typestr.replace(/^[<>|=]/, "")[0];
  if ((kind === "i" || kind === "u" || kind === "f") && (itemsize === 2 || itemsize === 4 || itemsize === 8))
    return itemsize;
  if (kind === "c" && (itemsize === 8 || itemsize === 16)) return itemsize / 2;
  if (kind === "U") return 4;
  // bool is one byte; datetimes have no buffer (bytes() raises); long doubles, S, V: not modelled
  return undefined;
}

/** A copy of `data` with each `unit`-byte group reversed. */
function swapped(data: Uint8Array, unit: number): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let i = 0; i + unit <= data.length; i += unit) {
    for (let j = 0; j < unit; j++) out[i + j] = data[i + unit - 1 - j] as number;
  }
  return out;
}

/** The handler of each resolver class of semantics.json. */
const RESOLVER_MODELS: { readonly [K in Classes<typeof semantics.resolvers>]: Model } = {
  getattr: getattrModel,
  import: importModel,
  importModule: importModuleModel,
  resolveName: resolveNameModel,
  attrgetter: operatorModel("attrgetter"),
  itemgetter: operatorModel("itemgetter"),
  methodcaller: operatorModel("methodcaller"),
  getitem: getitemModel,
  vars: varsModel,
  partial: partialModel,
  dillLoadType: dillLoadTypeModel,
  dillCreateArray: dillCreateArrayModel,
};

/** The handler of each specific class (`models`) of semantics.json. */
const SPECIFIC_MODELS: { readonly [K in Classes<typeof semantics.models>]: Model } = {
  codecsDecode: codecsDecodeModel,
  codecsEncode: codecsEncodeModel,
  strJoin: joinModel,
  strConcat: concatModel,
  bytes: bytesModel,
  callerNamespace: globalsModel,
  addExtension: addExtensionModel,
  reconstructor: reconstructorModel,
  newobj: newobjModel,
  rebuildFromType: rebuildFromTypeModel,
  instantiateFirst: instantiateFirstModel,
  scalarObject: scalarObjectModel,
  opaque: () => undefined,
  setattr: setattrModel,
  compile: compileModel,
  functionType: functionTypeModel,
  codeType: codeTypeModel,
  passThrough: passThroughModel,
  ufuncReconstruct: ufuncReconstructModel,
  importDottedName: importDottedNameModel,
  uarrayFunction: uarrayFunctionModel,
};

/** One class of modelled names. */
interface ModelEntry {
  /** Canonical names. */
  readonly names: readonly string[];
  /** What a call returns. */
  readonly model: Model;
  /**
   * A resolver: its calls are references to what they resolve, so a call whose every result is
   * allowed is not reported (see {@link isResolver}).
   */
  readonly resolver?: true;
}

/**
 * The models, lowest precedence first: a later entry for a name replaces an earlier one (the
 * specific model of `builtins.compile` replaces the generic evaluator).
 */
const ENTRIES: readonly ModelEntry[] = [
  ...classesOf(semantics.decoders).map(([t, names]): ModelEntry => ({ names, model: decoderModel(t) })),
  { names: CODE_EVALUATORS, model: evaluatorModel },
  ...classesOf(semantics.deserializers).map(([kind, names]): ModelEntry => ({ names, model: deserializerModel(kind) })),
  ...classesOf(semantics.resolvers).map(
    ([cls, names]): ModelEntry => ({ names, model: RESOLVER_MODELS[cls], resolver: true }),
  ),
  ...classesOf(semantics.models).map(([cls, names]): ModelEntry => ({ names, model: SPECIFIC_MODELS[cls] })),
];

const MODELS = new Map<string, Model>();
const RESOLVERS = new Set<string>();
for (const e of ENTRIES) {
  for (const name of e.names) {
    MODELS.set(name, e.model);
    if (e.resolver === true) RESOLVERS.add(name);
    else RESOLVERS.delete(name);
  }
}

/** sklearn's `newObj` helpers (`sklearn.tree._tree.newObj` ...) instantiate their first argument. */
function isSklearnNewObj(name: string): boolean {
  return name.endsWith(".newObj") && name.startsWith("sklearn.");
}

/**
 * The model of a callable, or undefined when its calls are ordinary calls.
 * @param name - canonical name
 */
export function modelOf(name: string): Model | undefined {
  return MODELS.get(name) ?? (isSklearnNewObj(name) ? sklearnNewObjModel : undefined);
}

/**
 * Whether a name is a resolver the machine sees through (its calls become references to what
 * they resolve).
 * @param name - canonical name
 */
export function isResolver(name: string): boolean {
  return RESOLVERS.has(name);
}

/**
 * Whether the machine's analysis of a callable rests on seeing its calls: a deserializer or code
 * evaluator (its argument is analysed as a nested payload) or a resolver (its result is followed).
 * A profile may allow such a name because of that; a reference to it handed to a call the machine
 * does not model escapes the analysis, as the callee may call it on data never analysed.
 * @param name - canonical name
 */
export function isPayloadSink(name: string): boolean {
  return name in DESERIALIZERS || CODE_EVALUATORS.includes(name) || RESOLVERS.has(name);
}

/** Every modelled name (for tests and documentation). */
export function modelledNames(): string[] {
  return [...MODELS.keys()];
}

/** The resolver names (for tests and documentation). */
export function resolverNames(): string[] {
  return [...RESOLVERS];
}

// ---------------------------------------------------------------- numpy / joblib layouts

/** dtype, shape and byte size of a joblib NumpyArrayWrapper, from its BUILD state. */
export function joblibArrayLayout(
  state: Value | undefined,
): { dtype: string; shape: number[]; bytes: number; object: boolean; alignment: boolean } | undefined {
  // a dict past the container cap may have set a key again after the value kept
  if (!(state instanceof PyDict) || !state.exact) return undefined;
  // Only the attributes joblib's NumpyArrayWrapper has: any other key (`read_array`, `read`,
  // `read_mmap` set on the instance) changes what joblib's load_build runs and reads, so the
  // layout is not certain.
  for (const key of state.keys) {
    const name = strOf(key);
    if (name === undefined || !WRAPPER_ATTRIBUTES.has(name)) return undefined;
  }
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

/** The instance attributes of joblib's NumpyArrayWrapper (joblib 0.12 to 1.4). */
const WRAPPER_ATTRIBUTES: ReadonlySet<string> = new Set([
  "subclass",
  "shape",
  "order",
  "dtype",
  "allow_mmap",
  "numpy_array_alignment_bytes",
]);

/** Item sizes numpy has for each fixed-size kind (`numpy.dtype(...).__reduce__()` writes kind + size). */
const FIXED_SIZES: Readonly<Record<string, readonly number[]>> = {
  b: [1],
  i: [1, 2, 4, 8],
  u: [1, 2, 4, 8],
  f: [2, 4, 8, 12, 16],
  c: [8, 16, 24, 32],
  m: [8],
  M: [8],
  O: [4, 8],
};

/**
 * Type string, item size and object-ness of a `numpy.dtype(...)` value rebuilt by a pickle, or
 * undefined unless the size is certain. numpy's own reduce writes the kind and the size in bytes
 * (characters for `U`) and, in the state, the size again for the flexible kinds (`S`, `U`, `V`) and
 * -1 for the others, whose state size numpy ignores. Any other spelling numpy would also accept
 * (`'i8,f8'`, `'float64'`, a size in the state that disagrees with the type string) is undefined:
 * joblib reads `count * itemsize` bytes of inline data, so a size guessed differently would skip
 * opcodes joblib runs, or run into data joblib skips.
 * @param v - the dtype value
 */
export function dtypeInfo(
  v: Value | undefined,
): { str: string; itemsize: number; object: boolean; byteorder: string } | undefined {
  if (!(v instanceof PyCall)) return undefined;
  if (v.calleeName !== "numpy.dtype") return undefined;
  const typestr = strOf(seqItems(v.args)?.[0]);
  if (typestr === undefined) return undefined;
  const m = /^[<>|=]?([biufcmMOSUV])(\d{0,9})$/.exec(typestr);
  if (m === null) return undefined;
  const kind = m[1] as string;
  const digits = m[2] === "" ? undefined : Number(m[2]);
  const st = v.state === undefined ? undefined : seqItems(v.state);
  if (v.state !== undefined && st === undefined) return undefined;
  const elsize = st === undefined ? -1 : intOf(st[5]);
  const flags = st === undefined ? 0 : intOf(st[7]);
  if (elsize === undefined || flags === undefined) return undefined;
  let itemsize: number;
  const fixed = FIXED_SIZES[kind];
  if (fixed !== undefined) {
    itemsize = digits ?? (kind === "O" ? 8 : -1);
    if (!fixed.includes(itemsize)) return undefined;
    if (elsize !== -1 && elsize !== itemsize) return undefined;
    // a fixed kind has no fields or subarray
    if (st !== undefined && (st[2] !== null || st[3] !== null || st[4] !== null)) return undefined;
  } else {
    if (digits === undefined) return undefined;
    itemsize = kind === "U" ? digits * 4 : digits;
    if (elsize !== -1 && elsize !== itemsize) return undefined;
  }
  // numpy's byte order: the state's when there is one, else the type string's ('=' native)
  const order = st === undefined ? (/^[<>|=]/.test(typestr) ? typestr[0] : "=") : strOf(st[1]);
  if (order === undefined || !/^[<>|=]$/.test(order)) return undefined;
  // numpy takes the object flag from the state when there is one
  return { str: typestr, itemsize, object: st === undefined ? kind === "O" : (flags & 1) !== 0, byteorder: order };
}

// ---------------------------------------------------------------- serialized data

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

/**
 * Applies a named decoding to bytes (bounded); undefined when the input is not valid for it.
 * @param t - the decoding
 * @param src - the bytes
 * @param charge - counts decompressed bytes (zlib, gzip) against a budget; throws past it
 */
export function applyTransform(
  t: string,
  src: Uint8Array,
  charge?: ((bytes: number) => void) | undefined,
): Uint8Array | undefined {
  if (t === "zlib" || t === "gzip") {
    let out: Uint8Array;
    try {
      const opts = { maxOutputLength: MAX_DECODED };
      // node:zlib is loaded on first use (about 3 ms of every start otherwise; issue 18)
      const zlib = process.getBuiltinModule("node:zlib");
      out = new Uint8Array(t === "zlib" ? zlib.inflateSync(src, opts) : zlib.gunzipSync(src, opts));
    } catch {
      return undefined;
    }
    charge?.(out.length);
    return out;
  }
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
    }
  } catch {
    return undefined;
  }
  return undefined;
}
