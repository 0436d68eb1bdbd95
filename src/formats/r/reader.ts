/**
 * Walks the SEXP tree of an R serialization stream without evaluating anything (R Internals,
 * "Serialization Formats"; the reading order is that of R's `ReadItem`). Vector payloads are
 * stepped over; what is kept is what the rules need: symbols, the first strings of character
 * vectors, the cells of pairlists and calls, and for code (closure bodies, promise expressions,
 * bytecode constant pools, language objects) a summary of the functions called and symbols named.
 * Everything code-capable is handed to {@link RWalkEvents} as it is read.
 *
 * Budgets: nesting depth, items read, reference-table size; every vector length is checked against
 * the bytes left before anything is read, and no claimed length is ever allocated.
 * @module
 */
import { pushAll } from "../../core/arrays.js";
import { ModelgateError } from "../../core/errors.js";
import { renderCall } from "./deparse.js";
import { FP_VECTOR_CAP, FpSink } from "./fingerprint.js";
import {
  BINDERS,
  DANGEROUS_REFS,
  INIT_LOCALS,
  KNOWN_NATIVE_NAMES,
  NATIVE_CALLERS,
  TEXT_TO_CODE,
  VALUE_REFS,
  VARIABLE_OPERATORS,
} from "./names.js";
import type { RInput } from "./stream.js";
import { mayBeCode } from "./text.js";
import { countItem } from "./walk-budget.js";

/** SEXP types and the serialization's pseudo-types. */
export const SXP = {
  NIL: 0,
  SYM: 1,
  LIST: 2,
  CLO: 3,
  ENV: 4,
  PROM: 5,
  LANG: 6,
  SPECIAL: 7,
  BUILTIN: 8,
  CHAR: 9,
  LGL: 10,
  INT: 13,
  REAL: 14,
  CPLX: 15,
  STR: 16,
  DOT: 17,
  VEC: 19,
  EXPR: 20,
  BCODE: 21,
  EXTPTR: 22,
  WEAKREF: 23,
  RAW: 24,
  S4: 25,
  ALTREP: 238,
  ATTRLIST: 239,
  ATTRLANG: 240,
  BASEENV: 241,
  EMPTYENV: 242,
  BCREPREF: 243,
  BCREPDEF: 244,
  GENERICREF: 245,
  CLASSREF: 246,
  PERSIST: 247,
  PACKAGE: 248,
  NAMESPACE: 249,
  BASENAMESPACE: 250,
  MISSINGARG: 251,
  UNBOUND: 252,
  GLOBALENV: 253,
  NILVALUE: 254,
  REF: 255,
} as const;

const TYPE_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(SXP).map(([name, value]) => [value, `${name}SXP`]),
);

/** Name of a SEXP type (`LANGSXP`, `REFSXP` ...). */
export const typeName = (type: number): string => TYPE_NAMES[type] ?? `type ${type}`;

const IS_OBJECT = 1 << 8;
const HAS_ATTR = 1 << 9;
const HAS_TAG = 1 << 10;
/** Binding cells of an environment frame: the binding is active (a function called on access). */
const ACTIVE_BINDING = 1 << 15;
/** CHARSXP levels: the string is Latin-1. */
const LATIN1 = 1 << 2;

/** What a stretch of code calls and names, collected bottom-up. */
export interface CodeSummary {
  /** Functions in call position (symbols, `pkg::name`, primitives, strings given to `do.call` ...). */
  readonly calls: Set<string>;
  /** Dangerous symbols named anywhere (a function can be passed by name: `lapply(x, system)`). */
  readonly refs: Set<string>;
  /** String constants that name dangerous functions (`match.fun("system")`, `lapply(x, "system")`). */
  readonly strings: Set<string>;
  /** Calls whose function is computed (`get(paste0("sys", "tem"))(...)`, `do.call(f(), ...)`). */
  readonly computed: Set<string>;
  /**
   * String literals (and odd symbol names) that may be R text: a stored call is judged by what
   * they would call if parsed (`lm(formula = "{system('x')}")`). `<text not kept>` stands for a
   * string or vector longer than the walk keeps.
   */
  readonly texts: Set<string>;
  /** String literals given to a function that turns text into a formula (`as.formula("y ~ x")`). */
  readonly formulaTexts: Set<string>;
  /** Calls of such a function with something else than literals and formulas (`as.formula(paste0(...))`). */
  readonly textCalls: Set<string>;
  /**
   * Bindings made (`<-`, `=` as a call, `for`, `function` ...), as `callee target`; assignments to
   * a glm family's local data variables ({@link INIT_LOCALS}) are left out.
   */
  readonly binders: Set<string>;
  /** Functions of {@link VALUE_REFS} named as values outside a formula's or a list's operands. */
  readonly values: Set<string>;
  /** A set hit its cap: some names were not kept. */
  overflow: boolean;
  /** Every symbol named in the code (not in call position), for what a closure's environment may answer. */
  readonly symbols: Set<string>;
  /** {@link CodeSummary.symbols} hit its cap. */
  symbolsOverflow: boolean;
}

/** One cell of a pairlist or call. */
export interface RCell {
  readonly tag?: string;
  readonly value: RNode;
}

/** What is kept of one item. */
export interface RNode {
  readonly type: number;
  readonly offset: number;
  /** SYMSXP print name, CHARSXP text (first bytes), primitive name, namespace name. */
  name?: string;
  /** STRSXP: the first strings. */
  strings?: string[];
  /** Vector length. */
  length?: number;
  /** STRSXP: a string was longer than the bytes kept. */
  truncated?: boolean;
  /** Length-1 numeric or logical vectors in code: the value, for previews. */
  value?: number;
  /** Attributes (a pairlist). */
  attr?: RNode;
  /** Pairlist and call cells (the first {@link CELL_CAP}). */
  cells?: RCell[];
  /** Code summary (calls, closures, promises, bytecode, and everything inside code). */
  code?: CodeSummary;
  /** For a call: the function called, as written (`system`, `base::system`, `<call>`). */
  callee?: string;
  /** For a call of `::`/`:::`: the qualified name it denotes (`base::system`). */
  qualified?: string;
  /** For a call: a short rendering (`system("echo pwned")`). */
  preview?: string;
  /** For a call `c("a", "b")` of string literals kept whole: the strings. */
  literalStrings?: string[];
  /**
   * For an environment: the namespace its variable lookups end in (through enclosing
   * environments), unless a frame on the way binds a name of a known native routine.
   */
  namespace?: string;
  /**
   * For an environment being read: closures of it found meanwhile, reported once its frame is
   * read (a binding later in the frame can shadow a native routine).
   */
  pending?: { readonly closure: RNode; readonly where: RWhere & { readonly bytecode: boolean } }[];
  /** The item has the object bit (an S3/S4 object). */
  object?: boolean;
  /** A closure: the fingerprint of its formals and body ({@link FpSink}), when they could be hashed. */
  fingerprint?: string;
  /** A closure: its environment. An environment: its enclosing environment. */
  env?: RNode;
  /** An environment: the type of each value its frame binds (-1: an active binding, -2: unclear). */
  bindings?: Map<string, number>;
  /** An environment binds more names than {@link RNode.bindings} keeps, or is still being read. */
  bindingsUnknown?: boolean;
}

