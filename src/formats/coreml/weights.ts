/**
 * Core ML ML Program weight files (`Data/com.apple.CoreML/weights/weight.bin` in an `.mlpackage`):
 * the MIL blob storage format, version 2. Facts from coremltools' public `mlmodel/src/MILBlob`
 * sources (`StorageFormat.hpp`, `StorageReader.cpp`, `StorageWriter.cpp`, `BlobDataType.hpp`):
 *
 * - a 64-byte header: uint32 `count` (blobs), uint32 `version` (2), seven reserved uint64 (0);
 * - then, per blob, a 64-byte `blob_metadata` record at a 64-aligned offset: uint32 sentinel
 *   `0xDEADBEEF`, uint32 `mil_dtype` (1–17), uint64 `sizeInBytes`, uint64 `offset` (of the data),
 *   uint64 `padding_size_in_bits` (unused bits of sub-byte types), four reserved uint64 (left
 *   uninitialised by writers before iOS 18, so not checked); the writer puts the data right after
 *   its record, and a loader finds the next record at the data's end rounded up to 64;
 * - an ML Program's `BlobFileValue.offset` is the offset of a blob's metadata record.
 *
 * All integers little-endian. The data is never read: only the header and the records.
 * @module
 */
import { type ByteSource, readExact } from "../../core/byte-source.js";
import { ModelgateError } from "../../core/errors.js";
import { BLOB_ALIGN, BLOB_SENTINEL, BLOB_STORAGE_VERSION } from "./index.js";

export { BLOB_ALIGN, BLOB_SENTINEL, BLOB_STORAGE_VERSION, detectMilWeights } from "./index.js";

/** Most blobs read in one file (a budget: real packages have thousands at most). */
export const MAX_BLOBS = 1_000_000;

/** `BlobDataType` code → name and element size in bits. */
export const BLOB_DTYPES: ReadonlyMap<number, { readonly name: string; readonly bits: number }> = new Map([
  [1, { name: "float16", bits: 16 }],
  [2, { name: "float32", bits: 32 }],
  [3, { name: "uint8", bits: 8 }],
  [4, { name: "int8", bits: 8 }],
  [5, { name: "bfloat16", bits: 16 }],
  [6, { name: "int16", bits: 16 }],
  [7, { name: "uint16", bits: 16 }],
  [8, { name: "int4", bits: 4 }],
  [9, { name: "uint1", bits: 1 }],
  [10, { name: "uint2", bits: 2 }],
  [11, { name: "uint4", bits: 4 }],
  [12, { name: "uint3", bits: 3 }],
  [13, { name: "uint6", bits: 6 }],
  [14, { name: "int32", bits: 32 }],
  [15, { name: "uint32", bits: 32 }],
  [16, { name: "float8e4m3fn", bits: 8 }],
  [17, { name: "float8e5m2", bits: 8 }],
]);

/** One blob's metadata record. */
export interface MilBlobRecord {
  /** Offset of the record (what a model's `BlobFileValue.offset` names). */
  readonly metadataOffset: number;
  readonly dtype: string;
  readonly sizeInBytes: number;
  readonly dataOffset: number;
  /** Elements the blob holds. */
  readonly elements: number;
}

/** What the reader found. */
export interface MilWeightsSummary {
  /** Blobs the header announces (all read when the reader returns). */
  count: number;
  /** Bytes of blob data. */
  dataBytes: number;
  /** Elements over all blobs. */
  elements: number;
  /** Blobs per dtype name. */
  dtypes: Map<string, number>;
  /** End of the last blob's data (64 for an empty store). */
  end: number;
  /** Bytes between records and their data that no record accounts for. */
  gapBytes: number;
}

export interface MilWeightsOptions {
  /** Called every 256 records (throws on abort/timeout). */
  checkpoint?: () => void;
  /** Called for every record read (in file order). */
  onRecord?: (record: MilBlobRecord) => void;
  /** Most blobs (default {@link MAX_BLOBS}). */
  maxBlobs?: number;
}

const malformed = (message: string, offset: number): ModelgateError =>
  new ModelgateError("MALFORMED", message, { offset });

