/**
 * The compressed-stream analyzer: decompresses gzip/zlib/zstd/xz/bzip2/LZMA-alone/LZ4 and hands the content to the engine
 * as one member named like the file without its compression extension.
 * @module
 */

import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { SliceSource } from "../../core/byte-source.js";
import type { ModelgateError } from "../../core/errors.js";
import { budgetOf } from "../budget.js";
import { isBombError, type OutputProbe } from "./decoded-source.js";
import { decompressUpToError, isDecodable } from "./streams.js";

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
  const member = decompressedName(ctx.name);
  const result = await decompressUpToError(format, ctx.source, budgetOf(ctx), { probe: opaqueProbe(ctx) });
  const error = result.error;
  if (error !== undefined && ctx.opaque && !isBombError(error)) {
    // Opaque data (a tensor storage, bytes no structure accounts for) that opens like a stream
    // (a zlib header is two bytes: one random storage in a few hundred) but does not decode is
    // data no loader decompresses: nothing was hidden there.
    await result.source.close?.();
    return;
  }
  if (error !== undefined) reportStop(ctx, format, error, result.source.size);
  for (const finding of result.findings) ctx.report(finding);
  if (result.members > 1) ctx.fact(`${format}.members`, result.members);
  if (result.originalName !== undefined) ctx.fact(`${format}.originalName`, result.originalName);
  try {
    // what decoded before an error is what a streaming reader hands on (pickle.load runs a pickle
    // that ends there): it is analysed like a whole stream
    if (error === undefined || result.source.size > 0) {
      await ctx.scanMember(member, result.source, { offset: 0 });
    }
  } finally {
    await result.source.close?.();
  }
  if (result.stoppedAt !== undefined) {
    ctx.report({
      ruleId: "scan/budget-exceeded",
      message: `${format} stream: decoding stopped after ${result.stoppedAt} bytes of content no loader reads (no format, no pickle opcode at byte 0); unrecognised content is analysed in its first 64 MiB only, and the rest of the stream and any bytes after it were not read`,
      evidence: { format, decoded: result.stoppedAt },
    });
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

/**
 * Output decoded before the probe looks: past what the engine analyses of unrecognised content
 * (its pickle-import sweep reads the first 64 MiB).
 */
const PROBE_AT = 65 * 1024 * 1024;

/**
 * Stops decoding a stream whose first {@link PROBE_AT} bytes are no format modelgate recognises:
 * loaders read a decompressed stream from its start (pickle.load, joblib, np.load, tarfile), so
 * content they cannot read there is not read further by them, and the engine's analysis of
 * unrecognised content covers only that much. Decoding gigabytes of it took minutes.
 */
function opaqueProbe(ctx: AnalysisContext): OutputProbe {
  return {
    at: PROBE_AT,
    enough: (head, recent, size) =>
      !mayOpenPickle(head) && ctx.formats.sniff({ head, tail: recent, size, name: NEUTRAL_NAME }).length === 0,
  };
}

/**
 * A name no detector reads anything into: the probe asks what the bytes are, not what a name
 * makes of unknown bytes (a name without extension is a candidate for ONNX external data).
 */
const NEUTRAL_NAME = "stream-content.probe";

/** Opcodes of pickle protocols 0–3 (printable ASCII); protocols 2–5 add 0x80–0x98. */
const ASCII_OPCODES = new Set(Array.from("().012FGIJKLMNPQRSTUVXabcdeghijlopqrstu}]BC", (c) => c.charCodeAt(0)));

/**
 * Whether the first byte is a pickle opcode: under a name a loader unpickles, such content is
 * read as far as the pickle goes whatever the sniffer makes of it, so it is decoded whole.
 */
function mayOpenPickle(head: Uint8Array): boolean {
  const first = head[0];
  return first === undefined || ASCII_OPCODES.has(first) || (first >= 0x80 && first <= 0x98);
}

/**
 * Reports why decoding stopped part-way: a bomb, something modelgate does not decode (high: a
 * loader decodes it, so its content is not known to be safe) or a corrupt stream.
 */
function reportStop(ctx: AnalysisContext, format: string, error: ModelgateError, decoded: number): void {
  const analysed = decoded > 0 ? `; the ${decoded} bytes before it were analysed` : "";
  if (error.code === "BUDGET_EXCEEDED") {
    ctx.report({
      ruleId: "container/decompression-bomb",
      message: `${format} stream: ${error.message}${analysed}`,
      evidence: { format, budget: error.budget ?? "" },
    });
    return;
  }
  if (error.code === "UNSUPPORTED") {
    ctx.report({
      ruleId: "format/unsupported",
      severity: "high",
      message: `${error.message}: Python's lzma decodes it, so its content was not analysed${analysed}`,
      evidence: { format },
      ...(error.offset === undefined ? {} : { offset: error.offset }),
    });
    return;
  }
  const finding = { ruleId: "container/malformed-stream" as const, message: `${format}: ${error.message}${analysed}` };
  ctx.report(error.offset === undefined ? finding : { ...finding, offset: error.offset });
}

/** Analyzer of gzip, zlib, zstd, xz, bzip2, LZMA-alone and LZ4-frame streams. */
export const compressedAnalyzer: Analyzer = {
  name: "compressed",
  formats: ["gzip", "zlib", "zstd", "bz2", "xz", "lzma", "lz4"],
  analyze: analyzeStream,
};