/** Where an item was found, for evidence. */
export interface RWhere {
  readonly offset: number;
  /** The binding or workspace name it is bound to, when known. */
  readonly label?: string | undefined;
}

/** What the walk reports as it reads. */
export interface RWalkEvents {
  /** A promise: its `cells[0]` is the expression (PRCODE), its `code` what that calls. */
  promise(promise: RNode, where: RWhere & { readonly forced: boolean }): void;
  /** A closure; its `code` covers formals and body (bytecode included). */
  closure(closure: RNode, where: RWhere & { readonly bytecode: boolean; readonly namespace: string | undefined }): void;
  /** Bytecode found as data (not the body of a closure). */
  bytecode(bytecode: RNode, where: RWhere): void;
  /** A call found as data (a model's `call`, a formula, `terms` predvars). */
  language(call: RNode, where: RWhere): void;
  /** A binding of an environment frame or of a saved workspace. */
  binding(
    name: string | undefined,
    value: RNode,
    where: RWhere & { readonly active: boolean; readonly workspace: boolean },
  ): void;
  /** An external pointer or a weak reference. */
  external(kind: "external pointer" | "weak reference", where: RWhere): void;
  /** An ALTREP object: its class is looked up (and its package loaded) on unserialize. */
  altrep(className: string, packageName: string, where: RWhere): void;
  /** A persistent reference, resolved by the loader's refhook. */
  persistent(names: readonly string[], where: RWhere): void;
  /** A namespace or package environment named by reference (R loads the namespace). */
  namespace(kind: "namespace" | "package", names: readonly string[], where: RWhere): void;
  /** A primitive function object (`.Primitive("...")`) found as data. */
  primitive(name: string, where: RWhere): void;
}

/** Budgets of one walk. */
export interface RWalkOptions {
  /** Maximum nesting depth (default 4,096). */
  readonly maxDepth?: number;
  /** Maximum items read (default 50,000,000). */
  readonly maxItems?: number;
  /** Maximum reference-table entries (default 1,000,000). */
  readonly maxRefs?: number;
  /** Called every few thousand items (abort and time budget). */
  readonly checkpoint?: () => void;
}

/** Counts of one walk. */
export interface RWalkStats {
  items: number;
  closures: number;
  promises: number;
  environments: number;
  bytecode: number;
  calls: number;
}

/**
 * Pairlist cells kept per list (the rest are read and summarised, not kept). Cells hold
 * {@link shallow} copies, so what the walk keeps is bounded by the nesting depth, not the size.
 */
export const CELL_CAP = 64;
/** Strings kept per character vector. */
const STRING_CAP = 8;
/** Bytes of one string kept. */
const STRING_BYTES = 256;
/** Names kept per code summary set. */
const SET_CAP = 256;
/** Symbols kept per code summary. */
const SYMBOL_CAP = 4096;
/** Bindings kept per environment frame. */
const BINDING_CAP = 4096;
/** Flag bits a fingerprint keeps besides the type: object, attributes, tag. */
const FP_FLAGS = IS_OBJECT | HAS_ATTR | HAS_TAG;
/** Closures per environment whose report waits for the environment's frame. */
const PENDING_CAP = 1024;
/** Longest primitive name accepted (R's are all short). */
const MAX_PRIMITIVE_NAME = 256;

const CONSTANTS: ReadonlyMap<number, RNode> = new Map(
  [SXP.NILVALUE, SXP.GLOBALENV, SXP.EMPTYENV, SXP.BASEENV, SXP.UNBOUND, SXP.MISSINGARG, SXP.BASENAMESPACE].map((t) => [
    t,
    Object.freeze({ type: t, offset: -1 }),
  ]),
);

/**
 * What a list keeps of an item it holds: its scalar facts (type, name, first strings, a call's
 * callee and rendering) without its cells, attributes or code summary, which were used when the
 * item was finished.
 */
export function shallow(node: RNode): RNode {
  if (node.cells === undefined && node.attr === undefined && node.code === undefined) return node;
  const { cells: _cells, attr: _attr, code: _code, ...rest } = node;
  return rest;
}

/** An empty code summary. */
export function newCode(): CodeSummary {
  return {
    calls: new Set(),
    refs: new Set(),
    strings: new Set(),
    computed: new Set(),
    texts: new Set(),
    formulaTexts: new Set(),
    textCalls: new Set(),
    binders: new Set(),
    values: new Set(),
    overflow: false,
    symbols: new Set(),
    symbolsOverflow: false,
  };
}

function add(code: CodeSummary, set: Set<string>, value: string): void {
  if (set.has(value)) return;
  if (set.size >= SET_CAP) code.overflow = true;
  else set.add(value);
}

/** Marks a string the walk did not keep whole. */
export const TEXT_NOT_KEPT = "<text not kept>";

/** Whether a character vector was kept whole (every string, every byte). */
export function keptWhole(node: RNode): boolean {
  return node.truncated !== true && node.strings !== undefined && node.strings.length === (node.length ?? 0);
}

/**
 * Adds what a child item contributes to a code summary.
 * @param variable - the child is a direct operand of a call whose symbol operands are data
 *   variables ({@link VARIABLE_OPERATORS}): a symbol there is not a function value
 */
