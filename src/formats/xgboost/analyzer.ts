/**
 * The XGBoost analyzer: parses JSON (strict, bounded) and UBJSON models and validates them, or
 * reads the legacy binary layout; records facts (trees, features, objective, version).
 * @module
 */
import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { readClamped, SliceSource } from "../../core/byte-source.js";
import { isModelgateError, ModelgateError } from "../../core/errors.js";
import { decodeUtf8Strict, parsePlainJson } from "../../core/json.js";
import { legacyBinaryStart, readLegacyBinary } from "./binary.js";
import { validateModel, type XgbIssue, type XgbModelInfo } from "./model.js";
import { readUbjson } from "./ubjson.js";

/** Largest JSON or UBJSON model parsed whole (the parsed tree costs several times the file). */
export const MAX_DOCUMENT_BYTES = 512 * 1024 * 1024;

/** Analyses XGBoost models. */
export const xgboostAnalyzer: Analyzer = {
  name: "xgboost",
  formats: ["xgboost"],
  async analyze(ctx) {
    const kind = ctx.head[0] === 0x7b ? "ubjson" : legacyBinaryStart(ctx.head) !== undefined ? "binary" : "json";
    const json = ctx.detection.reason.startsWith("JSON");
    try {
      if (json || kind === "ubjson") await analyzeDocument(ctx, json ? "json" : "ubjson");
      else await analyzeBinary(ctx);
    } catch (error) {
      if (isModelgateError(error, "MALFORMED") || isModelgateError(error, "TRUNCATED")) {
        ctx.report({
          ruleId: "xgboost/malformed",
          message: error.message,
          ...(error.offset === undefined ? {} : { offset: error.offset }),
        });
        return;
      }
      throw error;
    }
  },
};

async function analyzeDocument(ctx: AnalysisContext, encoding: "json" | "ubjson"): Promise<void> {
  const size = ctx.source.size;
  if (size > MAX_DOCUMENT_BYTES) {
    throw new ModelgateError("BUDGET_EXCEEDED", `${encoding} model of ${size} bytes exceeds ${MAX_DOCUMENT_BYTES}`, {
      budget: "xgboostDocumentBytes",
    });
  }
  const checkpoint = (): void => ctx.checkpoint();
  let root: unknown;
  if (encoding === "json") {
    const bytes = size <= ctx.head.length ? ctx.head : await readClamped(ctx.source, 0, size);
    const text = decodeUtf8Strict(bytes);
    root = parsePlainJson(text, {
      allowNonFinite: true,
      maxTreeBytes: 8 * MAX_DOCUMENT_BYTES,
      checkpoint,
    }).value;
  } else {
    root = await readUbjson(ctx.source, { head: ctx.head, checkpoint });
  }
  const { info, issues, isModel } = validateModel(root, encoding, checkpoint);
  if (!isModel) {
    if (encoding === "json") {
      ctx.refineFormat("json"); // JSON that opens with "learner" but is no XGBoost model: plain data
      return;
    }
    issues.push({ ruleId: "xgboost/malformed", message: "UBJSON document has no learner and version" });
  }
  report(ctx, info, issues);
}

async function analyzeBinary(ctx: AnalysisContext): Promise<void> {
  const start = legacyBinaryStart(ctx.head) ?? 0;
  const { info, issues, end } = await readLegacyBinary(ctx.source, start, {
    maxTrees: ctx.limits.maxEntries,
    maxNodes: ctx.limits.maxEntries * 256,
    checkpoint: () => ctx.checkpoint(),
    head: ctx.head,
  });
  report(ctx, info, issues);
  if (end < ctx.source.size) {
    ctx.report({
      ruleId: "xgboost/trailing-data",
      message: `${ctx.source.size - end} bytes follow the model (byte ${end})`,
      offset: end,
      evidence: { end, trailingBytes: ctx.source.size - end },
    });
    await ctx.scanMember(`@${end}`, new SliceSource(ctx.source, end, ctx.source.size - end), {
      offset: end,
      opaqueData: true,
    });
  }
}

function report(ctx: AnalysisContext, info: XgbModelInfo, issues: readonly XgbIssue[]): void {
  for (const issue of issues) ctx.report(issue);
  const facts: Record<string, unknown> = {
    modelType: info.booster === undefined ? undefined : `xgboost-${info.booster}`,
    toolVersions: info.version === undefined ? undefined : { xgboost: info.version },
    "xgboost.encoding": info.encoding,
    "xgboost.objective": info.objective,
    "xgboost.booster": info.booster,
    "xgboost.numTrees": info.numTrees,
    "xgboost.numFeature": info.numFeature,
    "xgboost.numClass": info.numClass,
    "xgboost.nodes": info.nodes > 0 ? info.nodes : undefined,
  };
  for (const [k, v] of Object.entries(facts)) if (v !== undefined) ctx.fact(k, v);
}
