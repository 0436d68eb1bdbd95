/**
 * Python semantics of the constants the template analysis folds: `str()`/`repr()`, `%` and
 * `str.format` formatting, slicing, and the Jinja filters and Python methods that build strings.
 *
 * Why exact: a folded value is what the analysis checks for `__globals__`, `os` ... A value that
 * differs from Python's (an ignored format spec, a strip argument, the `str()` of a float) hides
 * the name Jinja computes. So every argument, keyword, flag or spec not modelled here makes the
 * result unknown (`undefined`), never the argument-free result.
 * @module
 */
import { PY_SPACE } from "./lexical.js";

/**
 * A Python dict the folding understands (`dict(k=…)`, `{'k': …}`): its keys, in order, and their
 * values (`undefined` where the value is not known; the keys alone still fold).
 */
export interface PyDict {
  readonly dict: readonly (readonly [Const, Const | undefined])[];
}
/** A constant the folding understands; sequences other than lists are tagged with {@link seq}. */
export type Const = string | number | boolean | null | readonly Const[] | PyDict;

/** Arguments of a filter or method call. */
export interface CallArgs {
  readonly positional: readonly Const[];
  readonly keyword: ReadonlyMap<string, Const>;
}

/** Largest `range()`, dict or sorted sequence the folding builds. */
export const MAX_RANGE = 256;
/** Longest string the folding keeps. */
export const MAX_VALUE_LENGTH = 10_000;

/**
 * Python type of a sequence other than a list: a tuple (its `str()` has parentheses), a one-shot
 * iterator (`reversed()`, a generator: `str()` shows an address, a second use sees it empty), a
 * dict view or a range (their `str()` is not a list's).
 */
export type SeqKind = "tuple" | "iterator" | "view" | "range";
const KINDS = new WeakMap<readonly Const[], SeqKind>();

/**
 * Tags a sequence with its Python type.
 * @param items - the items (not shared with another value)
 * @param kind - its type; lists are untagged
 */
export function seq(items: readonly Const[], kind?: SeqKind): readonly Const[] {
  if (kind !== undefined) KINDS.set(items, kind);
  return items;
}

/** The Python type of a sequence value, `list` when untagged; undefined for a non-sequence. */
export function kindOf(x: Const | undefined): SeqKind | "list" | undefined {
  if (!Array.isArray(x)) return undefined;
  return KINDS.get(x as readonly Const[]) ?? "list";
}

