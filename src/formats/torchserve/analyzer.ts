/**
 * The TorchServe analyzers. The zip one runs on zips (after the zip container, which hands every
 * member to the engine: the handler `.py`, the serialized model, `requirements.txt`), the tar one
 * on tars (`torch-model-archiver --archive-format tgz`: a gzip'ed tar whose files sit under a
 * folder named after the model; the compressed module decodes it and the tar container hands the
 * members on). Both judge the archive's manifest against its member list (judge.ts), failing
 * closed when it cannot be read or judged. TorchServe unzips a `.mar` with Java's `ZipInputStream`,
 * which follows local headers: the zip's members are the union of its central directory and that
 * walk (streamed.ts). The YAML files of the archive are checked for the Java class tags SnakeYAML
 * constructs (java-yaml.ts).
 * @module
 */

import { readTar, type TarEntry, tarMemberSource } from "../../containers/tar/reader.js";
import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { readExact } from "../../core/byte-source.js";
import { isModelgateError, ModelgateError } from "../../core/errors.js";
import { isYamlMember, MAX_YAML_BYTES, reportJavaYaml, type YamlFile } from "./java-yaml.js";
import { isContentError, judgeManifest, MANIFEST_JSON, MAX_MANIFEST_BYTES, reportUnjudged } from "./judge.js";
import { MANIFEST, membersUnder, tarManifestRoot } from "./manifest.js";
import { readStreamedMember, streamedListing } from "./streamed.js";
import { listZip, lowerExtension, readMember } from "./zip-listing.js";

export { MAX_MANIFEST_BYTES } from "./judge.js";
export { MANIFEST } from "./manifest.js";

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

/** Analyses TorchServe `.mar` archives (zips with `MAR-INF/MANIFEST.json`, or named `.mar`). */
export const torchserveAnalyzer: Analyzer = {
  name: "torchserve",
  formats: ["zip"],
  async analyze(ctx: AnalysisContext): Promise<void> {
    const listing = await listZip(ctx);
    if (listing === undefined) return;
    const isMar = ctx.formats.zipFlavors(listing.names, ctx.source).some((f) => f.format === "torchserve-mar");
    if (!isMar && lowerExtension(ctx.name) !== "mar") return;
    // what TorchServe's unzip extracts besides the listed members
    const { hidden } = await streamedListing(ctx, listing.entries);
    const members = new Set([...listing.entries.map((e) => e.name), ...hidden.map((e) => e.name)]);
    // every copy of the manifest, listed or not: each is read the way its reader reads it
    const manifests = [
      ...listing.entries
        .filter((e) => e.name === MANIFEST)
        .map((e) => () => readMember(ctx, e, MANIFEST_JSON.maxBytes, MANIFEST_JSON.budget)),
      ...hidden
        .filter((e) => e.name === MANIFEST)
        .map((e) => () => readStreamedMember(ctx, e, MANIFEST_JSON.maxBytes, MANIFEST_JSON.budget)),
    ];
    if (manifests.length === 0) {
      reportUnjudged(ctx, undefined, members, `the archive has no ${MANIFEST}`, "archive");
    }
    for (const read of manifestsToJudge(ctx, manifests)) {
      ctx.checkpoint();
      await judgeManifest(ctx, MANIFEST, read, members);
    }
    const yaml: YamlFile[] = [
      ...listing.entries
        .filter((e) => isYamlMember(e.name))
        .map((e) => ({
          name: e.name,
          size: e.uncompressedSize,
          read: () => readMember(ctx, e, MAX_YAML_BYTES, "torchserve.maxYamlBytes"),
        })),
      ...hidden
        .filter((e) => isYamlMember(e.name))
        .map((e) => ({
          name: e.name,
          size: e.method === 0 ? e.streamLength : 0,
          read: () => readStreamedMember(ctx, e, MAX_YAML_BYTES, "torchserve.maxYamlBytes"),
        })),
    ];
    await reportJavaYaml(ctx, yaml, isContentError);
  },
};

/** Reads a tar member whole, at most `max` bytes ({@link MAX_MANIFEST_BYTES} by default). */
async function readTarMember(
  ctx: AnalysisContext,
  entry: TarEntry,
  max = MAX_MANIFEST_BYTES,
  budget = MANIFEST_JSON.budget,
): Promise<Uint8Array> {
  if (entry.size > max) {
    throw new ModelgateError("BUDGET_EXCEEDED", `member ${JSON.stringify(entry.name)} is larger than ${max} bytes`, {
      budget,
    });
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
      if (root !== "") ctx.fact("torchserve.modelDirectory", root.slice(0, -1).slice(0, 200));
      await judgeManifest(ctx, entry.name, () => readTarMember(ctx, entry), membersUnder(names, root));
      const yaml = entries
        .filter((e) => e.isFile && e.name.replace(/^(?:\.\/)+/, "").startsWith(root) && isYamlMember(e.name))
        .map((e) => ({
          name: e.name,
          size: e.size,
          read: () => readTarMember(ctx, e, MAX_YAML_BYTES, "torchserve.maxYamlBytes"),
        }));
      await reportJavaYaml(ctx, yaml, isContentError);
    }
  },
};
