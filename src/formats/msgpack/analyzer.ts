/**
 * The msgpack analyzer: reads the whole object strictly (no payload is read), reports anomalies,
 * hands object-array data to the engine as members (pickles are read by the pickle engine), and
 * records the inventory (tensors, parameters, dtypes). A stream that breaks the grammar is
 * reported, and what was read before the break still is (the loader's hook ran on it).
 * @module
 */
import type { Analyzer } from "../../core/analyzer.js";
import { SliceSource } from "../../core/byte-source.js";
import { factNumber } from "../safetensors/analyzer.js";
import { MsgpackError, readMsgpackPartial } from "./reader.js";

/** Analyses msgpack model files. */
export const msgpackAnalyzer: Analyzer = {
  name: "msgpack",
  formats: ["flax-msgpack"],
  async analyze(ctx) {
    const { summary, error } = await readMsgpackPartial(ctx.source, {
      head: ctx.head,
      maxItems: Math.max(ctx.limits.maxEntries * 10, 1000),
      checkpoint: () => ctx.checkpoint(),
    });
    if (error !== undefined) {
      ctx.report({
        ruleId: error instanceof MsgpackError ? error.ruleId : "msgpack/malformed",
        message: error.message,
        ...(error.offset === undefined ? {} : { offset: error.offset }),
      });
    }
    for (const issue of summary.issues.list()) ctx.report(issue);
    for (const p of summary.payloads) {
      await ctx.scanMember(p.name, new SliceSource(ctx.source, p.offset, p.length), { offset: p.offset });
    }
    if (error === undefined && summary.end < ctx.source.size) {
      await ctx.scanMember(`@${summary.end}`, new SliceSource(ctx.source, summary.end, ctx.source.size - summary.end), {
        offset: summary.end,
        opaqueData: true,
      });
    }
    ctx.fact("tensorCount", summary.tensors);
    ctx.fact("parameterCount", factNumber(summary.parameters));
    ctx.fact("dtypes", [...summary.dtypes].sort());
    ctx.fact("msgpack.values", summary.items);
    if (summary.chunkedArrays > 0) ctx.fact("flax.chunkedArrays", summary.chunkedArrays);
    if (summary.extensions.size > 0) {
      ctx.fact("msgpack.extensionTypes", Object.fromEntries([...summary.extensions].map(([k, v]) => [String(k), v])));
    }
  },
};
