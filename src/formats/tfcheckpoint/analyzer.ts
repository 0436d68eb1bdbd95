/**
 * The TensorFlow checkpoint index analyzer: validates the table and records facts.
 * @module
 */
import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { isModelgateError } from "../../core/errors.js";
import { readSibling } from "../../core/sibling.js";
import { factNumber } from "../safetensors/analyzer.js";
import { detectCheckpointIndex, SHARD } from "./index.js";
import { type CheckpointIndex, readCheckpointIndex } from "./index-reader.js";

/** Roots whose `open` reaches a sibling by its path (a single file or caller's bytes cannot). */
const SIBLING_ROOTS: ReadonlySet<string> = new Set(["directory", "hub", "s3", "oci"]);
/** Most data shards whose sizes are looked up per index. */
const MAX_SHARDS_CHECKED = 1000;

/** The name TensorFlow gives shard `id` of `count` beside the index `path` (`x.index` → `x.data-…`). */
export function shardPath(path: string, id: number, count: number): string {
  const pad = (n: number) => String(n).padStart(5, "0");
  return `${path.slice(0, -".index".length)}.data-${pad(id)}-of-${pad(count)}`;
}

/**
 * Checks each shard the entries use against its data file: present, and at least as long as the
 * furthest entry reaches (sizes only; tensor bytes are not read). Returns how many were checked,
 * or why none could be.
 */
async function checkShards(ctx: AnalysisContext, index: CheckpointIndex): Promise<number | string> {
  if (ctx.depth !== 0 || !SIBLING_ROOTS.has(ctx.root.target.kind)) return "no sibling files in this scan";
  if (!ctx.path.endsWith(".index")) return "the index is not named *.index";
  if (index.shards === undefined) return "no bundle header";
  let checked = 0;
  for (const [id, extent] of [...index.shardExtents].sort((a, b) => a[0] - b[0])) {
    if (checked >= MAX_SHARDS_CHECKED) break;
    ctx.checkpoint();
    checked++;
    const path = shardPath(ctx.path, id, index.shards);
    let size: number | undefined;
    try {
      const source = await ctx.root.open(path, { signal: ctx.signal });
      size = source.size;
      await source.close?.();
    } catch {
      size = undefined;
    }
    const file = path.slice(path.lastIndexOf("/") + 1);
    if (size === undefined) {
      ctx.report({
        ruleId: "tf-checkpoint/missing-shard",
        message: `data shard ${file} (${extent.entries} tensor(s)) is not beside the index`,
        evidence: { shard: file, entries: extent.entries },
      });
    } else if (extent.end > size) {
      ctx.report({
        ruleId: "tf-checkpoint/out-of-bounds",
        message: `tensor ${JSON.stringify(extent.name)} ends at byte ${extent.end} of ${file}, which has ${size} bytes`,
        evidence: { shard: file, tensor: extent.name, end: extent.end, shardSize: size },
      });
    }
  }
  return checked;
}

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
    if (index.compressedBlocks > 0) {
      ctx.fact("tf.compressedBlocks", index.compressedBlocks);
      ctx.report({
        ruleId: "tf-checkpoint/unread-blocks",
        message: `${index.compressedBlocks} Snappy-compressed index block(s) were not read: their entries are unchecked`,
        evidence: { blocks: index.compressedBlocks },
      });
    } else {
      ctx.fact("tensorCount", index.tensors);
      ctx.fact("parameterCount", factNumber(index.parameters));
      ctx.fact("dtypes", [...index.dtypes].sort());
      ctx.fact("tf.tensorBytes", index.tensorBytes);
    }
    if (index.shards !== undefined) ctx.fact("tf.shards", index.shards);
    if (index.compressedBlocks === 0) {
      const checked = await checkShards(ctx, index);
      if (typeof checked === "number") ctx.fact("tf.shardsChecked", checked);
      else ctx.fact("tf.shardsUnchecked", checked);
    }
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
