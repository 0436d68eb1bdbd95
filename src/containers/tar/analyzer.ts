/**
 * The tar analyzer: walks the headers (as Python's tarfile and as a lenient reader, see
 * `./reader.ts`), reports anomalies and hands every regular member (a zero-copy slice of the
 * archive, or a sparse member rebuilt from its map) to the engine. A link member's name reads
 * another member's bytes once extracted (`./links.ts`): those bytes are handed to the engine again
 * under the link's name, so that the analyses a loader's file name calls for (NeMo's
 * `model_config.yaml`, legacy torch's `storages`) run on them.
 * @module
 */

import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { BufferSource, type ByteSource, SliceSource } from "../../core/byte-source.js";
import { ClusterReader, SMALL_MEMBER, smallMemberClusters } from "../cluster.js";
import { MAX_LINK_SCANS, resolveTarLinks } from "./links.js";
import { readTar, type TarEntry, tarMemberSource } from "./reader.js";

/** A shared read of small members' neighbourhoods. */
interface Clusters {
  readonly reader: ClusterReader;
  readonly ends: Float64Array;
}

/** The bytes a regular member extracts to, capped for sparse members (reported). */
async function memberContent(ctx: AnalysisContext, entry: TarEntry, clusters?: Clusters): Promise<ByteSource> {
  if (entry.sparse !== undefined) {
    const content = tarMemberSource(ctx.source, entry);
    const cap = ctx.limits.maxDecompressedBytes;
    if (content.size <= cap) return content;
    ctx.report({
      ruleId: "scan/budget-exceeded",
      message: `sparse member ${JSON.stringify(entry.name)} is ${content.size} bytes rebuilt, more than maxDecompressedBytes (${cap}); only its first ${cap} bytes were analysed`,
      offset: entry.headerOffset,
      evidence: { budget: "maxDecompressedBytes", limit: cap },
    });
    return new SliceSource(content, 0, cap);
  }
  // Small members come from a shared read of their neighbourhood; large ones are zero-copy slices.
  if (clusters !== undefined && entry.size <= SMALL_MEMBER) {
    return new BufferSource(await clusters.reader.bytes(entry.dataOffset, entry.size, clusters.ends[entry.index] ?? 0));
  }
  return new SliceSource(ctx.source, entry.dataOffset, entry.size);
}

/**
 * The members scanned under their plain name; a repeated name's others get `name#index`. The
 * plain name goes to the member a loader opens under it: the last of `tarfile`'s (what
 * `extractall` leaves on disk and `getmember` returns), else the first listed (a lenient-only
 * member). Analyses keyed by the exact name (NeMo's `model_config.yaml`) then judge those bytes.
 */
function plainNamed(entries: readonly TarEntry[]): Set<TarEntry> {
  const owner = new Map<string, TarEntry>();
  for (const e of entries) {
    if (!e.isFile || e.size === 0) continue;
    const current = owner.get(e.name);
    if (current === undefined || (e.reader === "tarfile" && current.reader === "tarfile")) owner.set(e.name, e);
  }
  return new Set(owner.values());
}

async function analyzeTar(ctx: AnalysisContext): Promise<void> {
  const listing = await readTar(ctx.source, { maxEntries: ctx.limits.maxEntries, signal: ctx.signal });
  for (const finding of listing.findings) ctx.report(finding);
  ctx.fact("tar.entries", listing.entries.length);
  const links = resolveTarLinks(listing.entries);
  for (const finding of links.findings) ctx.report(finding);
  // A tar-based format (a NeMo archive) is named before its members are scanned: they see it in
  // their lineage. A link is there under its name once extracted (a `storages` or
  // `model_config.yaml` symlink counts).
  const flavor = ctx.formats.tarFlavor([
    ...listing.entries.filter((e) => e.isFile).map((e) => e.name),
    ...links.linkNames,
  ]);
  if (flavor !== "tar") {
    ctx.refineFormat(flavor);
    ctx.fact("tar.flavor", flavor);
  }
  const plain = plainNamed(listing.entries);
  const clusters: Clusters = {
    reader: new ClusterReader(ctx.source),
    ends: smallMemberClusters(
      listing.entries.map((e) => ({ start: e.isFile && e.sparse === undefined ? e.dataOffset : -1, size: e.size })),
    ),
  };
  for (const entry of listing.entries) {
    ctx.checkpoint();
    if (!entry.isFile || entry.size === 0) continue;
    const content = await memberContent(ctx, entry, clusters);
    const name = plain.has(entry) ? entry.name || `#${entry.index}` : `${entry.name}#${entry.index}`;
    await ctx.scanMember(name, content, { offset: entry.dataOffset });
  }
  // Linked names, with the exact name a loader opens (name-keyed analyses compare it).
  for (const { name, content } of links.scans) {
    ctx.checkpoint();
    if (content.size === 0 && content.sparse === undefined) continue;
    await ctx.scanMember(name || `#${content.index}`, await memberContent(ctx, content), {
      offset: content.dataOffset,
    });
  }
  if (links.skipped > 0 || links.unresolved > 0) {
    ctx.report({
      ruleId: "scan/budget-exceeded",
      message: `links past the budget: ${links.skipped} member contents read under linked names beyond the ${MAX_LINK_SCANS} analysed, ${links.unresolved} links or members under symlinked directories not resolved`,
      offset: 0,
      evidence: { budget: "maxLinkScans", limit: MAX_LINK_SCANS },
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
