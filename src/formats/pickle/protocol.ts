/**
 * Library methods that the unpickler, or an allowed callable, runs on an instance of an allowed
 * class. Allowing a class (`new`) lets a pickle make an instance without `__init__` and fill its
 * `__dict__` from the data (BUILD); two things then run the class's own code on that data:
 * - the unpickler itself: SETITEM(S) is `obj[k] = v` (the class's `__setitem__`), APPEND(S) calls
 *   `obj.extend(items)` (else `obj.append(item)`), ADDITEMS `obj.add(item)`; each lookup goes
 *   through the class's `__getattribute__` (and `__getattr__` when the name is missing);
 * - an allowed callable handed the instance: `list(x)` iterates it, `str(x)` formats it, `set(x)`
 *   hashes its items, `Counter(x)` reads its keys ... (gensim's `LineSentence.__iter__` opens
 *   `self.source` with smart_open: a file read or an HTTP request at load).
 * Two data files say what runs: `policy/protocol-methods.json` (generated from the installed
 * libraries by `scripts/pickle/gen_protocols.py`: per allowlisted class, the library-owned methods
 * each unpickler operation runs that no one vetted, and the protocol methods whose source may reach
 * I/O, imports or evaluation) and `policy/protocol-calls.json` (hand-derived from CPython: which
 * protocol methods each allowed callable runs on which argument, or on the items of an argument it
 * iterates; a callable not listed may run any of them). Methods of builtin types and of the stdlib
 * containers (OrderedDict, defaultdict, Counter, deque) are never listed.
 * @module
 */
import calls from "./policy/protocol-calls.json" with { type: "json" };
import methods from "./policy/protocol-methods.json" with { type: "json" };
import {
  PyBoundMethod,
  PyCall,
  PyCode,
  PyDict,
  PyElidedSeq,
  PyOperator,
  PyPartial,
  PyRef,
  PySeq,
  type Value,
} from "./values.js";

/** An unpickler operation that calls a method of its target. */
export type ContainerOp = "SETITEMS" | "APPENDS" | "ADDITEMS";

interface ClassEntry {
  readonly ops?: Partial<Record<ContainerOp, readonly string[]>>;
  readonly protocol?: Readonly<Record<string, string>>;
  readonly getattr?: Readonly<Record<string, string>>;
  readonly compiled?: Readonly<Record<string, string>>;
}

interface CallEntry {
  readonly args?: Readonly<Record<string, readonly string[]>>;
  readonly items?: Readonly<Record<string, readonly string[]>>;
}

const CLASSES: ReadonlyMap<string, ClassEntry> = new Map(Object.entries(methods.classes as Record<string, ClassEntry>));
const CALLS: ReadonlyMap<string, CallEntry> = new Map(Object.entries(calls.callables as Record<string, CallEntry>));

/** Most argument items one call is looked through. */
const ITEMS_WALK = 256;

/** The class an instance was made from, when it is one of the table's (not a bound method). */
function tableClass(v: Value | undefined): string | undefined {
  if (!(v instanceof PyCall) || v instanceof PyBoundMethod || v.calleeName === undefined) return undefined;
  return CLASSES.has(v.calleeName) ? v.calleeName : undefined;
}

/**
 * The library methods an unpickler operation runs on `target` that are not vetted, or undefined
 * when it runs only builtin or vetted code (or `target` is not an instance of a known class).
 */
export function containerOpMethods(target: Value, op: ContainerOp): readonly string[] | undefined {
  const cls = tableClass(target);
  if (cls === undefined) return undefined;
  const m = CLASSES.get(cls)?.ops?.[op];
  return m !== undefined && m.length > 0 ? m : undefined;
}

/** Whether a value is a callable the pickle hands over (a global, a partial, an operator, code, a method). */
export function isCallableValue(v: Value | undefined): boolean {
  return (
    (v instanceof PyRef && !v.isModule) ||
    v instanceof PyPartial ||
    v instanceof PyOperator ||
    v instanceof PyCode ||
    v instanceof PyBoundMethod
  );
}

/** One instance whose unvetted protocol methods an allowed call runs. */
export interface ProtocolHit {
  /** Class of the instance. */
  readonly cls: string;
  /** The methods that run (`Owner.name`). */
  readonly methods: readonly string[];
  /** Where the instance is: `argument N` or `item of argument N`. */
  readonly where: string;
  /** One of the methods has source that may reach I/O, imports or evaluation. */
  readonly io: boolean;
}

