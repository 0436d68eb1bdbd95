/**
 * CatBoost's binary model (`save_model(..., format="cbm")`): the magic `CBM1`, a little-endian
 * `uint32` size of the model core, the core (a flatbuffer whose root table `TModelCore` has the
 * format version string as field 0, the trees as field 1, the info map, a vector of key/value
 * string tables, as field 2, and model part ids as field 3), then the model parts (CTR data) the
 * core lists. The flatbuffer is checked for bounds the way a verifier does (root offset, vtable,
 * the fields read).
 *
 * The trees (`TModelTrees`, facts from CatBoost's public `model.fbs`/`features.fbs`): field 0
 * `ApproxDimension` (int), 1 `TreeSplits` ([int], one per level of an oblivious tree, one per node
 * of a non-symmetric one), 2 `TreeSizes` ([int], one per tree), 3 `TreeStartOffsets` ([int]),
 * 4 `CatFeatures`, 5 `FloatFeatures`, 6 `OneHotFeatures`, 7 `CtrFeatures` (vectors of tables),
 * 8 `LeafValues` ([double]), 9 `LeafWeights` ([double]), 10 `NonSymmetricStepNodes` ([struct of two
 * uint16]), 11 `NonSymmetricNodeIdToLeafId` ([uint32]), 12 `TextFeatures`, 13 `EstimatedFeatures`.
 * They are decoded as counts and checked for consistency: tree sizes add up to the splits, start
 * offsets are their running sums, an oblivious tree has 2^depth leaves per dimension.
 * @module
 */
import { charCodes } from "../../core/arrays.js";
import { type ByteSource, readExact } from "../../core/byte-source.js";
import { ModelgateError } from "../../core/errors.js";

/** Largest core read. */
const MAX_CORE = 256 * 1024 * 1024;
/** Most trees in one model. */
export const MAX_TREES = 1_000_000;
/** Deepest oblivious tree CatBoost trains (`depth` is at most 16). */
export const MAX_OBLIVIOUS_DEPTH = 16;
/** Largest `ApproxDimension` (classes of a multiclass model). */
export const MAX_APPROX_DIMENSION = 100_000;

/** What the trees table holds, as counts. */
export interface CbmTrees {
  readonly treeCount: number;
  readonly approxDimension: number;
  readonly splits: number;
  readonly leafValues: number;
  readonly leafWeights: number;
  /** Whether the trees are non-symmetric (step nodes present) rather than oblivious. */
  readonly nonSymmetric: boolean;
  /** Deepest oblivious tree (0 for non-symmetric models). */
  readonly maxDepth: number;
  readonly floatFeatures: number;
  readonly catFeatures: number;
  readonly oneHotFeatures: number;
  readonly ctrFeatures: number;
  readonly textFeatures: number;
  readonly estimatedFeatures: number;
}

/** What the model reveals. */
export interface CbmModel {
  readonly coreSize: number;
  readonly formatVersion: string | undefined;
  readonly info: Map<string, string>;
  readonly partIds: number;
  readonly trees: CbmTrees;
}

