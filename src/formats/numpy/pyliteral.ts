/**
 * A Python literal reader for `.npy` headers: the subset of `ast.literal_eval` that numpy's
 * `read_array_header` evaluates (strings with every prefix, escape and implicit concatenation,
 * ints in every base, floats, tuples, lists, sets, dicts, comments, line continuations, and the
 * Python 2 `L` suffix that `_filter_header` drops from version 1.0/2.0 headers).
 *
 * Why its own reader: a header is attacker text that numpy evaluates as Python. What this reader
 * accepts it evaluates exactly as Python does; whatever it cannot evaluate with certainty (`\N{...}`
 * escapes, complex arithmetic, `set()`, unusual layout) throws {@link PyLiteralError} so the
 * caller treats the header as unjudged instead of guessing.
 * @module
 */

import { ModelgateError } from "../../core/errors.js";

/** A Python literal. Ints beyond 2^53 are bigints; dict keys keep their first position, last value. */
export type PyLiteral =
  | string
  | number
  | bigint
  | boolean
  | null
  | PyLiteral[]
  | { readonly tuple: PyLiteral[] }
  | { readonly set: PyLiteral[] }
  | { readonly dict: Map<string, { key: PyLiteral; value: PyLiteral }> }
  | { readonly bytes: string }
  | { readonly float: number }
  | { readonly complex: true };

/** The literal could not be read (a syntax error, or syntax this reader does not evaluate). */
export class PyLiteralError extends ModelgateError {
  constructor(
    message: string,
    /** Python would accept it, but this reader does not evaluate it. */
    readonly unsupported: boolean,
  ) {
    super("MALFORMED", `npy header: ${message}`);
  }
}

/** Options of {@link parsePyLiteral}. */
export interface PyLiteralOptions {
  /** Drop a `L` name token after a number, as numpy's `_filter_header` does for versions 1.0 and 2.0. */
  readonly dropLongSuffix?: boolean;
  /** Deepest nesting (default 64). */
  readonly maxDepth?: number;
  /** Most items in all containers together (default 100,000). */
  readonly maxItems?: number;
}

