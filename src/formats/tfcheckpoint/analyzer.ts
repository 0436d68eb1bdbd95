/**
 * The TensorFlow checkpoint index analyzer: validates the table and records facts.
 * @module
 */
import type { Analyzer } from "../../core/analyzer.js";
import { isModelgateError } from "../../core/errors.js";
import { readSibling } from "../../core/sibling.js";
import { factNumber } from "../safetensors/analyzer.js";
import { detectCheckpointIndex, SHARD } from "./detect.js";
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

/**
 * Keeps a data shard (`*.data-NNNNN-of-NNNNN`, recognised by its name alone) as tensor bytes only
 * when its `.index` sits beside it and is a checkpoint index; any other file so named goes back to
 * unknown content (`format/unknown`): a name alone never makes bytes clean.
 */
export const tfCheckpointDataAnalyzer: Analyzer = {
  name: "tf-checkpoint-data",
  formats: ["tf-checkpoint-data"],
  async analyze(ctx) {
    const index = ctx.path.replace(SHARD, ".index");
    const sibling = index === ctx.path ? undefined : await readSibling(ctx, index, 4096);
    const found =
      sibling === undefined
        ? undefined
        : detectCheckpointIndex({ ...sibling, name: index.slice(index.lastIndexOf("/") + 1) });
    if (found?.format !== "tf-checkpoint") {
      ctx.refineFormat("unknown");
      return;
    }
    ctx.fact("tfCheckpoint.shardOf", index);
  },
};
