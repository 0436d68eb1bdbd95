/**
 * The compressed-stream analyzer: decompresses gzip/zlib/zstd/xz/bzip2/LZMA-alone/LZ4 and hands the content to the engine
 * as one member named like the file without its compression extension.
 * @module
 */

import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { SliceSource } from "../../core/byte-source.js";
import { isModelgateError } from "../../core/errors.js";
import { budgetOf } from "../budget.js";
import { isBombError } from "./decoded-source.js";
import { decompress, isDecodable } from "./streams.js";

const EXTENSIONS: readonly [RegExp, string][] = [
  [/\.(tgz|taz)$/i, ".tar"],
  [/\.(tbz2?|tbz)$/i, ".tar"],
  [/\.txz$/i, ".tar"],
  [/\.tzst$/i, ".tar"],
  [/\.(gz|gzip|z|zz|zlib|zst|zstd|bz2|bzip2|xz|lzma|lz4)$/i, ""],
];

/**
 * The member name of a compressed stream's content: the name without its compression extension
 * (`model.pkl.gz` → `model.pkl`, `weights.tgz` → `weights.tar`).
 * @param name - the compressed file's name
 */
export function decompressedName(name: string): string {
  for (const [pattern, replacement] of EXTENSIONS) {
    if (pattern.test(name)) {
      const stripped = name.replace(pattern, replacement);
      if (stripped.length > 0) return stripped;
    }
  }
  return name;
}

async function analyzeStream(ctx: AnalysisContext): Promise<void> {
  const format = ctx.detection.format;
  if (!isDecodable(format)) {
    ctx.report({
      ruleId: "format/unsupported",
      message: `${format} streams are recognised but not decompressed by modelgate; the content was not analysed`,
      evidence: { format },
    });
    return;
  }
  let result: Awaited<ReturnType<typeof decompress>>;
  try {
    result = await decompress(format, ctx.source, budgetOf(ctx));
  } catch (error) {
    if (isBombError(error)) {
      ctx.report({
        ruleId: "container/decompression-bomb",
        message: `${format} stream: ${error.message}`,
        evidence: { format, budget: error.budget ?? "" },
      });
      return;
    }
    if (isModelgateError(error, "MALFORMED") || isModelgateError(error, "TRUNCATED")) {
      // Opaque data (a tensor storage, bytes no structure accounts for) that opens like a stream
      // (a zlib header is two bytes: one random storage in a few hundred) but does not decode is
      // data no loader decompresses: nothing was hidden there.
      if (ctx.opaque) return;
      const finding = { ruleId: "container/malformed-stream" as const, message: `${format}: ${error.message}` };
      ctx.report(error.offset === undefined ? finding : { ...finding, offset: error.offset });
      return;
    }
    throw error;
  }
  for (const finding of result.findings) ctx.report(finding);
  if (result.members > 1) ctx.fact(`${format}.members`, result.members);
  if (result.originalName !== undefined) ctx.fact(`${format}.originalName`, result.originalName);
  try {
    await ctx.scanMember(decompressedName(ctx.name), result.source, { offset: 0 });
  } finally {
    await result.source.close?.();
  }
  if (result.trailing !== undefined) {
    const { offset, length } = result.trailing;
    ctx.report({
      ruleId: "format/polyglot",
      message: `${length} bytes follow the ${format} stream; they are analysed separately`,
      offset,
      evidence: { format, trailingBytes: length },
    });
    await ctx.scanMember("<trailing-data>", new SliceSource(ctx.source, offset, length), { offset });
  }
}

/** Analyzer of gzip, zlib, zstd, xz, bzip2, LZMA-alone and LZ4-frame streams. */
export const compressedAnalyzer: Analyzer = {
  name: "compressed",
  formats: ["gzip", "zlib", "zstd", "bz2", "xz", "lzma", "lz4"],
  analyze: analyzeStream,
};
