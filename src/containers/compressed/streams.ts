/**
 * Whole-stream decompression of gzip (every member, with header and trailer checks; members after
 * zero padding too, as Python's gzip reads them), zlib and zstd through node:zlib, xz and
 * LZMA-alone (one stream after another, as Python's lzma reads them: `./xz.ts`), and bzip2 and
 * LZ4 frames through modelgate's own streaming decoders (no npm decoder for bzip2 could be stopped
 * by an output cap; the LZ4 one follows liblz4's checks and limits, see `./lz4.ts`), into a
 * {@link ByteSource} of exact size (memory, or a temporary file past a threshold), with every byte
 * charged to the budget.
 *
 * A stream that fails part-way is not all-or-nothing: Python's readers (`gzip.open`, `lzma.open`,
 * `bz2.open`, `lz4.frame.open`, joblib) hand out what decoded before the error, and `pickle.load`
 * runs a pickle that ends there. {@link decompress} returns that prefix with the error
 * ({@link Decompressed.error}), so it is analysed and the error reported.
 * @module
 */

import * as zlib from "node:zlib";
import { type ByteSource, readClamped, SliceSource } from "../../core/byte-source.js";
import { isModelgateError, ModelgateError } from "../../core/errors.js";
import type { FindingInput } from "../../core/findings.js";
import type { Format } from "../../core/formats.js";
import { latin1 } from "../../core/sniffing.js";
import { createBunzip2 } from "./bzip2.js";
import {
  type DecoderFactory,
  type DecodeStreamOptions,
  DecodingStopped,
  type DecompressionBudget,
  decodeInto,
  isBombError,
  SpillSink,
} from "./decoded-source.js";
import { createUnLz4 } from "./lz4.js";
import { decodeLzmaFamily } from "./xz.js";

/** Whether this Node has zstd in node:zlib (22.15+, 23.8+). */
export function zstdAvailable(): boolean {
  return typeof (zlib as { createZstdDecompress?: unknown }).createZstdDecompress === "function";
}

/** Stream formats modelgate can decode on this runtime. */
export function isDecodable(format: Format): boolean {
  return (
    format === "gzip" ||
    format === "zlib" ||
    format === "xz" ||
    format === "bz2" ||
    format === "lzma" ||
    format === "lz4" ||
    (format === "zstd" && zstdAvailable())
  );
}

/** What decompression produced. */
export interface Decompressed {
  /** The decompressed bytes; close it when done. */
  readonly source: ByteSource;
  /** Anomalies (bad CRC, reserved flags, ...). */
  readonly findings: FindingInput[];
  /** Bytes after the last stream/member that belong to none. */
  readonly trailing?: { readonly offset: number; readonly length: number };
  /** gzip: number of members; others: 1. */
  readonly members: number;
  /** gzip: the original file name stored in the first member's header. */
  readonly originalName?: string;
  /**
   * Why decoding stopped before the end of the data (corrupt or truncated stream, an xz filter
   * modelgate does not decode, a decompression budget): `source` holds what decoded before it,
   * what a streaming reader hands on before it fails.
   */
  readonly error?: ModelgateError;
  /**
   * Set when decoding stopped early because the probe ({@link DecodeStreamOptions.probe}) found
   * the output so far sufficient: the output bytes kept. Where the stream ends, and so any bytes
   * after it, is then unknown.
   */
  readonly stoppedAt?: number;
}

/**
 * Whether an error stops decoding part-way, leaving what decoded before it to analyse: corrupt
 * or truncated data, something modelgate does not decode, a decompression budget. Aborts,
 * deadlines and internal errors are not.
 */
function stopsPartWay(error: unknown): error is ModelgateError {
  return (
    isModelgateError(error, "MALFORMED") ||
    isModelgateError(error, "TRUNCATED") ||
    isModelgateError(error, "UNSUPPORTED") ||
    isBombError(error)
  );
}

const CHUNK = 64 * 1024;

function factoryFor(format: Format): DecoderFactory {
  switch (format) {
    case "zlib":
      return () => zlib.createInflate({ chunkSize: CHUNK });
    case "zstd": {
      const create = (
        zlib as unknown as { createZstdDecompress?: (o: object) => ReturnType<typeof zlib.createInflate> }
      ).createZstdDecompress;
      if (create === undefined) throw new ModelgateError("UNSUPPORTED", "zstd is not available in this Node.js");
      return () => create({ chunkSize: CHUNK });
    }
    case "bz2":
      return createBunzip2;
    case "lz4":
      return createUnLz4;
    default:
      throw new ModelgateError("UNSUPPORTED", `${format} streams are not decoded by modelgate`);
  }
}

