/**
 * Judges a `.npy` header's `descr` the way `numpy.lib.format.descr_to_dtype` builds the dtype:
 * does the dtype hold Python objects anywhere (`hasobject`: the top level, a field, a subarray),
 * in which case `numpy.load(allow_pickle=True)` unpickles the data?
 *
 * numpy accepts far more than it writes: type names (`object`), comma strings (`i4,O`), repeat
 * prefixes (`(2,)O`), `(base, shape)` tuples, and any iterable of fields (lists, dict keys,
 * two-character strings such as `'xO'`). Each spelling is judged here; what cannot be judged with
 * certainty is `unknown` (the caller then analyses the data as a pickle anyway), never `plain`.
 * @module
 */

import { type PyLiteral, tupleItems } from "./pyliteral.js";

/** What a descr yields. */
export type DtypeKind = "plain" | "object" | "unknown" | "invalid";

/** A judged descr. */
export interface DtypeJudgement {
  /** `object`: holds Python objects; `plain`: does not; `unknown`: cannot tell; `invalid`: numpy raises. */
  readonly kind: DtypeKind;
  /** Bytes per element (plain dtypes). */
  readonly itemsize: number;
  /** Why it is unknown or invalid. */
  readonly why?: string;
}

/** Type-code characters and their sizes (64-bit Linux, as numpy reports them). */
const CHAR_CODES: Readonly<Record<string, number>> = {
  "?": 1,
  b: 1,
  B: 1,
  h: 2,
  H: 2,
  i: 4,
  I: 4,
  l: 8,
  L: 8,
  q: 8,
  Q: 8,
  p: 8,
  P: 8,
  e: 2,
  f: 4,
  d: 8,
  g: 16,
  F: 8,
  D: 16,
  G: 32,
  S: 0,
  a: 0,
  U: 0,
  V: 0,
  M: 8,
  m: 8,
};

/** Type names numpy resolves (`np.sctypeDict`) that hold no objects, with their item sizes. */
const PLAIN_NAMES: Readonly<Record<string, number>> = {
  bool: 1,
  bool8: 1,
  bool_: 1,
  byte: 1,
  ubyte: 1,
  short: 2,
  ushort: 2,
  intc: 4,
  uintc: 4,
  int: 8,
  int_: 8,
  int0: 8,
  intp: 8,
  long: 8,
  longlong: 8,
  uint: 8,
  uint0: 8,
  uintp: 8,
  ulong: 8,
  ulonglong: 8,
  int8: 1,
  int16: 2,
  int32: 4,
  int64: 8,
  uint8: 1,
  uint16: 2,
  uint32: 4,
  uint64: 8,
  half: 2,
  single: 4,
  double: 8,
  float: 8,
  float_: 8,
  float16: 2,
  float32: 4,
  float64: 8,
  float128: 16,
  longdouble: 16,
  longfloat: 16,
  csingle: 8,
  singlecomplex: 8,
  cdouble: 16,
  cfloat: 16,
  complex: 16,
  complex_: 16,
  complex64: 8,
  complex128: 16,
  complex256: 32,
  clongdouble: 32,
  clongfloat: 32,
  longcomplex: 32,
  bytes: 0,
  bytes0: 0,
  bytes_: 0,
  string_: 0,
  str: 0,
  str0: 0,
  str_: 0,
  unicode: 0,
  unicode_: 0,
  void: 0,
  void0: 0,
  datetime64: 8,
  timedelta64: 8,
};

const TYPESTR = /^[<>|=]?([biufcmMSaUV?])(\d*)(\[\w+\])?$/;
/** Object spellings: the `O` code with any size, and the object type names. */
const OBJECT = /^[<>|=]?(?:O\d*|object_?|object0)$/;
/** numpy's `_commastring` item grammar (`numpy/core/_internal.py`). */
const FORMAT_ITEM =
  /(?<order1>[<>|=]?)(?<repeats> *[(]?[ ,0-9]*[)]? *)(?<order2>[<>|=]?)(?<dtype>[A-Za-z0-9.?]*(?:\[[a-zA-Z0-9,.]+\])?)/y;
const SEPARATOR = /\s*,\s*/y;
const TRAILING_SPACE = /\s+$/y;

const plain = (itemsize: number): DtypeJudgement => ({ kind: "plain", itemsize });
const OBJ: DtypeJudgement = { kind: "object", itemsize: 8 };
const unknown = (why: string): DtypeJudgement => ({ kind: "unknown", itemsize: 0, why });
const invalid = (why: string): DtypeJudgement => ({ kind: "invalid", itemsize: 0, why });

/** One type spelling without commas or repeats. */
function singleType(t: string): DtypeJudgement {
  if (OBJECT.test(t)) return OBJ;
  const m = TYPESTR.exec(t);
  if (m !== null) {
    const kind = m[1] as string;
    if (m[2] === "") return plain(CHAR_CODES[kind] ?? 0);
    const n = Number(m[2]);
    return plain(kind === "U" ? 4 * n : kind === "M" || kind === "m" ? 8 : n);
  }
  if (t.length === 1 && Object.hasOwn(CHAR_CODES, t)) return plain(CHAR_CODES[t] ?? 0);
  if (Object.hasOwn(PLAIN_NAMES, t)) return plain(PLAIN_NAMES[t] ?? 0);
  return unknown(`type ${JSON.stringify(t.slice(0, 60))} is not one modelgate knows`);
}

/** Count of a repeat prefix (`2`, `(2,3)`, `(2,)`), or undefined. */
function repeatCount(r: string): number | undefined {
  const m = /^\s*(?:(\d+)|\(\s*((?:\d+\s*,\s*)*\d+\s*,?)?\s*\))\s*$/.exec(r);
  if (m === null) return undefined;
  const dims = m[1] !== undefined ? [m[1]] : (m[2] ?? "").split(",").filter((d) => d.trim() !== "");
  return dims.reduce((a, d) => a * Number(d), 1);
}

