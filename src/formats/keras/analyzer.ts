/**
 * Keras analyzers: the `config.json` of a `.keras` archive (the zip container hands members over
 * with `keras` in their lineage), stand-alone Keras model JSON, legacy HDF5 `.h5` models, and code
 * members that have no business in a Keras archive.
 * @module
 */

import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { BufferSource, readExact } from "../../core/byte-source.js";
import { isModelgateError, ModelgateError } from "../../core/errors.js";
import { decodeJsonBytes, decodeJsonHead } from "../../core/json-bytes.js";
import { reportDuplicateKeys } from "../hf/json-analyzer.js";
import { parseConfigJsonPlainWithDuplicates } from "../hf/text.js";
import { analyzeKerasConfig, type KerasConfigResult, looksLikeKerasModelConfig } from "./config.js";
import { locateHdf5Superblock, readHdf5RootAttributes } from "./hdf5.js";

/** Largest configuration text read (Keras configs of huge models are a few MB). */
const MAX_CONFIG_BYTES = 64 * 1024 * 1024;

/**
 * Reports a config analysis: findings, facts under `keras.`, embedded payloads as members.
 * @param ctx - the analysis context
 * @param result - what {@link analyzeKerasConfig} found
 * @param where - label of the config, for messages
 */
export async function reportKerasConfig(ctx: AnalysisContext, result: KerasConfigResult, where: string): Promise<void> {
  for (const finding of result.findings) {
    ctx.report({ ...finding, evidence: { ...finding.evidence, source: where } });
  }
  for (const [key, value] of Object.entries(result.facts)) ctx.fact(`keras.${key}`, value);
  for (const payload of result.payloads) {
    await ctx.scanMember(payload.name, new BufferSource(payload.bytes));
  }
}

/** A JSON document's text as Keras reads it, or, when Python could not decode it, why. */
interface KerasText {
  /** The text (when undecodable: with U+FFFD where it did not decode, for a look inside). */
  readonly text: string;
  /** Why Python's `json.loads` would raise on the bytes, with the byte offset. */
  readonly undecodable?: ModelgateError;
}

/**
 * Reads a JSON member or file as Keras does: `json.loads` of its bytes, which takes UTF-8 (with or
 * without a byte-order mark), UTF-16 or UTF-32 as Python's `json` detects them, and raises on
 * bytes that do not decode in the detected codec.
 */
async function readText(ctx: AnalysisContext): Promise<KerasText> {
  if (ctx.source.size > MAX_CONFIG_BYTES) {
    throw new ModelgateError("BUDGET_EXCEEDED", `Keras config of ${ctx.source.size} bytes`, {
      budget: "keras.maxConfigBytes",
    });
  }
  const bytes = await readExact(ctx.source, 0, ctx.source.size);
  try {
    return { text: decodeJsonBytes(bytes).text };
  } catch (error) {
    if (!isModelgateError(error, "MALFORMED")) throw error;
    return { text: decodeJsonBytes(bytes, { lossy: true }).text, undecodable: error };
  }
}

/**
 * Reports a document Python cannot decode (`keras/malformed`): the load raises there, and what a
 * lenient reading finds in it is not what any loader reads.
 */
function reportUndecodable(ctx: AnalysisContext, error: ModelgateError, where: string): void {
  ctx.report({
    ruleId: "keras/malformed",
    message: `${where} cannot be read as JSON: ${error.message}`,
    ...(error.offset === undefined ? {} : { offset: error.offset }),
    evidence: { source: where, reason: "undecodable" },
  });
}

/**
 * Parses JSON text with the strict parser or reports `keras/malformed`. The value of a repeated
 * key is the last one's, as Keras (Python's `json`) reads it.
 * @param duplicates - report repeated keys (`repo/json-duplicate-key`): for JSON that is not a
 *   file of its own (HDF5 attributes). A JSON file or member is also analysed by the repository
 *   JSON analyzer, which reports them.
 * @returns the value, or undefined when it was not JSON
 */
function parseOrReport(ctx: AnalysisContext, text: string, where: string, duplicates = false): unknown {
  try {
    const parsed = parseConfigJsonPlainWithDuplicates(text, () => ctx.checkpoint(), { maxTreeBytes: 32 << 20 });
    if (duplicates) {
      reportDuplicateKeys((f) => ctx.report({ ...f, evidence: { ...f.evidence, source: where } }), parsed.duplicates);
    }
    return parsed.value;
  } catch (error) {
    ctx.report({
      ruleId: "keras/malformed",
      message: `${where} is not valid JSON: ${(error as Error).message}`,
      evidence: { source: where },
    });
    return undefined;
  }
}

