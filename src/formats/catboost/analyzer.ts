/**
 * The CatBoost analyzer: validates the `.cbm` envelope, core and trees, records the inventory.
 * @module
 */
import type { Analyzer } from "../../core/analyzer.js";
import { isModelgateError } from "../../core/errors.js";
import { preview } from "../../core/preview.js";
import { readCbm } from "./model.js";

/** Analyses CatBoost `.cbm` models. */
export const catboostAnalyzer: Analyzer = {
  name: "catboost",
  formats: ["catboost"],
  async analyze(ctx) {
    let model: Awaited<ReturnType<typeof readCbm>>;
    try {
      model = await readCbm(ctx.source, { maxEntries: ctx.limits.maxEntries, checkpoint: () => ctx.checkpoint() });
    } catch (error) {
      if (isModelgateError(error, "MALFORMED") || isModelgateError(error, "TRUNCATED")) {
        ctx.report({
          ruleId: "catboost/malformed",
          message: error.message,
          ...(error.offset === undefined ? {} : { offset: error.offset }),
        });
        return;
      }
      throw error;
    }
    ctx.fact("modelType", "catboost");
    ctx.fact("catboost.coreBytes", model.coreSize);
    if (model.formatVersion !== undefined) ctx.fact("catboost.formatVersion", preview(model.formatVersion, 60));
    if (model.info.size > 0)
      ctx.fact(
        "catboost.infoKeys",
        [...model.info.keys()].slice(0, 50).map((k) => preview(k, 60)),
      );
    const version = model.info.get("catboost_version_info");
    if (version !== undefined) ctx.fact("catboost.versionInfo", preview(version, 120));
    if (model.partIds > 0) ctx.fact("catboost.modelParts", model.partIds);
    const t = model.trees;
    ctx.fact("catboost.trees", t.treeCount);
    ctx.fact("catboost.treeKind", t.nonSymmetric ? "non-symmetric" : "oblivious");
    if (!t.nonSymmetric) ctx.fact("catboost.maxDepth", t.maxDepth);
    ctx.fact("catboost.approxDimension", t.approxDimension);
    ctx.fact("catboost.leafValues", t.leafValues);
    ctx.fact("catboost.features", {
      float: t.floatFeatures,
      categorical: t.catFeatures,
      oneHot: t.oneHotFeatures,
      ctr: t.ctrFeatures,
      text: t.textFeatures,
      estimated: t.estimatedFeatures,
    });
  },
};