/** A hit on `v` at `where`, if it runs unvetted methods of the given kinds. */
function hitOf(
  v: Value | undefined,
  names: readonly string[] | undefined,
  kinds: readonly Kind[],
  where: string,
): ProtocolHit | undefined {
  const methods = risky(v, names, kinds);
  if (methods.length === 0) return undefined;
  return { cls: tableClass(v) as string, methods, where, io: risky(v, names, IO_KINDS).length > 0 };
}

/** Kinds of unvetted methods in the table (see `scripts/pickle/gen_protocols.py`). */
type Kind = "protocol" | "getattr" | "compiled";
/** A callable whose behaviour is known: every unvetted method it runs counts. */
const ALL_KINDS: readonly Kind[] = ["protocol", "getattr", "compiled"];
/**
 * A callable not in the table: only methods whose source may reach I/O, imports or evaluation count
 * (which protocol methods it runs is not known; Cython methods and name lookups of the estimators'
 * and extension arrays' `__repr__` are handed to library constructors by real pickles).
 */
const IO_KINDS: readonly Kind[] = ["protocol"];
/** Dict keys and set items: source methods (pandas' compiled offsets and timestamps key real dicts). */
const SOURCE_KINDS: readonly Kind[] = ["protocol", "getattr"];

/**
 * The unvetted methods of `v`'s class among `names` (undefined: any), of the given kinds. Methods
 * not known to reach I/O (`getattr`, `compiled`) count only on an instance whose state the pickle
 * wrote or changed (BUILD, items, attributes): the class's own defaults are what its library tests
 * (real pandas pickles key dicts by `Int64Dtype()`, made by NEWOBJ without state).
 */
function risky(v: Value | undefined, names: readonly string[] | undefined, kinds: readonly Kind[]): string[] {
  const cls = tableClass(v);
  const entry = cls === undefined ? undefined : CLASSES.get(cls);
  if (entry === undefined || !(v instanceof PyCall)) return [];
  const stateful = v.state !== undefined || v.mutated;
  const out: string[] = [];
  for (const kind of kinds)
    if (kind === "protocol" || stateful)
      for (const [name, owner] of Object.entries(entry[kind] ?? {}))
        if (names === undefined || names.includes(name)) out.push(owner);
  return out;
}

/** The items of a container argument (list/tuple/set items, dict keys), bounded. */
function itemsOf(v: Value | undefined): readonly Value[] {
  if (v instanceof PySeq && !(v instanceof PyElidedSeq)) return v.items.slice(0, ITEMS_WALK);
  if (v instanceof PyDict) return v.keys.slice(0, ITEMS_WALK);
  return [];
}

/**
 * The instances of allowlisted classes among the arguments of a call of `callee` whose unvetted
 * protocol methods the call runs.
 * @param callee - canonical name of the callable
 * @param args - its positional arguments
 */
export function protocolHits(callee: string, args: readonly Value[]): ProtocolHit[] {
  const entry = CALLS.get(callee);
  const out: ProtocolHit[] = [];
  for (let i = 0; i < args.length && i < ITEMS_WALK; i++) {
    const a = args[i];
    const names = entry === undefined ? undefined : (entry.args?.[String(i)] ?? entry.args?.["*"] ?? []);
    const kinds = entry === undefined ? IO_KINDS : ALL_KINDS;
    const direct = hitOf(a, names, kinds, `argument ${i}`);
    if (direct !== undefined) out.push(direct);
    const itemNames = entry === undefined ? undefined : entry.items?.[String(i)];
    if (entry !== undefined && itemNames === undefined) continue;
    for (const x of itemsOf(a)) {
      const hit = hitOf(x, itemNames, kinds, `item of argument ${i}`);
      if (hit !== undefined) out.push(hit);
    }
  }
  return out;
}

/**
 * The instances among dict keys or set items whose unvetted `__hash__`/`__eq__` the unpickler runs
 * (SETITEM(S) on a dict, ADDITEMS on a set, DICT, FROZENSET).
 */
export function hashHits(keys: readonly Value[]): ProtocolHit[] {
  const out: ProtocolHit[] = [];
  for (let i = 0; i < keys.length && i < ITEMS_WALK; i++) {
    const k = keys[i];
    const hit = hitOf(k, ["__hash__", "__eq__"], SOURCE_KINDS, "key");
    if (hit !== undefined) out.push(hit);
  }
  return out;
}
