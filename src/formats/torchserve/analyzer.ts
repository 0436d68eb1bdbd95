/**
 * The TorchServe analyzer: runs on zips (after the zip container, which hands every member to
 * the engine: the handler `.py`, the serialized model, `requirements.txt`), and judges the
 * archive's manifest against its member list.
 * @module
 */

import type { ZipEntry } from "../../containers/zip/reader.js";
import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import type { JsonValue } from "../../core/json.js";
import { analyzeManifest } from "./manifest.js";
import { listZip, lowerExtension, readJsonMember } from "./zip-listing.js";

/** Where torch-model-archiver writes the manifest. */
export const MANIFEST = "MAR-INF/MANIFEST.json";
/** The largest manifest read (real ones are a few hundred bytes). */
const MAX_MANIFEST_BYTES = 1 << 20;

function readManifest(ctx: AnalysisContext, entry: ZipEntry): Promise<JsonValue | undefined> {
  return readJsonMember(ctx, entry, {
    maxBytes: MAX_MANIFEST_BYTES,
    budget: "torchserve.maxManifestBytes",
    json: { maxDepth: 64, maxValues: 100_000, maxStringLength: 1 << 16, maxTreeBytes: 16 << 20 },
    ruleId: "torchserve/malformed",
  });
}

/** Analyses TorchServe `.mar` archives (zips with `MAR-INF/MANIFEST.json`, or named `.mar`). */
export const torchserveAnalyzer: Analyzer = {
  name: "torchserve",
  formats: ["zip"],
  async analyze(ctx: AnalysisContext): Promise<void> {
    const listing = await listZip(ctx);
    if (listing === undefined) return;
    const isMar = ctx.formats.zipFlavors(listing.names).some((f) => f.format === "torchserve-mar");
    if (!isMar && lowerExtension(ctx.name) !== "mar") return;
    const manifests = listing.entries.filter((e) => e.name === MANIFEST);
    if (manifests.length === 0) {
      ctx.report({ ruleId: "torchserve/malformed", message: `the archive has no ${MANIFEST}` });
      return;
    }
    const members = new Set(listing.entries.map((e) => e.name));
    // Every copy of a repeated manifest is judged: readers differ on which one they take.
    for (const entry of manifests.slice(0, 4)) {
      ctx.checkpoint();
      const value = await readManifest(ctx, entry);
      if (value === undefined) continue;
      const { findings, facts } = analyzeManifest(value, members);
      for (const finding of findings)
        ctx.report({ ...finding, evidence: { ...finding.evidence, manifest: entry.name } });
      for (const [key, fact] of Object.entries(facts)) ctx.fact(key, fact);
    }
  },
};
