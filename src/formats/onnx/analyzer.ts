/**
 * The ONNX analyzer: reads the model's graph tree without its payloads, reports operators that
 * run custom or Python code and external-data references that escape the model directory.
 * @module
 */
import { posix } from "node:path";
import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { SliceSource } from "../../core/byte-source.js";
import { type FindingInput, FindingList } from "../../core/findings.js";
import { checkExternalData } from "./external.js";
import {
  ATEN_DOMAINS,
  ATEN_OP_TYPES,
  PYTHON_DOMAINS,
  PYTHON_OP_TYPES,
  STANDARD_DOMAINS,
  STANDARD_OPS,
  VENDOR_DOMAINS,
} from "./ops.js";
import { type OnnxSummary, readOnnxPartial } from "./reader.js";

/** Operators reported per rule (and severity); the rest are counted in one more finding. */
const MAX_REPORTED_OPS = 200;

/**
 * Findings about the operators a model uses.
 * @param summary - what the reader found
 */
export function operatorFindings(summary: OnnxSummary): FindingInput[] {
  const findings = new FindingList(MAX_REPORTED_OPS);
  const local = new Set(summary.functions.map((f) => `${f.domain}\u0000${f.name}`));
  for (const use of summary.ops.values()) {
    const evidence = {
      opType: use.opType.slice(0, 200),
      domain: use.domain.slice(0, 200),
      count: use.count,
      where: use.where.slice(0, 400),
    };
    const label = `${use.domain ? `${use.domain}::` : ""}${use.opType}`;
    if (PYTHON_OP_TYPES.has(use.opType)) {
      findings.add({
        ruleId: "onnx/python-op",
        message: `${use.count} node(s) use ${label}, which runs Python or framework code`,
        offset: use.offset,
        evidence,
      });
      continue;
    }
    const definedHere = local.has(`${use.domain}\u0000${use.opType}`);
    if (ATEN_OP_TYPES.has(use.opType) && ATEN_DOMAINS.has(use.domain) && !definedHere) {
      findings.add({
        ruleId: "onnx/aten-op",
        message: `${use.count} node(s) use ${label}, which runs a PyTorch ATen operator chosen by name (native code of the installed torch)`,
        offset: use.offset,
        evidence,
      });
      continue;
    }
    if (!STANDARD_DOMAINS.has(use.domain)) {
      if (definedHere) continue;
      const vendor = VENDOR_DOMAINS.has(use.domain);
      const python = PYTHON_DOMAINS.has(use.domain);
      findings.add({
        ruleId: "onnx/nonstandard-domain",
        message: python
          ? `${use.count} node(s) use ${label}: domain ${JSON.stringify(use.domain)} holds operators registered from Python`
          : `${use.count} node(s) use ${label} from non-standard domain ${JSON.stringify(use.domain)}`,
        offset: use.offset,
        evidence,
        ...(vendor ? { severity: "info" as const } : python ? { severity: "medium" as const } : {}),
      });
      continue;
    }
    if (!definedHere && !STANDARD_OPS.get(use.domain)?.has(use.opType)) {
      findings.add({
        ruleId: "onnx/unknown-op",
        message: `${use.count} node(s) use ${JSON.stringify(use.opType)}, which no ONNX release defines in domain ${JSON.stringify(use.domain || "ai.onnx")}`,
        offset: use.offset,
        evidence,
      });
    }
  }
  return findings.list();
}

/** Records what the model reveals (for reports and model cards). */
function recordFacts(ctx: AnalysisContext, s: OnnxSummary): void {
  if (s.irVersion !== undefined) ctx.fact("onnx.irVersion", s.irVersion);
  if (s.producer) ctx.fact("onnx.producer", s.producerVersion ? `${s.producer} ${s.producerVersion}` : s.producer);
  ctx.fact("onnx.opsets", Object.fromEntries(s.opsets));
  if (s.graphName) ctx.fact("onnx.graphName", s.graphName);
  ctx.fact("onnx.graphs", s.graphs);
  ctx.fact("onnx.nodes", s.nodes);
  ctx.fact("onnx.initializers", s.initializers);
  ctx.fact("onnx.parameters", s.parameters);
  const ops = [...s.ops.values()].sort((a, b) => b.count - a.count).slice(0, 50);
  ctx.fact(
    "onnx.opTypes",
    Object.fromEntries(ops.map((o) => [`${o.domain ? `${o.domain}::` : ""}${o.opType}`, o.count])),
  );
  if (s.functions.length > 0)
    ctx.fact("onnx.functions", s.functions.map((f) => `${f.domain}::${f.name}`).slice(0, 100));
  if (s.trainingInfos > 0) ctx.fact("onnx.trainingInfo", s.trainingInfos);
  const files = new Set(
    s.externalRefs.map((r) => r.entries.find(([k]) => k === "location")?.[1]).filter((l) => l !== undefined),
  );
  if (files.size > 0) ctx.fact("onnx.externalDataFiles", [...files].slice(0, 100));
  if (s.metadata.length > 0) ctx.fact("onnx.metadata", Object.fromEntries(s.metadata.slice(0, 50)));
}

/** Analyzer for ONNX models. */
export const onnxAnalyzer: Analyzer = {
  name: "onnx",
  formats: ["onnx"],
  async analyze(ctx: AnalysisContext): Promise<void> {
    const start = ctx.detection.offset;
    const source = start === 0 ? ctx.source : new SliceSource(ctx.source, start, ctx.source.size - start);
    const { summary, error } = await readOnnxPartial(source, { checkpoint: () => ctx.checkpoint() });
    recordFacts(ctx, summary);
    for (const finding of operatorFindings(summary)) ctx.report(finding);
    const env = {
      modelDir: ctx.depth === 0 ? posix.dirname(ctx.path) : ".",
      checkpoint: () => ctx.checkpoint(),
      ...(ctx.depth === 0 ? { root: ctx.root } : {}),
    };
    for (const finding of await checkExternalData(summary.externalRefs, env)) ctx.report(finding);
    if (error === undefined) return;
    if (error.code === "BUDGET_EXCEEDED") throw error;
    ctx.report({
      ruleId: "onnx/malformed",
      message: `the model's protobuf is invalid: ${error.message}`,
      ...(error.offset === undefined ? {} : { offset: error.offset + start }),
      evidence: { code: error.code },
    });
  },
};
