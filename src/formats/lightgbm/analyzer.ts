/**
 * The LightGBM analyzer: validates the text model and records facts.
 * @module
 */
import type { Analyzer } from "../../core/analyzer.js";
import { isModelgateError } from "../../core/errors.js";
import { preview } from "../../core/preview.js";
import { readLightgbm } from "./model.js";

/** Analyses LightGBM text models. */
export const lightgbmAnalyzer: Analyzer = {
  name: "lightgbm",
  formats: ["lightgbm"],
  async analyze(ctx) {
    let model: Awaited<ReturnType<typeof readLightgbm>>;
    try {
      model = await readLightgbm(ctx.source, { maxTrees: ctx.limits.maxEntries, checkpoint: () => ctx.checkpoint() });
    } catch (error) {
      if (isModelgateError(error, "MALFORMED") || isModelgateError(error, "TRUNCATED")) {
        ctx.report({
          ruleId: "lightgbm/malformed",
          message: error.message,
          ...(error.offset === undefined ? {} : { offset: error.offset }),
        });
        return;
      }
      throw error;
    }
    for (const issue of model.issues) ctx.report(issue);
    const h = model.header;
    const objective = h.get("objective");
    ctx.fact("modelType", "lightgbm");
    ctx.fact("lightgbm.version", preview(h.get("version") ?? "", 20));
    ctx.fact("lightgbm.numTrees", model.trees);
    ctx.fact("lightgbm.numLeaves", model.leaves);
    ctx.fact("lightgbm.numClass", Number(h.get("num_class")));
    ctx.fact("lightgbm.numFeature", Number(h.get("max_feature_idx")) + 1);
    if (objective !== undefined) ctx.fact("lightgbm.objective", preview(objective, 80));
  },
};
