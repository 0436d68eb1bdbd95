/**
 * NumPy `.npy` header reader (format versions 1.0, 2.0 and 3.0), following the rules of
 * `numpy.lib.format`: magic, version, header length, and a Python literal dict with exactly the
 * keys `descr`, `fortran_order` and `shape`. Reads only the header.
 * @module
 */

import { type ByteSource, readExact } from "../../core/byte-source.js";
import { ModelgateError } from "../../core/errors.js";

/** The `.npy` magic string. */
export const NPY_MAGIC = Uint8Array.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);

/** Largest header accepted (numpy itself refuses headers over 10,000 bytes unless told otherwise). */
export const MAX_NPY_HEADER = 1 << 20;

/** A Python literal as found in `.npy` headers. */
export type PyLiteral =
  | string
  | number
  | boolean
  | null
  | PyLiteral[]
  | { tuple: PyLiteral[] }
  | Map<string, PyLiteral>;

/** Element type summary of a `descr`. */
export interface NpyDtype {
  /** The descr as written (a type string, or `[...]` for structured dtypes). */
  readonly str: string;
  /** Bytes per element. */
  readonly itemsize: number;
  /** Holds Python objects (the data is then a pickle). */
  readonly object: boolean;
}

/** A parsed `.npy` header. */
export interface NpyHeader {
  /** Format version. */
  readonly version: readonly [number, number];
  /** Offset of the array data (after magic, version, length and header). */
  readonly dataOffset: number;
  /** Element type. */
  readonly dtype: NpyDtype;
  /** Array shape. */
  readonly shape: readonly number[];
  /** Fortran (column-major) order. */
  readonly fortranOrder: boolean;
  /** Bytes of array data, or undefined for object arrays (a pickle of unknown length). */
  readonly dataBytes: number | undefined;
  /** Header length exceeds numpy's default `max_header_size` (10,000). */
  readonly largeHeader: boolean;
}

/**
 * Parses a Python literal (the subset `ast.literal_eval` accepts in `.npy` headers).
 * @param text - the literal
 * @throws ModelgateError `MALFORMED`
 */
export function parsePyLiteral(text: string): PyLiteral {
  let i = 0;
  const fail = (msg: string): never => {
    throw new ModelgateError("MALFORMED", `npy header: ${msg} at ${i}`);
  };
  const ws = (): void => {
    while (i < text.length && /\s/.test(text[i] as string)) i++;
  };
  let depth = 0;
  const value = (): PyLiteral => {
    ws();
    if (++depth > 64) fail("nesting too deep");
    const c = text[i];
    let out: PyLiteral;
    if (c === "'" || c === '"') {
      const q = c;
      i++;
      let s = "";
      while (i < text.length && text[i] !== q) {
        if (text[i] === "\\") {
          const e = text[i + 1];
          s += e === "n" ? "\n" : e === "t" ? "\t" : (e ?? "");
          i += 2;
        } else s += text[i++];
      }
      if (text[i] !== q) fail("unterminated string");
      i++;
      out = s;
    } else if (c === "{") {
      i++;
      const m = new Map<string, PyLiteral>();
      ws();
      while (text[i] !== "}") {
        const k = value();
        if (typeof k !== "string") fail("dict key is not a string");
        ws();
        if (text[i] !== ":") fail("expected ':'");
        i++;
        m.set(k as string, value());
        ws();
        if (text[i] === ",") i++;
        else if (text[i] !== "}") fail("expected ',' or '}'");
        ws();
      }
      i++;
      out = m;
    } else if (c === "(" || c === "[") {
      const close = c === "(" ? ")" : "]";
      i++;
      const items: PyLiteral[] = [];
      ws();
      while (text[i] !== close) {
        items.push(value());
        ws();
        if (text[i] === ",") i++;
        else if (text[i] !== close) fail(`expected ',' or '${close}'`);
        ws();
        if (i >= text.length) fail("unterminated sequence");
      }
      i++;
      out = c === "(" ? { tuple: items } : items;
    } else {
      const m = /^(True|False|None|[-+]?\d+L?)/.exec(text.slice(i, i + 40));
      if (m === null) fail("unexpected token");
      const tok = (m as RegExpExecArray)[1] as string;
      i += tok.length;
      out = tok === "True" ? true : tok === "False" ? false : tok === "None" ? null : Number(tok.replace("L", ""));
    }
    depth--;
    return out;
  };
  const v = value();
  ws();
  if (i !== text.length) fail("trailing characters");
  return v;
}

function typestrDtype(t: string): NpyDtype {
  const m = /^([<>|=]?)([biufcmMOSaUV?])(\d*)(\[\w+\])?$/.exec(t);
  if (m === null) throw new ModelgateError("MALFORMED", `npy header: unknown dtype ${JSON.stringify(t)}`);
  const kind = m[2] as string;
  const n = m[3] === "" ? undefined : Number(m[3]);
  let itemsize: number;
  if (kind === "O") itemsize = 8;
  else if (kind === "U") itemsize = 4 * (n ?? 0);
  else if (kind === "S" || kind === "a" || kind === "V") itemsize = n ?? 0;
  else if (kind === "M" || kind === "m") itemsize = 8;
  else if (kind === "b" || kind === "?") itemsize = n ?? 1;
  else {
    if (n === undefined) throw new ModelgateError("MALFORMED", `npy header: dtype ${t} without a size`);
    itemsize = n;
  }
  return { str: t, itemsize, object: kind === "O" };
}