function u64(view: DataView, at: number, what: string, offset: number): number {
  const value = view.getBigUint64(at, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed(`${what} ${value} is beyond any file`, offset);
  return Number(value);
}

/**
 * Walks the header and every metadata record, as a loader enumerates the blobs, and checks each:
 * sentinel, known dtype, data 64-aligned after its record and inside the file, a size that holds
 * whole elements. Records never overlap: each starts at or after the previous data's end.
 * Throws `MALFORMED`/`TRUNCATED` on a broken file, `BUDGET_EXCEEDED` beyond `maxBlobs`.
 * @param source - the weight file
 * @param options - checkpoint, record callback, budget
 */
export async function readMilWeights(source: ByteSource, options: MilWeightsOptions = {}): Promise<MilWeightsSummary> {
  const size = source.size;
  const header = await readExact(source, 0, BLOB_ALIGN);
  const hv = new DataView(header.buffer, header.byteOffset, header.byteLength);
  const version = hv.getUint32(4, true);
  if (version !== BLOB_STORAGE_VERSION) throw malformed(`blob storage version ${version}, expected 2`, 4);
  const count = hv.getUint32(0, true);
  // every blob takes at least its 64-byte record
  const fits = Math.floor((size - BLOB_ALIGN) / BLOB_ALIGN);
  if (count > fits) throw malformed(`the header announces ${count} blobs; at most ${fits} fit in ${size} bytes`, 0);
  const maxBlobs = options.maxBlobs ?? MAX_BLOBS;
  if (count > maxBlobs) {
    throw new ModelgateError("BUDGET_EXCEEDED", `${count} blobs, more than ${maxBlobs}`, {
      offset: 0,
      budget: "coreml.maxWeightBlobs",
    });
  }
  const s: MilWeightsSummary = { count, dataBytes: 0, elements: 0, dtypes: new Map(), end: BLOB_ALIGN, gapBytes: 0 };
  let at = BLOB_ALIGN;
  for (let i = 0; i < count; i++) {
    if (i % 256 === 255) options.checkpoint?.();
    if (at + BLOB_ALIGN > size)
      throw new ModelgateError("TRUNCATED", `blob ${i}: no metadata record at ${at}`, { offset: at });
    const rec = await readExact(source, at, BLOB_ALIGN);
    const v = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
    const sentinel = v.getUint32(0, true);
    if (sentinel !== BLOB_SENTINEL) {
      throw malformed(`blob ${i}: record at ${at} has sentinel 0x${sentinel.toString(16)}, not 0xdeadbeef`, at);
    }
    const code = v.getUint32(4, true);
    const dtype = BLOB_DTYPES.get(code);
    if (dtype === undefined) throw malformed(`blob ${i}: unknown data type ${code}`, at + 4);
    const sizeInBytes = u64(v, 8, `blob ${i}: size`, at + 8);
    const dataOffset = u64(v, 16, `blob ${i}: data offset`, at + 16);
    if (dataOffset % BLOB_ALIGN !== 0)
      throw malformed(`blob ${i}: data offset ${dataOffset} is not 64-aligned`, at + 16);
    if (dataOffset < at + BLOB_ALIGN) {
      throw malformed(`blob ${i}: data offset ${dataOffset} is not after its record at ${at}`, at + 16);
    }
    if (dataOffset > size || sizeInBytes > size - dataOffset) {
      throw malformed(`blob ${i}: data [${dataOffset}, +${sizeInBytes}) ends past the file's ${size} bytes`, at + 8);
    }
    let elements: number;
    if (dtype.bits >= 8) {
      const width = dtype.bits / 8;
      if (sizeInBytes % width !== 0) {
        throw malformed(`blob ${i}: ${sizeInBytes} bytes is not a whole number of ${dtype.name} elements`, at + 8);
      }
      elements = sizeInBytes / width;
    } else {
      const padding = u64(v, 24, `blob ${i}: padding`, at + 24);
      const bits = sizeInBytes * 8 - padding;
      if (padding >= 8 || bits < 0 || bits % dtype.bits !== 0) {
        throw malformed(`blob ${i}: ${padding} padding bits do not fit ${sizeInBytes} bytes of ${dtype.name}`, at + 24);
      }
      elements = bits / dtype.bits;
    }
    const record: MilBlobRecord = { metadataOffset: at, dtype: dtype.name, sizeInBytes, dataOffset, elements };
    options.onRecord?.(record);
    s.dataBytes += sizeInBytes;
    s.elements += elements;
    s.dtypes.set(dtype.name, (s.dtypes.get(dtype.name) ?? 0) + 1);
    s.gapBytes += dataOffset - (at + BLOB_ALIGN);
    s.end = dataOffset + sizeInBytes;
    at = Math.ceil(s.end / BLOB_ALIGN) * BLOB_ALIGN;
  }
  return s;
}
