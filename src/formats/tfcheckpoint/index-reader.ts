/**
 * TensorFlow checkpoint indexes (`model.ckpt.index`, `variables/variables.index`): a LevelDB-format
 * table. The last 48 bytes are the footer: the metaindex and index block handles (two varint64
 * each: offset, size), padding, and the magic 0xdb4775248b80fb57 (fixed64, little-endian). Every
 * block is followed by a 5-byte trailer (compression type, masked CRC32C); a block is prefix-
 * compressed entries (varint32 shared key bytes, unshared key bytes, value length; key suffix;
 * value) then the restart offsets (fixed32 each) and their count (fixed32). The index block maps
 * each data block's last key to its handle. TensorFlow's entries: the empty key holds the
 * BundleHeaderProto (`num_shards` = 1, `endianness` = 2, `version` = 3); every other key is a
 * tensor name holding a BundleEntryProto (`dtype` = 1, `shape` = 2 as TensorShapeProto with
 * `dim` = 2 of `size` = 1, `shard_id` = 3, `offset` = 4, `size` = 5, `crc32c` = 6, `slices` = 7).
 * The tensors themselves are in the `.data-NNNNN-of-NNNNN` shards.
 * @module
 */
import { type ByteSource, readExact } from "../../core/byte-source.js";
import { ModelgateError } from "../../core/errors.js";
import { TABLE_MAGIC } from "./index.js";

const FOOTER = 48;
/** Largest block read. */
const MAX_BLOCK = 64 * 1024 * 1024;

/** TensorFlow DataType enum values and names. */
const DTYPES: ReadonlyMap<number, [string, number]> = new Map([
  [1, ["float32", 4]],
  [2, ["float64", 8]],
  [3, ["int32", 4]],
  [4, ["uint8", 1]],
  [5, ["int16", 2]],
  [6, ["int8", 1]],
  [7, ["string", 0]],
  [8, ["complex64", 8]],
  [9, ["int64", 8]],
  [10, ["bool", 1]],
  [14, ["bfloat16", 2]],
  [17, ["uint16", 2]],
  [18, ["complex128", 16]],
  [19, ["float16", 2]],
  [20, ["resource", 0]],
  [21, ["variant", 0]],
  [22, ["uint32", 4]],
  [23, ["uint64", 8]],
]);

/** What the index lists. */
export interface CheckpointIndex {
  tensors: number;
  parameters: bigint;
  readonly dtypes: Set<string>;
  shards: number | undefined;
  /** Blocks stored compressed (Snappy): their entries were not read. */
  compressedBlocks: number;
  /** Bytes of tensor data the entries claim (sum of their `size`). */
  tensorBytes: number;
  /** Per shard id: how far into the shard its entries reach, and the entry reaching furthest. */
  readonly shardExtents: Map<number, ShardExtent>;
}

/** How far into one data shard the entries of an index reach. */
export interface ShardExtent {
  /** Largest `offset + size` of the shard's entries. */
  end: number;
  /** The entry with that end. */
  name: string;
  /** Entries stored in the shard. */
  entries: number;
}

const bad = (message: string, offset?: number): ModelgateError =>
  new ModelgateError("MALFORMED", message, offset === undefined ? {} : { offset });

/** A varint (up to 64 bits, as a number: values past 2^53 are refused). */
function varint(b: Uint8Array, at: number, what: string): [number, number] {
  let v = 0;
  let scale = 1;
  for (let i = at; i < b.length && i < at + 10; i++) {
    const x = b[i]!;
    v += (x & 0x7f) * scale;
    if (v > Number.MAX_SAFE_INTEGER) throw bad(`${what}: varint too large`);
    scale *= 128;
    if ((x & 0x80) === 0) return [v, i + 1];
  }
  throw bad(`${what}: bad varint`);
}

