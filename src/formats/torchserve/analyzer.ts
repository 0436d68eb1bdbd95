/**
 * The TorchServe analyzers. The zip one runs on zips (after the zip container, which hands every
 * member to the engine: the handler `.py`, the serialized model, `requirements.txt`), the tar one
 * on tars (`torch-model-archiver --archive-format tgz`: a gzip'ed tar whose files sit under a
 * folder named after the model; the compressed module decodes it and the tar container hands the
 * members on). Both judge the archive's manifest against its member list.
 * @module
 */

import { readTar, type TarEntry, tarMemberSource } from "../../containers/tar/reader.js";
import type { ZipEntry } from "../../containers/zip/reader.js";
import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { readExact } from "../../core/byte-source.js";
import { isModelgateError, ModelgateError } from "../../core/errors.js";
import type { FindingInput } from "../../core/findings.js";
import type { JsonValue } from "../../core/json.js";
import { analyzeManifest, MANIFEST, membersUnder, tarManifestRoot } from "./manifest.js";
import { type JsonMemberOptions, listZip, lowerExtension, readJsonMember, readJsonWith } from "./zip-listing.js";

export { MANIFEST } from "./manifest.js";

/** The largest manifest read (real ones are a few hundred bytes). */
export const MAX_MANIFEST_BYTES = 1 << 20;
/** Copies of a repeated manifest judged (readers differ on which one they take). */
const MAX_MANIFESTS = 4;

/**
 * The manifests to judge, last first: extracting an archive (TorchServe's unzip, `tarfile`)
 * writes every copy in turn, so the last one is what the loader reads. Copies past
 * {@link MAX_MANIFESTS} are not judged but reported (`scan/budget-exceeded`), never dropped silently.
 */
function manifestsToJudge<T>(ctx: AnalysisContext, manifests: readonly T[]): T[] {
  if (manifests.length > MAX_MANIFESTS) {
    ctx.report({
      ruleId: "scan/budget-exceeded",
      message: `the archive holds ${manifests.length} manifests; only the last ${MAX_MANIFESTS} were judged`,
      evidence: { budget: "torchserve.maxManifests", limit: MAX_MANIFESTS, count: manifests.length },
    });
  }
  return manifests.slice(-MAX_MANIFESTS).reverse();
}

/** How a manifest is read, wherever it is. */
export const MANIFEST_JSON: JsonMemberOptions = {
  maxBytes: MAX_MANIFEST_BYTES,
  budget: "torchserve.maxManifestBytes",
  json: { maxDepth: 64, maxValues: 100_000, maxStringLength: 1 << 16, maxTreeBytes: 16 << 20 },
  ruleId: "torchserve/malformed",
};

function readManifest(ctx: AnalysisContext, entry: ZipEntry): Promise<JsonValue | undefined> {
  return readJsonMember(ctx, entry, MANIFEST_JSON);
}

/** Where the judgement of one manifest goes. */
export interface ManifestSink {
  report(finding: FindingInput): void;
  fact(key: string, value: unknown): void;
}

/**
 * Judges one parsed manifest against the member list and reports what it makes TorchServe do.
 * @param sink - where findings and facts go
 * @param value - the manifest's JSON
 * @param members - the model directory's files, relative to it
 * @param manifest - the manifest's name, for evidence
 * @param place - what holds the files, for messages
 */
export function reportManifest(
  sink: ManifestSink,
  value: JsonValue,
  members: ReadonlySet<string>,
  manifest: string,
  place: "archive" | "model folder" = "archive",
): void {
  const { findings, facts } = analyzeManifest(value, members, place);
  for (const finding of findings) sink.report({ ...finding, evidence: { ...finding.evidence, manifest } });
  for (const [key, fact] of Object.entries(facts)) sink.fact(key, fact);
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
    for (const entry of manifestsToJudge(ctx, manifests)) {
      ctx.checkpoint();
      const value = await readManifest(ctx, entry);
      if (value !== undefined) reportManifest(ctx, value, members, entry.name);
    }
  },
};

/** Reads a tar member whole, at most {@link MAX_MANIFEST_BYTES}. */
async function readTarMember(ctx: AnalysisContext, entry: TarEntry): Promise<Uint8Array> {
  if (entry.size > MAX_MANIFEST_BYTES) {
    throw new ModelgateError(
      "BUDGET_EXCEEDED",
      `member ${JSON.stringify(entry.name)} is larger than ${MAX_MANIFEST_BYTES} bytes`,
      {
        budget: MANIFEST_JSON.budget,
      },
    );
  }
  // a sparse member is read as tarfile rebuilds it (holes as zeros)
  return readExact(tarMemberSource(ctx.source, entry), 0, entry.size);
}

/**
 * Analyses TorchServe archives in tar form (`--archive-format tgz`): a tar with
 * `MAR-INF/MANIFEST.json` at its root or under one folder (the archiver writes
 * `<model-name>/MAR-INF/MANIFEST.json`). Any other tar is left to the tar container.
 */
export const torchserveTarAnalyzer: Analyzer = {
  name: "torchserve-tar",
  formats: ["tar"],
  async analyze(ctx: AnalysisContext): Promise<void> {
    let entries: readonly TarEntry[];
    try {
      entries = (await readTar(ctx.source, { maxEntries: ctx.limits.maxEntries, signal: ctx.signal })).entries;
    } catch (error) {
      // the tar container reports an archive it cannot walk
      if (isModelgateError(error, "MALFORMED") || isModelgateError(error, "TRUNCATED")) return;
      throw error;
    }
    const manifests = entries.filter((e) => e.isFile && tarManifestRoot(e.name) !== undefined);
    if (manifests.length === 0) return;
    // Links count as members: an extracted link is what the import finds.
    const names = entries.filter((e) => e.isFile || e.type === "1" || e.type === "2").map((e) => e.name);
    ctx.fact("torchserve.archiveFormat", "tar");
    for (const entry of manifestsToJudge(ctx, manifests)) {
      ctx.checkpoint();
      const root = tarManifestRoot(entry.name) ?? "";
      const value = await readJsonWith(ctx, entry.name, () => readTarMember(ctx, entry), MANIFEST_JSON);
      if (value === undefined) continue;
      if (root !== "") ctx.fact("torchserve.modelDirectory", root.slice(0, -1).slice(0, 200));
      reportManifest(ctx, value, membersUnder(names, root), entry.name);
    }
  },
};
