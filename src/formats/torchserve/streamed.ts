/**
 * What TorchServe really extracts from a `.mar`: its frontend unzips archives with Java's
 * `ZipInputStream` (`ZipUtils.unzip`), which follows local headers from offset 0 and never reads
 * the central directory. Entries the central directory does not list (after a member's deflate
 * stream, inside its declared data; in gaps) land in the model directory all the same, so the
 * members an archive is judged against are the union of the central-directory listing and that
 * walk (`walkStreamedEntries` of the zip container, the one implementation of the step).
 * @module
 */
import { budgetOf } from "../../containers/budget.js";
import { forEachDecodedChunk } from "../../containers/compressed/decoded-source.js";
import { memberDecoder } from "../../containers/zip/member.js";
import { METHOD_STORED, type ZipEntry } from "../../containers/zip/reader.js";
import { type StreamedEntry, walkStreamedEntries } from "../../containers/zip/stream-walk.js";
import type { AnalysisContext } from "../../core/analyzer.js";
import { readExact, SliceSource } from "../../core/byte-source.js";
import { ModelgateError } from "../../core/errors.js";
import { preview } from "../../core/preview.js";

/** The entries the streaming reader extracts that the central directory does not list. */
export interface StreamedListing {
  /**
   * Entries no central record lists (at a local header none points at, or under another name than
   * the record's), in extraction order, directories left out.
   */
  readonly hidden: readonly StreamedEntry[];
}

/**
 * Walks the archive as `ZipInputStream` does and returns the entries the central directory does
 * not list. A walk cut short by a budget is reported (`scan/budget-exceeded`): the union may then
 * miss members.
 * @param ctx - the analysis context of the zip
 * @param listed - the central directory's entries
 */
export async function streamedListing(ctx: AnalysisContext, listed: readonly ZipEntry[]): Promise<StreamedListing> {
  const walk = await walkStreamedEntries(ctx.source, {
    maxEntries: ctx.limits.maxEntries,
    budget: budgetOf(ctx),
    checkpoint: () => ctx.checkpoint(),
  });
  if (walk.stop === "budget") {
    ctx.report({
      ruleId: "scan/budget-exceeded",
      message: `the archive was not walked to its end as TorchServe's unzip (ZipInputStream) reads it: ${preview(walk.reason, 200)}; members only that reader extracts may be missing from the judgement`,
      evidence: { budget: "torchserve.streamWalk", entries: walk.entries.length },
    });
  }
  // an entry is listed when a central record points at its local header under the same name (the
  // streaming reader writes the local header's name)
  const listedAt = new Set(listed.map((e) => `${e.localHeaderOffset}\0${e.name}`));
  const hidden = walk.entries.filter((e) => !listedAt.has(`${e.offset}\0${e.name}`) && !e.name.endsWith("/"));
  if (hidden.length > 0) ctx.fact("torchserve.streamedOnlyMembers", hidden.length);
  return { hidden };
}

/**
 * Reads a member the streaming reader extracts whole, at most `max` bytes after decompression
 * (charged to the scan's budget).
 * @param ctx - the analysis context of the zip
 * @param entry - the entry, from {@link streamedListing}
 * @param max - the largest member read (`BUDGET_EXCEEDED` past it)
 * @param budget - the budget's name, for the error
 */
export async function readStreamedMember(
  ctx: AnalysisContext,
  entry: StreamedEntry,
  max: number,
  budget: string,
): Promise<Uint8Array> {
  const tooLarge = () =>
    new ModelgateError("BUDGET_EXCEEDED", `member ${JSON.stringify(entry.name)} is larger than ${max} bytes`, {
      budget,
    });
  const raw = new SliceSource(ctx.source, entry.dataOffset, entry.streamLength);
  if (entry.method === METHOD_STORED) {
    if (entry.streamLength > max) throw tooLarge();
    return readExact(raw, 0, raw.size);
  }
  const decoder = memberDecoder(entry.method, entry.uncompressedSize);
  if (decoder === undefined) {
    throw new ModelgateError("UNSUPPORTED", `member ${JSON.stringify(entry.name)} uses method ${entry.method}`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  await forEachDecodedChunk(raw, decoder, budgetOf(ctx), `member ${JSON.stringify(entry.name)}`, (chunk) => {
    size += chunk.length;
    if (size > max) throw tooLarge();
    chunks.push(chunk.slice());
  });
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
