/**
 * The analyzer of Core ML ML Program weight files (MIL blob storage): walks every metadata record
 * (see `weights.ts`), records the inventory, hands bytes past the last blob to the engine, and,
 * when the package's `model.mlmodel` sits beside the `weights` folder and is small enough to read
 * whole, checks that every offset its ML Program names in this file is a metadata record.
 * @module
 */
import { posix } from "node:path";
import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { BufferSource, SliceSource } from "../../core/byte-source.js";
import { toModelgateError } from "../../core/errors.js";
import { FindingList } from "../../core/findings.js";
import { readSibling } from "../../core/sibling.js";
import { MODEL_PATH } from "./mil.js";
import { readCoremlPartial } from "./reader.js";
import { BLOB_ALIGN, readMilWeights } from "./weights.js";

/** Largest sibling `model.mlmodel` read for the reference check (it is read whole, in memory). */
export const MAX_SIBLING_MODEL_BYTES = 4 << 20;

/** The file name (as an ML Program writes it) and path of the model a weight file belongs to. */
export function modelFor(weightsPath: string): { model: string; reference: string } {
  // `@model_path` is the folder of model.mlmodel; weights live in its `weights/` folder
  const modelDir = posix.dirname(posix.dirname(weightsPath));
  return {
    model: posix.join(modelDir, "model.mlmodel"),
    reference: MODEL_PATH + posix.relative(modelDir, weightsPath),
  };
}

/** Normalises a blob file name (`@model_path/./weights//weight.bin`) for comparison. */
function normalise(fileName: string): string {
  if (!fileName.startsWith(MODEL_PATH)) return fileName;
  return MODEL_PATH + posix.normalize(fileName.slice(MODEL_PATH.length).replaceAll("\\", "/"));
}

/**
 * The metadata offsets the sibling model references in this file, or undefined when there is no
 * readable sibling ML Program (not top-level, absent, too large, or not a valid model).
 */
async function referencedOffsets(ctx: AnalysisContext): Promise<{ model: string; offsets: Set<number> } | undefined> {
  if (ctx.depth !== 0) return undefined;
  const { model, reference } = modelFor(ctx.path);
  // its size first (no bytes read): a model too large to read whole is not read at all
  const probe = await readSibling(ctx, model, 0);
  if (probe === undefined || probe.size > MAX_SIBLING_MODEL_BYTES) return undefined;
  const sibling = await readSibling(ctx, model, MAX_SIBLING_MODEL_BYTES);
  if (sibling === undefined || sibling.size !== sibling.head.length) return undefined;
  const { summary, error } = await readCoremlPartial(new BufferSource(sibling.head), {
    checkpoint: () => ctx.checkpoint(),
  });
  // a broken model is reported by its own analysis; references are only trusted from a whole read
  if (error !== undefined || summary.milPrograms === 0) return undefined;
  const offsets = new Set<number>();
  for (const ref of summary.milBlobRefs) if (normalise(ref.file) === reference) offsets.add(ref.offset);
  return { model, offsets };
}

/** Analyzer of MIL blob storage files. */
export const coremlWeightsAnalyzer: Analyzer = {
  name: "coreml-weights",
  formats: ["coreml-weights"],
  async analyze(ctx: AnalysisContext): Promise<void> {
    const refs = await referencedOffsets(ctx);
    const found = new Set<number>();
    let summary: Awaited<ReturnType<typeof readMilWeights>>;
    try {
      summary = await readMilWeights(ctx.source, {
        checkpoint: () => ctx.checkpoint(),
        ...(refs === undefined
          ? {}
          : {
              onRecord: (r) => {
                if (refs.offsets.has(r.metadataOffset)) found.add(r.metadataOffset);
              },
            }),
      });
    } catch (error) {
      const e = toModelgateError(error);
      if (e.code !== "MALFORMED" && e.code !== "TRUNCATED") throw e;
      ctx.report({
        ruleId: "coreml/weights-malformed",
        message: `the weight file is invalid: ${e.message}`,
        ...(e.offset === undefined ? {} : { offset: e.offset }),
        evidence: { code: e.code },
      });
      return;
    }
    ctx.fact("tensorCount", summary.count);
    ctx.fact("parameterCount", summary.elements);
    if (summary.dtypes.size > 0) ctx.fact("dtypes", [...summary.dtypes.keys()]);
    ctx.fact("coreml.weights.blobs", Object.fromEntries(summary.dtypes));
    ctx.fact("coreml.weights.dataBytes", summary.dataBytes);

    const findings = new FindingList();
    if (refs !== undefined) {
      ctx.fact("coreml.weights.model", refs.model);
      ctx.fact("coreml.weights.references", refs.offsets.size);
      for (const offset of refs.offsets) {
        if (found.has(offset)) continue;
        findings.add({
          ruleId: "coreml/weights-dangling-reference",
          message: `${refs.model} reads a blob at offset ${offset}, which is not a metadata record of this file`,
          offset,
          evidence: { model: refs.model.slice(0, 300), blobOffset: offset },
        });
      }
    }
    if (summary.gapBytes > 0) {
      findings.add({
        ruleId: "coreml/weights-unaccounted-bytes",
        message: `${summary.gapBytes} bytes lie between metadata records and their data`,
        evidence: { gapBytes: summary.gapBytes },
      });
    }
    for (const f of findings.list()) ctx.report(f);

    const padded = Math.ceil(summary.end / BLOB_ALIGN) * BLOB_ALIGN;
    const size = ctx.source.size;
    if (size <= padded) return;
    const length = size - padded;
    ctx.report({
      ruleId: "coreml/weights-unaccounted-bytes",
      message: `${length} bytes follow the last blob (its data ends at byte ${summary.end})`,
      offset: padded,
      evidence: { dataEnd: summary.end, trailingBytes: length },
    });
    await ctx.scanMember("trailing-data", new SliceSource(ctx.source, padded, length), {
      offset: padded,
      opaqueData: true,
    });
  },
};