export function mergeCode(code: CodeSummary, child: RNode, variable = false): void {
  if (child.type === SXP.SYM && child.name !== undefined) addSymbol(code, child.name);
  if (child.type === SXP.SYM || child.type === SXP.BUILTIN || child.type === SXP.SPECIAL) {
    if (child.name !== undefined && DANGEROUS_REFS.has(child.name)) add(code, code.refs, child.name);
    if (child.name !== undefined && !variable && VALUE_REFS.has(child.name)) add(code, code.values, child.name);
    if (child.type === SXP.SYM && child.name !== undefined && mayBeCode(child.name)) add(code, code.texts, child.name);
  } else if (child.type === SXP.STR && child.strings !== undefined) {
    for (const s of child.strings) {
      if (DANGEROUS_REFS.has(s)) add(code, code.strings, s);
      if (mayBeCode(s)) add(code, code.texts, s);
    }
    if (!keptWhole(child)) add(code, code.texts, TEXT_NOT_KEPT);
  }
  const c = child.code;
  if (c === undefined || c === code) return;
  for (const v of c.calls) add(code, code.calls, v);
  for (const v of c.refs) add(code, code.refs, v);
  for (const v of c.strings) add(code, code.strings, v);
  for (const v of c.computed) add(code, code.computed, v);
  for (const v of c.texts) add(code, code.texts, v);
  for (const v of c.formulaTexts) add(code, code.formulaTexts, v);
  for (const v of c.textCalls) add(code, code.textCalls, v);
  for (const v of c.binders) add(code, code.binders, v);
  for (const v of c.values) add(code, code.values, v);
  if (c.overflow) code.overflow = true;
  for (const v of c.symbols) addSymbol(code, v);
  if (c.symbolsOverflow) code.symbolsOverflow = true;
}

function addSymbol(code: CodeSummary, name: string): void {
  if (code.symbols.has(name)) return;
  if (code.symbols.size >= SYMBOL_CAP) code.symbolsOverflow = true;
  else code.symbols.add(name);
}

/**
 * Functions that call another function given by name or value: the position (1-based, after the
 * function itself) and the name of the argument that holds it.
 */
const RESOLVERS: ReadonlyMap<string, readonly [number, string]> = new Map([
  ["do.call", [1, "what"]],
  ["match.fun", [1, "FUN"]],
  ["get", [1, "x"]],
  ["get0", [1, "x"]],
  ["mget", [1, "x"]],
  ["getFunction", [1, "name"]],
  ["getExportedValue", [2, "name"]],
  ["getFromNamespace", [1, "x"]],
  ["getAnywhere", [1, "x"]],
  ["forceAndCall", [2, "FUN"]],
  ["Reduce", [1, "f"]],
  ["Filter", [1, "f"]],
  ["Map", [1, "f"]],
  ["mapply", [1, "FUN"]],
  ["lapply", [2, "FUN"]],
  ["sapply", [2, "FUN"]],
  ["vapply", [2, "FUN"]],
  ["outer", [3, "FUN"]],
  ["apply", [3, "FUN"]],
  ["tapply", [3, "FUN"]],
  // the generic takes (x, ...); reorder.default(x, X, FUN) passes FUN to tapply (match.fun)
  ["reorder", [3, "FUN"]],
  ["reorder.default", [3, "FUN"]],
  ["Find", [1, "f"]],
  ["Position", [1, "f"]],
  ["Negate", [1, "f"]],
  ["Vectorize", [1, "FUN"]],
  ["rapply", [2, "f"]],
  ["eapply", [2, "FUN"]],
  [".mapply", [1, "FUN"]],
  ["by", [3, "FUN"]],
  ["aggregate", [3, "FUN"]],
  ["ave", [0, "FUN"]], // by name only (its positions are grouping variables)
  ["sweep", [4, "FUN"]],
  ["kronecker", [3, "FUN"]],
  ["dendrapply", [2, "FUN"]],
  ["optim", [2, "fn"]],
  ["optimize", [1, "f"]],
  ["optimise", [1, "f"]],
  ["uniroot", [1, "f"]],
  ["integrate", [1, "f"]],
  ["nlm", [1, "f"]],
  ["nlminb", [2, "objective"]],
  ["dynGet", [1, "x"]],
  ["getS3method", [1, "f"]],
  ["getMethod", [1, "f"]],
  ["selectMethod", [1, "f"]],
  ["C", [2, "contr"]], // a contrast given by name is fetched with get()
]);

/** Whether a function (bare or `pkg::name`) calls a function it is given by name or value. */
export function callsByName(callee: string): boolean {
  return RESOLVERS.has(callee.slice(callee.lastIndexOf(":") + 1));
}

/** The function a call's first cell names, as written. */
function calleeOf(fn: RNode): string {
  if ((fn.type === SXP.SYM || fn.type === SXP.BUILTIN || fn.type === SXP.SPECIAL) && fn.name !== undefined)
    return fn.name;
  if (fn.type === SXP.LANG && fn.qualified !== undefined) return fn.qualified;
  if (fn.type === SXP.CLO) return "<closure>";
  return "<call>";
}

/**
 * Completes a call read as cells: its callee, the names a resolver (`do.call("system", ...)`)
 * hands over, and whether its function is computed.
 */