/**
 * Decompresses a whole gzip, zlib, zstd, xz, bzip2, LZMA-alone or LZ4-frame stream; throws what
 * stops it part-way (see {@link decompressUpToError} for what decoded before).
 * @param format - the stream's format
 * @param input - the compressed bytes
 * @param budget - decompressed-bytes and ratio budget
 * @param options - memory threshold and temp directory
 */
export async function decompress(
  format: Format,
  input: ByteSource,
  budget: DecompressionBudget,
  options: DecodeStreamOptions = {},
): Promise<Decompressed> {
  const result = await decompressUpToError(format, input, budget, options);
  if (result.error !== undefined) {
    await result.source.close?.();
    throw result.error;
  }
  return result;
}

/**
 * Decompresses a gzip, zlib, zstd, xz, bzip2, LZMA-alone or LZ4-frame stream as far as it
 * decodes: an error that stops it part-way (corrupt, truncated, not decodable by modelgate, over
 * a decompression budget) is returned in {@link Decompressed.error} with what decoded before it.
 * @param format - the stream's format
 * @param input - the compressed bytes
 * @param budget - decompressed-bytes and ratio budget
 * @param options - memory threshold and temp directory
 */
export async function decompressUpToError(
  format: Format,
  input: ByteSource,
  budget: DecompressionBudget,
  options: DecodeStreamOptions = {},
): Promise<Decompressed> {
  if (format === "gzip") return decompressGzip(input, budget, options);
  const sink = new SpillSink(options);
  const findings: FindingInput[] = [];
  try {
    const consumed =
      format === "xz" || format === "lzma"
        ? await decodeLzmaFamily(input, budget, sink, findings)
        : (await decodeInto(input, factoryFor(format), budget, `${format} stream`, sink)).consumed;
    const source = await sink.finish();
    const trailingLength = input.size - consumed;
    const base = { source, findings, members: 1 };
    return trailingLength > 0 ? { ...base, trailing: { offset: consumed, length: trailingLength } } : base;
  } catch (error) {
    if (error instanceof DecodingStopped) {
      return { source: await sink.finish(), findings, members: 1, stoppedAt: error.decoded };
    }
    if (stopsPartWay(error)) return { source: await sink.finish(), findings, members: 1, error };
    await sink.abort();
    throw error;
  }
}

const FTEXT = 1;
const FHCRC = 2;
const FEXTRA = 4;
const FNAME = 8;
const FCOMMENT = 16;
const MAX_GZIP_HEADER = 1024 * 1024;

interface GzipHeader {
  bodyStart: number;
  flags: number;
  name?: string;
}

async function readGzipHeader(input: ByteSource, at: number): Promise<GzipHeader | undefined> {
  const head = await readClamped(input, at, Math.min(MAX_GZIP_HEADER, input.size - at));
  if (head.length < 10 || head[0] !== 0x1f || head[1] !== 0x8b) return undefined;
  if (head[2] !== 8) {
    throw new ModelgateError("MALFORMED", `gzip member at ${at} uses unknown compression method ${head[2]}`, {
      offset: at,
    });
  }
  const flags = head[3] as number;
  let p = 10;
  const need = (n: number): void => {
    if (p + n > head.length) throw new ModelgateError("TRUNCATED", `gzip header at ${at} is truncated`, { offset: at });
  };
  if (flags & FEXTRA) {
    need(2);
    p += 2 + ((head[p] as number) | ((head[p + 1] as number) << 8));
    need(0);
  }
  let name: string | undefined;
  const zeroTerminated = (): string => {
    const end = head.indexOf(0, p);
    if (end < 0) throw new ModelgateError("MALFORMED", `unterminated gzip header field at ${at}`, { offset: at });
    const value = latin1(head.subarray(p, end));
    p = end + 1;
    return value;
  };
  if (flags & FNAME) name = zeroTerminated();
  if (flags & FCOMMENT) zeroTerminated();
  if (flags & FHCRC) {
    need(2);
    p += 2;
  }
  return name === undefined ? { bodyStart: at + p, flags } : { bodyStart: at + p, flags, name };
}

