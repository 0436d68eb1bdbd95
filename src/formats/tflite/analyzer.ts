/**
 * The TFLite analyzer: walks the model's flatbuffer (operator codes, subgraphs, operators,
 * buffers' sizes, metadata, signatures) and reports operators that need code outside TFLite:
 * custom kernels, Flex (TensorFlow) kernels, and among those the ones that touch files, the
 * network or Python. Metadata buffers other than `min_runtime_version` are scanned as members.
 * @module
 */
import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { SliceSource } from "../../core/byte-source.js";
import { FindingList } from "../../core/findings.js";
import { CUSTOM, FLEX_IO_OPS, FLEX_PRINT_OPS, FLEX_PYTHON_OPS, KNOWN_CUSTOM_OPS } from "./ops.js";
import { opName, readTflite, TFLITE_IDENTIFIER, type TfliteSummary } from "./reader.js";

/** Findings kept per rule and severity. */
const MAX_REPORTED = 100;
/** Metadata buffers scanned as members at most. */
const MAX_MEMBERS = 32;

/** The findings about a model's operator codes. */
export function operatorFindings(s: TfliteSummary): FindingList {
  const findings = new FindingList(MAX_REPORTED);
  for (const code of s.opCodes) {
    if (code.builtin !== CUSTOM) continue;
    const custom = code.custom ?? "";
    const evidence = { customCode: custom.slice(0, 200), uses: code.uses, version: code.version };
    if (custom.startsWith("Flex")) {
      const op = custom.slice(4);
      if (FLEX_PYTHON_OPS.has(op)) {
        findings.add({
          ruleId: "tflite/flex-python-op",
          message: `operator code ${JSON.stringify(custom)} runs TensorFlow's ${op}, which calls a Python function (${code.uses} use(s))`,
          offset: code.offset,
          evidence,
        });
      } else if (FLEX_IO_OPS.has(op) || code.fileUrl) {
        findings.add({
          ruleId: "tflite/flex-io-op",
          message: `operator code ${JSON.stringify(custom)} runs TensorFlow's ${op}, which ${FLEX_IO_OPS.has(op) ? "reads or writes files or the network" : FLEX_PRINT_OPS.has(op) ? "prints to a file:// stream" : "names a file:// target"} (${code.uses} use(s))`,
          offset: code.offset,
          evidence: { ...evidence, fileUrl: code.fileUrl },
        });
      } else {
        findings.add({
          ruleId: "tflite/flex-op",
          message: `operator code ${JSON.stringify(custom)} runs TensorFlow's ${op} kernel through the Flex delegate (${code.uses} use(s))`,
          offset: code.offset,
          evidence,
        });
      }
      continue;
    }
    const known = KNOWN_CUSTOM_OPS.has(custom);
    findings.add({
      ruleId: "tflite/custom-op",
      message: known
        ? `custom operator ${JSON.stringify(custom)} (a kernel well-known runtimes ship; ${code.uses} use(s))`
        : `custom operator ${JSON.stringify(custom)} needs a kernel the loading application registers (${code.uses} use(s))`,
      offset: code.offset,
      evidence,
      ...(known ? { severity: "info" as const } : {}),
    });
  }
  return findings;
}

function recordFacts(ctx: AnalysisContext, s: TfliteSummary): void {
  ctx.fact("tensorCount", s.tensors);
  if (s.dtypes.size > 0) ctx.fact("dtypes", [...s.dtypes].sort());
  if (s.inputs.length > 0) ctx.fact("inputs", s.inputs);
  if (s.outputs.length > 0) ctx.fact("outputs", s.outputs);
  ctx.fact("tflite.version", s.version);
  ctx.fact("tflite.subgraphs", s.subgraphs);
  ctx.fact("tflite.operators", s.operators);
  ctx.fact("tflite.buffers", s.buffers);
  ctx.fact("tflite.bufferBytes", s.bufferBytes);
  const ops = new Map<string, number>();
  for (const c of s.opCodes) ops.set(opName(c).slice(0, 200), (ops.get(opName(c).slice(0, 200)) ?? 0) + c.uses);
  ctx.fact("tflite.opTypes", Object.fromEntries([...ops].sort((a, b) => b[1] - a[1]).slice(0, 100)));
  if (s.minRuntimeVersion !== undefined) ctx.fact("tflite.minRuntimeVersion", s.minRuntimeVersion.slice(0, 64));
  if (s.description !== undefined) ctx.fact("tflite.description", s.description.slice(0, 200));
  if (s.signatures.length > 0)
    ctx.fact(
      "tflite.signatures",
      s.signatures.map((k) => k.slice(0, 200)),
    );
  if (s.metadata.length > 0)
    ctx.fact(
      "tflite.metadata",
      s.metadata.map((m) => m.name.slice(0, 200)),
    );
}

/** Analyzer for TFLite models. */
export const tfliteAnalyzer: Analyzer = {
  name: "tflite",
  formats: ["tflite"],
  async analyze(ctx: AnalysisContext): Promise<void> {
    const { summary: s, error } = await readTflite(ctx.source, { checkpoint: () => ctx.checkpoint() });
    for (const f of operatorFindings(s).list()) ctx.report(f);
    const problems = new FindingList(MAX_REPORTED);
    if (s.identifier !== TFLITE_IDENTIFIER) {
      problems.add({
        ruleId: "tflite/malformed",
        message: `file identifier ${JSON.stringify(s.identifier)}, not ${TFLITE_IDENTIFIER}: the runtime refuses the model`,
        offset: 4,
      });
    }
    for (const issue of s.issues)
      problems.add({ ruleId: "tflite/malformed", message: issue.message, offset: issue.offset });
    for (const a of s.anomalies) {
      problems.add({
        ruleId: "tflite/structure-anomaly",
        message: a.message,
        offset: a.offset,
        evidence: { kind: a.kind },
      });
    }
    if (s.anomalyCount > s.anomalies.length) {
      problems.add({
        ruleId: "tflite/structure-anomaly",
        message: `${s.anomalyCount - s.anomalies.length} more structure anomalies not listed`,
        evidence: { occurrences: s.anomalyCount },
      });
    }
    for (const f of problems.list()) ctx.report(f);
    recordFacts(ctx, s);
    if (error !== undefined) {
      if (error.code !== "MALFORMED" && error.code !== "TRUNCATED") throw error;
      ctx.report({
        ruleId: "tflite/malformed",
        message: `the model's flatbuffer is invalid: ${error.message}`,
        ...(error.offset === undefined ? {} : { offset: error.offset }),
        evidence: { code: error.code },
      });
      return;
    }
    let members = 0;
    for (const m of s.metadata) {
      if (m.location === undefined || m.name === "min_runtime_version" || members >= MAX_MEMBERS) continue;
      members++;
      const name = `metadata/${m.name.replace(/[/\\]/g, "_").slice(0, 100) || `buffer-${m.buffer}`}`;
      await ctx.scanMember(name, new SliceSource(ctx.source, m.location.offset, m.location.length), {
        offset: m.location.offset,
        opaqueData: true,
      });
    }
  },
};