export function finishCall(node: RNode): void {
  if (node.code === undefined) node.code = newCode();
  const code = node.code;
  const fn = node.cells?.[0]?.value;
  if (fn === undefined) return;
  const callee = calleeOf(fn);
  node.callee = callee;
  if (callee === "::" || callee === ":::") {
    const text = (n: RNode | undefined): string | undefined =>
      n?.type === SXP.SYM ? n.name : n?.type === SXP.STR ? n.strings?.[0] : undefined;
    const pkg = text(node.cells?.[1]?.value);
    const name = text(node.cells?.[2]?.value);
    if (pkg !== undefined && name !== undefined) node.qualified = `${pkg}${callee}${name}`;
  }
  node.preview = renderCall(node);
  const routine = node.cells?.[1];
  if (
    NATIVE_CALLERS.has(callee.slice(callee.lastIndexOf(":") + 1)) &&
    routine !== undefined &&
    (routine.tag === undefined || routine.tag === ".NAME") &&
    routine.value.type === SXP.SYM
  ) {
    // `.Call(C_logit_link, ...)`: which routine, judged with the function's namespace
    add(code, code.calls, `${callee}(${routine.value.name ?? ""})`);
  } else if (callee === "<call>") add(code, code.computed, "a computed function");
  else if (callee !== "<closure>") {
    add(code, code.calls, callee);
    // `base::system` is also recorded as `system` (`::` itself has no bare name)
    const colon = callee.lastIndexOf(":");
    if (colon > 0 && colon < callee.length - 1) add(code, code.calls, callee.slice(colon + 1));
  }
  const bare = callee.slice(callee.lastIndexOf(":") + 1);
  if (BINDERS.has(bare)) binding(node, bare);
  if (callee === "c") literalStrings(node);
  if (TEXT_TO_CODE.has(bare)) textArguments(node, bare);
  const resolver = RESOLVERS.get(bare);
  if (resolver === undefined) return;
  const [position, argName] = resolver;
  const cells = node.cells ?? [];
  const arg = (cells.find((c) => c.tag === argName) ?? cells.slice(1).filter((c) => c.tag === undefined)[position - 1])
    ?.value;
  if (arg === undefined) return;
  if (arg.type === SXP.STR && arg.strings?.[0] !== undefined) add(code, code.calls, arg.strings[0]);
  else if (arg.type === SXP.SYM && arg.name !== undefined) add(code, code.calls, arg.name);
  else if (arg.type === SXP.LANG && arg.callee !== "function") add(code, code.computed, `${bare}(<computed>)`);
}

/**
 * Records a binding call, unless it is `<-` or `=` to a glm family's local data variable
 * (`n <- ...`, `y[n0] <- 0`): anything else may rebind a name that code calls afterwards.
 */
