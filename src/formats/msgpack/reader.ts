/**
 * A strict msgpack reader for model files (Flax/JAX `flax_model.msgpack`, msgpack-numpy dumps).
 *
 * Hand-written rather than a msgpack library because a decoder builds the objects it decodes: a
 * 4 GiB `bin32` becomes a 4 GiB buffer, a `map32` of 2^32 entries an allocation attempt, and an
 * extension type a call to whatever hook is registered. This reader builds nothing: it walks the
 * tokens through a bounded {@link Cursor}, skips binary payloads without reading them, keeps only
 * small summaries (keys, dtype names, shapes), charges every value to an item budget and nesting
 * to a depth budget, and reports every anomaly (a duplicate key, an unknown extension, a dtype
 * outside the numeric ones) instead of stopping at the first, through a capped `FindingList`.
 *
 * What it knows of Flax (from `flax.serialization`): the state dict is a nested map of string
 * keys; arrays are extension type 1 whose payload is itself msgpack, the array (shape, dtype name,
 * C-order data bytes); numpy scalars are type 3 with the same payload and an empty shape; Python
 * complex numbers are type 2 holding (real, imag). Arrays past Flax's chunk size are maps with the
 * key `__msgpack_chunked_array__` whose chunks are ndarray extensions. msgpack-numpy writes arrays
 * as maps with keys `nd`, `type`, `kind`, `shape`, `data`, and for kind `O` the data is a pickle.
 * @module
 */
import { charCodes } from "../../core/arrays.js";
import type { ByteSource } from "../../core/byte-source.js";
import { ModelgateError } from "../../core/errors.js";
import { type Evidence, FindingList, type RuleId } from "../../core/findings.js";
import { preview } from "../../core/preview.js";
import { Cursor } from "./cursor.js";
import { EXT_NDARRAY } from "./index.js";

export { isArrayHeader, isMapHeader, looksLikeFlaxMsgpack } from "./index.js";

/** Something the reader found. */
export interface MsgpackIssue {
  readonly ruleId: RuleId;
  readonly message: string;
  readonly offset?: number;
  readonly evidence?: Evidence;
}

/** A payload to analyse as a member (the data of an object array). */
export interface MsgpackPayload {
  /** Member name (the array's key path). */
  readonly name: string;
  readonly offset: number;
  readonly length: number;
  /** The loader unpickles it (msgpack-numpy kind `O`). */
  readonly pickled: boolean;
}

/** What a msgpack file holds. */
export interface MsgpackSummary {
  /** Arrays found (Flax ndarray and numpy scalar extensions, msgpack-numpy maps). */
  tensors: number;
  /** Elements of those arrays. */
  parameters: bigint;
  /** Dtype names of those arrays. */
  readonly dtypes: Set<string>;
  /** Values read. */
  items: number;
  /** Flax chunked arrays (`__msgpack_chunked_array__`). */
  chunkedArrays: number;
  /** Extension types seen, with counts. */
  readonly extensions: Map<number, number>;
  /** Payloads to analyse. */
  readonly payloads: MsgpackPayload[];
  /** Findings. */
  readonly issues: FindingList<MsgpackIssue>;
  /** End of the top-level object. */
  end: number;
}

/** Budgets of {@link readMsgpack}. */
export interface MsgpackOptions {
  /** Values read in all (default 2,000,000). */
  readonly maxItems?: number;
  /** Nesting of maps, arrays and extension payloads (default 64). */
  readonly maxDepth?: number;
  /** Object-array payloads kept for analysis (default 64). */
  readonly maxPayloads?: number;
  /** The first bytes, already read. */
  readonly head?: Uint8Array;
  /** Called every 65,536 values; may throw to stop. */
  readonly checkpoint?: () => void;
}

/** A reader error that names its rule. */
export class MsgpackError extends ModelgateError {
  readonly ruleId: RuleId;
  constructor(ruleId: RuleId, message: string, offset: number) {
    super(ruleId === "msgpack/length-out-of-bounds" ? "TRUNCATED" : "MALFORMED", message, { offset });
    this.ruleId = ruleId;
  }
}

/** Small summary of a value: what the analysis of maps and extensions needs, never payloads. */
type Value =
  | { readonly t: "nil" | "float" }
  | { readonly t: "bool"; readonly v: boolean }
  | { readonly t: "int"; readonly v: bigint }
  | { readonly t: "str"; readonly v: string | undefined; readonly offset: number; readonly length: number }
  | { readonly t: "bin"; readonly v: string | undefined; readonly offset: number; readonly length: number }
  | { readonly t: "ext"; readonly type: number; readonly offset: number; readonly length: number }
  | { readonly t: "array"; readonly count: number; readonly items: Value[] | undefined }
  | { readonly t: "map"; readonly count: number };