/** Protobuf fields of a message: number → list of [wire type, value or [start, end]]. */
function fields(b: Uint8Array, what: string): Map<number, Array<number | [number, number]>> {
  const out = new Map<number, Array<number | [number, number]>>();
  let at = 0;
  while (at < b.length) {
    const [key, next] = varint(b, at, what);
    const field = Math.floor(key / 8);
    const wire = key % 8;
    let value: number | [number, number];
    if (wire === 0) [value, at] = varint(b, next, what);
    else if (wire === 2) {
      const [n, start] = varint(b, next, what);
      if (start + n > b.length) throw bad(`${what}: field ${field} runs past its message`);
      value = [start, start + n];
      at = start + n;
    } else if (wire === 5) {
      if (next + 4 > b.length) throw bad(`${what}: truncated fixed32`);
      value = 0;
      at = next + 4;
    } else if (wire === 1) {
      if (next + 8 > b.length) throw bad(`${what}: truncated fixed64`);
      value = 0;
      at = next + 8;
    } else throw bad(`${what}: wire type ${wire}`);
    if (field < 1) throw bad(`${what}: field number ${field}`);
    const list = out.get(field) ?? [];
    list.push(value);
    out.set(field, list);
  }
  return out;
}

/** Reads a block and its trailer; undefined for a compressed block. */
async function block(source: ByteSource, offset: number, size: number, what: string): Promise<Uint8Array | undefined> {
  if (size > MAX_BLOCK)
    throw new ModelgateError("BUDGET_EXCEEDED", `${what} of ${size} bytes`, { offset, budget: "tfBlock" });
  if (offset + size + 5 > source.size - FOOTER) throw bad(`${what} (${offset}+${size}) runs into the footer`, offset);
  const bytes = await readExact(source, offset, size + 5);
  const type = bytes[size];
  if (type === 1) return undefined;
  if (type !== 0) throw bad(`${what}: compression type ${type}`, offset + size);
  return bytes.subarray(0, size);
}

/** Entries of a block: [key, value] with prefix compression undone. */
function* entries(b: Uint8Array, what: string, maxKey: number): Generator<[Uint8Array, Uint8Array]> {
  if (b.length < 4) throw bad(`${what}: shorter than its restart count`);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const restarts = view.getUint32(b.length - 4, true);
  if (restarts < 1 || restarts * 4 + 4 > b.length)
    throw bad(`${what}: ${restarts} restart points in ${b.length} bytes`);
  const end = b.length - 4 - restarts * 4;
  for (let r = 0; r < restarts; r++) {
    if (view.getUint32(end + r * 4, true) >= Math.max(end, 1)) throw bad(`${what}: restart point outside the entries`);
  }
  let key = new Uint8Array(0);
  let at = 0;
  while (at < end) {
    const [shared, a] = varint(b, at, what);
    const [unshared, c] = varint(b, a, what);
    const [valueLength, d] = varint(b, c, what);
    if (shared > key.length || d + unshared + valueLength > end || shared + unshared > maxKey) {
      throw bad(`${what}: entry at ${at} runs outside its block`);
    }
    const next = new Uint8Array(shared + unshared);
    next.set(key.subarray(0, shared));
    next.set(b.subarray(d, d + unshared), shared);
    key = next;
    yield [key, b.subarray(d + unshared, d + unshared + valueLength)];
    at = d + unshared + valueLength;
  }
}

