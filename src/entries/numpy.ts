/**
 * `modelgate/numpy`: the header of a `.npy` array (what `numpy.load` reads before the data): dtype,
 * shape, order, and whether the data is a pickle of Python objects.
 *
 * ```ts
 * import { readNpy } from "modelgate/numpy";
 * const npy = await readNpy("weights.npy");
 * if (npy.dtype.object) console.log("object array: loading it unpickles");
 * ```
 * @module
 */
import { readNpyHeader } from "../formats/numpy/npy.js";
import { type ReaderInput, type ReaderOptions, withInput } from "./input.js";

export type { ByteSource } from "../core/byte-source.js";
export type { ReaderInput, ReaderOptions } from "./input.js";

/** The element type of an array. */
export interface NpyDtypeView {
  /** The `descr` as written (a type string such as `<f4`, or `[...]` for a structured dtype). */
  readonly descr: string;
  /** Bytes per element. */
  readonly itemsize: number;
  /** Holds Python objects: the data is then a pickle, which `numpy.load(allow_pickle=True)` unpickles. */
  readonly object: boolean;
}

/** What {@link readNpy} found. */
export interface NpyView {
  /** Format version (`[1, 0]`, `[2, 0]` or `[3, 0]`). */
  readonly version: readonly [number, number];
  /** Element type. */
  readonly dtype: NpyDtypeView;
  /** Array shape. */
  readonly shape: readonly number[];
  /** Fortran (column-major) order. */
  readonly fortranOrder: boolean;
  /** File offset of the array data. */
  readonly dataOffset: number;
  /** Bytes of array data; absent for object arrays (a pickle of unknown length). */
  readonly dataBytes?: number | undefined;
  /** The header is longer than numpy's default `max_header_size` (10,000 bytes), which numpy refuses. */
  readonly largeHeader: boolean;
}

/**
 * Reads and validates the header of a `.npy` file.
 * @param input - the file
 * @param options - signal and read budget
 * @throws ModelgateError `MALFORMED` or `TRUNCATED` for a header numpy would not read, `BUDGET_EXCEEDED` past a budget
 */
export async function readNpy(input: ReaderInput, options: ReaderOptions = {}): Promise<NpyView> {
  const h = await withInput(input, options, (source) => readNpyHeader(source));
  return {
    version: [h.version[0], h.version[1]],
    dtype: { descr: h.dtype.str, itemsize: h.dtype.itemsize, object: h.dtype.object },
    shape: [...h.shape],
    fortranOrder: h.fortranOrder,
    dataOffset: h.dataOffset,
    ...(h.dataBytes === undefined ? {} : { dataBytes: h.dataBytes }),
    largeHeader: h.largeHeader,
  };
}

/** Completes `RuleId`, `Format` and `PolicyOptions` in the declaration files (see `registries.ts`). */
export type * from "./registries.js";
