/**
 * CatBoost's binary model (`save_model(..., format="cbm")`): the magic `CBM1`, a little-endian
 * `uint32` size of the model core, the core (a flatbuffer whose root table `TModelCore` has the
 * format version string as field 0, the trees as field 1, the info map, a vector of key/value
 * string tables, as field 2, and model part ids as field 3), then the model parts (CTR data) the
 * core lists. The flatbuffer is checked for bounds the way a verifier does (root offset, vtable,
 * the fields read); the trees are not decoded.
 * @module
 */
import { type ByteSource, readExact } from "../../core/byte-source.js";
import { ModelgateError } from "../../core/errors.js";

/** Largest core read. */
const MAX_CORE = 256 * 1024 * 1024;

/** What the model reveals. */
export interface CbmModel {
  readonly coreSize: number;
  readonly formatVersion: string | undefined;
  readonly info: Map<string, string>;
  readonly partIds: number;
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
export async function readCbm(source: ByteSource, options: { maxEntries: number }): Promise<CbmModel> {
  const head = await readExact(source, 0, 8);
  if (String.fromCharCode(...head.subarray(0, 4)) !== "CBM1")
    throw new ModelgateError("MALFORMED", "no CBM1 magic", { offset: 0 });
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
  if (fb.field(root, 1) === undefined) throw new ModelgateError("MALFORMED", "model core has no trees", { offset: 8 });
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
  return { coreSize, formatVersion, info, partIds };
}
