/**
 * Random access to zip member data: stored members are zero-copy slices of the archive, deflated,
 * bzip2 and LZMA members (the last two are read by Python's zipfile: numpy.load, Keras; not by
 * PyTorch) are decoded lazily ({@link DecodedWindowSource}) under the scan's budgets. LZMA members
 * are decoded as zipfile does ({@link ZipLzma}: no size limit, output cut at the declared size).
 * @module
 */
import type { Duplex } from "node:stream";
import { crc32, createInflateRaw } from "node:zlib";
import { type ByteSource, readChunks, SliceSource } from "../../core/byte-source.js";
import { isModelgateError, ModelgateError } from "../../core/errors.js";
import { createBunzip2 } from "../compressed/bzip2.js";
import {
  DecodedWindowSource,
  type DecompressionBudget,
  forEachDecodedChunk,
  type WindowOptions,
} from "../compressed/decoded-source.js";
import { createZipLzma, ZipLzma } from "../compressed/lzma.js";
import { locateEntryData, METHOD_BZIP2, METHOD_DEFLATE, METHOD_LZMA, METHOD_STORED, type ZipEntry } from "./reader.js";

const inflateRaw = () => createInflateRaw({ chunkSize: 64 * 1024 });

/**
 * The decoder of a compression method, if modelgate reads it.
 * @param method - the member's method
 * @param uncompressedSize - its declared size (where an LZMA member's output is cut)
 */
export function memberDecoder(method: number, uncompressedSize: number): (() => Duplex) | undefined {
  switch (method) {
    case METHOD_DEFLATE:
      return inflateRaw;
    case METHOD_BZIP2:
      return createBunzip2;
    case METHOD_LZMA:
      return () => createZipLzma(uncompressedSize);
    default:
      return undefined;
  }
}

const decoderFor = (entry: ZipEntry) => memberDecoder(entry.method, entry.uncompressedSize);

/** Whether modelgate decodes members of this compression method (stored, deflate, bzip2, LZMA). */
export function isReadableMethod(method: number): boolean {
  return method === METHOD_STORED || method === METHOD_DEFLATE || method === METHOD_BZIP2 || method === METHOD_LZMA;
}

/** Options of {@link openZipEntry}. */
export interface OpenZipEntryOptions extends WindowOptions {
  /**
   * Read a member flagged encrypted as plain data (as PyTorch builds that ignore the flag do).
   * Only for members {@link checkEncryptionFlag} found plain; otherwise such members are refused.
   */
  readonly ignoreEncryptionFlag?: boolean;
  /**
   * The size the member was found to decode to, when smaller than declared (a stream that ends
   * early, which Python's zipfile accepts): the content is that long instead of failing past it.
   */
  readonly decodedSize?: number;
}

/**
 * Opens a member's uncompressed bytes.
 * @param source - the archive
 * @param entry - the member
 * @param budget - decompressed-bytes and ratio budget (deflated members)
 * @param dataOffset - the data offset when already known (from `checkLocalHeaders`)
 * @param options - window tuning of deflated members; whether to ignore an encryption flag; a
 *   smaller decoded size
 * @returns a source of the member's declared uncompressed size (or `decodedSize`; stored: its
 *   compressed size)
 */
