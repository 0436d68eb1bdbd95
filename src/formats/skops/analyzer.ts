/**
 * The skops analyzer: runs on zips (after the zip container, which hands every member to the
 * engine: the `.npy` arrays are read as NumPy there), reads `schema.json` with the strict JSON
 * parser and judges every node of it.
 * @module
 */

import type { ZipEntry } from "../../containers/zip/reader.js";
import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import type { JsonValue } from "../../core/json.js";
import { listZip, lowerExtension, readJsonMember } from "../torchserve/zip-listing.js";
import { SCHEMA } from "./names.js";
import { analyzeSchema } from "./schema.js";

/** The largest schema read (forests of thousands of trees stay well below). */
const MAX_SCHEMA_BYTES = 64 << 20;

function readSchema(ctx: AnalysisContext, entry: ZipEntry): Promise<JsonValue | undefined> {
  return readJsonMember(ctx, entry, {
    maxBytes: MAX_SCHEMA_BYTES,
    budget: "skops.maxSchemaBytes",
    json: { maxDepth: 512, maxValues: 5_000_000, maxStringLength: 1 << 20, maxTreeBytes: 512 << 20 },
    ruleId: "skops/malformed",
  });
}

/** Analyses skops archives (zips with a top-level `schema.json`, or named `.skops`). */
export const skopsAnalyzer: Analyzer = {
  name: "skops",
  formats: ["zip"],
  async analyze(ctx: AnalysisContext): Promise<void> {
    const listing = await listZip(ctx);
    if (listing === undefined) return;
    const isSkops = ctx.formats.zipFlavors(listing.names).some((f) => f.format === "skops");
    if (!isSkops && lowerExtension(ctx.name) !== "skops") return;
    const schemas = listing.entries.filter((e) => e.name === SCHEMA);
    if (schemas.length === 0) {
      ctx.report({ ruleId: "skops/malformed", message: `the archive has no ${SCHEMA}` });
      return;
    }
    const members = new Set(listing.entries.map((e) => e.name));
    // Every copy of a repeated schema is judged: Python's zipfile reads the last, others the first.
    for (const entry of schemas.slice(0, 4)) {
      ctx.checkpoint();
      const value = await readSchema(ctx, entry);
      if (value === undefined) continue;
      const { findings, facts } = analyzeSchema(value, members, () => ctx.checkpoint());
      for (const finding of findings) ctx.report({ ...finding, evidence: { ...finding.evidence, member: entry.name } });
      for (const [key, fact] of Object.entries(facts)) ctx.fact(key, fact);
    }
  },
};