/** Analyses Keras model JSON: `config.json` inside a `.keras` archive or a stand-alone model config. */
export const kerasConfigAnalyzer: Analyzer = {
  name: "keras-config",
  formats: ["json"],
  async analyze(ctx: AnalysisContext): Promise<void> {
    const inKeras = ctx.lineage.includes("keras");
    if (inKeras && ctx.name === "metadata.json") {
      const { text, undecodable } = await readText(ctx);
      if (undecodable !== undefined) return reportUndecodable(ctx, undecodable, "metadata.json");
      const meta = parseOrReport(ctx, text, "metadata.json") as Record<string, unknown> | undefined;
      if (meta && typeof meta.keras_version === "string") ctx.fact("keras.version", meta.keras_version);
      return;
    }
    if (inKeras && ctx.name !== "config.json") return;
    if (!inKeras && ctx.source.size > MAX_CONFIG_BYTES) return; // not ours to budget
    // A stand-alone JSON file is only ours when it is a Keras model config.
    if (!inKeras && !/"class_name"/.test(decodeJsonHead(ctx.head).text)) return;
    const { text, undecodable } = await readText(ctx);
    // Python raises on undecodable bytes; a config.json in a .keras archive is reported for them,
    // a stand-alone file once it looks like a Keras config. What a lenient reading of it finds is
    // reported too (it is what a more forgiving reader would build).
    if (undecodable !== undefined && inKeras) reportUndecodable(ctx, undecodable, ctx.name);
    const value = parseOrReport(ctx, text, ctx.name);
    if (value === undefined) return;
    if (!inKeras && !looksLikeKerasModelConfig(value)) return;
    if (undecodable !== undefined && !inKeras) reportUndecodable(ctx, undecodable, ctx.name);
    await reportKerasConfig(ctx, analyzeKerasConfig(value, ctx.name), ctx.name);
  },
};

/** Flags code inside a `.keras` archive. */
export const kerasMemberAnalyzer: Analyzer = {
  name: "keras-member",
  formats: ["python", "shell", "notebook"],
  analyze(ctx: AnalysisContext): Promise<void> {
    if (ctx.lineage.includes("keras")) {
      ctx.report({
        ruleId: "keras/unexpected-member",
        message: `the Keras archive contains ${ctx.detection.format} code (${ctx.name})`,
        evidence: { member: ctx.name, format: ctx.detection.format },
      });
    }
    return Promise.resolve();
  },
};

const CONFIG_ATTRIBUTES = ["model_config", "training_config"] as const;

async function hasHdf5Signature(ctx: AnalysisContext, at: number): Promise<boolean> {
  if (at + 8 > ctx.source.size) return false;
  const b = at + 8 <= ctx.head.length ? ctx.head.subarray(at, at + 8) : await readExact(ctx.source, at, 8);
  return [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a].every((v, i) => b[i] === v);
}

/** Analyses HDF5 files: the Keras `model_config`/`training_config` root attributes. */
export const kerasHdf5Analyzer: Analyzer = {
  name: "keras-hdf5",
  formats: ["hdf5"],
  async analyze(ctx: AnalysisContext): Promise<void> {
    let start = ctx.detection.offset;
    let info: Awaited<ReturnType<typeof readHdf5RootAttributes>>;
    try {
      if (!(await hasHdf5Signature(ctx, start))) {
        // A probed claim (a .h5 name the sniffer recognised nothing in): look where HDF5 looks,
        // past the head too. No superblock anywhere: the claim stays unmet.
        const found = await locateHdf5Superblock(ctx.source);
        if (found === undefined) return;
        // The sniffer found it in the head (after a small user block): that reading analyses it.
        if (ctx.detections.some((d) => d.format === "hdf5" && d.offset === found)) return;
        start = found;
        ctx.refineFormat("hdf5");
      }
      info = await readHdf5RootAttributes(ctx.source, start);
    } catch (error) {
      if (error instanceof ModelgateError && (error.code === "MALFORMED" || error.code === "TRUNCATED")) {
        ctx.report({
          ruleId: "keras/malformed",
          message: `the HDF5 root group could not be read: ${error.message}`,
          ...(error.offset === undefined ? {} : { offset: error.offset }),
          evidence: { code: error.code },
        });
        return;
      }
      throw error;
    }
    ctx.fact("hdf5.superblockVersion", info.superblockVersion);
    if (info.storedBaseAddress !== start) {
      ctx.report({
        ruleId: "keras/hdf5-base-address",
        message: `the HDF5 superblock at ${start} stores base address ${info.storedBaseAddress}; HDF5 reads addresses from ${start}, and so does modelgate`,
        offset: start,
        evidence: { superblockAt: start, storedBaseAddress: info.storedBaseAddress },
      });
    }
    if (info.denseAttributes) {
      // HDF5 reads a group's attributes from dense storage alone when it has one: compact
      // attribute messages beside it (a decoy model_config) are not what Keras loads.
      ctx.report({
        ruleId: "format/unsupported",
        message:
          "the root group's attributes are in HDF5 dense storage, which modelgate does not read; HDF5 reads model_config from there, so the root attributes were not analysed",
        evidence: { format: "hdf5", reason: "dense attribute storage" },
      });
      return;
    }
    for (const key of ["keras_version", "backend"]) {
      const value = info.attributes.get(key)?.strings?.[0];
      if (value !== undefined) ctx.fact(key === "backend" ? "keras.backend" : "keras.version", value);
    }
    let found = false;
    for (const name of CONFIG_ATTRIBUTES) {
      const attribute = info.attributes.get(name);
      if (attribute === undefined) continue;
      found = true;
      const text = attribute.strings?.join("");
      if (text === undefined) {
        ctx.report({
          ruleId: "keras/malformed",
          message: `the ${name} attribute could not be decoded (${attribute.skipped ?? "not a string"})`,
          evidence: { source: name },
        });
        continue;
      }
      const value = parseOrReport(ctx, text, name, true);
      if (value !== undefined) await reportKerasConfig(ctx, analyzeKerasConfig(value, name), name);
    }
    if (found) ctx.fact("keras.format", "h5");
  },
};
