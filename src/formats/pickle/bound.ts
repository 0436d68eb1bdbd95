/**
 * Bound methods real tools pickle. Python writes a bound method `obj.f` as
 * `builtins.getattr(obj, 'f')`, and torch writes such calls in ordinary checkpoints (OneCycleLR's
 * `anneal_func`, CyclicLR's `scale_fn` before 1.13, the hooks of every `torch.nn.Lazy*` module).
 * A getattr is a resolver that reaches anything, so it is accepted here only when Python's own
 * attribute lookup is certain to return the class's function:
 * - the object was allocated in this pickle (`cls.__new__`: NEWOBJ, `copyreg.__newobj__`,
 *   `copyreg._reconstructor` with `object` as base: no `__init__` ran) from a class named exactly
 *   that is in the generated table (policy/bound-methods.json, made by
 *   samples/generate/torch_bound_methods.py from real torch pickles), whose `__getattribute__`,
 *   `__new__` and `__setstate__` the table's generator checked;
 * - the name is one the table lists for that class (a plain function of the class, not a dunder);
 * - nothing may have put that name in the instance's `__dict__` (which Python looks at before a
 *   non-data descriptor such as a function): no BUILD yet, or one first BUILD whose state the
 *   machine read exactly, of the shape the class's `__setstate__` takes, without the name or any
 *   dunder; the object not changed since in a way the machine does not model (a second BUILD, items
 *   set, handed to unmodelled code, its namespace taken by `vars`); and no attribute of any global
 *   overwritten (the class or a base may have been given the name).
 * The result is a {@link PyBoundMethod}: a value without a name, so calling it stays a call of an
 * unknown callable and attributes read from it resolve to nothing allowed. A method may change its
 * instance when it runs (a Lazy module's `_infer_parameters` sets `__class__`), so a bound method
 * called, or handed to code the machine does not model (which may call it), counts as a change of
 * its instance ({@link BoundMethods.handed}).
 * @module
 */
import table from "./policy/bound-methods.json" with { type: "json" };
import {
  type BuiltState,
  PyBoundMethod,
  PyCall,
  PyDict,
  PyElidedSeq,
  PyOperator,
  PyPartial,
  PyPersistent,
  PyRef,
  PySeq,
  PyUnknown,
  seqItems,
  strOf,
  type Value,
} from "./values.js";

/** Most bound methods one pickle makes: past it getattr is judged as any other. */
export const MAX_BOUND_METHODS = 4096;
/** Most values {@link BoundMethods.handed} looks at per hand-over before it releases every method. */
const HANDED_WALK = 512;

/**
 * The bound methods a pickle made, so that code the machine does not model, handed one, is taken
 * to have called it (its instance may then hold anything).
 */
export class BoundMethods {
  readonly #made: PyBoundMethod[] = [];

  /** Whether another may be made. */
  get open(): boolean {
    return this.#made.length < MAX_BOUND_METHODS;
  }

  /** Records a bound method made. */
  add(m: PyBoundMethod): void {
    if (this.open) this.#made.push(m);
  }