function compare(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/**
 * Reads a checkpoint index.
 * @throws ModelgateError `MALFORMED`/`TRUNCATED`, `BUDGET_EXCEEDED` past `maxEntries`
 */
export async function readCheckpointIndex(
  source: ByteSource,
  options: { maxEntries: number; checkpoint?: () => void },
): Promise<CheckpointIndex> {
  if (source.size < FOOTER) throw bad(`${source.size} bytes: shorter than a table footer`, 0);
  const footer = await readExact(source, source.size - FOOTER, FOOTER);
  if (!TABLE_MAGIC.every((b, i) => footer[40 + i] === b)) throw bad("no table magic", source.size - 8);
  let at = 0;
  const handle = (): [number, number] => {
    const [offset, a] = varint(footer, at, "footer");
    const [size, b] = varint(footer, a, "footer");
    if (b > 40) throw bad("footer handles overflow the footer", source.size - FOOTER);
    at = b;
    return [offset, size];
  };
  handle(); // metaindex
  const [indexOffset, indexSize] = handle();
  const index = await block(source, indexOffset, indexSize, "index block");
  const out: CheckpointIndex = {
    tensors: 0,
    parameters: 0n,
    dtypes: new Set(),
    shards: undefined,
    compressedBlocks: 0,
    tensorBytes: 0,
    shardExtents: new Map(),
  };
  if (index === undefined) {
    out.compressedBlocks++;
    return out;
  }
  let previous: Uint8Array | undefined;
  let count = 0;
  const shardChecks: Array<[number, string]> = [];
  // Data blocks follow each other without overlapping: each byte of the file is read at most once.
  let blocksEnd = 0;
  for (const [, value] of entries(index, "index block", 1 << 16)) {
    options.checkpoint?.();
    const [offset, a] = varint(value, 0, "block handle");
    const [size] = varint(value, a, "block handle");
    if (offset < blocksEnd)
      throw bad(`data block at ${offset} overlaps the previous one (ending at ${blocksEnd})`, offset);
    blocksEnd = offset + size + 5;
    const data = await block(source, offset, size, `data block at ${offset}`);
    if (data === undefined) {
      out.compressedBlocks++;
      continue;
    }
    for (const [key, v] of entries(data, `data block at ${offset}`, 1 << 16)) {
      if (++count > options.maxEntries) {
        throw new ModelgateError("BUDGET_EXCEEDED", `more than ${options.maxEntries} entries`, {
          budget: "maxEntries",
        });
      }
      if (previous !== undefined && compare(previous, key) >= 0) throw bad("keys out of order", offset);
      previous = key;
      const msg = fields(v, key.length === 0 ? "bundle header" : "bundle entry");
      if (key.length === 0) {
        const shards = msg.get(1)?.[0];
        if (typeof shards !== "number" || shards < 1) throw bad("bundle header without num_shards", offset);
        out.shards = shards;
        continue;
      }
      const name = new TextDecoder().decode(key.subarray(0, 80));
      out.tensors++;
      const dtype = msg.get(1)?.[0];
      const info = typeof dtype === "number" ? DTYPES.get(dtype) : undefined;
      out.dtypes.add(info?.[0] ?? `dtype ${String(dtype)}`);
      const shape = msg.get(2)?.[0];
      let elements = 1n;
      if (Array.isArray(shape)) {
        const shapeBytes = v.subarray(shape[0], shape[1]);
        for (const dim of fields(shapeBytes, "tensor shape").get(2) ?? []) {
          if (!Array.isArray(dim)) throw bad(`${name}: bad dimension`, offset);
          const size = fields(shapeBytes.subarray(dim[0], dim[1]), "dimension").get(1)?.[0];
          elements *= BigInt(typeof size === "number" ? size : 0);
        }
      }
      out.parameters += elements;
      const shard = msg.get(3)?.[0];
      shardChecks.push([typeof shard === "number" ? shard : 0, name]);
      const bytes = msg.get(5)?.[0];
      const start = msg.get(4)?.[0];
      if (Array.isArray(start) || Array.isArray(bytes)) throw bad(`${name}: offset or size is not an integer`, offset);
      const end = (start ?? 0) + (bytes ?? 0);
      if (!Number.isSafeInteger(end)) throw bad(`${name}: offset + size beyond 2^53`, offset);
      out.tensorBytes += bytes ?? 0;
      const shardId = typeof shard === "number" ? shard : 0;
      const extent = out.shardExtents.get(shardId);
      if (extent === undefined) out.shardExtents.set(shardId, { end, name, entries: 1 });
      else {
        extent.entries++;
        if (end > extent.end) {
          extent.end = end;
          extent.name = name;
        }
      }
      if (
        info !== undefined &&
        info[1] > 0 &&
        typeof bytes === "number" &&
        BigInt(bytes) !== elements * BigInt(info[1]) &&
        msg.get(7) === undefined
      ) {
        throw bad(`${name}: ${bytes} bytes for ${elements} ${info[0]} elements`, offset);
      }
    }
  }
  if (out.shards === undefined && out.compressedBlocks === 0) throw bad("no bundle header (empty key)", 0);
  for (const [shard, name] of shardChecks) {
    if (out.shards !== undefined && shard >= out.shards) throw bad(`${name}: shard ${shard} of ${out.shards}`, 0);
  }
  return out;
}
