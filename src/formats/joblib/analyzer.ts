/**
 * joblib files: a pickle written by joblib's `NumpyPickler`, with NumPy array data stored inline
 * after each `NumpyArrayWrapper` (the pickle machine skips it, so later opcodes are still seen),
 * plain or compressed with zlib, gzip, bz2, lzma/xz or lz4 frames (detected by magic, as
 * `joblib.numpy_pickle_utils._detect_compressor` does), or in the pre-0.10 `ZF` zlib format.
 * zlib/gzip are streamed (what precedes a corrupt part is still analysed); bz2/xz/lzma/lz4 use the
 * containers' decoders. `ZF` files are recognised by their header whatever their name (see
 * `./layout.ts`), as `joblib.load` recognises them.
 * @module
 */
import { createGunzip, createInflate } from "node:zlib";
import { budgetOf } from "../../containers/budget.js";
import { isBombError } from "../../containers/compressed/decoded-source.js";
import { decompressUpToError } from "../../containers/compressed/streams.js";
import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { type ByteSource, readChunks, readClamped, SliceSource } from "../../core/byte-source.js";
import { isModelgateError, ModelgateError } from "../../core/errors.js";
import { analyzePickleStream } from "../pickle/analyze.js";
import { pickleAnalyzer, pickleBudgets, reportPickleAnalysis } from "../pickle/analyzer.js";
import { type PickleInput, SourceInput, StreamInput } from "../pickle/input.js";
import { readZfileHeader, ZFILE_HEADER } from "./layout.js";

/** Compression of a joblib file, by its leading bytes. */
export type JoblibCompression = "none" | "zlib" | "gzip" | "bz2" | "xz" | "lzma" | "lz4" | "zfile";

/**
 * The compressor joblib would detect for these leading bytes.
 * @param head - first bytes of the file
 */
export function joblibCompression(head: Uint8Array): JoblibCompression {
  const b = (i: number): number => head[i] ?? -1;
  if (b(0) === 0x5a && b(1) === 0x46) return "zfile"; // "ZF": joblib < 0.10
  if (b(0) === 0x1f && b(1) === 0x8b) return "gzip";
  if (b(0) === 0x42 && b(1) === 0x5a && b(2) === 0x68) return "bz2";
  if (b(0) === 0xfd && b(1) === 0x37 && b(2) === 0x7a && b(3) === 0x58 && b(4) === 0x5a) return "xz";
  if (b(0) === 0x5d && b(1) === 0x00 && b(2) === 0x00) return "lzma";
  if (b(0) === 0x04 && b(1) === 0x22 && b(2) === 0x4d && b(3) === 0x18) return "lz4";
  if (b(0) === 0x78 && (b(1) === 0x01 || b(1) === 0x5e || b(1) === 0x9c || b(1) === 0xda)) return "zlib";
  return "none";
}

/**
 * Whether a zlib stream can start at `at`, as zlib's inflate (window bits 15, joblib's and Node's)
 * checks its two header bytes: method 8 (deflate), a window of at most 32 KiB, a check value that
 * makes the pair a multiple of 31.
 */
function zlibHeaderAt(head: Uint8Array, at: number): boolean {
  const cmf = head[at];
  const flg = head[at + 1];
  if (cmf === undefined || flg === undefined) return false;
  return (cmf & 0x0f) === 8 && cmf >> 4 <= 7 && ((cmf << 8) | flg) % 31 === 0;
}

async function* inflate(ctx: AnalysisContext, start: number, kind: "zlib" | "gzip"): AsyncGenerator<Uint8Array> {
  const stream = kind === "gzip" ? createGunzip() : createInflate();
  const feed = (async () => {
    try {
      for await (const chunk of readChunks(ctx.source, { start })) {
        if (!stream.write(chunk)) await new Promise((r) => stream.once("drain", r));
      }
      stream.end();
    } catch (error) {
      stream.destroy(error as Error);
    }
  })();
  let out = 0;
  const compressed = ctx.source.size - start;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      out += chunk.length;
      ctx.chargeDecompressed(chunk.length);
      if (out > 16 << 20 && out / Math.max(1, compressed) > ctx.limits.maxCompressionRatio) {
        throw new ModelgateError("BUDGET_EXCEEDED", "joblib stream expands beyond the compression ratio budget", {
          budget: "maxCompressionRatio",
        });
      }
      yield new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length);
    }
  } finally {
    stream.destroy();
    await feed;
  }
}

async function analyze(ctx: AnalysisContext, input: PickleInput): Promise<void> {
  const analysis = await analyzePickleStream(input, {
    context: "joblib",
    policy: ctx.policy.options.pickle,
    ...pickleBudgets(ctx),
  });
  await reportPickleAnalysis(ctx, analysis);
}

