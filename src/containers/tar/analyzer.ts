/**
 * The tar analyzer: walks the headers (as Python's tarfile and as a lenient reader, see
 * `./reader.ts`), reports anomalies and hands every regular member (a zero-copy slice of the
 * archive, or a sparse member rebuilt from its map) to the engine.
 * @module
 */

import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { BufferSource, type ByteSource, SliceSource } from "../../core/byte-source.js";
import { ClusterReader, SMALL_MEMBER, smallMemberClusters } from "../cluster.js";
import { readTar, tarMemberSource } from "./reader.js";

async function analyzeTar(ctx: AnalysisContext): Promise<void> {
  const listing = await readTar(ctx.source, { maxEntries: ctx.limits.maxEntries, signal: ctx.signal });
  for (const finding of listing.findings) ctx.report(finding);
  ctx.fact("tar.entries", listing.entries.length);
  // A tar-based format (a NeMo archive) is named before its members are scanned: they see it in
  // their lineage.
  const flavor = ctx.formats.tarFlavor(listing.entries.filter((e) => e.isFile).map((e) => e.name));
  if (flavor !== "tar") {
    ctx.refineFormat(flavor);
    ctx.fact("tar.flavor", flavor);
  }
  const names = new Map<string, number>();
  const clusterEnds = smallMemberClusters(
    listing.entries.map((e) => ({ start: e.isFile && e.sparse === undefined ? e.dataOffset : -1, size: e.size })),
  );
  const cluster = new ClusterReader(ctx.source);
  for (const entry of listing.entries) {
    ctx.checkpoint();
    if (!entry.isFile || entry.size === 0) continue;
    let content: ByteSource;
    if (entry.sparse !== undefined) {
      content = tarMemberSource(ctx.source, entry);
      const cap = ctx.limits.maxDecompressedBytes;
      if (content.size > cap) {
        ctx.report({
          ruleId: "scan/budget-exceeded",
          message: `sparse member ${JSON.stringify(entry.name)} is ${content.size} bytes rebuilt, more than maxDecompressedBytes (${cap}); only its first ${cap} bytes were analysed`,
          offset: entry.headerOffset,
          evidence: { budget: "maxDecompressedBytes", limit: cap },
        });
        content = new SliceSource(content, 0, cap);
      }
    } else {
      // Small members come from a shared read of their neighbourhood; large ones are zero-copy slices.
      content =
        entry.size <= SMALL_MEMBER
          ? new BufferSource(await cluster.bytes(entry.dataOffset, entry.size, clusterEnds[entry.index] ?? 0))
          : new SliceSource(ctx.source, entry.dataOffset, entry.size);
    }
    const seen = names.get(entry.name) ?? 0;
    names.set(entry.name, seen + 1);
    const name = seen === 0 ? entry.name || `#${entry.index}` : `${entry.name}#${entry.index}`;
    await ctx.scanMember(name, content, { offset: entry.dataOffset });
  }
  if (listing.trailing !== undefined) {
    const { offset, length } = listing.trailing;
    await ctx.scanMember("<trailing-data>", new SliceSource(ctx.source, offset, length), { offset });
  }
}

/** Analyzer of tar archives (ustar, GNU, pax). */
export const tarAnalyzer: Analyzer = {
  name: "tar",
  formats: ["tar"],
  analyze: analyzeTar,
};
