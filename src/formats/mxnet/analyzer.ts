/**
 * MXNet analyzers: the NDArray list (structure, sizes, facts, trailing bytes) and the symbol graph
 * (structure, custom and native-callback operators, facts).
 * @module
 */
import type { Analyzer } from "../../core/analyzer.js";
import { readClamped, SliceSource } from "../../core/byte-source.js";
import { isModelgateError, ModelgateError } from "../../core/errors.js";
import { decodeUtf8Strict, parsePlainJson } from "../../core/json.js";
import { factNumber } from "../safetensors/analyzer.js";
import { readNdarrayList } from "./params.js";
import { analyzeSymbol } from "./symbol.js";

/** Largest symbol graph parsed. */
const MAX_SYMBOL_BYTES = 256 * 1024 * 1024;

/** Analyses `.params` NDArray lists. */
export const mxnetParamsAnalyzer: Analyzer = {
  name: "mxnet-params",
  formats: ["mxnet-params"],
  async analyze(ctx) {
    let list: Awaited<ReturnType<typeof readNdarrayList>>;
    try {
      list = await readNdarrayList(ctx.source, {
        maxArrays: ctx.limits.maxEntries,
        head: ctx.head,
        checkpoint: () => ctx.checkpoint(),
      });
    } catch (error) {
      if (isModelgateError(error, "MALFORMED") || isModelgateError(error, "TRUNCATED")) {
        ctx.report({
          ruleId: "mxnet/malformed",
          message: error.message,
          ...(error.offset === undefined ? {} : { offset: error.offset }),
        });
        return;
      }
      throw error;
    }
    ctx.fact("tensorCount", list.arrays);
    ctx.fact("parameterCount", factNumber(list.parameters));
    ctx.fact("dtypes", [...list.dtypes].sort());
    ctx.fact("mxnet.named", list.names > 0);
    if (list.sparse > 0) ctx.fact("mxnet.sparseArrays", list.sparse);
    if (list.end < ctx.source.size) {
      ctx.report({
        ruleId: "mxnet/trailing-data",
        message: `${ctx.source.size - list.end} bytes follow the NDArray list (byte ${list.end})`,
        offset: list.end,
        evidence: { end: list.end, trailingBytes: ctx.source.size - list.end },
      });
      await ctx.scanMember(`@${list.end}`, new SliceSource(ctx.source, list.end, ctx.source.size - list.end), {
        offset: list.end,
        opaqueData: true,
      });
    }
  },
};

/** Analyses `*-symbol.json` graphs. */
export const mxnetSymbolAnalyzer: Analyzer = {
  name: "mxnet-symbol",
  formats: ["mxnet-symbol"],
  async analyze(ctx) {
    const size = ctx.source.size;
    if (size > MAX_SYMBOL_BYTES) {
      throw new ModelgateError("BUDGET_EXCEEDED", `symbol graph of ${size} bytes exceeds ${MAX_SYMBOL_BYTES}`, {
        budget: "mxnetSymbolBytes",
      });
    }
    let root: unknown;
    try {
      const bytes = size <= ctx.head.length ? ctx.head : await readClamped(ctx.source, 0, size);
      root = parsePlainJson(decodeUtf8Strict(bytes), { checkpoint: () => ctx.checkpoint() }).value;
    } catch (error) {
      if (isModelgateError(error, "MALFORMED")) {
        ctx.report({ ruleId: "mxnet/malformed", message: `symbol JSON: ${error.message}` });
        return;
      }
      throw error;
    }
    const graph = analyzeSymbol(root);
    if (graph === undefined) {
      ctx.refineFormat("json"); // JSON with a "nodes" array that is no MXNet graph: plain data
      return;
    }
    for (const issue of graph.issues) ctx.report(issue);
    ctx.fact("mxnet.nodes", graph.nodes);
    ctx.fact("mxnet.ops", [...graph.ops].sort().slice(0, 200));
    if (graph.version !== undefined) ctx.fact("toolVersions", { mxnet: graph.version });
  },
};
