/**
 * Random access to zip member data: stored members are zero-copy slices of the archive, deflated
 * members are decoded lazily ({@link DecodedWindowSource}) under the scan's budgets.
 * @module
 */
import { crc32, createInflateRaw } from "node:zlib";
import { ModelgateError } from "../../errors.js";
import { type ByteSource, readChunks, SliceSource } from "../../sources/byte-source.js";
import {
  DecodedWindowSource,
  type DecompressionBudget,
  forEachDecodedChunk,
  type WindowOptions,
} from "../compressed/decoded-source.js";
import { locateEntryData, METHOD_DEFLATE, METHOD_STORED, type ZipEntry } from "./reader.js";

const inflateRaw = () => createInflateRaw({ chunkSize: 64 * 1024 });

/**
 * Opens a member's uncompressed bytes.
 * @param source - the archive
 * @param entry - the member
 * @param budget - decompressed-bytes and ratio budget (deflated members)
 * @param dataOffset - the data offset when already known (from `checkLocalHeaders`)
 * @param options - window tuning of deflated members
 * @returns a source of the member's declared uncompressed size (stored: its compressed size)
 */
export async function openZipEntry(
  source: ByteSource,
  entry: ZipEntry,
  budget: DecompressionBudget,
  dataOffset?: number,
  options?: WindowOptions,
): Promise<ByteSource> {
  if (entry.encrypted) {
    throw new ModelgateError("UNSUPPORTED", `member ${JSON.stringify(entry.name)} is encrypted`);
  }
  const start = dataOffset !== undefined && dataOffset >= 0 ? dataOffset : await locateEntryData(source, entry);
  const raw = new SliceSource(source, start, entry.compressedSize);
  if (entry.method === METHOD_STORED) return raw;
  if (entry.method === METHOD_DEFLATE) {
    return new DecodedWindowSource(
      raw,
      entry.uncompressedSize,
      inflateRaw,
      budget,
      `zip member ${JSON.stringify(entry.name)}`,
      options,
    );
  }
  throw new ModelgateError(
    "UNSUPPORTED",
    `member ${JSON.stringify(entry.name)} uses compression method ${entry.method}`,
  );
}

/** Result of {@link verifyZipEntry}. */
export interface EntryIntegrity {
  /** CRC-32 of the data actually present. */
  readonly crc32: number;
  /** Uncompressed bytes actually present. */
  readonly size: number;
}

/**
 * Reads a whole member once (decoding every byte, with budgets) to compute its real CRC-32 and
 * size, for comparison with the declared ones.
 * @param source - the archive
 * @param entry - the member
 * @param dataOffset - its data offset
 * @param budget - decompressed-bytes and ratio budget
 */
export async function verifyZipEntry(
  source: ByteSource,
  entry: ZipEntry,
  dataOffset: number,
  budget: DecompressionBudget,
): Promise<EntryIntegrity> {
  const raw = new SliceSource(source, dataOffset, entry.compressedSize);
  let crc = 0;
  if (entry.method === METHOD_STORED) {
    let size = 0;
    for await (const chunk of readChunks(raw, { chunkSize: 1 << 20 })) {
      budget.signal?.throwIfAborted();
      crc = crc32(chunk, crc);
      size += chunk.length;
    }
    return { crc32: crc, size };
  }
  if (entry.method !== METHOD_DEFLATE) {
    throw new ModelgateError(
      "UNSUPPORTED",
      `member ${JSON.stringify(entry.name)} uses compression method ${entry.method}`,
    );
  }
  const totals = await forEachDecodedChunk(raw, inflateRaw, budget, `zip member ${JSON.stringify(entry.name)}`, (c) => {
    crc = crc32(c, crc);
  });
  return { crc32: crc, size: totals.produced };
}
