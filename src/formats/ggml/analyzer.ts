/**
 * The ggml analyzer: validates the structure of pre-GGUF files (hyperparameters, vocabulary,
 * tensor headers against the file size) and records what they hold. Data only: nothing in these
 * files is executable, so a well-formed file is clean.
 * @module
 */
import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { isModelgateError } from "../../core/errors.js";
import { preview } from "../../core/preview.js";
import { readGgml } from "./reader.js";

/** Analyses ggml/ggmf/ggjt files. */
export const ggmlAnalyzer: Analyzer = {
  name: "ggml",
  formats: ["ggml"],
  async analyze(ctx: AnalysisContext): Promise<void> {
    let file: Awaited<ReturnType<typeof readGgml>>;
    try {
      file = await readGgml(ctx.source, {
        head: ctx.head,
        checkpoint: () => ctx.checkpoint(),
        maxTensors: ctx.limits.maxEntries,
      });
    } catch (error) {
      if (isModelgateError(error, "MALFORMED") || isModelgateError(error, "TRUNCATED")) {
        ctx.report({
          ruleId: "ggml/malformed",
          message: error.message,
          ...(error.offset === undefined ? {} : { offset: error.offset }),
          evidence: { code: error.code },
        });
        return;
      }
      throw error;
    }
    for (const issue of file.issues.slice(0, 20)) ctx.report({ ...issue, evidence: { offset: issue.offset } });
    let params = 0;
    const dtypes = new Set<string>();
    for (const t of file.tensors) {
      params += t.dims.reduce((a, b) => a * b, 1);
      dtypes.add(t.type);
    }
    ctx.fact("ggml.magic", file.magic);
    ctx.fact("ggml.version", file.version);
    ctx.fact("ggml.layout", file.layout);
    ctx.fact("ggml.vocabularySize", file.vocabulary);
    ctx.fact("ggml.hyperparameters", file.hyperparameters);
    ctx.fact("modelType", file.layout === "whisper" ? "whisper" : "llama");
    ctx.fact("tensorCount", file.tensors.length);
    ctx.fact("parameterCount", params);
    ctx.fact("dtypes", [...dtypes].sort());
    ctx.fact(
      "ggml.tensors",
      file.tensors.slice(0, 8).map((t) => `${preview(t.name, 60)} ${t.type} [${t.dims.join(", ")}]`),
    );
  },
};