export async function openZipEntry(
  source: ByteSource,
  entry: ZipEntry,
  budget: DecompressionBudget,
  dataOffset?: number,
  options?: OpenZipEntryOptions,
): Promise<ByteSource> {
  if (entry.encrypted && options?.ignoreEncryptionFlag !== true) {
    throw new ModelgateError("UNSUPPORTED", `member ${JSON.stringify(entry.name)} is encrypted`);
  }
  const start = dataOffset !== undefined && dataOffset >= 0 ? dataOffset : await locateEntryData(source, entry);
  const raw = new SliceSource(source, start, entry.compressedSize);
  if (entry.method === METHOD_STORED) return raw;
  const size = Math.min(entry.uncompressedSize, options?.decodedSize ?? entry.uncompressedSize);
  const decoder = memberDecoder(entry.method, size);
  if (decoder !== undefined) {
    return new DecodedWindowSource(raw, size, decoder, budget, `zip member ${JSON.stringify(entry.name)}`, options);
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

/** Result of {@link readZipEntryStream}: integrity, and where the compressed stream ended. */
export interface EntryStream extends EntryIntegrity {
  /**
   * Compressed bytes the decoder consumed before its stream ended (stored: all of them). Fewer than
   * the declared compressed size means bytes after the stream inside the member, which a streaming
   * reader takes for what follows it (zlib and bzip2 count it; LZMA counts its input whole).
   */
  readonly consumed: number;
  /** The stream decodes past the declared size (LZMA: cut there, as Python's zipfile does). */
  readonly overrun: boolean;
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
  const read = await readZipEntryStream(source, entry, dataOffset, budget);
  return { crc32: read.crc32, size: read.size };
}

/**
 * {@link verifyZipEntry}, also telling how many compressed bytes the stream took.
 * @param source - the archive
 * @param entry - the member
 * @param dataOffset - its data offset
 * @param budget - decompressed-bytes and ratio budget
 */
export async function readZipEntryStream(
  source: ByteSource,
  entry: ZipEntry,
  dataOffset: number,
  budget: DecompressionBudget,
): Promise<EntryStream> {
  const raw = new SliceSource(source, dataOffset, entry.compressedSize);
  let crc = 0;
  if (entry.method === METHOD_STORED) {
    let size = 0;
    for await (const chunk of readChunks(raw, { chunkSize: 1 << 20 })) {
      budget.signal?.throwIfAborted();
      crc = crc32(chunk, crc);
      size += chunk.length;
    }
    return { crc32: crc, size, consumed: size, overrun: false };
  }
  const factory = decoderFor(entry);
  if (factory === undefined) {
    throw new ModelgateError(
      "UNSUPPORTED",
      `member ${JSON.stringify(entry.name)} uses compression method ${entry.method}`,
    );
  }
  let last: Duplex | undefined;
  const decoder = () => {
    last = factory();
    return last;
  };
  const totals = await forEachDecodedChunk(raw, decoder, budget, `zip member ${JSON.stringify(entry.name)}`, (c) => {
    crc = crc32(c, crc);
  });
  const overrun = last instanceof ZipLzma && last.overrun;
  return { crc32: crc, size: totals.produced, consumed: Math.min(totals.consumed, entry.compressedSize), overrun };
}

/** Result of {@link checkEncryptionFlag}. */
export type EncryptionCheck =
  | {
      /** The bytes are plain: they decode and match the declared size and CRC-32. */
      readonly plain: true;
    }
  | {
      /** The bytes are not plain (really encrypted, or damaged). */
      readonly plain: false;
      /** Why, for the finding's message. */
      readonly reason: string;
    };

/**
 * Decides whether a member flagged encrypted holds plain bytes, by reading it as plain under the
 * budget: a stored member must have equal compressed and uncompressed sizes (encryption adds a
 * header), a deflated one must inflate, and either must have the declared size and CRC-32. A
 * decompression bomb still throws (the caller reports it).
 * @param source - the archive (or a buffer holding the member's data)
 * @param entry - the member, flagged encrypted
 * @param dataOffset - its data offset in `source`
 * @param budget - decompressed-bytes and ratio budget
 */
export async function checkEncryptionFlag(
  source: ByteSource,
  entry: ZipEntry,
  dataOffset: number,
  budget: DecompressionBudget,
): Promise<EncryptionCheck> {
  if (entry.method === METHOD_STORED && entry.compressedSize !== entry.uncompressedSize) {
    const header = entry.compressedSize === entry.uncompressedSize + 12 ? " (a traditional encryption header)" : "";
    return {
      plain: false,
      reason: `it is stored with ${entry.compressedSize} bytes for ${entry.uncompressedSize} declared${header}`,
    };
  }
  let actual: EntryIntegrity;
  try {
    actual = await verifyZipEntry(source, entry, dataOffset, budget);
  } catch (error) {
    if (isModelgateError(error, "MALFORMED") || isModelgateError(error, "TRUNCATED")) {
      return { plain: false, reason: `its bytes do not inflate as plain deflate data (${error.message})` };
    }
    throw error;
  }
  if (actual.size !== entry.uncompressedSize) {
    return {
      plain: false,
      reason: `read as plain data it has ${actual.size} bytes, ${entry.uncompressedSize} declared`,
    };
  }
  if (actual.crc32 !== entry.crc32) {
    return {
      plain: false,
      reason: `read as plain data its CRC-32 is 0x${actual.crc32.toString(16)}, 0x${entry.crc32.toString(16)} declared`,
    };
  }
  return { plain: true };
}
