/**
 * NumPy `.npy` header reader (format versions 1.0, 2.0 and 3.0), following the rules of
 * `numpy.lib.format`: magic, version, header length, and a Python literal dict with exactly the
 * keys `descr`, `fortran_order` and `shape`, evaluated as `ast.literal_eval` does and its `descr`
 * judged as numpy builds the dtype. Reads only the header; a header numpy may accept but modelgate
 * cannot judge is reported as such, so the caller still analyses the data as the pickle it may be.
 * @module
 */

import { type ByteSource, readExact } from "../../core/byte-source.js";
import { ModelgateError } from "../../core/errors.js";
import { judgeDescr } from "./dtype.js";
import { isPyInt, type PyLiteral, PyLiteralError, parsePyLiteral, stringDict, tupleItems } from "./pyliteral.js";

export { type PyLiteral, parsePyLiteral } from "./pyliteral.js";

/** The `.npy` magic string. */
export const NPY_MAGIC = Uint8Array.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);

/** Largest header read (numpy refuses headers over 10,000 bytes unless allow_pickle=True or told otherwise). */
export const MAX_NPY_HEADER = 1 << 20;

/** Element type summary of a `descr`. */
export interface NpyDtype {
  /** The descr as written (a type string, or `[structured]` for other forms). */
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
  /** Array shape (as written; numpy ignores it for object arrays, whose data is one pickle). */
  readonly shape: readonly number[];
  /** Fortran (column-major) order. */
  readonly fortranOrder: boolean;
  /** Bytes of array data, or undefined for object arrays (a pickle of unknown length). */
  readonly dataBytes: number | undefined;
  /** Header length exceeds numpy's default `max_header_size` (10,000). */
  readonly largeHeader: boolean;
}

/**
 * What numpy makes of a header whose bytes are all present: `ok` (read and judged), `invalid`
 * (`numpy.load` raises before reading the data) or `unjudged` (numpy may accept it, and modelgate
 * cannot tell whether the data is a pickle).
 */
export type NpyInspection =
  | { readonly status: "ok"; readonly header: NpyHeader }
  | { readonly status: "invalid" | "unjudged"; readonly dataOffset: number; readonly reason: string };

/** The header's text after numpy's decoding (Latin-1 for 1.0 and 2.0, UTF-8 for 3.0). */
function headerText(raw: Uint8Array, major: number): string | undefined {
  if (major !== 3) return Buffer.from(raw).toString("latin1");
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(raw);
  } catch {
    return undefined;
  }
}

/** Shape entries as numbers (numpy accepts any Python int, bools included). */
function shapeOf(dims: readonly PyLiteral[]): number[] {
  return dims.map((d) => (typeof d === "boolean" ? (d ? 1 : 0) : typeof d === "bigint" ? Number(d) : (d as number)));
}

/**
 * Reads a `.npy` header and judges it as `numpy.lib.format.read_array_header` does with
 * `allow_pickle=True` (no header size limit then).
 * @param source - the bytes
 * @param offset - where the magic starts
 * @throws ModelgateError `MALFORMED` (bad magic or version), `TRUNCATED` (the header is cut short)
 */
export async function inspectNpyHeader(source: ByteSource, offset = 0): Promise<NpyInspection> {
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
  const dataOffset = start + hlen;
  if (dataOffset > source.size) {
    throw new ModelgateError("TRUNCATED", `.npy header of ${hlen} bytes runs past the end of the file`, { offset });
  }
  const unjudged = (reason: string): NpyInspection => ({ status: "unjudged", dataOffset, reason });
  const invalid = (reason: string): NpyInspection => ({ status: "invalid", dataOffset, reason });
  if (hlen > MAX_NPY_HEADER) {
    return unjudged(
      `.npy header of ${hlen} bytes, over the ${MAX_NPY_HEADER}-byte budget (numpy.load reads any size with allow_pickle=True)`,
    );
  }
  const text = headerText(await readExact(source, start, hlen), major);
  if (text === undefined) return invalid("npy header is not UTF-8");
  let lit: PyLiteral;
  try {
    lit = parsePyLiteral(text, { dropLongSuffix: major < 3 });
  } catch (error) {
    if (!(error instanceof PyLiteralError)) throw error;
    return unjudged(error.message);
  }
  const dict = stringDict(lit);
  if (dict === undefined) return invalid("npy header is not a dict of string keys");
  const keys = [...dict.keys()].sort().join(",");
  if (keys !== "descr,fortran_order,shape") {
    return invalid(`npy header keys must be descr, fortran_order, shape (got ${keys.slice(0, 200)})`);
  }
  const dims = tupleItems(dict.get("shape"));
  if (dims === undefined || !dims.every(isPyInt)) return invalid("npy header: shape is not a tuple of ints");
  const fortran = dict.get("fortran_order");
  if (typeof fortran !== "boolean") return invalid("npy header: fortran_order is not a bool");
  const descr = dict.get("descr") as PyLiteral;
  const judged = judgeDescr(descr);
  if (judged.kind === "invalid") return invalid(`npy header: descr ${judged.why ?? ""}`);
  if (judged.kind === "unknown") return unjudged(`npy header: descr ${judged.why ?? ""}`);
  const object = judged.kind === "object";
  const shape = shapeOf(dims);
  const str = typeof descr === "string" ? descr : object ? "[object fields]" : "[structured]";
  const dtype: NpyDtype = { str, itemsize: judged.itemsize, object };
  const ok = (dataBytes: number | undefined) =>
    ({
      status: "ok",
      header: {
        version: [major, minor],
        dataOffset,
        dtype,
        shape,
        fortranOrder: fortran,
        dataBytes,
        largeHeader: hlen > 10_000,
      },
    }) as const;
  if (object) return ok(undefined);
  if (!shape.every((x) => Number.isSafeInteger(x) && x >= 0)) {
    return invalid("npy header: shape is not a tuple of non-negative ints");
  }
  const bytes = shape.reduce((a, b) => a * b, 1) * judged.itemsize;
  if (!Number.isSafeInteger(bytes)) return invalid("npy header: array size overflows");
  return ok(bytes);
}

/**
 * Reads and validates the header of a `.npy` stream.
 * @param source - the bytes
 * @param offset - where the magic starts
 * @throws ModelgateError `MALFORMED` (numpy rejects it, or modelgate cannot judge it) or `TRUNCATED`
 */
export async function readNpyHeader(source: ByteSource, offset = 0): Promise<NpyHeader> {
  const r = await inspectNpyHeader(source, offset);
  if (r.status === "ok") return r.header;
  throw new ModelgateError("MALFORMED", r.reason, { offset });
}
