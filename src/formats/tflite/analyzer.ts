/**
 * The TFLite analyzer: walks the model's flatbuffer (operator codes, subgraphs, operators,
 * buffers' sizes, metadata, signatures) and reports operators that need code outside TFLite:
 * custom kernels, Flex (TensorFlow) kernels, and among those the ones that touch files, the
 * network or Python. A Flex operator is judged by the worst of the kernels it names: its
 * `custom_code` suffix and, for each use, the op name and NodeDef op of its custom options (what
 * the Flex delegate actually builds, see `./flex.ts`). Metadata buffers other than `min_runtime_version` are scanned as members.
 * @module
 */
import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { SliceSource } from "../../core/byte-source.js";
import { type FindingInput, FindingList } from "../../core/findings.js";
import { CUSTOM, FLEX_IO_OPS, FLEX_PRINT_OPS, FLEX_PYTHON_OPS, KNOWN_CUSTOM_OPS } from "./ops.js";
import { opName, readTflite, TFLITE_IDENTIFIER, type TfliteOpCode, type TfliteSummary } from "./reader.js";

/** Findings kept per rule and severity. */
const MAX_REPORTED = 100;
/** Metadata buffers scanned as members at most. */
const MAX_MEMBERS = 32;

/** Kernel names listed in a finding's evidence. */
const MAX_EVIDENCE_KERNELS = 16;

/**
 * The TensorFlow kernels a Flex operator code can run: the `custom_code` suffix and every name its
 * uses' custom options give (element 0, the op the delegate builds, and the NodeDef's `op`).
 */
function flexKernels(code: TfliteOpCode): { names: string[]; fromOptions: string[] } {
  const fromOptions = [...(code.flex?.kernels.keys() ?? [])].filter((n) => n !== "");
  return { names: [...new Set([(code.custom ?? "").slice(4), ...fromOptions])], fromOptions };
}

/** Says which names came from the custom options when they differ from the `custom_code`'s. */
function kernelNote(custom: string, chosen: string, fromOptions: readonly string[]): string {
  if (fromOptions.length === 0 || (fromOptions.length === 1 && fromOptions[0] === custom.slice(4))) return "";
  return chosen === custom.slice(4)
    ? `; its custom options name ${fromOptions.slice(0, 4).join(", ")}`
    : ` (named in its custom options; the custom_code says ${custom.slice(4)})`;
}

/** The finding about one Flex operator code: the worst kernel it can run decides. */
function flexFinding(code: TfliteOpCode): FindingInput {
  const custom = code.custom ?? "";
  const { names, fromOptions } = flexKernels(code);
  const unreadable = code.flex?.unreadable ?? 0;
  const evidence = {
    customCode: custom.slice(0, 200),
    uses: code.uses,
    version: code.version,
    ...(fromOptions.length === 0
      ? {}
      : { kernels: fromOptions.slice(0, MAX_EVIDENCE_KERNELS).join(",").slice(0, 400) }),
    ...(unreadable === 0 ? {} : { unreadableOptions: unreadable }),
  };
  const python = names.find((n) => FLEX_PYTHON_OPS.has(n));
  if (python !== undefined) {
    return {
      ruleId: "tflite/flex-python-op",
      message: `operator code ${JSON.stringify(custom)} runs TensorFlow's ${python}${kernelNote(custom, python, fromOptions)}, which calls a Python function (${code.uses} use(s))`,
      offset: code.offset,
      evidence,
    };
  }
  const io = names.find((n) => FLEX_IO_OPS.has(n));
  if (io !== undefined || code.fileUrl) {
    const op = io ?? names.find((n) => FLEX_PRINT_OPS.has(n)) ?? custom.slice(4);
    const what =
      io !== undefined
        ? "reads or writes files or the network"
        : FLEX_PRINT_OPS.has(op)
          ? "prints to a file:// stream"
          : "names a file:// target";
    return {
      ruleId: "tflite/flex-io-op",
      message: `operator code ${JSON.stringify(custom)} runs TensorFlow's ${op}${kernelNote(custom, op, fromOptions)}, which ${what} (${code.uses} use(s))`,
      offset: code.offset,
      evidence: { ...evidence, fileUrl: code.fileUrl },
    };
  }
  const op = custom.slice(4);
  const unknown =
    unreadable === 0
      ? ""
      : `; ${unreadable} use(s) have custom options that do not name a kernel (${code.flex?.reason ?? "unreadable"}), judged as an unknown TensorFlow op`;
  return {
    ruleId: "tflite/flex-op",
    message: `operator code ${JSON.stringify(custom)} runs TensorFlow's ${names.slice(0, 4).join(", ")} kernel${names.length > 1 ? "s" : ""} through the Flex delegate${kernelNote(custom, op, fromOptions)}${unknown} (${code.uses} use(s))`,
    offset: code.offset,
    evidence,
  };
}

/** The findings about a model's operator codes. */
export function operatorFindings(s: TfliteSummary): FindingList {
  const findings = new FindingList(MAX_REPORTED);
  for (const code of s.opCodes) {
    if (code.builtin !== CUSTOM) continue;
    const custom = code.custom ?? "";
    if (custom.startsWith("Flex")) {
      findings.add(flexFinding(code));
      continue;
    }
    const evidence = { customCode: custom.slice(0, 200), uses: code.uses, version: code.version };
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
