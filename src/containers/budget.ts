/**
 * The bridge between an analysis context and the decompression budget of the container readers.
 * @module
 */
import type { AnalysisContext } from "../core/analyzer.js";
import type { DecompressionBudget } from "./compressed/decoded-source.js";

/**
 * The scan's decompression budget, as the container readers take it.
 * @param ctx - the analysis context
 */
export function budgetOf(ctx: AnalysisContext): DecompressionBudget {
  return {
    charge: (bytes) => ctx.chargeDecompressed(bytes),
    maxRatio: ctx.limits.maxCompressionRatio,
    signal: ctx.signal,
  };
}