async function decompressGzip(
  input: ByteSource,
  budget: DecompressionBudget,
  options: DecodeStreamOptions,
): Promise<Decompressed> {
  const sink = new SpillSink(options);
  const findings: FindingInput[] = [];
  const inflateRaw: DecoderFactory = () => zlib.createInflateRaw({ chunkSize: CHUNK });
  let pos = 0;
  let members = 0;
  let originalName: string | undefined;
  let trailing: { offset: number; length: number } | undefined;
  try {
    while (pos < input.size) {
      budget.signal?.throwIfAborted();
      const header = await readGzipHeader(input, pos);
      if (header === undefined) {
        if (members === 0) throw new ModelgateError("MALFORMED", "not a gzip stream", { offset: 0 });
        trailing = { offset: pos, length: input.size - pos };
        break;
      }
      if (members === 0) originalName = header.name;
      if ((header.flags & ~(FTEXT | FHCRC | FEXTRA | FNAME | FCOMMENT)) !== 0) {
        findings.push({
          ruleId: "container/malformed-stream",
          message: `gzip member at ${pos} sets reserved flag bits 0x${header.flags.toString(16)} (gzip refuses it)`,
          offset: pos,
          evidence: { flags: header.flags },
        });
      }
      const body = new SliceSource(input, header.bodyStart, input.size - header.bodyStart);
      let crc = 0;
      const before = sink.size;
      const totals = await decodeInto(body, inflateRaw, budget, `gzip member at ${pos}`, sink, (c) => {
        crc = zlib.crc32(c, crc);
      });
      const trailerAt = header.bodyStart + totals.consumed;
      const trailer = await readClamped(input, trailerAt, 8);
      if (trailer.length < 8) {
        throw new ModelgateError("TRUNCATED", `gzip member at ${pos} has no trailer`, { offset: trailerAt });
      }
      const view = new DataView(trailer.buffer, trailer.byteOffset, 8);
      const produced = sink.size - before;
      if (view.getUint32(0, true) !== crc >>> 0 || view.getUint32(4, true) !== produced % 2 ** 32) {
        findings.push({
          ruleId: "container/malformed-stream",
          message: `gzip member at ${pos}: CRC or length in the trailer does not match the data`,
          offset: trailerAt,
        });
      }
      members++;
      pos = trailerAt + 8;
      // Python's gzip reader skips zero bytes after a member and reads the member that follows
      // them (gzip(1) stops at the padding): the next member continues the same stream
      const next = await firstNonZeroByte(input, pos);
      if (next > pos && next < input.size && (await readGzipHeader(input, next)) !== undefined) {
        findings.push({
          ruleId: "container/malformed-stream",
          message: `gzip member at ${next} follows ${next - pos} zero bytes: Python's gzip decompresses it as part of the stream, gzip(1) ignores it`,
          offset: pos,
        });
        pos = next;
      }
    }
    if (trailing !== undefined) {
      const zeros = await allZero(input, trailing.offset, trailing.length);
      if (zeros) trailing = undefined; // zero padding (tape blocks) is what gzip itself ignores
    }
    const source = await sink.finish();
    const result: Decompressed = { source, findings, members };
    return {
      ...result,
      ...(trailing === undefined ? {} : { trailing }),
      ...(originalName === undefined ? {} : { originalName }),
    };
  } catch (error) {
    if (error instanceof DecodingStopped || stopsPartWay(error)) {
      const source = await sink.finish();
      const partial: Decompressed =
        error instanceof DecodingStopped
          ? { source, findings, members: members + 1, stoppedAt: error.decoded }
          : { source, findings, members, error };
      return originalName === undefined ? partial : { ...partial, originalName };
    }
    await sink.abort();
    throw error;
  }
}

/** Offset of the first non-zero byte at or after `from` (the input's size if none). */
async function firstNonZeroByte(input: ByteSource, from: number): Promise<number> {
  for (let at = from; at < input.size; at += 64 * 1024) {
    const chunk = await readClamped(input, at, 64 * 1024);
    const i = chunk.findIndex((b) => b !== 0);
    if (i >= 0) return at + i;
  }
  return input.size;
}

async function allZero(input: ByteSource, offset: number, length: number): Promise<boolean> {
  if (length > 1024 * 1024) return false;
  const bytes = await readClamped(input, offset, length);
  return bytes.every((b) => b === 0);
}
