/**
 * The tar analyzer: walks the headers, reports anomalies and hands every regular member (a
 * zero-copy slice of the archive) to the engine.
 * @module
 */

import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { BufferSource, type ByteSource, SliceSource } from "../../core/byte-source.js";
import { ClusterReader, SMALL_MEMBER, smallMemberClusters } from "../cluster.js";
import { readTar } from "./reader.js";

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
    listing.entries.map((e) => ({ start: e.isFile ? e.dataOffset : -1, size: e.size })),
  );
  const cluster = new ClusterReader(ctx.source);
  for (const entry of listing.entries) {
    ctx.checkpoint();
    if (!entry.isFile || entry.size === 0) continue;
    const seen = names.get(entry.name) ?? 0;
    names.set(entry.name, seen + 1);
    const name = seen === 0 ? entry.name || `#${entry.index}` : `${entry.name}#${entry.index}`;
    // Small members come from a shared read of their neighbourhood; large ones are zero-copy slices.
    const content: ByteSource =
      entry.size <= SMALL_MEMBER
        ? new BufferSource(await cluster.bytes(entry.dataOffset, entry.size, clusterEnds[entry.index] ?? 0))
        : new SliceSource(ctx.source, entry.dataOffset, entry.size);
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
