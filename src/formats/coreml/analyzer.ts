/**
 * The Core ML analyzer: reads the `.mlmodel` protobuf without its weights and reports what a
 * loader needs beyond the file (custom model and layer classes, linked models) and what modelgate
 * cannot account for (unknown model or layer types).
 * @module
 */
import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { type FindingInput, FindingList } from "../../core/findings.js";
import { PYTHON_LIKE_OP } from "./mil.js";
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
  for (const [type, u] of s.milUnknownOps) {
    const pythonLike = PYTHON_LIKE_OP.test(type);
    findings.add({
      ruleId: "coreml/unknown-op",
      message: `${u.count} ML Program operation(s) of type ${JSON.stringify(type.slice(0, 100))}, which is not a MIL operation Core ML defines${pythonLike ? " (named like a host-language callback)" : ""}`,
      offset: u.offset,
      evidence: { opType: type.slice(0, 200), count: u.count, firstOp: u.name, pythonLike },
    });
  }
  for (const b of s.milBlobProblems) {
    findings.add({
      ruleId: "coreml/blob-path-traversal",
      message: `ML Program weights are read from ${JSON.stringify(b.file.slice(0, 200))}: ${b.reason}${b.kind === "traversal" ? ", outside the model package" : ""}`,
      offset: b.offset,
      evidence: { file: b.file.slice(0, 300), reason: b.reason, opType: b.opType, op: b.opName },
      ...(b.kind === "unanchored" ? { severity: "medium" as const } : {}),
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
  if (s.milPrograms > 0) {
    if (s.milVersion !== undefined) ctx.fact("coreml.mil.version", s.milVersion);
    ctx.fact("coreml.mil.functions", s.milFunctions);
    if (s.milFunctionCount > s.milFunctions.length) ctx.fact("coreml.mil.functionCount", s.milFunctionCount);
    ctx.fact("coreml.mil.operations", s.milOperations);
    const top = [...s.milOpTypes].sort((a, b) => b[1] - a[1]).slice(0, 50);
    ctx.fact("coreml.mil.opTypes", Object.fromEntries(top.map(([k, v]) => [k.slice(0, 100), v])));
    if (s.milBlobFiles.size > 0) ctx.fact("coreml.mil.weightFiles", [...s.milBlobFiles.keys()].slice(0, 20));
  }
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