function descrDtype(d: PyLiteral, depth = 0): NpyDtype {
  if (depth > 16) throw new ModelgateError("MALFORMED", "npy header: dtype nested too deeply");
  if (typeof d === "string") return typestrDtype(d);
  if (Array.isArray(d)) {
    let itemsize = 0;
    let object = false;
    for (const field of d) {
      const parts = field !== null && typeof field === "object" && "tuple" in field ? field.tuple : undefined;
      if (parts === undefined || parts.length < 2 || parts.length > 3) {
        throw new ModelgateError("MALFORMED", "npy header: structured dtype field is not a 2- or 3-tuple");
      }
      const sub = descrDtype(parts[1] as PyLiteral, depth + 1);
      let count = 1;
      const shape = parts[2];
      if (shape !== undefined) {
        const dims =
          shape !== null && typeof shape === "object" && "tuple" in shape
            ? shape.tuple
            : typeof shape === "number"
              ? [shape]
              : undefined;
        if (dims === undefined || !dims.every((x) => typeof x === "number" && Number.isInteger(x) && x >= 0)) {
          throw new ModelgateError("MALFORMED", "npy header: bad subarray shape");
        }
        for (const x of dims as number[]) count *= x;
      }
      itemsize += sub.itemsize * count;
      object ||= sub.object;
    }
    return { str: "[structured]", itemsize, object };
  }
  throw new ModelgateError("MALFORMED", "npy header: descr is neither a type string nor a list of fields");
}

/**
 * Reads and validates the header of a `.npy` stream.
 * @param source - the bytes
 * @param offset - where the magic starts
 * @throws ModelgateError `MALFORMED`, `TRUNCATED` or `BUDGET_EXCEEDED`
 */
export async function readNpyHeader(source: ByteSource, offset = 0): Promise<NpyHeader> {
  const pre = await readExact(source, offset, 10);
  for (let k = 0; k < NPY_MAGIC.length; k++) {
    if (pre[k] !== NPY_MAGIC[k]) throw new ModelgateError("MALFORMED", "not a .npy file (bad magic)", { offset });
  }
  const major = pre[6] as number;
  const minor = pre[7] as number;
  if (major < 1 || major > 3 || minor !== 0) {
    throw new ModelgateError("MALFORMED", `unsupported .npy format version ${major}.${minor}`, { offset: offset + 6 });
  }
  let hlen: number;
  let start: number;
  if (major === 1) {
    hlen = (pre[8] as number) | ((pre[9] as number) << 8);
    start = offset + 10;
  } else {
    const more = await readExact(source, offset + 8, 4);
    hlen = new DataView(more.buffer, more.byteOffset, 4).getUint32(0, true);
    start = offset + 12;
  }
  if (hlen > MAX_NPY_HEADER) {
    throw new ModelgateError("BUDGET_EXCEEDED", `.npy header of ${hlen} bytes`, { offset, budget: "npyHeader" });
  }
  const raw = await readExact(source, start, hlen);
  const text =
    major === 3 ? new TextDecoder("utf-8", { fatal: true }).decode(raw) : Buffer.from(raw).toString("latin1");
  const lit = parsePyLiteral(text);
  if (!(lit instanceof Map)) throw new ModelgateError("MALFORMED", "npy header is not a dict", { offset: start });
  const keys = [...lit.keys()].sort().join(",");
  if (keys !== "descr,fortran_order,shape") {
    throw new ModelgateError("MALFORMED", `npy header keys must be descr, fortran_order, shape (got ${keys})`, {
      offset: start,
    });
  }
  const shapeLit = lit.get("shape");
  const dims = shapeLit !== null && typeof shapeLit === "object" && "tuple" in shapeLit ? shapeLit.tuple : undefined;
  if (dims === undefined || !dims.every((x) => typeof x === "number" && Number.isSafeInteger(x) && x >= 0)) {
    throw new ModelgateError("MALFORMED", "npy header: shape is not a tuple of non-negative ints", { offset: start });
  }
  const fortran = lit.get("fortran_order");
  if (typeof fortran !== "boolean")
    throw new ModelgateError("MALFORMED", "npy header: fortran_order is not a bool", { offset: start });
  const dtype = descrDtype(lit.get("descr") as PyLiteral);
  const shape = dims as number[];
  const count = shape.reduce((a, b) => a * b, 1);
  const bytes = count * dtype.itemsize;
  if (!Number.isSafeInteger(bytes))
    throw new ModelgateError("MALFORMED", "npy header: array size overflows", { offset: start });
  return {
    version: [major, minor],
    dataOffset: start + hlen,
    dtype,
    shape,
    fortranOrder: fortran,
    dataBytes: dtype.object ? undefined : bytes,
    largeHeader: hlen > 10_000,
  };
}