  /**
   * Values handed to code the machine does not model: a bound method among them may be called
   * there, which may change its instance. Objects whose contents the machine does not follow (call
   * results, unknown values) may hold one, and so may containers whose items were not all kept or
   * that are too large to look through: then every instance is taken as changed.
   * @param values - what was handed
   */
  handed(values: readonly (Value | undefined)[]): void {
    if (this.#made.length === 0) return;
    const todo: Value[] = [];
    for (const v of values) {
      if (todo.length > HANDED_WALK) break; // the walk below gives up past its budget anyway
      if (v !== undefined && v !== null && typeof v === "object") todo.push(v);
    }
    let budget = HANDED_WALK;
    for (let x = todo.pop(); x !== undefined; x = todo.pop()) {
      const opaque =
        x instanceof PyUnknown ||
        (x instanceof PyCall && !(x instanceof PyBoundMethod)) ||
        // items past the container cap (or a memo's kind-only sequence) are not kept
        (x instanceof PySeq && (x instanceof PyElidedSeq || x.count !== x.items.length)) ||
        (x instanceof PyDict && x.truncated);
      if (--budget < 0 || opaque) {
        // every method made so far is released once: later hand-overs need not mark them again
        for (const m of this.#made) m.self.mutated = true;
        this.#made.length = 0;
        return;
      }
      if (x instanceof PyBoundMethod) x.self.mutated = true;
      else if (x instanceof PySeq) pushObjects(todo, x.items);
      else if (x instanceof PyDict) {
        pushObjects(todo, x.keys);
        pushObjects(todo, x.values);
        for (const [, v] of x.overflowDunders ?? []) pushObjects(todo, [v]);
      } else if (x instanceof PyPartial) pushObjects(todo, [x.func, ...x.args]);
      else if (x instanceof PyOperator) pushObjects(todo, x.items);
    }
  }
}

/** Pushes the values that may hold a bound method (objects). */
function pushObjects(todo: Value[], items: readonly Value[]): void {
  for (const i of items) if (i !== null && typeof i === "object") todo.push(i);
}

/** Classes whose items, set by SETITEM(S) or APPEND(S), are stored and not called. */
const PLAIN_CONTAINERS: ReadonlySet<string> = new Set([
  "collections.OrderedDict",
  "collections.defaultdict",
  "builtins.dict",
  "builtins.list",
  "builtins.set",
]);

/** Whether items set on an object of this class are only stored (its `__setitem__`/`append` calls nothing). */
export function storesItems(className: string | undefined): boolean {
  return className !== undefined && PLAIN_CONTAINERS.has(className);
}

/** Whether a class is on the table (BUILD gives its instances a state as the table describes). */
export function isBoundClass(className: string | undefined): boolean {
  return className !== undefined && CLASSES.has(className);
}

/** How a class's BUILD fills `__dict__` (see the table's `$comment`). */
type SetstateKind = "dict" | "module";

/** One class of the table. */
interface BoundClass {
  readonly setstate: SetstateKind;
  readonly methods: ReadonlySet<string>;
}

/** The table, by class name. */
const CLASSES: ReadonlyMap<string, BoundClass> = new Map(
  Object.entries(table.classes).map(([name, entry]) => [
    name,
    { setstate: entry.setstate as SetstateKind, methods: new Set(entry.methods) },
  ]),
);

/** Whether a name is a dunder (`__class__`, `__dict__`, `__setstate__` ...). */
function isDunder(name: string): boolean {
  return name.length > 4 && name.startsWith("__") && name.endsWith("__");
}

/**
 * What a first BUILD puts in an object's `__dict__`, read when BUILD runs.
 * @param dictState - the state, or the first item of a `(dict, slots)` pair
 * @param slotState - the second item of the pair, if the state is one
 * @param state - the state as given
 */
export function builtState(dictState: Value, slotState: Value | undefined, state: Value): BuiltState {
  const pair = state instanceof PySeq && state.kind === "tuple" && state.count === 2;
  const shape = pair ? "pair" : state === null || state instanceof PyDict ? "dict" : "other";
  if (shape === "other") return { shape, keys: undefined };
  const keys = new Set<string>();
  for (const part of pair ? [dictState, slotState] : [dictState]) {
    if (part === null || part === undefined) continue;
    if (!(part instanceof PyDict) || !part.exact || part.count !== part.keys.length) return { shape, keys: undefined };
    for (const k of part.keys) {
      const name = strOf(k);
      if (name === undefined) return { shape, keys: undefined };
      keys.add(name);
    }
  }
  return { shape, keys };
}

/**
 * The class an object was allocated from, when named exactly: a global, or the class of torch's
 * legacy `('module', cls, source_file, source)` persistent id (torch's persistent_load returns
 * `cls`; `pickle.load` without a persistent_load raises at the BINPERSID, so nothing after it runs).
 */
function classOf(inst: PyCall): PyRef | undefined {
  const c = inst.callee;
  if (c instanceof PyRef) return !c.isModule && c.name === inst.calleeName ? c : undefined;
  if (c instanceof PyPersistent && c.pid instanceof PySeq && c.pid.kind === "tuple") {
    const items = seqItems(c.pid);
    const cls = items?.[1];
    if (strOf(items?.[0]) === "module" && cls instanceof PyRef && !cls.isModule) return cls;
  }
  return undefined;
}

/** Whether the names a BUILD set on an object may include `name` (or change how it is looked up). */
function mayShadow(built: BuiltState | undefined, kind: SetstateKind, name: string): boolean {
  if (built === undefined || built.keys === undefined) return true;
  // nn.Module's __setstate__ runs `__dict__.update(state)`: a dict (any other iterable of pairs too)
  if (kind === "module" ? built.shape !== "dict" : built.shape === "other") return true;
  if (built.keys.has(name)) return true;
  for (const k of built.keys) if (isDunder(k)) return true;
  return false;
}

/** A getattr call as the model sees it. */
export interface GetattrCall {
  /** Canonical name of the callee. */
  readonly name: string;
  /** The getattr global (the bound method's callee, for evidence). */
  readonly callee: PyRef;
  /** The argument tuple. */
  readonly args: Value;
  /** Opcode that made the call. */
  readonly opcode: string;
  /** Its offset. */
  readonly offset: number;
}

/**
 * `getattr(base, attr)` as a bound method of the table, or undefined when the call must be judged
 * as any other getattr (a resolver of a name chosen by the data).
 * @param c - the call
 * @param patches - attributes of globals the pickles of the file overwrote
 */
export function boundMethod(c: GetattrCall, patches: ReadonlyMap<string, Value>): PyBoundMethod | undefined {
  if (c.name !== "builtins.getattr" || patches.size > 0) return undefined;
  const args = c.args;
  if (!(args instanceof PySeq) || args.kind !== "tuple" || args.count !== 2 || args.items.length !== 2)
    return undefined;
  const [inst, key] = args.items;
  const attr = strOf(key);
  if (!(inst instanceof PyCall) || inst instanceof PyBoundMethod || attr === undefined) return undefined;
  if (!inst.allocated || inst.mutated) return undefined;
  const cls = classOf(inst);
  const entry = cls === undefined ? undefined : CLASSES.get(cls.name);
  if (cls === undefined || entry === undefined || !entry.methods.has(attr)) return undefined;
  // before any BUILD the object's __dict__ is empty (cls.__new__ is object's: the generator checked)
  if (inst.state !== undefined && mayShadow(inst.built, entry.setstate, attr)) return undefined;
  return new PyBoundMethod(c.callee, args, c.opcode, c.offset, inst, `${cls.name}.${attr}`);
}