/** Strings longer than this are validated but not kept. */
const KEEP_STRING = 1024;
/** Arrays of at most this many elements keep their items' summaries (shapes, tuples). */
const KEEP_ITEMS = 64;
/** Extension types Flax registers (its ndarray's, `EXT_NDARRAY`, is the detector's), and msgpack's timestamp. */
const EXT_COMPLEX = 2;
const EXT_NPSCALAR = 3;
const EXT_TIMESTAMP = -1;

/**
 * Plain numeric dtype names (`numpy.dtype(...).name`, JAX's and ml_dtypes' names) and their
 * element sizes in bytes (4-bit and 2-bit types take a byte per element in numpy).
 */
export const NUMERIC_DTYPES: ReadonlyMap<string, number> = new Map([
  ["bool", 1],
  ["int8", 1],
  ["uint8", 1],
  ["int16", 2],
  ["uint16", 2],
  ["int32", 4],
  ["uint32", 4],
  ["int64", 8],
  ["uint64", 8],
  ["float16", 2],
  ["bfloat16", 2],
  ["float32", 4],
  ["float64", 8],
  ["float128", 16],
  ["complex64", 8],
  ["complex128", 16],
  ["complex256", 32],
  ["float8_e4m3fn", 1],
  ["float8_e4m3fnuz", 1],
  ["float8_e4m3b11fnuz", 1],
  ["float8_e5m2", 1],
  ["float8_e5m2fnuz", 1],
  ["float8_e3m4", 1],
  ["float8_e4m3", 1],
  ["float8_e8m0fnu", 1],
  ["float4_e2m1fn", 1],
  ["float6_e2m3fn", 1],
  ["float6_e3m2fn", 1],
  ["int4", 1],
  ["uint4", 1],
  ["int2", 1],
  ["uint2", 1],
]);

/** numpy's array-protocol strings of the numeric dtypes (`<f4`, `|u1` ...), as msgpack-numpy writes them. */
function protocolItemSize(name: string): number | undefined {
  const m = /^[<>|=]?([biufc])(\d{1,2})$/.exec(name);
  if (m === null) return name === "?" || name === "|b1" ? 1 : undefined;
  const size = Number(m[2]);
  const kind = m[1];
  const ok =
    (kind === "b" && size === 1) ||
    ((kind === "i" || kind === "u") && [1, 2, 4, 8].includes(size)) ||
    (kind === "f" && [2, 4, 8, 16].includes(size)) ||
    (kind === "c" && [8, 16, 32].includes(size));
  return ok ? size : undefined;
}

/** Whether a dtype name denotes Python objects (`object`, `O`, `|O8`, a record with an `O` field). */
export function isObjectDtype(name: string): boolean {
  return /object/i.test(name) || /(?:^|[^A-Za-z])O\d*(?![A-Za-z])/.test(name);
}

/**
 * Reads one msgpack object from `source` (the whole source: bytes after it are reported).
 * @param source - the file
 * @param options - budgets
 * @throws MsgpackError for malformed input; ModelgateError `BUDGET_EXCEEDED` past a budget
 */
export async function readMsgpack(source: ByteSource, options: MsgpackOptions = {}): Promise<MsgpackSummary> {
  const { summary, error } = await readMsgpackPartial(source, options);
  if (error !== undefined) throw error;
  return summary;
}

/**
 * Reads one msgpack object like {@link readMsgpack}, but keeps what was found before a grammar
 * break: `msgpack.unpackb` calls its `object_hook` (msgpack-numpy's `decode`, which unpickles
 * object arrays) on each map as it completes, so an object array read before the break has
 * already been unpickled when the loader raises.
 * @param source - the file
 * @param options - budgets
 * @returns the summary, and the error that ended the read early (a {@link MsgpackError}, or a
 *   `TRUNCATED`/`MALFORMED` ModelgateError); budgets, aborts and timeouts throw
 */
