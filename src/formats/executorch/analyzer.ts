/**
 * The ExecuTorch analyzer: walks the program's flatbuffer and reports backend delegates (known
 * backends at info, unknown ones as suspicious) and operators outside the standard kernel
 * libraries. Delegate blobs are scanned as opaque members.
 * @module
 */
import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { SliceSource } from "../../core/byte-source.js";
import { isModelgateError } from "../../core/errors.js";
import { FindingList } from "../../core/findings.js";
import { EXECUTORCH_IDENTIFIER, EXTENDED_HEADER_MAGIC, type ExecutorchSummary, readExecutorch } from "./reader.js";

/** Backend ids ExecuTorch ships (the names their `register_backend` calls use). */
export const KNOWN_BACKENDS: ReadonlySet<string> = new Set([
  "XnnpackBackend",
  "CoreMLBackend",
  "MPSBackend",
  "VulkanBackend",
  "QnnBackend",
  "EthosUBackend",
  "VgfBackend",
  "NeuropilotBackend",
  "EnnBackend",
  "NeutronBackend",
  "OpenvinoBackend",
]);

/** Operator namespaces of ExecuTorch's standard kernel libraries. */
export const KNOWN_NAMESPACES: ReadonlySet<string> = new Set([
  "aten",
  "quantized_decomposed",
  "dim_order_ops",
  "executorch_prim",
  "llama",
]);

const MAX_REPORTED = 100;
const MAX_MEMBERS = 32;

/** Findings about delegates and operators. */
export function programFindings(s: ExecutorchSummary): FindingList {
  const findings = new FindingList(MAX_REPORTED);
  const seenDelegates = new Set<string>();
  for (const d of s.delegates) {
    const key = `${d.plan}\0${d.id}`;
    if (seenDelegates.has(key)) continue;
    seenDelegates.add(key);
    const evidence = {
      backend: d.id.slice(0, 200),
      plan: d.plan.slice(0, 200),
      location: d.location,
      compileSpecs: d.compileSpecs.join(",").slice(0, 400),
    };
    if (KNOWN_BACKENDS.has(d.id)) {
      findings.add({
        ruleId: "executorch/delegate",
        message: `plan ${JSON.stringify(d.plan)} delegates to ${d.id}`,
        offset: d.offset,
        evidence,
      });
    } else {
      findings.add({
        ruleId: "executorch/unknown-delegate",
        message: `plan ${JSON.stringify(d.plan)} delegates to the unknown backend ${JSON.stringify(d.id)}: the loading application's backend of that name gets the blob`,
        offset: d.offset,
        evidence,
      });
    }
  }
  const seenOps = new Set<string>();
  for (const op of s.operators) {
    const sep = op.name.indexOf("::");
    const namespace = sep < 0 ? "" : op.name.slice(0, sep);
    if (KNOWN_NAMESPACES.has(namespace)) continue;
    const full = `${op.name}${op.overload ? `.${op.overload}` : ""}`;
    if (seenOps.has(full)) continue;
    seenOps.add(full);
    findings.add({
      ruleId: "executorch/custom-op",
      message: `operator ${JSON.stringify(full)} is outside ExecuTorch's standard kernel libraries`,
      offset: op.offset,
      evidence: { operator: full.slice(0, 200), namespace: namespace.slice(0, 100), plan: op.plan.slice(0, 200) },
    });
  }
  return findings;
}

function recordFacts(ctx: AnalysisContext, s: ExecutorchSummary): void {
  ctx.fact("tensorCount", s.tensors);
  ctx.fact("executorch.version", s.version);
  ctx.fact(
    "executorch.plans",
    s.plans.slice(0, 50).map((p) => ({ ...p, name: p.name.slice(0, 200) })),
  );
  const ops = new Map<string, number>();
  for (const op of s.operators) {
    const full = `${op.name}${op.overload ? `.${op.overload}` : ""}`.slice(0, 200);
    ops.set(full, (ops.get(full) ?? 0) + 1);
  }
  ctx.fact("executorch.operators", [...ops.keys()].sort().slice(0, 200));
  ctx.fact("executorch.delegates", [...new Set(s.delegates.map((d) => d.id.slice(0, 200)))].sort().slice(0, 50));
  ctx.fact("executorch.constantBytes", s.constantBytes);
  ctx.fact("executorch.segments", s.segments);
  ctx.fact("executorch.segmentBytes", s.segmentBytes);
}

/** Analyzer for ExecuTorch programs. */
export const executorchAnalyzer: Analyzer = {
  name: "executorch",
  formats: ["executorch"],
  async analyze(ctx: AnalysisContext): Promise<void> {
    let reading: Awaited<ReturnType<typeof readExecutorch>>;
    try {
      reading = await readExecutorch(ctx.source, { checkpoint: () => ctx.checkpoint() });
    } catch (error) {
      if (!isModelgateError(error, "MALFORMED") && !isModelgateError(error, "TRUNCATED")) throw error;
      ctx.report({
        ruleId: "executorch/malformed",
        message: `the program's header is invalid: ${error.message}`,
        ...(error.offset === undefined ? {} : { offset: error.offset }),
        evidence: { code: error.code },
      });
      return;
    }
    const { summary: s, error } = reading;
    for (const f of programFindings(s).list()) ctx.report(f);
    const problems = new FindingList(MAX_REPORTED);
    if (s.identifier !== EXECUTORCH_IDENTIFIER) {
      problems.add({
        ruleId: "executorch/malformed",
        message: `file identifier ${JSON.stringify(s.identifier)}: the current runtime loads ${EXECUTORCH_IDENTIFIER} only`,
        offset: 4,
      });
    }
    if (s.header !== undefined && s.header.magic !== EXTENDED_HEADER_MAGIC) {
      problems.add({
        ruleId: "executorch/malformed",
        message: `extended header magic ${JSON.stringify(s.header.magic)}: the runtime reads ${EXTENDED_HEADER_MAGIC} only`,
        offset: 8,
      });
    }
    for (const issue of s.issues) {
      problems.add({ ruleId: "executorch/malformed", message: issue.message, offset: issue.offset });
    }
    for (const a of s.anomalies) {
      problems.add({
        ruleId: "executorch/structure-anomaly",
        message: a.message,
        offset: a.offset,
        evidence: { kind: a.kind },
      });
    }
    if (s.anomalyCount > s.anomalies.length) {
      problems.add({
        ruleId: "executorch/structure-anomaly",
        message: `${s.anomalyCount - s.anomalies.length} more structure anomalies not listed`,
        evidence: { occurrences: s.anomalyCount },
      });
    }
    for (const f of problems.list()) ctx.report(f);
    recordFacts(ctx, s);
    if (error !== undefined) {
      if (error.code !== "MALFORMED" && error.code !== "TRUNCATED") throw error;
      ctx.report({
        ruleId: "executorch/malformed",
        message: `the program's flatbuffer is invalid: ${error.message}`,
        ...(error.offset === undefined ? {} : { offset: error.offset }),
        evidence: { code: error.code },
      });
      return;
    }
    const scanned = new Set<string>();
    for (const d of s.delegates) {
      if (d.blob === undefined || d.blob.length === 0 || scanned.size >= MAX_MEMBERS) continue;
      const key = `${d.blob.offset}:${d.blob.length}`;
      if (scanned.has(key)) continue;
      scanned.add(key);
      const name = `delegate/${scanned.size - 1}-${d.id.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 64)}`;
      await ctx.scanMember(name, new SliceSource(ctx.source, d.blob.offset, d.blob.length), {
        offset: d.blob.offset,
        opaqueData: true,
      });
    }
  },
};