function binding(node: RNode, bare: string): void {
  const target = node.cells?.[1]?.value;
  const root =
    target?.type === SXP.SYM
      ? target.name
      : target?.type === SXP.LANG && (target.callee === "[" || target.callee === "[[")
        ? /^(?:`\[\[?`\(\s*)?([A-Za-z][A-Za-z0-9._]*)[[,)]/.exec(target.preview ?? "")?.[1]
        : undefined;
  if ((bare === "<-" || bare === "=") && root !== undefined && INIT_LOCALS.has(root)) return;
  const what =
    bare === "function" ? "a function literal" : `${bare} ${root ?? target?.preview ?? target?.callee ?? "?"}`;
  add(node.code!, node.code!.binders, what);
}

/** Records the strings of `c("a", "b")` when every argument is a string literal kept whole. */
function literalStrings(node: RNode): void {
  const cells = (node.cells ?? []).slice(1);
  if (cells.length + 1 >= CELL_CAP) return;
  const out: string[] = [];
  for (const { value } of cells) {
    if (value.type !== SXP.STR || !keptWhole(value)) return;
    pushAll(out, value.strings!);
  }
  node.literalStrings = out;
}

/**
 * The arguments of a function that turns text into code (`as.formula`, `reformulate`): string
 * literals kept whole are recorded to be judged as formulas (a `reformulate` term as `. ~ term`);
 * formulas, numbers and logicals are fine; anything else is text computed at run time.
 */
function textArguments(node: RNode, bare: string): void {
  const code = node.code!;
  for (const cell of (node.cells ?? []).slice(1)) {
    const v = cell.value;
    const texts = v.type === SXP.STR && keptWhole(v) ? v.strings : v.literalStrings;
    if (texts !== undefined)
      for (const s of texts) add(code, code.formulaTexts, bare === "reformulate" ? `. ~ ${s}` : s);
    else if (v.type === SXP.LANG && v.callee === "~") continue;
    else if (v.type === SXP.NILVALUE || v.type === SXP.LGL || v.type === SXP.INT || v.type === SXP.REAL) continue;
    else if (v.type === SXP.MISSINGARG) continue;
    else add(code, code.textCalls, `${bare}(<${v.type === SXP.STR ? "text not kept" : "computed"}>)`);
  }
  if ((node.cells?.length ?? 0) >= CELL_CAP) add(code, code.textCalls, `${bare}(<more arguments than kept>)`);
}

/** The walker. */
export class RWalker {
  readonly #in: RInput;
  readonly #events: RWalkEvents;
  readonly #maxDepth: number;
  readonly #maxItems: number;
  readonly #maxRefs: number;
  readonly #checkpoint: () => void;
  readonly #refs: RNode[] = [];
  /** A frame being read binds the name of a known native routine. */
  #shadowsNative = false;
  /** The environment whose frame is being read (its bindings are recorded). */
  #frameEnv: RNode | undefined;
  /** The fingerprint of the closure whose formals or body are being read. */
  #sink: FpSink | undefined;
  readonly stats: RWalkStats = { items: 0, closures: 0, promises: 0, environments: 0, bytecode: 0, calls: 0 };

  constructor(input: RInput, events: RWalkEvents, options: RWalkOptions = {}) {
    this.#in = input;
    this.#events = events;
    this.#maxDepth = options.maxDepth ?? 4_096;
    this.#maxItems = options.maxItems ?? 50_000_000;
    this.#maxRefs = options.maxRefs ?? 1_000_000;
    this.#checkpoint = options.checkpoint ?? (() => {});
  }

  #malformed(message: string, offset = this.#in.offset): ModelgateError {
    return new ModelgateError("MALFORMED", `R stream: ${message}`, { offset });
  }

  #count(depth: number): void {
    const limits = { maxDepth: this.#maxDepth, maxItems: this.#maxItems };
    countItem(this.stats, depth, limits, this.#in.offset, "R stream", this.#checkpoint);
  }

  #addRef(node: RNode): void {
    if (this.#refs.length >= this.#maxRefs)
      throw new ModelgateError("BUDGET_EXCEEDED", `R stream has more than ${this.#maxRefs} referenced items`, {
        offset: node.offset,
        budget: "r.maxRefs",
      });
    this.#refs.push(node);
  }

  /**
   * Records a binding of the frame being read: its value's type, -1 for an active binding, -2 for
   * a name bound twice to different kinds (or no name); past the cap the frame is marked unknown.
   */
  #bind(tag: string | undefined, value: RNode, active: boolean): void {
    const env = this.#frameEnv;
    if (env?.bindings === undefined) return;
    const name = tag ?? "";
    const kind = tag === undefined ? -2 : active ? -1 : value.type;
    const before = env.bindings.get(name);
    if (before === undefined && env.bindings.size >= BINDING_CAP) return;
    env.bindings.set(name, before === undefined || before === kind ? kind : -2);
  }

  /** The fingerprint being made, while it still counts. */
  get #live(): FpSink | undefined {
    return this.#sink?.live === true ? this.#sink : undefined;
  }

  /** Adds the elements of a numeric vector to the fingerprint (a length-1 one keeps its value). */
  async #hashVector(node: RNode, sink: FpSink, kind: "int" | "real" | "complex" | "raw", len: number): Promise<void> {
    if (len > FP_VECTOR_CAP || kind === "complex" || kind === "raw") {
      sink.fail();
      await this.#in.skipElements(kind, len);
      return;
    }
    if (kind === "int") {
      const values = await this.#in.ints(len);
      sink.add("i", values.join(","));
      if (len === 1) node.value = values[0]!;
      return;
    }
    for (let i = 0; i < len; i++) {
      if ((i & 0xfff) === 0xfff) this.#checkpoint();
      const { key, value } = await this.#in.realKey();
      sink.add("d", key);
      if (len === 1) node.value = value;
    }
  }

  /** A vector length (R's InLength): -1 announces a long length in two integers. */
  async #length(): Promise<number> {
    const len = await this.#in.int("a vector length");
    if (len >= 0) return len;
    if (len !== -1) throw this.#malformed(`negative vector length ${len}`);
    const upper = await this.#in.int("a long vector length");
    const lower = await this.#in.int("a long vector length");
    const long = upper * 2 ** 32 + (lower >>> 0);
    if (upper < 0 || !Number.isSafeInteger(long)) throw this.#malformed("invalid long vector length");
    return long;
  }

  #checkFits(kind: "int" | "real" | "complex" | "raw", count: number, what: string): void {
    if (!this.#in.fits(kind, count))
      throw new ModelgateError(
        "TRUNCATED",
        `R stream: ${what} claims ${count} elements, more than the ${this.#in.remaining} bytes left`,
        { offset: this.#in.offset },
      );
  }

  #checkItems(count: number, what: string): void {
    if (count * this.#in.minItemBytes > this.#in.remaining)
      throw new ModelgateError(
        "TRUNCATED",
        `R stream: ${what} claims ${count} items, more than the ${this.#in.remaining} bytes left can hold`,
        { offset: this.#in.offset },
      );
  }

  /**
   * Reads the top-level item.
   * @param workspace - a `save()` workspace: the item is a pairlist of named objects
   */
  async top(workspace: boolean): Promise<RNode> {
    return this.#item(0, false, undefined, workspace ? "workspace" : undefined);
  }

  /**
   * Reads one item.
   * @param code - it is part of code (a closure, promise, call or bytecode)
   * @param label - the binding name it is the value of, for evidence
   * @param frame - its pairlist cells are bindings (an environment frame or hash table, a workspace)
   */
  async #item(depth: number, code: boolean, label: string | undefined, frame?: "frame" | "workspace"): Promise<RNode> {
    this.#count(depth);
    const offset = this.#in.offset;
    const flags = await this.#in.int("item flags");
    return this.#body(flags, offset, depth, code, label, frame);
  }

  async #stringVec(depth: number): Promise<string[]> {
    if ((await this.#in.int("a string vector")) !== 0) throw this.#malformed("names in persistent strings");
    const len = await this.#in.int("a string vector length");
    if (len < 0) throw this.#malformed(`negative string vector length ${len}`);
    this.#checkItems(len, "a string vector");
    const out: string[] = [];
    for (let i = 0; i < len; i++) {
      const s = await this.#item(depth + 1, false, undefined);
      if (s.type !== SXP.CHAR) throw this.#malformed(`${typeName(s.type)} in a string vector`, s.offset);
      if (out.length < STRING_CAP) out.push(s.name ?? "NA");
    }
    return out;
  }

  async #body(
    flags: number,
    offset: number,
    depth: number,
    code: boolean,
    label: string | undefined,
    frame: "frame" | "workspace" | undefined,
  ): Promise<RNode> {
    const type = flags & 0xff;
    const hasAttr = (flags & HAS_ATTR) !== 0;
    const where = { offset, label };
    // every item counts by its type (a symbol, written whole or referred to, by its name alone)
    if (type !== SXP.REF && type !== SXP.SYM) this.#live?.add("t", String(flags & (0xff | FP_FLAGS)));
    const constant = CONSTANTS.get(type);
    if (constant !== undefined) return constant;
    switch (type) {
      case SXP.REF: {
        let index = flags >> 8;
        if (index === 0) index = await this.#in.int("a reference index");
        const node = this.#refs[index - 1];
        if (index < 1 || node === undefined)
          throw this.#malformed(`reference ${index} to an item not read (${this.#refs.length} so far)`, offset);
        // a symbol counts by its name, written whole or referred to
        if (node.type === SXP.SYM) this.#live?.add("y", node.name);
        else this.#live?.fail();
        return node;
      }
      case SXP.PERSIST: {
        this.#live?.fail();
        const names = await this.#stringVec(depth);
        const node: RNode = { type, offset, name: names.join(" ") };
        this.#addRef(node);
        this.#events.persistent(names, where);
        return node;
      }
      case SXP.SYM: {
        const sink = this.#sink;
        this.#sink = undefined; // the name counts once, below
        const printName = await this.#item(depth + 1, false, undefined).finally(() => {
          this.#sink = sink;
        });
        if (printName.name === undefined || (printName.length ?? 0) > STRING_BYTES) this.#live?.fail();
        else this.#live?.add("y", printName.name);
        if (printName.type !== SXP.CHAR) throw this.#malformed(`symbol name is a ${typeName(printName.type)}`, offset);
        const node: RNode = { type, offset, name: printName.name ?? "NA" };
        this.#addRef(node);
        return node;
      }
      case SXP.PACKAGE:
      case SXP.NAMESPACE: {
        this.#live?.fail();
        const names = await this.#stringVec(depth);
        const node: RNode = { type, offset, name: names[0] ?? "" };
        this.#addRef(node);
        this.#events.namespace(type === SXP.NAMESPACE ? "namespace" : "package", names, where);
        return node;
      }
      case SXP.ENV: {
        this.#live?.fail();
        await this.#in.int("an environment's lock flag");
        const node: RNode = { type, offset };
        this.#addRef(node); // registered before its contents, which may refer to it
        this.stats.environments++;
        const enclos = await this.#item(depth + 1, false, undefined); // enclosing environment
        node.env = enclos;
        const outer = this.#shadowsNative;
        const outerEnv = this.#frameEnv;
        this.#shadowsNative = false;
        this.#frameEnv = node;
        node.pending = [];
        node.bindings = new Map();
        node.bindingsUnknown = true; // until its frame is read
        try {
          await this.#item(depth + 1, false, undefined, "frame"); // frame
          await this.#item(depth + 1, false, undefined, "frame"); // hash table
        } finally {
          this.#frameEnv = outerEnv;
        }
        node.bindingsUnknown = node.bindings.size >= BINDING_CAP;
        const namespace = this.#shadowsNative ? undefined : namespaceOf(enclos);
        this.#shadowsNative = outer;
        if (namespace !== undefined) node.namespace = namespace;
        const pending = node.pending;
        delete node.pending;
        for (const { closure, where } of pending) this.#events.closure(closure, { ...where, namespace });
        const attr = await this.#item(depth + 1, false, undefined);
        // the reference table keeps environments: only the top one keeps its attributes (class)
        if (depth === 0) node.attr = attr;
        return node;
      }
      case SXP.LIST:
      case SXP.LANG:
      case SXP.DOT:
        return this.#pairlist(flags, offset, depth, code, label, frame);
      case SXP.CLO:
      case SXP.PROM:
        return this.#closureOrPromise(flags, offset, depth, label);
      case SXP.ALTREP: {
        this.#live?.fail();
        const info = await this.#item(depth + 1, false, undefined);
        const state = await this.#item(depth + 1, code, undefined);
        const attr = await this.#item(depth + 1, false, undefined);
        const [cls, pkg, kind] = info.type === SXP.LIST ? (info.cells ?? []) : [];
        if (cls?.value.type !== SXP.SYM || pkg?.value.type !== SXP.SYM || kind?.value.type !== SXP.INT)
          throw this.#malformed("ALTREP class information is not (class, package, type)", offset);
        this.#events.altrep(cls.value.name ?? "", pkg.value.name ?? "", where);
        const node: RNode = { type, offset, attr, object: (flags & IS_OBJECT) !== 0 };
        if (code && state.code !== undefined) node.code = state.code;
        return node;
      }
      case SXP.CLASSREF:
      case SXP.GENERICREF:
        throw this.#malformed(`${typeName(type)} (class references) cannot be read by R`, offset);
      default:
        break;
    }
    const node: RNode = { type, offset };
    if ((flags & IS_OBJECT) !== 0) node.object = true;
    switch (type) {
      case SXP.EXTPTR:
        this.#addRef(node);
        await this.#item(depth + 1, false, undefined); // protected value
        await this.#item(depth + 1, false, undefined); // tag
        this.#live?.fail();
        this.#events.external("external pointer", where);
        break;
      case SXP.WEAKREF:
        this.#live?.fail();
        this.#addRef(node);
        this.#events.external("weak reference", where);
        break;
      case SXP.SPECIAL:
      case SXP.BUILTIN: {
        const len = await this.#in.int("a primitive's name length");
        if (len < 0 || len > MAX_PRIMITIVE_NAME) throw this.#malformed(`primitive name of ${len} bytes`, offset);
        node.name = latin1(await this.#in.string(len, len));
        this.#live?.add("p", node.name);
        if (!code) this.#events.primitive(node.name, where);
        break;
      }
      case SXP.CHAR: {
        const len = await this.#in.int("a string length");
        if (len === -1) {
          this.#live?.add("NA");
          break; // NA_character_
        }
        if (len < 0) throw this.#malformed(`negative string length ${len}`, offset);
        const bytes = await this.#in.string(len, STRING_BYTES);
        node.name = decodeChar(flags, bytes);
        node.length = len;
        if (len > STRING_BYTES) this.#live?.fail();
        else this.#live?.add("c", node.name);
        break;
      }
      case SXP.LGL:
      case SXP.INT:
      case SXP.REAL:
      case SXP.CPLX:
      case SXP.RAW: {
        const len = await this.#length();
        const kind = type === SXP.REAL ? "real" : type === SXP.CPLX ? "complex" : type === SXP.RAW ? "raw" : "int";
        this.#checkFits(kind, len, typeName(type));
        node.length = len;
        const sink = this.#live;
        if (sink !== undefined) {
          sink.add("n", String(len));
          await this.#hashVector(node, sink, kind, len);
        } else if (code && len === 1 && kind === "int") node.value = await this.#in.int();
        else if (code && len === 1 && kind === "real") node.value = await this.#in.real();
        else await this.#in.skipElements(kind, len);
        break;
      }
      case SXP.STR: {
        const len = await this.#length();
        this.#checkItems(len, "STRSXP");
        node.length = len;
        const strings: string[] = [];
        const sink = this.#live;
        sink?.add("n", String(len));
        for (let i = 0; i < len; i++) {
          const fast = this.#in.charSync(strings.length < STRING_CAP || sink !== undefined ? STRING_BYTES : 0);
          if (fast !== undefined) {
            this.#count(depth + 1);
            const text = fast.bytes === null ? undefined : decodeChar(fast.flags, fast.bytes);
            if (strings.length < STRING_CAP) strings.push(text ?? "NA");
            if (fast.truncated) node.truncated = true;
            // the same tokens as the CHARSXP item below
            if (sink !== undefined) {
              sink.add("t", String(fast.flags & (0xff | FP_FLAGS)));
              if (fast.truncated === true) sink.fail();
              else if (text === undefined) sink.add("NA");
              else sink.add("c", text);
            }
            continue;
          }
          const s = await this.#item(depth + 1, false, undefined);
          if (s.type !== SXP.CHAR) throw this.#malformed(`${typeName(s.type)} inside a character vector`, s.offset);
          if (strings.length < STRING_CAP) strings.push(s.name ?? "NA");
          if ((s.length ?? 0) > STRING_BYTES) node.truncated = true;
        }
        node.strings = strings;
        break;
      }
      case SXP.VEC:
      case SXP.EXPR: {
        const len = await this.#length();
        this.#checkItems(len, typeName(type));
        node.length = len;
        this.#live?.add("n", String(len));
        // An expression vector is code wherever it is (eval() runs it); the elements of a list
        // inside code are code too.
        const inner = code || type === SXP.EXPR;
        const summary = inner ? newCode() : undefined;
        for (let i = 0; i < len; i++) {
          const child = await this.#item(depth + 1, inner, undefined, frame === "frame" ? "frame" : undefined);
          if (summary !== undefined) mergeCode(summary, child);
        }
        if (summary !== undefined) node.code = summary;
        if (type === SXP.EXPR && !code) this.#events.language(node, where);
        break;
      }
      case SXP.BCODE: {
        const reps = await this.#in.int("a bytecode reference count");
        if (reps < 0) throw this.#malformed(`negative bytecode reference count ${reps}`, offset);
        this.#live?.add("r", String(reps));
        this.#checkItems(reps, "bytecode references");
        const bc = await this.#bytecode(depth, offset, new Map(), reps);
        this.stats.bytecode++;
        if (!code) this.#events.bytecode(bc, where);
        // the bytecode's own attributes follow, as for any item
        if (hasAttr) bc.attr = await this.#item(depth + 1, false, undefined);
        return bc;
      }
      case SXP.S4:
        break;
      default:
        throw this.#malformed(`unknown item type ${type}`, offset);
    }
    if (hasAttr) {
      const attr = await this.#item(depth + 1, false, undefined);
      // R ignores a string's attributes; the reference table's items keep theirs only at the top
      if (type !== SXP.CHAR && ((type !== SXP.EXTPTR && type !== SXP.WEAKREF) || depth === 0)) node.attr = attr;
    }
    return node;
  }

  async #pairlist(
    flags: number,
    offset: number,
    depth: number,
    code: boolean,
    label: string | undefined,
    frame: "frame" | "workspace" | undefined,
  ): Promise<RNode> {
    const type = flags & 0xff;
    const isCall = type === SXP.LANG;
    const inner = code || isCall;
    const node: RNode = { type, offset, cells: [] };
    if ((flags & IS_OBJECT) !== 0) node.object = true;
    const summary = inner ? newCode() : undefined;
    let cellFlags = flags;
    let first = true;
    /** The call's symbol operands are data variables (`y ~ load`, `list(y, source)`). */
    let variables = false;
    for (;;) {
      const cellOffset = this.#in.offset;
      const attr = (cellFlags & HAS_ATTR) !== 0 ? await this.#item(depth + 1, false, undefined) : undefined;
      if (first && attr !== undefined) node.attr = attr;
      const tagNode = (cellFlags & HAS_TAG) !== 0 ? await this.#item(depth + 1, false, undefined) : undefined;
      const tag = tagNode?.type === SXP.SYM ? tagNode.name : undefined;
      // a tag names the value for evidence (and `predvars` attributes for the language rules)
      const value = await this.#item(depth + 1, inner, frame || !inner ? tag : undefined);
      if (frame === "frame" && tag !== undefined && KNOWN_NATIVE_NAMES.has(tag)) this.#shadowsNative = true;
      if (frame === "frame") this.#bind(tag, value, ((cellFlags >>> 12) & ACTIVE_BINDING) !== 0);
      if (frame !== undefined) {
        const active = ((cellFlags >>> 12) & ACTIVE_BINDING) !== 0;
        this.#events.binding(tag, value, { offset: cellOffset, label: tag, active, workspace: frame === "workspace" });
      }
      if (node.cells!.length < CELL_CAP)
        node.cells!.push(tag === undefined ? { value: shallow(value) } : { tag, value: shallow(value) });
      // the function of a call is its callee (finishCall), not a name passed around
      const callPosition =
        isCall && first && (value.type === SXP.SYM || value.type === SXP.BUILTIN || value.type === SXP.SPECIAL);
      if (callPosition) variables = VARIABLE_OPERATORS.has(value.name ?? "");
      if (summary !== undefined && !callPosition) mergeCode(summary, value, variables);
      first = false;
      const nextOffset = this.#in.offset;
      const next = await this.#in.int("item flags");
      const nextType = next & 0xff;
      if (nextType === SXP.LIST || nextType === SXP.LANG || nextType === SXP.DOT) {
        this.#count(depth);
        cellFlags = next;
        this.#live?.add("t", String(next & (0xff | FP_FLAGS)));
        continue;
      }
      const rest = await this.#body(next, nextOffset, depth + 1, inner, undefined, undefined);
      if (summary !== undefined) mergeCode(summary, rest);
      break;
    }
    if (summary !== undefined) node.code = summary;
    if (isCall) {
      this.stats.calls++;
      finishCall(node);
      if (!code) this.#events.language(node, { offset, label });
    }
    return node;
  }

  async #closureOrPromise(flags: number, offset: number, depth: number, label: string | undefined): Promise<RNode> {
    const type = flags & 0xff;
    const where = { offset, label };
    const node: RNode = { type, offset };
    // a closure or promise inside code: the enclosing closure has no fingerprint
    this.#sink?.fail();
    if ((flags & HAS_ATTR) !== 0) node.attr = await this.#item(depth + 1, false, undefined);
    // TAG: the closure's environment, or the promise's (nil once forced)
    const env = (flags & HAS_TAG) !== 0 ? await this.#item(depth + 1, false, undefined) : undefined;
    const namespace = env === undefined ? undefined : namespaceOf(env);
    if (type === SXP.CLO) {
      const outer = this.#sink;
      const sink = new FpSink();
      this.#sink = sink;
      let formals: RNode;
      let body: RNode;
      try {
        formals = await this.#item(depth + 1, true, undefined);
        body = await this.#item(depth + 1, true, undefined);
      } finally {
        this.#sink = outer;
      }
      const fingerprint = sink.digest();
      if (fingerprint !== undefined) node.fingerprint = fingerprint;
      if (env !== undefined) node.env = env;
      const summary = newCode();
      mergeCode(summary, formals);
      mergeCode(summary, body);
      node.code = summary;
      node.cells = [{ value: formals }, { value: body }];
      this.stats.closures++;
      const bytecode = body.type === SXP.BCODE;
      // a closure of an environment still being read is judged once its frame is known
      if (env?.pending !== undefined && env.pending.length < PENDING_CAP)
        env.pending.push({ closure: node, where: { ...where, bytecode } });
      else this.#events.closure(node, { ...where, bytecode, namespace });
      return node;
    }
    const value = await this.#item(depth + 1, false, undefined);
    const expression = await this.#item(depth + 1, true, undefined);
    const summary = newCode();
    mergeCode(summary, expression);
    node.code = summary;
    node.cells = [{ value: expression }];
    this.stats.promises++;
    this.#events.promise(node, { ...where, forced: value.type !== SXP.UNBOUND });
    return node;
  }

  /** One bytecode object (R's ReadBC1): the code vector, then the constant pool. */
  async #bytecode(depth: number, offset: number, reps: Map<number, RNode>, repCount: number): Promise<RNode> {
    this.#count(depth);
    const node: RNode = { type: SXP.BCODE, offset, code: newCode() };
    const codeVector = await this.#item(depth + 1, false, undefined);
    if (codeVector.type !== SXP.INT) throw this.#malformed(`bytecode is a ${typeName(codeVector.type)}`, offset);
    const n = await this.#in.int("a bytecode constant count");
    if (n < 0) throw this.#malformed(`negative bytecode constant count ${n}`, offset);
    this.#live?.add("n", String(n));
    this.#checkItems(n, "a bytecode constant pool");
    const cells: RCell[] = [];
    const natives = new Set<string>();
    for (let i = 0; i < n; i++) {
      const constOffset = this.#in.offset;
      const type = await this.#in.int("a bytecode constant type");
      this.#live?.add("k", String(type));
      let c: RNode;
      if (type === SXP.BCODE) c = await this.#bytecode(depth + 1, constOffset, reps, repCount);
      else if (BC_LANG.has(type)) c = await this.#bcLang(type, depth + 1, constOffset, reps, repCount);
      else c = await this.#item(depth + 1, true, undefined);
      if (c.type === SXP.SYM && c.name !== undefined && NATIVE_CALLERS.has(c.name)) natives.add(c.name);
      else mergeCode(node.code!, c);
      if (cells.length < CELL_CAP) cells.push({ value: shallow(c) });
    }
    // The symbol `.Call` in the pool is the function its calls fetch: it counts as a bare name
    // unless every such call in the pool names its routine (judged like the calls themselves).
    const calls = [...node.code!.calls];
    for (const name of natives)
      if (calls.includes(name) || !calls.some((c) => c.startsWith(`${name}(`))) add(node.code!, node.code!.refs, name);
    node.cells = cells;
    return node;
  }

  /** A call or pairlist of a bytecode constant pool (R's ReadBCLang), with shared cells. */
  async #bcLang(
    type: number,
    depth: number,
    offset: number,
    reps: Map<number, RNode>,
    repCount: number,
  ): Promise<RNode> {
    this.#count(depth);
    if (type === SXP.BCREPREF) {
      const index = await this.#in.int("a bytecode reference");
      if (index < 0 || index >= repCount) throw this.#malformed(`bytecode reference ${index} out of range`, offset);
      this.#live?.add("rr", String(index));
      return reps.get(index) ?? (CONSTANTS.get(SXP.NILVALUE) as RNode);
    }
    if (!BC_LANG.has(type)) return this.#item(depth, true, undefined); // a pad, then an ordinary item
    let pos = -1;
    let kind = type;
    if (type === SXP.BCREPDEF) {
      pos = await this.#in.int("a bytecode reference");
      if (pos < 0 || pos >= repCount) throw this.#malformed(`bytecode reference ${pos} out of range`, offset);
      kind = await this.#in.int("a bytecode cell type");
    }
    this.#live?.add("bc", `${type}:${pos}:${kind}`);
    if (kind !== SXP.LANG && kind !== SXP.LIST && kind !== SXP.ATTRLANG && kind !== SXP.ATTRLIST)
      throw this.#malformed(`bytecode cell of ${typeName(kind)}`, offset);
    const isCall = kind === SXP.LANG || kind === SXP.ATTRLANG;
    const node: RNode = { type: isCall ? SXP.LANG : SXP.LIST, offset, code: newCode(), cells: [] };
    if (pos >= 0) reps.set(pos, node);
    if (kind === SXP.ATTRLANG || kind === SXP.ATTRLIST) node.attr = await this.#item(depth + 1, false, undefined);
    const tagNode = await this.#item(depth + 1, false, undefined);
    const tag = tagNode.type === SXP.SYM ? tagNode.name : undefined;
    const carOffset = this.#in.offset;
    const car = await this.#bcLang(await this.#in.int("a bytecode cell type"), depth + 1, carOffset, reps, repCount);
    const cdrOffset = this.#in.offset;
    const cdr = await this.#bcLang(await this.#in.int("a bytecode cell type"), depth + 1, cdrOffset, reps, repCount);
    node.cells!.push(tag === undefined ? { value: shallow(car) } : { tag, value: shallow(car) });
    if (cdr.type === SXP.LIST && cdr.cells !== undefined && cdr !== node)
      for (const cell of cdr.cells) if (node.cells!.length < CELL_CAP) node.cells!.push(cell);
    if (!isCall || (car.type !== SXP.SYM && car.type !== SXP.BUILTIN && car.type !== SXP.SPECIAL))
      mergeCode(node.code!, car);
    mergeCode(node.code!, cdr);
    if (isCall) {
      this.stats.calls++;
      finishCall(node);
    }
    return node;
  }
}

/** The namespace variable lookups in this environment end in (see {@link RNode.namespace}). */
function namespaceOf(env: RNode): string | undefined {
  if (env.type === SXP.NAMESPACE) return env.name;
  if (env.type === SXP.BASENAMESPACE) return "base";
  if (env.type === SXP.ENV) return env.namespace;
  return undefined;
}

const BC_LANG = new Set<number>([SXP.LANG, SXP.LIST, SXP.BCREPDEF, SXP.BCREPREF, SXP.ATTRLANG, SXP.ATTRLIST]);

const UTF8 = new TextDecoder("utf-8", { fatal: false });

/** A CHARSXP's text in its declared encoding (Latin-1, else UTF-8; invalid bytes replaced). */
function decodeChar(flags: number, bytes: Uint8Array): string {
  return ((flags >>> 12) & LATIN1) !== 0 ? latin1(bytes) : UTF8.decode(bytes);
}

function latin1(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += String.fromCharCode(b);
  return out;
}
