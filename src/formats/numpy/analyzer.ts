/**
 * Engine analyzer for NumPy `.npy` files (also the members of `.npz` archives): judges the header
 * as `numpy.load(allow_pickle=True)` does, checks the data length, and analyses the pickle that
 * object arrays carry. A header numpy rejects, or one modelgate cannot judge, still has the bytes
 * after it analysed as a pickle: a loader (or another numpy version) that reads the header
 * differently would unpickle them.
 * @module
 */

import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { SliceSource } from "../../core/byte-source.js";
import { isModelgateError } from "../../core/errors.js";
import { analyzePickleStream } from "../pickle/analyze.js";
import { pickleBudgets, reportPickleAnalysis } from "../pickle/analyzer.js";
import { SourceInput } from "../pickle/input.js";
import { inspectNpyHeader, type NpyHeader, type NpyInspection } from "./npy.js";

/** Analyses `.npy` content. */
export const numpyAnalyzer: Analyzer = {
  name: "numpy",
  formats: ["numpy"],
  async analyze(ctx) {
    const start = ctx.detection.offset;
    let inspection: NpyInspection;
    try {
      inspection = await inspectNpyHeader(ctx.source, start);
    } catch (error) {
      if (isModelgateError(error, "MALFORMED") || isModelgateError(error, "TRUNCATED")) {
        ctx.report({ ruleId: "numpy/malformed", message: error.message, offset: error.offset ?? start });
        return;
      }
      throw error;
    }
    if (inspection.status !== "ok") {
      ctx.report({
        ruleId: inspection.status === "invalid" ? "numpy/malformed" : "numpy/unjudged-header",
        message: `${inspection.reason.slice(0, 300)}; the data is analysed as a pickle`,
        offset: start,
      });
      await speculativePickle(ctx, inspection.dataOffset);
      return;
    }
    const header = inspection.header;
    ctx.fact("numpy.shape", header.shape);
    ctx.fact("numpy.dtype", header.dtype.str);
    ctx.fact("tensorCount", 1);
    const count = header.shape.reduce((a, b) => a * b, 1);
    if (header.shape.every((x) => Number.isSafeInteger(x) && x >= 0) && Number.isSafeInteger(count)) {
      ctx.fact("parameterCount", count);
    }
    ctx.fact("dtypes", [header.dtype.str.replace(/^[<>|=]/, "")]);
    if (header.dtype.object) await objectArray(ctx, header);
    else await plainArray(ctx, header);
  },
};

/** An object array: its data is one pickle. */
async function objectArray(ctx: AnalysisContext, header: NpyHeader): Promise<void> {
  ctx.report({
    ruleId: "numpy/object-array",
    message: `object array ${JSON.stringify(header.shape).slice(0, 200)}: its data is a pickle, loaded only with allow_pickle=True`,
    offset: header.dataOffset,
    evidence: { dtype: header.dtype.str.slice(0, 200), shape: JSON.stringify(header.shape).slice(0, 200) },
  });
  const input = new SourceInput(ctx.source, header.dataOffset);
  const analysis = await analyzePickleStream(input, {
    context: "numpy",
    policy: ctx.policy.options.pickle,
    concatenated: false,
    ...pickleBudgets(ctx),
  });
  await reportPickleAnalysis(ctx, analysis);
  const end = analysis.end;
  if (!analysis.invalid && end < ctx.source.size) {
    ctx.report({
      ruleId: "numpy/trailing-data",
      message: `${ctx.source.size - end} bytes after the pickled object array`,
      offset: end,
    });
    await ctx.scanMember(`@${end}`, new SliceSource(ctx.source, end, ctx.source.size - end), {
      offset: end,
      opaqueData: true,
    });
  }
}

/** A plain array: its data has the length the header declares. */
async function plainArray(ctx: AnalysisContext, header: NpyHeader): Promise<void> {
  const expected = header.dataOffset + (header.dataBytes ?? 0);
  if (ctx.source.size < expected) {
    ctx.report({
      ruleId: "numpy/malformed",
      message: `array data truncated: the header declares ${header.dataBytes} bytes, ${ctx.source.size - header.dataOffset} present`,
      offset: header.dataOffset,
      evidence: { declared: header.dataBytes ?? 0, present: ctx.source.size - header.dataOffset },
    });
  } else if (ctx.source.size > expected) {
    ctx.report({
      ruleId: "numpy/trailing-data",
      message: `${ctx.source.size - expected} bytes after the array data`,
      offset: expected,
    });
    await ctx.scanMember(`@${expected}`, new SliceSource(ctx.source, expected, ctx.source.size - expected), {
      offset: expected,
      opaqueData: true,
    });
  }
}

/**
 * Analyses the bytes after a header that was not judged as a pickle: all findings when they are
 * one, only high and critical ones (what runs before an unpickler fails) when they are not.
 */
async function speculativePickle(ctx: AnalysisContext, dataOffset: number): Promise<void> {
  if (dataOffset >= ctx.source.size) return;
  const analysis = await analyzePickleStream(new SourceInput(ctx.source, dataOffset), {
    context: "numpy",
    policy: ctx.policy.options.pickle,
    concatenated: false,
    ...pickleBudgets(ctx),
  });
  if (!analysis.invalid) {
    await reportPickleAnalysis(ctx, analysis);
    return;
  }
  for (const f of analysis.findings) {
    if (f.ruleId === "pickle/malformed" || f.ruleId === "pickle/trailing-data") continue;
    const severity = ctx.severityOf(f);
    if (severity === "critical" || severity === "high") ctx.report(f);
  }
}
