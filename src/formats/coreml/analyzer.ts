/**
 * The Core ML analyzer: reads the `.mlmodel` protobuf without its weights and reports what a
 * loader needs beyond the file (custom model and layer classes, linked models) and what modelgate
 * cannot account for (unknown model or layer types).
 * @module
 */
import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { type FindingInput, FindingList } from "../../core/findings.js";
import { type CoremlSummary, readCoremlPartial } from "./reader.js";
import { MODEL_TYPES, OPAQUE_MODEL_TYPES } from "./schema.js";

/**
 * The findings a model's summary calls for.
 * @param s - what the reader found
 */
export function coremlFindings(s: CoremlSummary): FindingInput[] {
  const findings = new FindingList();
  for (const r of s.references) {
    const evidence = { className: r.name.slice(0, 300), nesting: r.nesting };
    if (r.kind === "customModel") {
      findings.add({
        ruleId: "coreml/custom-model",
        message: `the model is computed by the app's native class ${JSON.stringify(r.name.slice(0, 200))}`,
        offset: r.offset,
        evidence,
      });
    } else if (r.kind === "customLayer") {
      findings.add({
        ruleId: "coreml/custom-layer",
        message: `layer ${JSON.stringify(r.detail.slice(0, 100))} is computed by the app's native class ${JSON.stringify(r.name.slice(0, 200))}`,
        offset: r.offset,
        evidence: { ...evidence, layer: r.detail.slice(0, 200) },
      });
    } else {
      findings.add({
        ruleId: "coreml/linked-model",
        message: `the model links to the compiled model file ${JSON.stringify(r.name.slice(0, 200))}${r.detail ? ` (search path ${JSON.stringify(r.detail.slice(0, 200))})` : ""}`,
        offset: r.offset,
        evidence: { file: r.name.slice(0, 300), searchPath: r.detail.slice(0, 300), nesting: r.nesting },
      });
    }
  }
  for (const u of s.unknownTypes) {
    findings.add({
      ruleId: "coreml/unknown-model-type",
      message: `model type field ${u.field} is not in Core ML's schema`,
      offset: u.offset,
      evidence: { field: u.field, nesting: u.nesting },
    });
  }
  for (const [field, name] of MODEL_TYPES) {
    if (OPAQUE_MODEL_TYPES.has(field) && s.modelTypes.has(name)) {
      findings.add({
        ruleId: "coreml/unknown-model-type",
        message: `${s.modelTypes.get(name)} model(s) of type ${name}: an opaque protobuf modelgate does not read`,
        evidence: { field, type: name },
      });
    }
  }
  for (const l of s.unknownLayers) {
    findings.add({
      ruleId: "coreml/unknown-layer",
      message: `layer ${JSON.stringify(l.layer.slice(0, 100))} has type field ${l.field}, which Core ML's schema does not define`,
      offset: l.offset,
      evidence: { field: l.field, layer: l.layer.slice(0, 200) },
    });
  }
  return findings.list() as FindingInput[];
}

function recordFacts(ctx: AnalysisContext, s: CoremlSummary): void {
  if (s.specificationVersion !== undefined) ctx.fact("coreml.specificationVersion", s.specificationVersion);
  if (s.modelType !== undefined) ctx.fact("coreml.modelType", s.modelType);
  if (s.modelTypes.size > 0) ctx.fact("coreml.modelTypes", Object.fromEntries(s.modelTypes));
  if (s.models > 1) ctx.fact("coreml.models", s.models);
  if (s.layers > 0) {
    ctx.fact("coreml.layers", s.layers);
    const top = [...s.layerTypes].sort((a, b) => b[1] - a[1]).slice(0, 50);
    ctx.fact("coreml.layerTypes", Object.fromEntries(top));
  }
  if (s.inputs.length > 0) ctx.fact("inputs", s.inputs);
  if (s.outputs.length > 0) ctx.fact("outputs", s.outputs);
  if (Object.keys(s.metadata).length > 0) ctx.fact("coreml.metadata", s.metadata);
}

/** Analyzer of Core ML `.mlmodel` files. */
export const coremlAnalyzer: Analyzer = {
  name: "coreml",
  formats: ["coreml"],
  async analyze(ctx: AnalysisContext): Promise<void> {
    const { summary, error } = await readCoremlPartial(ctx.source, { checkpoint: () => ctx.checkpoint() });
    recordFacts(ctx, summary);
    for (const finding of coremlFindings(summary)) ctx.report(finding);
    if (error !== undefined) {
      if (error.code === "BUDGET_EXCEEDED") throw error;
      ctx.report({
        ruleId: "coreml/malformed",
        message: `the model's protobuf is invalid: ${error.message}`,
        ...(error.offset === undefined ? {} : { offset: error.offset }),
        evidence: { code: error.code },
      });
      return;
    }
    if (summary.untyped > 0) {
      ctx.report({
        ruleId: "coreml/malformed",
        message: `${summary.untyped} model(s) have no model type`,
        evidence: { untyped: summary.untyped },
      });
    }
  },
};
