/**
 * MXNet's NDArray list (`mx.nd.save`, Gluon `save_parameters`, `*-0000.params`): a little-endian
 * `uint64` magic 0x112 and a reserved `uint64`, the arrays as a `uint64` count then each array,
 * and the names as a `uint64` count then `uint64`-length strings (no names, or one per array).
 *
 * Each array starts with a `uint32` magic: 0xF993FAC9 (V2, with storage type) or 0xF993FACA (V3,
 * NumPy shape semantics: ndim -1 is "unknown", 0 a scalar) then an `int32` storage type (0 dense,
 * 1 row-sparse with one auxiliary array, 2 CSR with two) and for sparse arrays the storage shape;
 * 0xF993FAC8 (V1) has no storage type; any other value is the `uint32` ndim of the oldest layout,
 * whose dimensions are `uint32`. Shapes are an `int32` ndim then `int64` dimensions. An empty
 * array ends there; otherwise the context (`int32` device type and id), the `int32` mshadow type
 * flag, each auxiliary array's type flag and shape, then the raw data and auxiliary data.
 * @module
 */
import type { ByteSource } from "../../core/byte-source.js";
import { ModelgateError } from "../../core/errors.js";
import { Cursor, lengthWithin } from "../msgpack/cursor.js";

/** mshadow type flags: name and element size. */
export const MXNET_DTYPES: ReadonlyMap<number, readonly [string, number]> = new Map([
  [0, ["float32", 4]],
  [1, ["float64", 8]],
  [2, ["float16", 2]],
  [3, ["uint8", 1]],
  [4, ["int32", 4]],
  [5, ["int8", 1]],
  [6, ["int64", 8]],
  [7, ["bool", 1]],
  [8, ["int16", 2]],
  [9, ["uint16", 2]],
  [10, ["uint32", 4]],
  [11, ["uint64", 8]],
  [12, ["bfloat16", 2]],
]);

const V1 = 0xf993fac8;
const V2 = 0xf993fac9;
const V3 = 0xf993faca;
const MAX_NDIM = 32;

/** What an NDArray list holds. */
export interface NdarrayList {
  arrays: number;
  parameters: bigint;
  readonly dtypes: Set<string>;
  readonly sparse: number;
  names: number;
  /** Where the list ends. */
  end: number;
}

/**
 * Reads an NDArray list, skipping the data.
 * @throws ModelgateError `MALFORMED`/`TRUNCATED` for a malformed list, `BUDGET_EXCEEDED` past `maxArrays`
 */
export async function readNdarrayList(
  source: ByteSource,
  options: { maxArrays: number; head?: Uint8Array; checkpoint?: () => void },
): Promise<NdarrayList> {
  const c = new Cursor(source, 0, source.size, options.head);
  const bad = (message: string): ModelgateError => new ModelgateError("MALFORMED", message, { offset: c.pos });
  await c.need(24);
  if (c.u64le() !== 0x112n || c.u64le() !== 0n) throw bad("not an NDArray list (magic 0x112, reserved 0)");
  const count = c.u64le();
  if (count > BigInt(options.maxArrays)) {
    throw new ModelgateError("BUDGET_EXCEEDED", `${count} arrays declared`, { offset: 16, budget: "maxEntries" });
  }
  if (count * 4n > BigInt(c.remaining)) throw bad(`${count} arrays declared in ${c.remaining} bytes`);
  const out: NdarrayList = { arrays: Number(count), parameters: 0n, dtypes: new Set(), sparse: 0, names: 0, end: 0 };
  const shape = async (legacy: boolean): Promise<bigint[] | undefined> => {
    await c.need(4);
    const ndim = c.i32le();
    if (ndim === -1) return undefined;
    if (ndim < 0 || ndim > MAX_NDIM) throw bad(`shape with ${ndim} dimensions`);
    const size = legacy ? 4 : 8;
    await c.need(ndim * size);
    const dims: bigint[] = [];
    for (let i = 0; i < ndim; i++) {
      const d = legacy ? BigInt(c.u32le()) : c.i64le();
      if (d < 0n) throw bad(`negative dimension ${d}`);
      dims.push(d);
    }
    return dims;
  };
  const elements = (dims: bigint[]): bigint => dims.reduce((a, b) => a * b, 1n);
  for (let i = 0; i < out.arrays; i++) {
    options.checkpoint?.();
    await c.need(4);
    const magic = c.u32le();
    let stype = 0;
    let legacyDims: bigint[] | undefined;
    if (magic === V2 || magic === V3) {
      await c.need(4);
      stype = c.i32le();
      if (stype < 0 || stype > 2) throw bad(`array ${i}: storage type ${stype}`);
    } else if (magic !== V1) {
      // The oldest layout: this word is ndim, dimensions are uint32.
      if (magic > MAX_NDIM) throw bad(`array ${i}: unknown NDArray magic 0x${magic.toString(16)}`);
      await c.need(magic * 4);
      legacyDims = [];
      for (let k = 0; k < magic; k++) legacyDims.push(BigInt(c.u32le()));
    }
    const aux = stype === 1 ? 1 : stype === 2 ? 2 : 0;
    const storage = aux > 0 ? await shape(false) : undefined;
    const dims = legacyDims ?? (await shape(false));
    if (dims === undefined || (dims.length === 0 && magic !== V3)) continue; // an empty array
    await c.need(12);
    c.skip(8); // context
    const flag = c.i32le();
    const dtype = MXNET_DTYPES.get(flag);
    if (dtype === undefined) throw bad(`array ${i}: unknown type flag ${flag}`);
    const auxBytes: bigint[] = [];
    for (let k = 0; k < aux; k++) {
      await c.need(4);
      const auxType = MXNET_DTYPES.get(c.i32le());
      const auxShape = await shape(false);
      if (auxType === undefined || auxShape === undefined) throw bad(`array ${i}: bad auxiliary array ${k}`);
      auxBytes.push(elements(auxShape) * BigInt(auxType[1]));
    }
    const n = elements(dims);
    out.parameters += n;
    out.dtypes.add(dtype[0]);
    if (aux > 0) (out as { sparse: number }).sparse++;
    const stored = storage === undefined ? n : elements(storage);
    c.skip(lengthWithin(stored * BigInt(dtype[1]), c, `array ${i} data`));
    for (const b of auxBytes) c.skip(lengthWithin(b, c, `array ${i} auxiliary data`));
  }
  await c.need(8);
  const names = c.u64le();
  if (names !== 0n && names !== count) throw bad(`${names} names for ${count} arrays`);
  if (names * 8n > BigInt(c.remaining)) throw bad(`${names} names declared in ${c.remaining} bytes`);
  for (let i = 0n; i < names; i++) {
    await c.need(8);
    c.skip(lengthWithin(c.u64le(), c, "name"));
  }
  out.names = Number(names);
  out.end = c.pos;
  return out;
}
