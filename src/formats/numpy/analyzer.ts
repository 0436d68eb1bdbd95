/**
 * Engine analyzer for NumPy `.npy` files (also the members of `.npz` archives): validates the
 * header, checks the data length, and analyses the pickle that object arrays carry.
 * @module
 */

import type { Analyzer } from "../../core/analyzer.js";
import { SliceSource } from "../../core/byte-source.js";
import { isModelgateError } from "../../core/errors.js";
import { analyzePickleStream } from "../pickle/analyze.js";
import { pickleBudgets, reportPickleAnalysis } from "../pickle/analyzer.js";
import { SourceInput } from "../pickle/input.js";
import { type NpyHeader, readNpyHeader } from "./npy.js";

/** Analyses `.npy` content. */
export const numpyAnalyzer: Analyzer = {
  name: "numpy",
  formats: ["numpy"],
  async analyze(ctx) {
    const start = ctx.detection.offset;
    let header: NpyHeader;
    try {
      header = await readNpyHeader(ctx.source, start);
    } catch (error) {
      if (isModelgateError(error, "MALFORMED") || isModelgateError(error, "TRUNCATED")) {
        ctx.report({ ruleId: "numpy/malformed", message: error.message, offset: error.offset ?? start });
        return;
      }
      throw error;
    }
    ctx.fact("numpy.shape", header.shape);
    ctx.fact("numpy.dtype", header.dtype.str);
    ctx.fact("tensorCount", 1);
    ctx.fact(
      "parameterCount",
      header.shape.reduce((a, b) => a * b, 1),
    );
    ctx.fact("dtypes", [header.dtype.str.replace(/^[<>|=]/, "")]);
    if (header.dtype.object) {
      ctx.report({
        ruleId: "numpy/object-array",
        message: `object array ${JSON.stringify(header.shape)}: its data is a pickle, loaded only with allow_pickle=True`,
        offset: header.dataOffset,
        evidence: { dtype: header.dtype.str, shape: JSON.stringify(header.shape) },
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
      return;
    }
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
  },
};
