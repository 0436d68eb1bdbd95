/**
 * What a streaming zip reader extracts. Java's `java.util.zip.ZipInputStream` (TorchServe's
 * `ZipUtils.unzip`, other JVM loaders) never reads the central directory: it follows local headers
 * from offset 0, takes a stored member's length from its local header, inflates a deflated member
 * to the end of its deflate stream, reads a data descriptor after it when flag bit 3 is set, and
 * reads the next local header right there. So bytes the central directory counts as a member's
 * data (after its deflate stream ends, or past a shorter local size) can hold entries only such a
 * reader extracts. This module is the one place Java's step is implemented, on the local-header
 * parser the zip analyzer uses for the hidden entries of unreferenced ranges
 * (`readLocalOnlyEntry`); formats whose loader is a streaming reader (TorchServe) list the archive
 * with {@link walkStreamedEntries}. (The analyzer's own walk of hidden entries goes further than
 * Java: it also decodes bzip2 and LZMA entries, which other streaming extractors read.)
 *
 * Facts from OpenJDK 17 (`ZipInputStream.readLOC`/`readEnd`), checked with `java`: a stored member
 * with flag bit 3 is refused ("only DEFLATED entries can have EXT descriptor"); a deflated member
 * without it must end exactly at its local compressed size (else "invalid entry compressed
 * size"); the descriptor's signature is optional (16 or 12 bytes); any other method is refused on
 * read; the first bytes not a local header end the walk.
 * @module
 */
import { type ByteSource, readClamped, SliceSource } from "../../core/byte-source.js";
import { isModelgateError, ModelgateError } from "../../core/errors.js";
import { type DecompressionBudget, forEachDecodedChunk } from "../compressed/decoded-source.js";
import { memberDecoder } from "./member.js";
import {
  FLAG_DATA_DESCRIPTOR,
  type LocalOnlyEntry,
  METHOD_DEFLATE,
  METHOD_STORED,
  readLocalOnlyEntry,
} from "./reader.js";

/** One entry as a streaming reader extracts it. */
export interface StreamedEntry extends LocalOnlyEntry {
  /** Compressed bytes the reader takes as the member's data (the deflate stream, or the local size). */
  readonly streamLength: number;
  /** Where the reader looks for the next local header (after any data descriptor). */
  readonly next: number;
}

/** Why a walk ended. */
export type StreamStop =
  /** No local header where the next one was expected (the central directory, or other bytes). */
  | "end"
  /** The reader refuses the entry (stored with a descriptor, a method other than stored/deflate). */
  | "refused"
  /** The entry's data is not a valid stream, or runs past the end. */
  | "malformed"
  /** Entry or decompression budget reached: entries past it were not listed. */
  | "budget";

/** One step of the walk: the entry at an offset, or why there is none. */
export type StreamStep =
  | { readonly entry: StreamedEntry }
  | { readonly stop: StreamStop; readonly at: number; readonly reason: string };

/** Length of a data descriptor at `head` (its signature is optional; 32-bit sizes). */
export function descriptorLength(head: Uint8Array): number {
  return head[0] === 0x50 && head[1] === 0x4b && head[2] === 7 && head[3] === 8 ? 16 : 12;
}

/**
 * The entry a streaming reader reads at `at`, and where it goes on. Deflated members with flag
 * bit 3 are inflated (under `budget`) to find their end; the others are not decoded.
 * @param source - the archive
 * @param at - where a local header is expected
 * @param end - where the bytes the walk may use end (the file's size for a whole walk)
 * @param budget - decompressed-bytes and ratio budget of the inflation
 */
export async function streamedEntryAt(
  source: ByteSource,
  at: number,
  end: number,
  budget: DecompressionBudget,
): Promise<StreamStep> {
  const local = await readLocalOnlyEntry(source, { offset: at, length: end - at });
  if (local === undefined) return { stop: "end", at, reason: `no local file header at ${at}` };
  const deferred = (local.flags & FLAG_DATA_DESCRIPTOR) !== 0;
  if (local.method !== METHOD_STORED && local.method !== METHOD_DEFLATE) {
    return { stop: "refused", at, reason: `${JSON.stringify(local.name)} uses compression method ${local.method}` };
  }
  if (local.method === METHOD_STORED && deferred) {
    return { stop: "refused", at, reason: `${JSON.stringify(local.name)} is stored with a data descriptor` };
  }
  let streamLength: number;
  if (local.method === METHOD_DEFLATE && deferred) {
    const decoder = memberDecoder(METHOD_DEFLATE, 0);
    if (decoder === undefined) throw new ModelgateError("INTERNAL", "no deflate decoder");
    try {
      const raw = new SliceSource(source, local.dataOffset, end - local.dataOffset);
      const totals = await forEachDecodedChunk(
        raw,
        decoder,
        budget,
        `streamed member ${JSON.stringify(local.name)}`,
        () => undefined,
      );
      streamLength = totals.consumed;
    } catch (error) {
      if (isModelgateError(error, "BUDGET_EXCEEDED")) {
        return { stop: "budget", at, reason: `${JSON.stringify(local.name)}: ${error.message}` };
      }
      if (isModelgateError(error, "MALFORMED") || isModelgateError(error, "TRUNCATED")) {
        return { stop: "malformed", at, reason: `${JSON.stringify(local.name)}: ${error.message}` };
      }
      throw error;
    }
  } else {
    streamLength = local.declaredCompressedSize;
    if (streamLength < 0 || local.dataOffset + streamLength > end) {
      return { stop: "malformed", at, reason: `${JSON.stringify(local.name)}: data runs past the end` };
    }
  }
  let next = local.dataOffset + streamLength;
  if (deferred) next += descriptorLength(await readClamped(source, next, 4));
  return { entry: { ...local, streamLength, next } };
}

/** Budgets of {@link walkStreamedEntries}. */
export interface StreamWalkOptions {
  /** Most entries listed. */
  readonly maxEntries: number;
  /** Decompressed-bytes budget of the inflation of deferred-size members. */
  readonly budget: DecompressionBudget;
  /** Called every entry (abort, timeout). */
  readonly checkpoint?: () => void;
}

/** Result of {@link walkStreamedEntries}. */
export interface StreamWalk {
  /** Entries in the order the reader extracts them. */
  readonly entries: readonly StreamedEntry[];
  /** Why the walk ended. */
  readonly stop: StreamStop;
  /** Where, and why, in words. */
  readonly reason: string;
}

/**
 * The entries a streaming reader (Java's `ZipInputStream`) extracts, from offset 0 on.
 * @param source - the archive
 * @param options - budgets
 */
export async function walkStreamedEntries(source: ByteSource, options: StreamWalkOptions): Promise<StreamWalk> {
  const entries: StreamedEntry[] = [];
  let at = 0;
  for (;;) {
    options.checkpoint?.();
    if (entries.length >= options.maxEntries) {
      return { entries, stop: "budget", reason: `more than ${options.maxEntries} entries` };
    }
    const step = await streamedEntryAt(source, at, source.size, options.budget);
    if ("stop" in step) return { entries, stop: step.stop, reason: step.reason };
    entries.push(step.entry);
    // a local header always moves the walk forward (30 bytes at least)
    at = step.entry.next;
  }
}