export function isDict(x: Const | undefined): x is PyDict {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

const PY_SPACE_CHAR = new RegExp(`^${PY_SPACE}$`);

/**
 * Case mapping only where Python's and JavaScript's agree whatever their Unicode versions: ASCII.
 * No JavaScript `\s`/`\d`/`\w` or Unicode case tables decide a folded value in this file; a
 * string they would judge differently from Python folds to unknown.
 */
const NON_ASCII = /[^\0-\x7f]/;
function asciiLower(s: string): string | undefined {
  return NON_ASCII.test(s) ? undefined : s.toLowerCase();
}
function asciiUpper(s: string): string | undefined {
  return NON_ASCII.test(s) ? undefined : s.toUpperCase();
}

/** `str()` of a number: ints as digits; floats only where Python's repr and JavaScript's agree. */
function numStr(x: number): string | undefined {
  if (!Number.isFinite(x)) return undefined;
  if (Number.isInteger(x)) return Number.isSafeInteger(x) ? String(x) : undefined;
  const a = Math.abs(x);
  return a >= 1e-4 && a < 1e16 ? String(x) : undefined;
}

/** Python's `str()` of a constant; undefined when part of it is unknown or not modelled. */
export function pyStr(x: Const | undefined): string | undefined {
  if (x === undefined) return undefined;
  if (typeof x === "string") return x;
  if (x === null) return "None";
  if (typeof x === "boolean") return x ? "True" : "False";
  if (typeof x === "number") return numStr(x);
  if (isDict(x)) {
    const parts: string[] = [];
    for (const [k, v] of x.dict) {
      const ks = pyRepr(k);
      const vs = pyRepr(v);
      if (ks === undefined || vs === undefined) return undefined;
      parts.push(`${ks}: ${vs}`);
    }
    return `{${parts.join(", ")}}`;
  }
  const kind = kindOf(x);
  if (kind !== "list" && kind !== "tuple") return undefined;
  const parts: string[] = [];
  for (const e of x) {
    const r = pyRepr(e);
    if (r === undefined) return undefined;
    parts.push(r);
  }
  if (kind === "tuple") return parts.length === 1 ? `(${parts[0]},)` : `(${parts.join(", ")})`;
  return `[${parts.join(", ")}]`;
}

/** Python's `repr()` of a constant (ASCII strings only: which other characters print is not modelled). */
export function pyRepr(x: Const | undefined): string | undefined {
  if (typeof x !== "string") return pyStr(x);
  if (/[^\0-\x7f]/.test(x)) return undefined;
  const quote = x.includes("'") && !x.includes('"') ? '"' : "'";
  let out = quote;
  for (const c of x) {
    const code = c.charCodeAt(0);
    if (c === "\\") out += "\\\\";
    else if (c === quote) out += `\\${c}`;
    else if (c === "\n") out += "\\n";
    else if (c === "\r") out += "\\r";
    else if (c === "\t") out += "\\t";
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else out += c;
  }
  return out + quote;
}

/** The items Python iterates over: a sequence's elements, a dict's keys, a string's characters. */
export function pyIter(v: Const): readonly Const[] | undefined {
  if (typeof v === "string") return v.length > MAX_VALUE_LENGTH ? undefined : [...v];
  if (Array.isArray(v)) return v as readonly Const[];
  if (isDict(v)) return v.dict.map(([k]) => k);
  return undefined;
}

/** `v[index]` on a string, list or tuple (code points for strings, as Python indexes). */
export function pyIndex(v: Const, index: number): Const | undefined {
  const kind = kindOf(v);
  if (!Number.isInteger(index) || (typeof v !== "string" && kind !== "list" && kind !== "tuple")) return undefined;
  const items = typeof v === "string" ? [...v] : (v as readonly Const[]);
  return items[index < 0 ? items.length + index : index];
}

/** Value of a dict entry by key (`d['k']`, `d.k`, `d.get('k')`). */
export function dictGet(d: PyDict, key: Const): Const | undefined {
  const hit = d.dict.find(([k]) => k === key);
  return hit?.[1];
}

/**
 * Adds an entry the way a Python dict does: a key already present keeps its place and takes the
 * new value. False when the key's equality is not modelled (`True == 1` in Python).
 */
export function dictSet(
  entries: (readonly [Const, Const | undefined])[],
  key: Const,
  value: Const | undefined,
): boolean {
  if (typeof key !== "string" && typeof key !== "number") return false;
  const i = entries.findIndex(([k]) => k === key);
  if (i >= 0) entries[i] = [entries[i]?.[0] ?? key, value];
  else entries.push([key, value]);
  return true;
}

/** Whether `r` is `v` itself or one of the items iterating `v` yields: selected, not assembled. */
export function isSelected(r: Const, v: Const): boolean {
  if (r === v) return true;
  if (typeof r !== "string") return false;
  if (typeof v === "string") return r.length <= 1 && v.includes(r);
  return pyIter(v)?.some((e) => e === r) ?? false;
}

/** Compares as Python does for str/str or number/number; undefined for other pairs. */
function pyCompare(a: Const | undefined, b: Const | undefined): number | undefined {
  if (typeof a === "number" && typeof b === "number") return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a !== "string" || typeof b !== "string") return undefined;
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = (x[i]?.codePointAt(0) ?? 0) - (y[i]?.codePointAt(0) ?? 0);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/** Stable sort with Python's comparison; undefined when two items do not compare. */
function pySorted<T>(items: readonly T[], key: (x: T) => Const | undefined, reverse: boolean): T[] | undefined {
  if (items.length > MAX_RANGE) return undefined;
  let failed = false;
  const out = [...items].sort((a, b) => {
    const c = pyCompare(key(a), key(b));
    if (c === undefined) failed = true;
    return (c ?? 0) * (reverse ? -1 : 1);
  });
  return failed ? undefined : out;
}

/** Jinja's `ignore_case`: strings lowered unless the filter is case sensitive (unknown when not ASCII). */
function caseKey(caseSensitive: boolean): (x: Const) => Const | undefined {
  return (x) => (!caseSensitive && typeof x === "string" ? asciiLower(x) : x);
}

/**
 * Binds arguments to a signature: the values by parameter position, `undefined` for those not
 * given. Undefined when an argument is not one the signature names.
 */
function bind(args: CallArgs, names: readonly string[]): (Const | undefined)[] | undefined {
  if (args.positional.length > names.length) return undefined;
  const out: (Const | undefined)[] = names.map((_, i) => args.positional[i]);
  for (const [k, v] of args.keyword) {
    const i = names.indexOf(k);
    if (i < 0 || i < args.positional.length) return undefined;
    out[i] = v;
  }
  return out;
}

const NO_ARGS: readonly string[] = [];

/** `padStart`/`padEnd` counted in code points, as Python pads. */
function pad(s: string, width: number, align: string, fill: string): string | undefined {
  const len = [...s].length;
  if (width > MAX_VALUE_LENGTH) return undefined;
  const n = Math.max(0, width - len);
  if (align === "<") return s + fill.repeat(n);
  if (align === ">") return fill.repeat(n) + s;
  const left = Math.floor(n / 2);
  return fill.repeat(left) + s + fill.repeat(n - left);
}

const PERCENT_SPEC = /%(?:\(([^)]*)\))?([-#0 +]*)([0-9]+|\*)?(?:\.([0-9]+|\*))?[hlL]?([diouxXeEfFgGcrsa%])/g;

/**
 * Python `fmt % operand` (and Jinja's `format` filter): a tuple gives the positional arguments, a
 * dict the `%(name)s` ones, anything else is the single argument.
 */
export function pyPercent(fmt: string, operand: Const): string | undefined {
  const specs = [...fmt.matchAll(PERCENT_SPEC)];
  const mapping = specs.some((m) => m[1] !== undefined);
  if (mapping && !isDict(operand)) return undefined;
  const args = kindOf(operand) === "tuple" ? (operand as readonly Const[]) : [operand];
  let i = 0;
  let out = "";
  let last = 0;
  for (const m of specs) {
    out += fmt.slice(last, m.index);
    last = m.index + m[0].length;
    const [, key, flags = "", width, precision, conv = ""] = m;
    if (conv === "%") {
      if (key !== undefined || flags !== "" || width !== undefined || precision !== undefined) return undefined;
      out += "%";
      continue;
    }
    const a = isDict(operand) && key !== undefined ? dictGet(operand, key) : mapping ? undefined : args[i++];
    if (a === undefined || width === "*" || precision === "*") return undefined;
    const r = percentConversion(conv, a, flags, width === undefined ? undefined : Number(width), precision);
    if (r === undefined) return undefined;
    out += r;
  }
  if (!mapping && i !== args.length && kindOf(operand) === "tuple") return undefined;
  return out + fmt.slice(last);
}

function percentConversion(
  conv: string,
  a: Const,
  flags: string,
  width: number | undefined,
  precision: string | undefined,
): string | undefined {
  let s: string | undefined;
  switch (conv) {
    case "s":
    case "r":
    case "a":
    case "c": {
      if (conv === "c") {
        if (typeof a === "number" && Number.isInteger(a) && a >= 0 && a <= 0x10ffff) s = String.fromCodePoint(a);
        else s = typeof a === "string" && [...a].length === 1 ? a : undefined;
      } else s = conv === "s" ? pyStr(a) : pyRepr(a);
      if (s === undefined) return undefined;
      if (precision !== undefined && conv !== "c") s = [...s].slice(0, Number(precision)).join("");
      if (flags.replace(/[-0 +#]/g, "") !== "") return undefined;
      return width === undefined ? s : pad(s, width, flags.includes("-") ? "<" : ">", " ");
    }
    case "d":
    case "i":
    case "u":
    case "x":
    case "X":
    case "o": {
      if (typeof a !== "number" || flags !== "" || width !== undefined || precision !== undefined) return undefined;
      const n = Math.trunc(a);
      if (!Number.isSafeInteger(n)) return undefined;
      if (conv === "x") return n.toString(16);
      if (conv === "X") return n.toString(16).toUpperCase();
      if (conv === "o") return n.toString(8);
      return String(n);
    }
    default:
      return undefined;
  }
}

const FORMAT_FIELD = /\{\{|\}\}|\{([^{}]*)\}|[{}]/g;
const STRING_SPEC = /^(?:(.)?([<>^]))?([1-9][0-9]*)?(?:\.([0-9]+))?s?$/su;

/** Python `str.format` with `{}`/`{0}` fields, `!r`/`!s`/`!a` and string format specs. */
export function pyFormat(fmt: string, args: readonly Const[]): string | undefined {
  let auto = 0;
  let out = "";
  let last = 0;
  for (const m of fmt.matchAll(FORMAT_FIELD)) {
    out += fmt.slice(last, m.index);
    last = m.index + m[0].length;
    if (m[0] === "{{" || m[0] === "}}") {
      out += m[0][0];
      continue;
    }
    const field = m[1];
    if (field === undefined) return undefined; // a lone brace: Python raises
    const f = /^([^!:]*)(?:!([rsa]))?(?::(.*))?$/s.exec(field);
    if (f === null) return undefined;
    const [, name = "", conversion, spec = ""] = f;
    const index = name === "" ? auto++ : /^[0-9]+$/.test(name) ? Number(name) : -1;
    const a = index >= 0 ? args[index] : undefined;
    if (a === undefined) return undefined;
    const r = formatField(conversion === undefined ? a : conversion === "s" ? pyStr(a) : pyRepr(a), spec);
    if (r === undefined) return undefined;
    out += r;
  }
  return out + fmt.slice(last);
}

/** `format(value, spec)`: any value with an empty spec, strings with fill/align/width/precision. */
function formatField(a: Const | undefined, spec: string): string | undefined {
  if (a === undefined) return undefined;
  if (spec === "") return pyStr(a);
  if (typeof a !== "string") return undefined;
  const m = STRING_SPEC.exec(spec);
  if (m === null) return undefined;
  const [, fill = " ", align = "<", width, precision] = m;
  const s = precision === undefined ? a : [...a].slice(0, Number(precision)).join("");
  return width === undefined ? s : pad(s, Number(width), align, fill);
}

/** `s[start:stop:step]`; a tuple's or a range's slice keeps its type. */
export function pySlice(v: Const, start: number | null, stop: number | null, step: number | null): Const | undefined {
  const kind = kindOf(v);
  if (typeof v !== "string" && kind !== "list" && kind !== "tuple" && kind !== "range") return undefined;
  const items: readonly Const[] = typeof v === "string" ? [...v] : (v as readonly Const[]);
  const len = items.length;
  const st = step ?? 1;
  if (st === 0 || !Number.isInteger(st)) return undefined;
  if ([start, stop].some((x) => x !== null && !Number.isInteger(x))) return undefined;
  const norm = (x: number | null, dflt: number, lo: number, hi: number): number => {
    if (x === null) return dflt;
    const y = x < 0 ? x + len : x;
    return Math.min(Math.max(y, lo), hi);
  };
  const out: Const[] = [];
  if (st > 0) {
    const a = norm(start, 0, 0, len);
    const b = norm(stop, len, 0, len);
    for (let i = a; i < b; i += st) out.push(items[i] ?? "");
  } else {
    const a = norm(start, len - 1, -1, len - 1);
    const b = norm(stop, -1, -1, len - 1);
    for (let i = a; i > b; i += st) out.push(items[i] ?? "");
  }
  if (typeof v === "string") return out.join("");
  return seq(out, kind === "list" ? undefined : kind);
}

/** Python's `str.strip`/`lstrip`/`rstrip` (whitespace is Python's, or the given characters). */
function pyStrip(s: string, chars: Const | undefined, left: boolean, right: boolean): string | undefined {
  if (chars !== undefined && chars !== null && typeof chars !== "string") return undefined;
  const set = typeof chars === "string" ? new Set(chars) : undefined;
  const strip = (c: string) => (set === undefined ? PY_SPACE_CHAR.test(c) : set.has(c));
  const cps = [...s];
  let a = 0;
  let b = cps.length;
  while (left && a < b && strip(cps[a] ?? "")) a++;
  while (right && b > a && strip(cps[b - 1] ?? "")) b--;
  return cps.slice(a, b).join("");
}

/** Python's `str.replace(old, new, count)` (a negative count replaces all). */
function pyReplace(
  s: string,
  old: Const | undefined,
  rep: Const | undefined,
  count: Const | undefined,
): string | undefined {
  if (typeof old !== "string" || typeof rep !== "string") return undefined;
  if (count !== undefined && count !== null && (typeof count !== "number" || !Number.isInteger(count)))
    return undefined;
  const max = count === undefined || count === null || count < 0 ? Number.POSITIVE_INFINITY : count;
  let out: string;
  if (old === "") {
    const cps = [...s];
    out = "";
    for (let i = 0, n = 0; i <= cps.length; i++) {
      if (n < max) {
        out += rep;
        n++;
      }
      out += cps[i] ?? "";
      if (out.length > MAX_VALUE_LENGTH) return undefined;
    }
  } else {
    const parts = s.split(old);
    // Bound the result before building it (a long replacement repeated at every occurrence).
    if (s.length + Math.min(parts.length - 1, max) * rep.length > MAX_VALUE_LENGTH) return undefined;
    if (parts.length - 1 <= max) out = parts.join(rep);
    else out = `${parts.slice(0, max + 1).join(rep)}${old}${parts.slice(max + 1).join(old)}`;
  }
  return out.length > MAX_VALUE_LENGTH ? undefined : out;
}

/** Python's `str.split(sep, maxsplit)`. */
function pySplit(s: string, sep: Const | undefined, maxsplit: Const | undefined): Const | undefined {
  const max = maxsplit === undefined ? -1 : maxsplit;
  if (typeof max !== "number" || !Number.isInteger(max)) return undefined;
  const limit = max < 0 ? Number.POSITIVE_INFINITY : max;
  if (typeof sep === "string") {
    if (sep === "") return undefined;
    const parts = s.split(sep);
    if (parts.length - 1 <= limit) return parts;
    return [...parts.slice(0, limit), parts.slice(limit).join(sep)];
  }
  if (sep !== undefined && sep !== null) return undefined;
  // Whitespace runs; leading whitespace skipped; the remainder after `maxsplit` splits kept as is.
  const cps = [...s];
  const out: string[] = [];
  let i = 0;
  for (;;) {
    while (i < cps.length && PY_SPACE_CHAR.test(cps[i] ?? "")) i++;
    if (i >= cps.length) break;
    if (out.length >= limit) {
      out.push(cps.slice(i).join(""));
      break;
    }
    let j = i;
    while (j < cps.length && !PY_SPACE_CHAR.test(cps[j] ?? "")) j++;
    out.push(cps.slice(i, j).join(""));
    i = j;
  }
  return out;
}

/** Jinja's `title` word split, `([-\s({\[<]+)`, with Python's `\s` in ASCII (JavaScript's lacks U+001C-U+001F). */
const TITLE_SEPARATOR = "[-\\t-\\r\\x1c-\\x20({[<]";
const TITLE_SPLIT = new RegExp(`(${TITLE_SEPARATOR}+)`);

/** Python's `str.title()` and Jinja's `title` filter (ASCII only: other case rules are not modelled). */
function titleCase(s: string, jinja: boolean): string | undefined {
  if (NON_ASCII.test(s)) return undefined;
  if (jinja) {
    return s
      .split(TITLE_SPLIT)
      .filter((w) => w !== "")
      .map((w) => w.charAt(0).toUpperCase() + w.slice(1).toLowerCase())
      .join("");
  }
  let prevCased = false;
  let out = "";
  for (const c of s) {
    const letter = /[A-Za-z]/.test(c);
    out += letter ? (prevCased ? c.toLowerCase() : c.toUpperCase()) : c;
    prevCased = letter;
  }
  return out;
}

function capitalize(s: string): string | undefined {
  if (NON_ASCII.test(s)) return undefined;
  return s.charAt(0).toUpperCase() + s.slice(1).toLowerCase();
}

/** Whitespace every Python's `int()`/`float()` strip, in ASCII. */
const INT_SPACE = "[\\t\\n\\x0b\\x0c\\r ]*";
const INT_TEXT = new RegExp(`^${INT_SPACE}([-+]?[0-9]+)${INT_SPACE}$`);
const FLOAT_TEXT = new RegExp(`^${INT_SPACE}([-+]?(?:[0-9]+\\.?[0-9]*|\\.[0-9]+)(?:[eE][-+]?[0-9]+)?)${INT_SPACE}$`);

/**
 * Jinja's `int` filter without arguments: `int(v)`, else `int(float(v))`, else 0. Folded only for
 * ASCII text whose whitespace is one `int()`/`float()` strip in every Python version (tab, LF, VT,
 * FF, CR, space): U+FEFF, U+001C-U+001F, U+0085 ... are whitespace to one side only, and
 * JavaScript's `\s`/`trim()`/`Number()` strip a different set again.
 */
function jinjaInt(v: Const): Const | undefined {
  if (typeof v === "number") return Number.isFinite(v) ? Math.trunc(v) : undefined;
  if (typeof v !== "string" || !/^[\t\n\v\f\r -~]*$/.test(v)) return undefined;
  const int = INT_TEXT.exec(v);
  if (int !== null) {
    const n = Number.parseInt(int[1] ?? "", 10);
    return Number.isSafeInteger(n) ? n : undefined;
  }
  const float = FLOAT_TEXT.exec(v);
  if (float !== null) {
    const n = Math.trunc(Number(float[1]));
    return Number.isSafeInteger(n) ? n : undefined;
  }
  // Underscores, inf/nan: Python's rules differ from any here.
  return /[0-9_]|inf|nan/i.test(v) ? undefined : 0;
}

/** `sep.join(items)`, undefined when the result would exceed {@link MAX_VALUE_LENGTH}. */
function joinBounded(items: readonly string[], sep: string): string | undefined {
  let total = Math.max(0, items.length - 1) * sep.length;
  for (const e of items) total += e.length;
  return total > MAX_VALUE_LENGTH ? undefined : items.join(sep);
}

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  "'": "&#39;",
  '"': "&#34;",
};

/**
 * A Jinja filter applied to a constant.
 * @param name - filter name
 * @param v - the operand
 * @param args - the filter's arguments
 * @returns the result, or undefined when the filter or one of its arguments is not modelled
 */
export function applyFilter(name: string, v: Const, args: CallArgs): Const | undefined {
  const s = typeof v === "string" ? v : undefined;
  const plain = bind(args, NO_ARGS) !== undefined;
  switch (name) {
    case "join": {
      const a = bind(args, ["d", "attribute"]);
      if (a === undefined || (a[1] !== undefined && a[1] !== null)) return undefined;
      const sep = a[0] === undefined ? "" : pyStr(a[0]);
      const strs = pyIter(v)?.map((e) => pyStr(e));
      if (sep === undefined || strs === undefined || strs.some((e) => e === undefined)) return undefined;
      return joinBounded(strs as string[], sep);
    }
    case "format": {
      if (s === undefined || (args.positional.length > 0 && args.keyword.size > 0)) return undefined;
      if (args.keyword.size === 0) return pyPercent(s, seq([...args.positional], "tuple"));
      const dict: (readonly [Const, Const | undefined])[] = [];
      for (const [k, x] of args.keyword) dictSet(dict, k, x);
      return pyPercent(s, { dict });
    }
    case "replace": {
      const a = bind(args, ["old", "new", "count"]);
      return s === undefined || a === undefined ? undefined : pyReplace(s, a[0], a[1], a[2]);
    }
    case "trim": {
      const a = bind(args, ["chars"]);
      return s === undefined || a === undefined ? undefined : pyStrip(s, a[0], true, true);
    }
    case "sort": {
      const a = bind(args, ["reverse", "case_sensitive", "attribute"]);
      const items = pyIter(v);
      if (a === undefined || items === undefined || (a[2] !== undefined && a[2] !== null)) return undefined;
      return pySorted(items, caseKey(a[1] === true), a[0] === true);
    }
    case "unique": {
      const a = bind(args, ["case_sensitive", "attribute"]);
      const items = pyIter(v);
      if (a === undefined || items === undefined || (a[1] !== undefined && a[1] !== null)) return undefined;
      const key = caseKey(a[0] === true);
      const seen: Const[] = [];
      const out: Const[] = [];
      for (const e of items) {
        const k = key(e);
        if (typeof k !== "string" && typeof k !== "number") return undefined;
        if (seen.includes(k)) continue;
        seen.push(k);
        out.push(e);
      }
      return seq(out, "iterator");
    }
    case "tojson": {
      const a = bind(args, ["indent"]);
      return a === undefined || (a[0] !== undefined && a[0] !== null) ? undefined : pyJson(v);
    }
    default:
      return plain ? plainFilter(name, v, s) : undefined;
  }
}

/** Filters that take no argument. */
function plainFilter(name: string, v: Const, s: string | undefined): Const | undefined {
  switch (name) {
    case "lower":
      return s === undefined ? undefined : asciiLower(s);
    case "upper":
      return s === undefined ? undefined : asciiUpper(s);
    case "capitalize":
      return s === undefined ? undefined : capitalize(s);
    case "title":
      return s === undefined ? undefined : titleCase(s, true);
    case "string":
    case "safe":
      return pyStr(v);
    case "escape":
    case "e":
    case "forceescape":
      return s?.replace(/[&<>'"]/g, (c) => HTML_ESCAPES[c] ?? c);
    case "reverse": {
      if (s !== undefined) return [...s].reverse().join("");
      const items = pyIter(v);
      return items === undefined ? undefined : seq([...items].reverse(), "iterator");
    }
    case "list": {
      const items = pyIter(v);
      return items === undefined ? undefined : [...items];
    }
    case "first":
      return pyIter(v)?.[0];
    case "last":
      return kindOf(v) === "iterator" ? undefined : pyIter(v)?.at(-1);
    case "length":
    case "count":
      return kindOf(v) === "iterator" ? undefined : pyIter(v)?.length;
    case "int":
      return jinjaInt(v);
    case "items": {
      if (!isDict(v) || v.dict.some(([, x]) => x === undefined)) return undefined;
      return seq(
        v.dict.map(([k, x]) => seq([k, x as Const], "tuple")),
        "iterator",
      );
    }
    case "dictsort": {
      if (!isDict(v) || v.dict.some(([, x]) => x === undefined)) return undefined;
      const pairs = v.dict.map(([k, x]) => seq([k, x as Const], "tuple"));
      const key = caseKey(false);
      return pySorted(pairs, (p) => key(p[0] ?? null), false);
    }
    default:
      return undefined;
  }
}

/**
 * A Python method called on a constant (`'…'.replace(…)`, `d.keys()`).
 * @returns the result, or undefined when the method or one of its arguments is not modelled
 */
export function applyMethod(name: string, v: Const, args: CallArgs): Const | undefined {
  if (isDict(v)) return dictMethod(name, v, args);
  if (typeof v !== "string") return undefined;
  const positionalOnly = args.keyword.size === 0;
  switch (name) {
    case "join": {
      const a = bind(args, ["iterable"]);
      const strs = a?.[0] === undefined ? undefined : pyIter(a[0]);
      if (!positionalOnly || strs === undefined || strs.some((e) => typeof e !== "string")) return undefined;
      return joinBounded(strs as string[], v);
    }
    case "format":
      return positionalOnly ? pyFormat(v, args.positional) : undefined;
    case "replace": {
      const a = bind(args, ["old", "new", "count"]);
      return a === undefined ? undefined : pyReplace(v, a[0], a[1], a[2]);
    }
    case "strip":
    case "lstrip":
    case "rstrip": {
      const a = positionalOnly ? bind(args, ["chars"]) : undefined;
      return a === undefined ? undefined : pyStrip(v, a[0], name !== "rstrip", name !== "lstrip");
    }
    case "split": {
      const a = bind(args, ["sep", "maxsplit"]);
      return a === undefined ? undefined : pySplit(v, a[0], a[1]);
    }
    default:
      break;
  }
  if (bind(args, NO_ARGS) === undefined) return undefined;
  switch (name) {
    case "lower":
      return asciiLower(v);
    case "upper":
      return asciiUpper(v);
    case "capitalize":
      return capitalize(v);
    case "title":
      return titleCase(v, false);
    default:
      return undefined;
  }
}

function dictMethod(name: string, d: PyDict, args: CallArgs): Const | undefined {
  if (name === "get") {
    const a = args.keyword.size === 0 ? bind(args, ["key", "default"]) : undefined;
    if (a?.[0] === undefined) return undefined;
    const hit = d.dict.find(([k]) => k === a[0]);
    return hit === undefined ? (a[1] ?? null) : hit[1];
  }
  if (bind(args, NO_ARGS) === undefined) return undefined;
  switch (name) {
    case "keys":
      return seq(
        d.dict.map(([k]) => k),
        "view",
      );
    case "values":
      return d.dict.every(([, x]) => x !== undefined)
        ? seq(
            d.dict.map(([, x]) => x as Const),
            "view",
          )
        : undefined;
    case "items":
      return d.dict.every(([, x]) => x !== undefined)
        ? seq(
            d.dict.map(([k, x]) => seq([k, x as Const], "tuple")),
            "view",
          )
        : undefined;
    default:
      return undefined;
  }
}

/** `|map('lower')` and other name filters applied to each item (`map('attr', …)` is a lookup). */
export function mapFilter(v: Const, args: CallArgs): Const | undefined {
  const [filter, ...rest] = args.positional;
  if (typeof filter !== "string" || filter === "attr") return undefined;
  const items = pyIter(v);
  if (items === undefined) return undefined;
  const out: Const[] = [];
  for (const e of items) {
    const r = applyFilter(filter, e, { positional: rest, keyword: args.keyword });
    if (r === undefined) return undefined;
    out.push(r);
  }
  return seq(out, "iterator");
}

/**
 * Jinja's `tojson`: `json.dumps(sort_keys=True)` (ASCII only, `", "`/`": "` separators) with `<`,
 * `>`, `&` and `'` escaped as `\\u` sequences.
 */
export function pyJson(x: Const | undefined, depth = 0): string | undefined {
  if (x === undefined || depth > 32) return undefined;
  if (x === null) return "null";
  if (typeof x === "boolean") return x ? "true" : "false";
  if (typeof x === "number") return numStr(x);
  if (typeof x === "string") {
    return JSON.stringify(x).replace(
      /[<>&'\u007f-\uffff]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
    );
  }
  if (isDict(x)) {
    const keys = x.dict.map(([k]) => k);
    const allStrings = keys.every((k) => typeof k === "string");
    if (!allStrings && !keys.every((k) => typeof k === "number" && Number.isInteger(k))) return undefined;
    const sorted = pySorted(x.dict, ([k]) => k, false);
    const parts: string[] = [];
    for (const [k, v] of sorted ?? []) {
      const key = pyJson(typeof k === "number" ? String(k) : k, depth + 1);
      const value = pyJson(v, depth + 1);
      if (key === undefined || value === undefined) return undefined;
      parts.push(`${key}: ${value}`);
    }
    return sorted === undefined ? undefined : `{${parts.join(", ")}}`;
  }
  const kind = kindOf(x);
  if (kind !== "list" && kind !== "tuple") return undefined;
  const parts: string[] = [];
  for (const e of x) {
    const r = pyJson(e, depth + 1);
    if (r === undefined) return undefined;
    parts.push(r);
  }
  return `[${parts.join(", ")}]`;
}