export async function readMsgpackPartial(
  source: ByteSource,
  options: MsgpackOptions = {},
): Promise<{ summary: MsgpackSummary; error?: ModelgateError }> {
  const reader = new Reader(source, options);
  const cursor = new Cursor(source, 0, source.size, options.head);
  try {
    await reader.value(cursor, 0, "");
  } catch (error) {
    if (
      error instanceof MsgpackError ||
      (error instanceof ModelgateError && ["TRUNCATED", "MALFORMED"].includes(error.code))
    ) {
      reader.summary.end = cursor.pos;
      return { summary: reader.summary, error: error as ModelgateError };
    }
    throw error;
  }
  reader.summary.end = cursor.pos;
  if (cursor.pos < source.size) {
    reader.summary.issues.add({
      ruleId: "msgpack/trailing-data",
      message: `${source.size - cursor.pos} bytes follow the top-level object (msgpack.unpackb raises ExtraData; msgpack.Unpacker reads them as further objects)`,
      offset: cursor.pos,
      evidence: { end: cursor.pos, trailingBytes: source.size - cursor.pos },
    });
    await readStream(reader, cursor, source.size);
  }
  return { summary: reader.summary };
}

/** Top-level objects read after the first (the item budget bounds them too). */
const MAX_STREAM_OBJECTS = 100_000;

/**
 * The objects after the first, as `msgpack.Unpacker` reads a stream: its `object_hook`
 * (msgpack-numpy's `decode`) runs on every map of every object, so each is read and checked like
 * the first. A grammar break ends the stream quietly (`unpackb` already raised at the first
 * object's end; the bytes from there are also scanned as they are), budgets still throw.
 */
async function readStream(reader: Reader, cursor: Cursor, size: number): Promise<void> {
  for (let n = 1; n <= MAX_STREAM_OBJECTS && cursor.pos < size; n++) {
    try {
      await reader.value(cursor, 0, `#${n}`);
    } catch (error) {
      if (
        error instanceof MsgpackError ||
        (error instanceof ModelgateError && ["TRUNCATED", "MALFORMED"].includes(error.code))
      )
        return;
      throw error;
    }
  }
}

class Reader {
  readonly summary: MsgpackSummary = {
    tensors: 0,
    parameters: 0n,
    dtypes: new Set(),
    items: 0,
    chunkedArrays: 0,
    extensions: new Map(),
    payloads: [],
    issues: new FindingList<MsgpackIssue>(),
    end: 0,
  };
  readonly #source: ByteSource;
  readonly #maxItems: number;
  readonly #maxDepth: number;
  readonly #maxPayloads: number;
  readonly #checkpoint: (() => void) | undefined;
  /** Extension payloads being read (0 or 1). */
  #inExtension = 0;

  constructor(source: ByteSource, options: MsgpackOptions) {
    this.#source = source;
    this.#maxItems = options.maxItems ?? 2_000_000;
    this.#maxDepth = options.maxDepth ?? 64;
    this.#maxPayloads = options.maxPayloads ?? 64;
    this.#checkpoint = options.checkpoint;
  }