/** Bounds-checked reads of a flatbuffer. */
class Flat {
  readonly #view: DataView;
  readonly #bytes: Uint8Array;
  readonly #base: number;
  constructor(bytes: Uint8Array, base: number) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#base = base;
  }
  #check(at: number, n: number, what: string): void {
    if (!Number.isSafeInteger(at) || at < 0 || at + n > this.#bytes.length) {
      throw new ModelgateError("MALFORMED", `flatbuffer ${what} at ${at} outside the ${this.#bytes.length}-byte core`, {
        offset: this.#base + Math.max(0, Math.min(at, this.#bytes.length)),
      });
    }
  }
  u32(at: number, what: string): number {
    this.#check(at, 4, what);
    return this.#view.getUint32(at, true);
  }
  i32(at: number, what: string): number {
    this.#check(at, 4, what);
    return this.#view.getInt32(at, true);
  }
  /** Field `i` of the table at `table`: absolute position of its value, or undefined when absent. */
  field(table: number, i: number): number | undefined {
    this.#check(table, 4, "table");
    const vtable = table - this.#view.getInt32(table, true);
    this.#check(vtable, 4, "vtable");
    const vsize = this.#view.getUint16(vtable, true);
    const tsize = this.#view.getUint16(vtable + 2, true);
    if (vsize < 4 || vsize % 2 !== 0)
      throw new ModelgateError("MALFORMED", `vtable of ${vsize} bytes`, { offset: this.#base + vtable });
    this.#check(vtable, vsize, "vtable");
    this.#check(table, tsize, "table");
    if (4 + 2 * i + 2 > vsize) return undefined;
    const off = this.#view.getUint16(vtable + 4 + 2 * i, true);
    if (off === 0) return undefined;
    if (off + 4 > tsize)
      throw new ModelgateError("MALFORMED", `field ${i} outside its table`, { offset: this.#base + table });
    return table + off;
  }
  /** The target of an offset stored at `at`. */
  deref(at: number, what: string): number {
    return at + this.u32(at, what);
  }
  /** A string at `at` (its length prefix). */
  string(at: number, max = 4096): string {
    const n = this.u32(at, "string length");
    this.#check(at + 4, n, "string");
    return new TextDecoder("utf-8").decode(this.#bytes.subarray(at + 4, at + 4 + Math.min(n, max)));
  }
  /** Element count of a vector at `at`, checked against `elementSize`. */
  vector(at: number, elementSize: number): number {
    const n = this.u32(at, "vector length");
    this.#check(at + 4, n * elementSize, "vector");
    return n;
  }
}

/** Reads the `.cbm` envelope and core. */
export async function readCbm(
  source: ByteSource,
  options: { maxEntries: number; checkpoint?: () => void },
): Promise<CbmModel> {
  const checkpoint = options.checkpoint ?? (() => undefined);
  const head = await readExact(source, 0, 8);
  if (charCodes(head.subarray(0, 4)) !== "CBM1") throw new ModelgateError("MALFORMED", "no CBM1 magic", { offset: 0 });
  const coreSize = new DataView(head.buffer, head.byteOffset, 8).getUint32(4, true);
  if (coreSize < 8 || coreSize > source.size - 8) {
    throw new ModelgateError("MALFORMED", `model core of ${coreSize} bytes in a ${source.size}-byte file`, {
      offset: 4,
    });
  }
  if (coreSize > MAX_CORE) {
    throw new ModelgateError("BUDGET_EXCEEDED", `model core of ${coreSize} bytes`, {
      offset: 4,
      budget: "catboostCore",
    });
  }
  const core = await readExact(source, 8, coreSize);
  const fb = new Flat(core, 8);
  const root = fb.deref(0, "root offset");
  const versionAt = fb.field(root, 0);
  const formatVersion = versionAt === undefined ? undefined : fb.string(fb.deref(versionAt, "format version"), 200);
  const treesAt = fb.field(root, 1);
  if (treesAt === undefined) throw new ModelgateError("MALFORMED", "model core has no trees", { offset: 8 });
  const trees = readTrees(fb, fb.deref(treesAt, "trees"), checkpoint);
  const info = new Map<string, string>();
  const infoAt = fb.field(root, 2);
  if (infoAt !== undefined) {
    const vec = fb.deref(infoAt, "info map");
    const n = fb.vector(vec, 4);
    if (n > options.maxEntries)
      throw new ModelgateError("BUDGET_EXCEEDED", `${n} info entries`, { budget: "maxEntries" });
    for (let i = 0; i < n; i++) {
      const entry = fb.deref(vec + 4 + 4 * i, "info entry");
      const k = fb.field(entry, 0);
      const v = fb.field(entry, 1);
      if (k === undefined) throw new ModelgateError("MALFORMED", `info entry ${i} has no key`, { offset: 8 + entry });
      info.set(fb.string(fb.deref(k, "key"), 200), v === undefined ? "" : fb.string(fb.deref(v, "value"), 200));
    }
  }
  const partsAt = fb.field(root, 3);
  const partIds = partsAt === undefined ? 0 : fb.vector(fb.deref(partsAt, "model parts"), 4);
  return { coreSize, formatVersion, info, partIds, trees };
}

/** Loops call the checkpoint (deadline, abort) once per this many + 1 iterations. */
const CHECK_EVERY = (1 << 18) - 1;

/** Reads and checks the `TModelTrees` table at `table`. */
function readTrees(fb: Flat, table: number, checkpoint: () => void): CbmTrees {
  const bad = (message: string) => new ModelgateError("MALFORMED", message, { offset: 8 + table });
  /** A vector field: [position of its first element, length], or [0, 0] when absent. */
  const vec = (i: number, elementSize: number, what: string): [number, number] => {
    const at = fb.field(table, i);
    if (at === undefined) return [0, 0];
    const start = fb.deref(at, what);
    return [start + 4, fb.vector(start, elementSize)];
  };
  const dimAt = fb.field(table, 0);
  const approxDimension = dimAt === undefined ? 0 : fb.i32(dimAt, "approx dimension");
  const [splitsAt, splits] = vec(1, 4, "tree splits");
  const [sizesAt, treeCount] = vec(2, 4, "tree sizes");
  const [startsAt, starts] = vec(3, 4, "tree start offsets");
  const [, catFeatures] = vec(4, 4, "categorical features");
  const [, floatFeatures] = vec(5, 4, "float features");
  const [, oneHotFeatures] = vec(6, 4, "one-hot features");
  const [, ctrFeatures] = vec(7, 4, "CTR features");
  const [, leafValues] = vec(8, 8, "leaf values");
  const [, leafWeights] = vec(9, 8, "leaf weights");
  const [, stepNodes] = vec(10, 4, "non-symmetric step nodes");
  const [, nodeToLeaf] = vec(11, 4, "non-symmetric node-to-leaf map");
  const [, textFeatures] = vec(12, 4, "text features");
  const [, estimatedFeatures] = vec(13, 4, "estimated features");
  if (treeCount > MAX_TREES) {
    throw new ModelgateError("BUDGET_EXCEEDED", `${treeCount} trees (budget ${MAX_TREES})`, {
      offset: 8 + table,
      budget: "catboost.maxTrees",
    });
  }
  const nonSymmetric = stepNodes > 0;
  if (treeCount > 0 && (approxDimension < 1 || approxDimension > MAX_APPROX_DIMENSION)) {
    throw bad(`approx dimension ${approxDimension} (1 to ${MAX_APPROX_DIMENSION})`);
  }
  if (starts !== 0 && starts !== treeCount) throw bad(`${starts} tree start offsets for ${treeCount} trees`);
  let total = 0;
  let leaves = 0;
  let maxDepth = 0;
  for (let t = 0; t < treeCount; t++) {
    if ((t & CHECK_EVERY) === CHECK_EVERY) checkpoint();
    const size = fb.i32(sizesAt + 4 * t, "tree size");
    if (size < 0) throw bad(`tree ${t} has size ${size}`);
    if (starts !== 0 && fb.i32(startsAt + 4 * t, "tree start offset") !== total) {
      throw bad(`tree ${t} starts at split ${fb.i32(startsAt + 4 * t, "tree start offset")}, not ${total}`);
    }
    if (!nonSymmetric) {
      if (size > MAX_OBLIVIOUS_DEPTH)
        throw bad(`oblivious tree ${t} of depth ${size} (at most ${MAX_OBLIVIOUS_DEPTH})`);
      maxDepth = Math.max(maxDepth, size);
      leaves += 2 ** size;
    }
    total += size;
  }
  if (total !== splits) throw bad(`tree sizes add up to ${total} splits, the model has ${splits}`);
  for (let i = 0; i < splits; i++) {
    // up to tens of millions of splits in a core of 256 MiB: the scan's deadline is checked
    if ((i & CHECK_EVERY) === CHECK_EVERY) checkpoint();
    if (fb.i32(splitsAt + 4 * i, "tree split") < 0) throw bad(`tree split ${i} is negative`);
  }
  if (!nonSymmetric && treeCount > 0 && leafValues !== leaves * approxDimension) {
    throw bad(`${leafValues} leaf values for ${leaves} leaves of dimension ${approxDimension}`);
  }
  if (!nonSymmetric && leafWeights !== 0 && leafWeights !== leaves) {
    throw bad(`${leafWeights} leaf weights for ${leaves} leaves`);
  }
  if (nonSymmetric && nodeToLeaf !== 0 && nodeToLeaf !== stepNodes) {
    throw bad(`${nodeToLeaf} leaf ids for ${stepNodes} step nodes`);
  }
  return {
    treeCount,
    approxDimension,
    splits,
    leafValues,
    leafWeights,
    nonSymmetric,
    maxDepth,
    floatFeatures,
    catFeatures,
    oneHotFeatures,
    ctrFeatures,
    textFeatures,
    estimatedFeatures,
  };
}