const INT = /^(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|[1-9](?:_?\d)*|0(?:_?0)*)/;
const DIGITS = "\\d(?:_?\\d)*";
const EXP = `[eE][+-]?${DIGITS}`;
const FLOAT = new RegExp(
  `^(?:(?:${DIGITS})?\\.${DIGITS}(?:${EXP})?|${DIGITS}\\.(?:${EXP})?|${DIGITS}${EXP}|${DIGITS}(?=[jJ]))([jJ])?`,
);
const PREFIX = /^(?:[rRuUbBfF]|[bB][rR]|[rR][bB]|[fF][rR]|[rR][fF])(?=['"])/;
const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  "\\": "\\",
  "'": "'",
  '"': '"',
  a: "\x07",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
};

/** A canonical key for set/dict equality of string, bytes and small int keys (others never collapse). */
function keyOf(v: PyLiteral, index: number): string {
  if (typeof v === "string") return `s${v}`;
  if (typeof v === "number" && Number.isInteger(v)) return `n${v}`;
  if (typeof v === "boolean") return `n${v ? 1 : 0}`;
  if (v !== null && typeof v === "object" && "bytes" in v) return `b${v.bytes}`;
  return `#${index}`;
}

/**
 * Parses a Python literal as `ast.literal_eval` would.
 * @param text - the literal
 * @param options - `L` suffix handling and budgets
 * @throws PyLiteralError for syntax errors and for syntax this reader does not evaluate
 */
export function parsePyLiteral(text: string, options: PyLiteralOptions = {}): PyLiteral {
  const maxDepth = options.maxDepth ?? 64;
  let items = options.maxItems ?? 100_000;
  let i = 0;
  let depth = 0;
  const fail = (msg: string, unsupported = false): never => {
    throw new PyLiteralError(`${msg} at ${i}`, unsupported);
  };
  /** Skips insignificant text: inside brackets newlines, comments and continuations too. */
  const ws = (): void => {
    for (;;) {
      const c = text[i];
      if (c === " " || c === "\t" || c === "\f") i++;
      else if (c === "\\" && (text[i + 1] === "\n" || text[i + 1] === "\r")) {
        i += text.startsWith("\r\n", i + 1) ? 3 : 2;
      } else if (depth > 0 && (c === "\n" || c === "\r")) i++;
      else if (depth > 0 && c === "#") {
        while (i < text.length && text[i] !== "\n" && text[i] !== "\r") i++;
      } else return;
    }
  };
  const take = (): void => {
    if (--items < 0) fail("too many items", true);
  };

  /** One string literal (prefix, quotes, escapes), `i` at its prefix or quote. */
  const stringPart = (): { bytes: boolean; value: string } => {
    const prefix = PREFIX.exec(text.slice(i, i + 3))?.[0] ?? "";
    const p = prefix.toLowerCase();
    if (p.includes("f")) fail("f-string", false);
    const raw = p.includes("r");
    const bytes = p.includes("b");
    i += prefix.length;
    const q = text[i] as string;
    const triple = text.startsWith(q.repeat(3), i);
    const close = triple ? q.repeat(3) : q;
    i += close.length;
    let s = "";
    for (;;) {
      if (i >= text.length) fail("unterminated string");
      if (text.startsWith(close, i)) {
        i += close.length;
        break;
      }
      const c = text[i] as string;
      if (!triple && (c === "\n" || c === "\r")) fail("newline in string");
      if (bytes && c.charCodeAt(0) > 0x7f) fail("non-ASCII character in bytes");
      if (c !== "\\") {
        s += c;
        i++;
        continue;
      }
      const e = text[i + 1];
      if (e === undefined) fail("unterminated string");
      if (raw) {
        // raw strings keep the backslash; it only stops the next character from closing the string
        s += c + e;
        i += 2;
        continue;
      }
      i += 2;
      if (e === "\n") continue;
      if (e === "\r") {
        if (text[i] === "\n") i++;
        continue;
      }
      const simple = SIMPLE_ESCAPES[e as string];
      if (simple !== undefined) s += simple;
      else if (/[0-7]/.test(e as string)) {
        const m = /^[0-7]{1,3}/.exec(text.slice(i - 1, i + 2))?.[0] ?? "";
        s += String.fromCodePoint(Number.parseInt(m, 8));
        i += m.length - 1;
      } else if (e === "x" || (!bytes && (e === "u" || e === "U"))) {
        const n = e === "x" ? 2 : e === "u" ? 4 : 8;
        const hex = text.slice(i, i + n);
        if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) fail(`bad \\${e} escape`);
        const cp = Number.parseInt(hex, 16);
        if (cp > 0x10ffff) fail("escape beyond Unicode");
        s += String.fromCodePoint(cp);
        i += n;
      } else if (e === "N" && !bytes) fail("\\N{...} escape", true);
      else s += `\\${e}`;
    }
    return { bytes, value: s };
  };

  const value = (): PyLiteral => {
    ws();
    if (++depth > maxDepth) fail("nesting too deep", true);
    take();
    const c = text[i];
    let out: PyLiteral;
    if (c === undefined) fail("unexpected end");
    if (PREFIX.test(text.slice(i, i + 3)) || c === "'" || c === '"') {
      // adjacent literals concatenate (str with str, bytes with bytes)
      const first = stringPart();
      let s = first.value;
      for (;;) {
        const save = i;
        ws();
        if (!(PREFIX.test(text.slice(i, i + 3)) || text[i] === "'" || text[i] === '"')) {
          i = save;
          break;
        }
        const next = stringPart();
        if (next.bytes !== first.bytes) fail("str and bytes concatenated");
        s += next.value;
      }
      out = first.bytes ? { bytes: s } : s;
    } else if (c === "{" || c === "(" || c === "[") {
      out = container(c);
    } else if (c === "-" || c === "+") {
      i++;
      ws();
      const n = number(true);
      out = c === "-" ? negate(n) : n;
    } else if (/[\d.]/.test(c as string)) {
      out = number(false);
    } else {
      const m = /^(True|False|None)(?!\w)/.exec(text.slice(i, i + 6));
      if (m === null) fail("unexpected token");
      const tok = (m as RegExpExecArray)[1] as string;
      i += tok.length;
      out = tok === "True" ? true : tok === "False" ? false : null;
    }
    depth--;
    return out;
  };

  const negate = (n: PyLiteral): PyLiteral => {
    if (typeof n === "number") return n === 0 ? 0 : -n;
    if (typeof n === "bigint") return -n;
    if (n !== null && typeof n === "object" && "float" in n) return { float: -n.float };
    return n;
  };

  /** A number; after a sign, `(1)` is allowed as Python's AST sees a constant. */
  const number = (signed: boolean): PyLiteral => {
    if (signed && text[i] === "(") {
      const save = depth;
      depth++;
      i++;
      ws();
      const inner = number(false);
      ws();
      if (text[i] !== ")") fail("expected ')'");
      i++;
      depth = save;
      return inner;
    }
    const slice = text.slice(i, i + 400);
    const f = FLOAT.exec(slice);
    const n = INT.exec(slice);
    let out: PyLiteral;
    if (f !== null && (n === null || f[0].length > n[0].length)) {
      i += f[0].length;
      out = f[1] === undefined ? { float: Number(f[0].replace(/_/g, "")) } : { complex: true };
    } else if (n !== null) {
      i += n[0].length;
      const digits = n[0].replace(/_/g, "");
      const big = /^0[oO]/.test(digits) ? BigInt(`0o${digits.slice(2)}`) : BigInt(digits);
      out = big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
    } else return fail("bad number");
    if (options.dropLongSuffix === true) {
      const m = /^[ \t\f]*L(?!\w)/.exec(text.slice(i, i + 64));
      if (m !== null) i += m[0].length;
    }
    if (/[\w.]/.test(text[i] ?? "")) fail("bad number");
    const save = i;
    ws();
    if (text[i] === "+" || text[i] === "-") fail("arithmetic", true);
    i = save;
    return out;
  };

  const container = (open: string): PyLiteral => {
    const close = open === "{" ? "}" : open === "(" ? ")" : "]";
    i++;
    const list: PyLiteral[] = [];
    const dict = new Map<string, { key: PyLiteral; value: PyLiteral }>();
    let isDict: boolean | undefined;
    let commas = 0;
    ws();
    while (text[i] !== close) {
      if (i >= text.length) fail("unterminated container");
      const k = value();
      ws();
      if (open === "{" && isDict === undefined) isDict = text[i] === ":";
      if (isDict === true) {
        if (text[i] !== ":") fail("expected ':'");
        i++;
        const v = value();
        const key = keyOf(k, dict.size + list.length);
        const had = dict.get(key);
        if (had === undefined) dict.set(key, { key: k, value: v });
        else had.value = v;
        ws();
      } else list.push(k);
      if (text[i] === ",") {
        i++;
        commas++;
      } else if (text[i] !== close) fail(`expected ',' or '${close}'`);
      ws();
    }
    i++;
    if (open === "[") return list;
    if (open === "(") return commas === 0 && list.length === 1 ? (list[0] as PyLiteral) : { tuple: list };
    if (isDict !== false) return { dict };
    const seen = new Map<string, PyLiteral>();
    for (const [k, v] of list.entries()) {
      const key = keyOf(v, k);
      if (!seen.has(key)) seen.set(key, v);
    }
    return { set: [...seen.values()] };
  };

  while (text[i] === " " || text[i] === "\t") i++;
  const v = value();
  ws();
  if (text[i] === "#") while (i < text.length && text[i] !== "\n" && text[i] !== "\r") i++;
  if (text.startsWith("\r\n", i)) i += 2;
  else if (text[i] === "\n" || text[i] === "\r") i++;
  if (i !== text.length) fail("trailing characters");
  return v;
}

/** The items of a tuple literal, or undefined. */
export function tupleItems(v: PyLiteral | undefined): PyLiteral[] | undefined {
  return v !== null && typeof v === "object" && "tuple" in v ? v.tuple : undefined;
}

/** The dict of a dict literal keyed by its string keys, or undefined when it has another key. */
export function stringDict(v: PyLiteral | undefined): Map<string, PyLiteral> | undefined {
  if (v === null || typeof v !== "object" || !("dict" in v)) return undefined;
  const out = new Map<string, PyLiteral>();
  for (const { key, value } of v.dict.values()) {
    if (typeof key !== "string") return undefined;
    out.set(key, value);
  }
  return out;
}

/** A Python `int` (bool included, as `isinstance(x, int)` says). */
export function isPyInt(v: PyLiteral | undefined): v is number | bigint | boolean {
  return (typeof v === "number" && Number.isInteger(v)) || typeof v === "bigint" || typeof v === "boolean";
}
