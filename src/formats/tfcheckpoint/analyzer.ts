/**
 * The TensorFlow checkpoint index analyzer: validates the table and records facts.
 * @module
 */
import type { Analyzer } from "../../core/analyzer.js";
import { isModelgateError } from "../../core/errors.js";
import { factNumber } from "../safetensors/analyzer.js";
import { readCheckpointIndex } from "./index-reader.js";

/** Analyses `.index` files. */
export const tfCheckpointAnalyzer: Analyzer = {
  name: "tf-checkpoint",
  formats: ["tf-checkpoint"],
  async analyze(ctx) {
    let index: Awaited<ReturnType<typeof readCheckpointIndex>>;
    try {
      index = await readCheckpointIndex(ctx.source, {
        maxEntries: ctx.limits.maxEntries,
        checkpoint: () => ctx.checkpoint(),
      });
    } catch (error) {
      if (isModelgateError(error, "MALFORMED") || isModelgateError(error, "TRUNCATED")) {
        ctx.report({
          ruleId: "tf-checkpoint/malformed",
          message: error.message,
          ...(error.offset === undefined ? {} : { offset: error.offset }),
        });
        return;
      }
      throw error;
    }
    if (index.compressedBlocks > 0) ctx.fact("tf.compressedBlocks", index.compressedBlocks);
    else {
      ctx.fact("tensorCount", index.tensors);
      ctx.fact("parameterCount", factNumber(index.parameters));
      ctx.fact("dtypes", [...index.dtypes].sort());
    }
    if (index.shards !== undefined) ctx.fact("tf.shards", index.shards);
  },
};