/**
 * The context under which the pickle analyzer reads an uncompressed joblib stream: joblib's pickle
 * context (its allowlist profiles, `policy.pickle.profiles.joblib`), which the pickle analyzer
 * derives from the enclosing formats, and the stream keeps the format `joblib` where the pickle
 * analyzer would settle it as `pickle`.
 */
function asJoblibStream(ctx: AnalysisContext): AnalysisContext {
  return {
    ...ctx,
    lineage: [...ctx.lineage, "joblib"],
    refineFormat: (format) => ctx.refineFormat(format === "pickle" ? "joblib" : format),
  };
}

/**
 * Analyses joblib content. An uncompressed stream goes through the pickle analyzer (claims,
 * speculative readings, data after the pickle) in joblib's pickle context; compressed ones are
 * decoded here as joblib decodes them.
 */
export const joblibAnalyzer: Analyzer = {
  name: "joblib",
  formats: ["joblib"],
  async analyze(ctx) {
    const start = ctx.detection.offset;
    const head = await readClamped(ctx.source, start, 32);
    const compression = joblibCompression(head);
    const speculative = ctx.detection.claim === "weak" || ctx.detection.claim === "beside";
    if (compression === "none") {
      await pickleAnalyzer.analyze(asJoblibStream(ctx));
      if (!speculative) ctx.fact("joblib.compression", compression);
      return;
    }
    // a speculative reading starts with a pickle opcode, never with a compressor's magic
    if (speculative) return;
    ctx.fact("joblib.compression", compression);
    let input: PickleInput;
    if (compression === "zlib" || compression === "gzip") {
      input = new StreamInput(inflate(ctx, start, compression));
    } else if (compression === "zfile") {
      // joblib.load takes any "ZF" file as one (its name does not matter), reads the length field
      // with Python's int(…, 16), skips one space after it, and zlib-decompresses the rest
      const header = readZfileHeader(head);
      if (header === undefined) {
        ctx.report({
          ruleId: "container/malformed-stream",
          message: `joblib ZF file: the ${ZFILE_HEADER - 2} bytes after "ZF" are not a hexadecimal length joblib reads (joblib.load raises); nothing after them was analysed`,
          offset: start,
          evidence: { compression },
        });
        return;
      }
      ctx.fact("joblib.zfile.length", header.length.toString());
      if (!zlibHeaderAt(head, header.dataOffset)) {
        ctx.report({
          ruleId: "container/malformed-stream",
          message: `joblib ZF file: no zlib stream after the header (byte ${start + header.dataOffset}); joblib.load raises there, nothing was analysed`,
          offset: start + header.dataOffset,
          evidence: { compression },
        });
        return;
      }
      input = new StreamInput(inflate(ctx, start + header.dataOffset, "zlib"));
    } else if (compression === "bz2" || compression === "xz" || compression === "lzma" || compression === "lz4") {
      // the containers' decoders (decompressed to memory or a temp file, random-access after);
      // what decoded before an error is analysed, as joblib unpickles it before the error is hit
      let decoded: ByteSource;
      try {
        const result = await decompressUpToError(
          compression,
          new SliceSource(ctx.source, start, ctx.source.size - start),
          budgetOf(ctx),
        );
        decoded = result.source;
        const error: unknown = result.error;
        if (error instanceof Error) {
          const analysed = `; the ${decoded.size} bytes before it were analysed`;
          if (isBombError(error)) {
            ctx.report({
              ruleId: "container/decompression-bomb",
              message: `joblib ${compression} stream: ${error.message}${analysed}`,
              offset: start,
            });
          } else if (isModelgateError(error, "UNSUPPORTED")) {
            ctx.report({
              ruleId: "format/unsupported",
              severity: "high",
              message: `joblib ${compression} stream: ${error.message} (joblib.load decodes it)${analysed}`,
              offset: start,
              evidence: { compression },
            });
          } else {
            ctx.report({
              ruleId: "container/malformed-stream",
              message: `joblib ${compression} stream: ${error.message}${analysed}`,
              offset: start,
            });
          }
        }
      } catch (error) {
        if (isBombError(error)) {
          ctx.report({
            ruleId: "container/decompression-bomb",
            message: `joblib ${compression} stream: ${error.message}`,
            offset: start,
          });
          return;
        }
        throw error;
      }
      if (decoded.size === 0) {
        await decoded.close?.();
        return;
      }
      try {
        await analyze(ctx, new SourceInput(decoded));
      } finally {
        await decoded.close?.();
      }
      return;
    } else {
      ctx.report({
        ruleId: "format/unsupported",
        message: `${compression}-compressed joblib file: no ${compression} decoder, its pickle was not analysed`,
        offset: start,
        evidence: { compression },
      });
      return;
    }
    await analyze(ctx, input);
  },
};