  #issue(ruleId: RuleId, message: string, offset: number, evidence?: Evidence): void {
    this.summary.issues.add(
      evidence === undefined ? { ruleId, message, offset } : { ruleId, message, offset, evidence },
    );
  }

  /** Checks that `count` elements of at least `min` bytes each fit in what is left. */
  #fits(cursor: Cursor, count: number, min: number, what: string, at: number): void {
    if (count * min > cursor.remaining) {
      throw new MsgpackError(
        "msgpack/length-out-of-bounds",
        `${what} at offset ${at} declares ${count} ${min === 1 ? "bytes or elements" : "entries"}, ${cursor.remaining} bytes left`,
        at,
      );
    }
  }

  async value(cursor: Cursor, depth: number, path: string): Promise<Value> {
    const s = this.summary;
    if (++s.items > this.#maxItems) {
      throw new ModelgateError("BUDGET_EXCEEDED", `more than ${this.#maxItems} msgpack values`, {
        offset: cursor.pos,
        budget: "msgpackItems",
      });
    }
    if ((s.items & 0xffff) === 0) this.#checkpoint?.();
    const at = cursor.pos;
    await cursor.need(1);
    const b = cursor.u8();
    if (b <= 0x7f) return { t: "int", v: BigInt(b) };
    if (b >= 0xe0) return { t: "int", v: BigInt(b - 0x100) };
    if (b >= 0x80 && b <= 0x8f) return this.#map(cursor, b & 0x0f, depth, path, at);
    if (b >= 0x90 && b <= 0x9f) return this.#array(cursor, b & 0x0f, depth, path, at);
    if (b >= 0xa0 && b <= 0xbf) return this.#str(cursor, b & 0x1f, at);
    switch (b) {
      case 0xc0:
        return { t: "nil" };
      case 0xc2:
        return { t: "bool", v: false };
      case 0xc3:
        return { t: "bool", v: true };
      case 0xc4:
      case 0xc5:
      case 0xc6:
        return this.#bin(cursor, await this.#length(cursor, b - 0xc4), at);
      case 0xc7:
      case 0xc8:
      case 0xc9:
        return this.#ext(cursor, await this.#length(cursor, b - 0xc7), depth, path, at);
      case 0xca:
        await cursor.need(4);
        cursor.skip(4);
        return { t: "float" };
      case 0xcb:
        await cursor.need(8);
        cursor.skip(8);
        return { t: "float" };
      case 0xcc:
      case 0xcd:
      case 0xce:
        return { t: "int", v: BigInt(await this.#length(cursor, b - 0xcc)) };
      case 0xcf:
        await cursor.need(8);
        return { t: "int", v: cursor.u64be() };
      case 0xd0:
      case 0xd1:
      case 0xd2:
      case 0xd3: {
        const n = 1 << (b - 0xd0);
        await cursor.need(n);
        const bytes = cursor.bytes(n);
        let v = 0n;
        for (const x of bytes) v = (v << 8n) | BigInt(x);
        return { t: "int", v: BigInt.asIntN(n * 8, v) };
      }
      case 0xd4:
      case 0xd5:
      case 0xd6:
      case 0xd7:
      case 0xd8:
        return this.#ext(cursor, 1 << (b - 0xd4), depth, path, at);
      case 0xd9:
      case 0xda:
      case 0xdb:
        return this.#str(cursor, await this.#length(cursor, b - 0xd9), at);
      case 0xdc:
      case 0xdd:
        return this.#array(cursor, await this.#length(cursor, b - 0xdb), depth, path, at);
      case 0xde:
      case 0xdf:
        return this.#map(cursor, await this.#length(cursor, b - 0xdd), depth, path, at);
      default:
        throw new MsgpackError("msgpack/malformed", `reserved byte 0x${b.toString(16)} at offset ${at}`, at);
    }
  }

  /** A big-endian length of 1, 2 or 4 bytes (`size` 0, 1, 2). */
  async #length(cursor: Cursor, size: number): Promise<number> {
    if (size === 0) {
      await cursor.need(1);
      return cursor.u8();
    }
    if (size === 1) {
      await cursor.need(2);
      return cursor.u16be();
    }
    await cursor.need(4);
    return cursor.u32be();
  }

  #enter(depth: number, at: number): void {
    if (depth >= this.#maxDepth) {
      throw new ModelgateError("BUDGET_EXCEEDED", `msgpack nested deeper than ${this.#maxDepth} levels`, {
        offset: at,
        budget: "msgpackDepth",
      });
    }
  }

  async #str(cursor: Cursor, length: number, at: number): Promise<Value> {
    this.#fits(cursor, length, 1, "string", at);
    const offset = cursor.pos;
    const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
    let text = "";
    try {
      let left = length;
      while (left > 0) {
        const n = Math.min(left, 1 << 20);
        await cursor.need(n);
        const part = decoder.decode(cursor.bytes(n), { stream: left > n });
        if (text.length < KEEP_STRING) text += part.slice(0, KEEP_STRING);
        left -= n;
      }
      if (length === 0) decoder.decode();
    } catch (error) {
      if (error instanceof ModelgateError) throw error;
      throw new MsgpackError("msgpack/malformed", `string at offset ${at} is not UTF-8 (msgpack.unpackb raises)`, at);
    }
    return { t: "str", v: length <= KEEP_STRING ? text : undefined, offset, length };
  }

  async #bin(cursor: Cursor, length: number, at: number): Promise<Value> {
    this.#fits(cursor, length, 1, "binary", at);
    const offset = cursor.pos;
    let v: string | undefined;
    if (length <= 256) {
      await cursor.need(length);
      v = charCodes(cursor.bytes(length));
    } else cursor.skip(length);
    return { t: "bin", v, offset, length };
  }

  async #array(cursor: Cursor, count: number, depth: number, path: string, at: number): Promise<Value> {
    this.#fits(cursor, count, 1, "array", at);
    this.#enter(depth, at);
    const items: Value[] | undefined = count <= KEEP_ITEMS ? [] : undefined;
    for (let i = 0; i < count; i++) {
      const v = await this.value(cursor, depth + 1, `${path}[${i}]`);
      items?.push(v);
    }
    return { t: "array", count, items };
  }

  async #map(cursor: Cursor, count: number, depth: number, path: string, at: number): Promise<Value> {
    this.#fits(cursor, count, 2, "map", at);
    this.#enter(depth, at);
    const seen = new Set<string>();
    const special = new Map<string, Value>();
    for (let i = 0; i < count; i++) {
      const keyAt = cursor.pos;
      const key = await this.value(cursor, depth + 1, path);
      if (key.t !== "str" && key.t !== "bin") {
        throw new MsgpackError(
          "msgpack/malformed",
          `map key at offset ${keyAt} is ${key.t}, not a string (msgpack.unpackb's strict_map_key refuses it)`,
          keyAt,
        );
      }
      const name = key.v ?? `<${key.length}-byte key>`;
      const id = `${key.t}:${name}`;
      if (key.v !== undefined && seen.has(id)) {
        this.#issue(
          "msgpack/duplicate-key",
          `key ${JSON.stringify(preview(name))} repeated in ${path === "" ? "the top-level map" : preview(path)}`,
          keyAt,
          { key: preview(name), path: preview(path, 200) },
        );
      }
      seen.add(id);
      const value = await this.value(cursor, depth + 1, path === "" ? name : `${path}/${name}`);
      if (MSGPACK_NUMPY_KEYS.has(name)) special.set(name, value);
    }
    this.#checkMap(special, path, at);
    return { t: "map", count };
  }

  /** msgpack-numpy arrays and Flax chunked arrays, from the map's special keys. */
  #checkMap(special: ReadonlyMap<string, Value>, path: string, at: number): void {
    if (special.has("__msgpack_chunked_array__")) this.summary.chunkedArrays++;
    const nd = special.get("nd");
    const data = special.get("data");
    if (nd?.t !== "bool" || data === undefined) return;
    const kindValue = special.get("kind");
    const typeValue = special.get("type");
    const kind = kindValue?.t === "str" || kindValue?.t === "bin" ? kindValue.v : undefined;
    const type = typeValue?.t === "str" || typeValue?.t === "bin" ? typeValue.v : undefined;
    this.summary.tensors++;
    const name = path === "" ? "array" : path;
    if (kind === "O" || (type !== undefined && isObjectDtype(type))) {
      this.#issue(
        "msgpack/object-array",
        `${preview(name)}: msgpack-numpy object array (kind ${kind ?? "?"}): its data is unpickled on load`,
        at,
        { path: preview(name, 200), kind: kind ?? "", dtype: type ?? "" },
      );
      this.summary.dtypes.add("object");
      if (data.t === "bin" || data.t === "str") this.#payload(`${name}.pkl`, data.offset, data.length, true);
      return;
    }
    if (kind === "V" || type === undefined) {
      this.#issue("msgpack/unknown-dtype", `${preview(name)}: msgpack-numpy record or untyped array`, at, {
        path: preview(name, 200),
        kind: kind ?? "",
      });
      return;
    }
    const size = protocolItemSize(type);
    this.summary.dtypes.add(type.replace(/^[<>|=]/, ""));
    if (size === undefined) {
      this.#issue(
        "msgpack/unknown-dtype",
        `${preview(name)}: dtype ${JSON.stringify(preview(type))} is not numeric`,
        at,
        {
          path: preview(name, 200),
          dtype: preview(type),
        },
      );
    }
    const shape = special.get("shape");
    const dims = nd.v ? shapeOf(shape) : [];
    if (dims !== undefined) this.summary.parameters += dims.reduce((a, b) => a * b, 1n);
  }

  #payload(name: string, offset: number, length: number, pickled: boolean): void {
    if (this.summary.payloads.length < this.#maxPayloads) this.summary.payloads.push({ name, offset, length, pickled });
  }

  async #ext(cursor: Cursor, length: number, depth: number, path: string, at: number): Promise<Value> {
    await cursor.need(1);
    const type = (cursor.u8() << 24) >> 24;
    if (this.#inExtension > 0) {
      // Flax unpacks payloads with a plain unpackb: an extension there is no array, and nesting
      // them would make the reader read the same bytes once per level.
      throw new MsgpackError("msgpack/malformed", `extension inside an extension payload at offset ${at}`, at);
    }
    this.#fits(cursor, length, 1, "extension", at);
    const offset = cursor.pos;
    cursor.skip(length);
    const s = this.summary;
    s.extensions.set(type, (s.extensions.get(type) ?? 0) + 1);
    const where = path === "" ? "the top-level value" : preview(path);
    if (type === EXT_NDARRAY || type === EXT_NPSCALAR) {
      this.#enter(depth, at);
      this.#inExtension++;
      await this.#ndarray(new Cursor(this.#source, offset, offset + length), depth + 1, path, at);
      this.#inExtension--;
    } else if (type === EXT_COMPLEX) {
      this.#enter(depth, at);
      const inner = new Cursor(this.#source, offset, offset + length);
      this.#inExtension++;
      const v = await this.value(inner, depth + 1, path);
      this.#inExtension--;
      const ok = v.t === "array" && v.count === 2 && v.items?.every((x) => x.t === "float" || x.t === "int") === true;
      if (!ok || inner.pos !== inner.end) {
        throw new MsgpackError("msgpack/malformed", `${where}: complex extension is not (real, imag)`, at);
      }
    } else if (type !== EXT_TIMESTAMP || ![4, 8, 12].includes(length)) {
      this.#issue(
        "msgpack/unknown-extension",
        `${where}: extension type ${type} (${length} bytes) decodes to whatever the loader's ext_hook makes of it`,
        at,
        { path: preview(path, 200), type, length },
      );
    }
    return { t: "ext", type, offset, length };
  }

  /** A Flax ndarray payload: (shape, dtype name, data). */
  async #ndarray(inner: Cursor, depth: number, path: string, at: number): Promise<void> {
    const where = path === "" ? "the top-level value" : preview(path);
    const v = await this.value(inner, depth, path);
    const bad = (why: string): never => {
      throw new MsgpackError("msgpack/malformed", `${where}: ndarray extension ${why}`, at);
    };
    if (v.t !== "array" || v.count !== 3 || v.items === undefined) return bad("is not (shape, dtype, data)");
    if (inner.pos !== inner.end) bad(`has ${inner.end - inner.pos} bytes after its payload`);
    const [shapeValue, dtypeValue, dataValue] = v.items as [Value, Value, Value];
    const dtype = dtypeValue.t === "str" || dtypeValue.t === "bin" ? dtypeValue.v : undefined;
    if (dtype === undefined) return bad("has no dtype name");
    if (dataValue.t !== "bin") return bad("data is not binary");
    const shape = shapeOf(shapeValue);
    this.summary.tensors++;
    this.summary.dtypes.add(isObjectDtype(dtype) ? "object" : dtype);
    if (shape === undefined) {
      this.#issue("msgpack/tensor-size-mismatch", `${where}: shape is not a list of non-negative integers`, at, {
        path: preview(path, 200),
      });
      return;
    }
    const elements = shape.reduce((a, b) => a * b, 1n);
    this.summary.parameters += elements;
    const evidence = { path: preview(path, 200), dtype: preview(dtype), shape: `[${shape.join(", ")}]` };
    if (isObjectDtype(dtype)) {
      this.#issue("msgpack/object-array", `${where}: ndarray of dtype ${JSON.stringify(preview(dtype))}`, at, evidence);
      this.#payload(path === "" ? "array" : path, dataValue.offset, dataValue.length, false);
      return;
    }
    const size = NUMERIC_DTYPES.get(dtype);
    if (size === undefined) {
      this.#issue(
        "msgpack/unknown-dtype",
        `${where}: dtype ${JSON.stringify(preview(dtype))} is not numeric`,
        at,
        evidence,
      );
      return;
    }
    if (elements * BigInt(size) !== BigInt(dataValue.length)) {
      this.#issue(
        "msgpack/tensor-size-mismatch",
        `${where}: shape [${shape.join(", ")}] of ${dtype} needs ${elements * BigInt(size)} bytes, the data has ${dataValue.length}`,
        at,
        { ...evidence, bytes: dataValue.length },
      );
    }
  }
}

/** Keys of maps the reader looks into. */
const MSGPACK_NUMPY_KEYS = new Set(["nd", "type", "kind", "shape", "data", "__msgpack_chunked_array__"]);

/** A shape: a short array (or tuple) of non-negative integers. */
function shapeOf(v: Value | undefined): bigint[] | undefined {
  if (v?.t !== "array" || v.items === undefined) return undefined;
  const dims: bigint[] = [];
  for (const d of v.items) {
    if (d.t !== "int" || d.v < 0n) return undefined;
    dims.push(d.v);
  }
  return dims;
}