/** Combines the judgements of fields (structured dtypes). */
function combine(parts: readonly DtypeJudgement[], itemsize: number): DtypeJudgement {
  if (parts.some((p) => p.kind === "object")) return OBJ;
  const bad = parts.find((p) => p.kind === "invalid") ?? parts.find((p) => p.kind === "unknown");
  return bad ?? plain(itemsize);
}

/** A descr string, as `np.dtype(str)` reads it (comma strings and repeat prefixes included). */
export function judgeTypeString(t: string): DtypeJudgement {
  const single = singleType(t);
  if (single.kind !== "unknown") return single;
  // the comma-string grammar, item by item (a string it cannot split is unknown)
  const parts: DtypeJudgement[] = [];
  let size = 0;
  let pos = 0;
  for (let guard = 0; pos < t.length; guard++) {
    if (guard > 10_000) return unknown("comma string with too many items");
    FORMAT_ITEM.lastIndex = pos;
    const m = FORMAT_ITEM.exec(t);
    if (m?.groups === undefined) return unknown("comma string modelgate cannot split");
    const before = pos;
    pos = FORMAT_ITEM.lastIndex;
    if (pos < t.length) {
      TRAILING_SPACE.lastIndex = pos;
      SEPARATOR.lastIndex = pos;
      if (TRAILING_SPACE.test(t)) pos = t.length;
      else if (SEPARATOR.test(t)) pos = SEPARATOR.lastIndex;
      else return unknown("comma string modelgate cannot split");
    }
    if (pos === before) return unknown("comma string modelgate cannot split");
    const g = m.groups;
    const element = singleType(`${g.order1 ?? ""}${g.order2 ?? ""}${g.dtype ?? ""}`);
    const repeats = g.repeats ?? "";
    const count = repeats === "" ? 1 : repeatCount(repeats);
    if (element.kind === "object") return OBJ;
    if (count === undefined) parts.push(unknown(`repeat ${JSON.stringify(repeats.slice(0, 40))}`));
    else {
      parts.push(element);
      size += element.itemsize * count;
    }
  }
  if (parts.length === 0) return unknown("empty type string");
  return combine(parts, size);
}

/** Elements of a shape (an int or a tuple of ints), or undefined. */
function shapeCount(v: PyLiteral | undefined): number | undefined {
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return v;
  const dims = tupleItems(v);
  if (dims === undefined || !dims.every((d) => typeof d === "number" && Number.isSafeInteger(d) && d >= 0)) {
    return undefined;
  }
  return (dims as number[]).reduce((a, b) => a * b, 1);
}

/** What iterating a value yields in Python (list items, tuple items, dict keys, str characters). */
function iterate(v: PyLiteral): PyLiteral[] | "unordered" | undefined {
  if (typeof v === "string") return [...v];
  if (Array.isArray(v)) return v;
  if (v === null || typeof v !== "object") return undefined;
  if ("tuple" in v) return v.tuple;
  if ("dict" in v) return [...v.dict.values()].map((e) => e.key);
  if ("set" in v) return "unordered";
  return undefined;
}

/**
 * Judges a `descr` value as `descr_to_dtype` builds it.
 * @param d - the descr literal
 * @param budget - fields left to examine (shared by the recursion)
 * @param depth - nesting
 */
export function judgeDescr(d: PyLiteral, budget = { fields: 100_000 }, depth = 0): DtypeJudgement {
  if (depth > 32) return unknown("dtype nested too deeply");
  if (typeof d === "string") return judgeTypeString(d);
  const tuple = tupleItems(d);
  if (tuple !== undefined) {
    // (base, shape), or (base, new_dtype): the union form
    if (tuple.length < 2) return invalid("a descr tuple needs a base and a shape");
    const base = judgeDescr(tuple[0] as PyLiteral, budget, depth + 1);
    const count = shapeCount(tuple[1]);
    if (count !== undefined || base.kind === "object")
      return base.kind === "plain" ? plain(base.itemsize * (count ?? 1)) : base;
    const other = judgeDescr(tuple[1] as PyLiteral, budget, depth + 1);
    return combine([base, other.kind === "invalid" ? unknown("second item of a descr tuple") : other], base.itemsize);
  }
  // any other value is iterated as a list of fields
  const fields = iterate(d);
  if (fields === undefined) return invalid("descr is neither a type string, a tuple nor an iterable of fields");
  if (fields === "unordered") return judgeUnordered(d, budget, depth);
  const parts: DtypeJudgement[] = [];
  let size = 0;
  for (const field of fields) {
    if (--budget.fields < 0) return unknown("too many fields");
    const items = iterate(field);
    if (items === "unordered") {
      parts.push(unknown("a field given as a set"));
      continue;
    }
    if (items === undefined || items.length < 2 || items.length > 3) {
      return invalid("a structured dtype field is not a 2- or 3-item sequence");
    }
    let sub = judgeDescr(items[1] as PyLiteral, budget, depth + 1);
    if (items.length === 3) {
      const count = shapeCount(items[2]);
      if (sub.kind === "plain") sub = count === undefined ? unknown("field shape") : plain(sub.itemsize * count);
    }
    parts.push(sub);
    size += sub.itemsize;
  }
  return combine(parts, size);
}

/** A set of fields: the order does not change whether one holds objects. */
function judgeUnordered(d: PyLiteral, budget: { fields: number }, depth: number): DtypeJudgement {
  const items = d !== null && typeof d === "object" && "set" in d ? d.set : [];
  const list: PyLiteral = items;
  return judgeDescr(list, budget, depth);
}
