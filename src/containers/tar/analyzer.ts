/**
 * The tar analyzer: walks the headers, reports anomalies and hands every regular member (a
 * zero-copy slice of the archive) to the engine.
 * @module
 */
import type { AnalysisContext, Analyzer } from "../../scan/types.js";
import { SliceSource } from "../../sources/byte-source.js";
import { readTar } from "./reader.js";

async function analyzeTar(ctx: AnalysisContext): Promise<void> {
  const listing = await readTar(ctx.source, { maxEntries: ctx.limits.maxEntries, signal: ctx.signal });
  for (const finding of listing.findings) ctx.report(finding);
  ctx.fact("tar.entries", listing.entries.length);
  const names = new Map<string, number>();
  for (const entry of listing.entries) {
    ctx.checkpoint();
    if (!entry.isFile || entry.size === 0) continue;
    const seen = names.get(entry.name) ?? 0;
    names.set(entry.name, seen + 1);
    const name = seen === 0 ? entry.name || `#${entry.index}` : `${entry.name}#${entry.index}`;
    await ctx.scanMember(name, new SliceSource(ctx.source, entry.dataOffset, entry.size), {
      offset: entry.dataOffset,
    });
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
