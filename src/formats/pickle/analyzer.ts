/**
 * Engine analyzers for raw pickles (whatever their name: `.pkl`, `.bin`, `archive/data.pkl` in a
 * PyTorch zip, a joblib file) and for the `code/` members of TorchScript archives.
 * @module
 */

import type { AnalysisContext, Analyzer, FormatCatalog } from "../../core/analyzer.js";
import { HeadFirstSource, SliceSource } from "../../core/byte-source.js";
import type { FindingInput } from "../../core/findings.js";
import { recordBase } from "../pytorch/record-names.js";
import { analyzePickleStream, type PickleAnalysis } from "./analyze.js";
import { decodePickle, type OpArg, PickleError, SinkAction } from "./decoder.js";
import { SourceInput } from "./input.js";
import { rawUnicodeEscape } from "./literals.js";
import { OP, opcodeInfo } from "./opcodes.js";
import { scanPythonSource } from "./pysource.js";
import { decodeUtf8, latin1 } from "./values.js";
import { DEFAULT_MAX_MILLIS } from "./vm.js";

/**
 * Reports a pickle analysis through the context: findings, facts, embedded payloads (scanned as
 * members) and trailing data not claimed by another detection.
 * @param ctx - analysis context
 * @param analysis - what {@link analyzePickleStream} returned
 */
export async function reportPickleAnalysis(ctx: AnalysisContext, analysis: PickleAnalysis): Promise<void> {
  for (const f of analysis.findings) ctx.report(f);
  for (const [k, v] of Object.entries(analysis.facts)) ctx.fact(k, v);
  await scanEmbedded(ctx, analysis);
}

/**
 * Hands the payloads the pickle hands to loaders (a zip given to `torch.storage._load_from_bytes`,
 * an `.npy` given to `numpy.load` ...) to the engine as members, each with its finding: what a
 * loader unpickles there counts, whatever the reading that found it.
 */
async function scanEmbedded(ctx: AnalysisContext, analysis: PickleAnalysis): Promise<void> {
  for (const e of analysis.embedded) {
    ctx.report(e.finding);
    await ctx.scanMember(e.name, e.source, { offset: e.offset });
  }
}

/** Sniffs and analyses the data after the last pickle, unless another detection accounts for it. */
async function scanTrailing(ctx: AnalysisContext, analysis: PickleAnalysis, start: number): Promise<void> {
  const tail = analysis.trailingOffset;
  if (tail === undefined || ctx.detections.some((d) => d.offset > start && d.offset <= tail + 16)) return;
  await ctx.scanMember(`@${tail}`, new SliceSource(ctx.source, tail, ctx.source.size - tail), {
    offset: tail,
    opaqueData: true,
  });
}

/**
 * Budgets of the pickle engine derived from the scan: its checkpoint, the nesting depth the scan's
 * `maxDepth` leaves at this file's depth (nested payloads count against it), and the scan's
 * decompression budget (every decompression of a nested payload is charged to it).
 */
export function pickleBudgets(ctx: AnalysisContext): {
  checkpoint: () => void;
  maxNesting: number;
  chargeDecompressed: (bytes: number) => void;
  formats: FormatCatalog;
  maxMillis: number;
} {
  return {
    formats: ctx.formats,
    // half the file's time: a machine stopped by its clock leaves time for the sweep after it
    maxMillis: Math.max(1000, Math.min(DEFAULT_MAX_MILLIS, ctx.limits.fileTimeoutMs / 2)),
    checkpoint: () => ctx.checkpoint(),
    maxNesting: Math.max(1, ctx.limits.maxDepth - ctx.depth),
    chargeDecompressed: (bytes) => ctx.chargeDecompressed(bytes),
  };
}

/** Formats detected by a file's name alone: a pickle reading beside them is not speculative-only. */
const NAME_ONLY: ReadonlySet<string> = new Set(["onnx-external-data"]);

/** Read size of speculative readings (the sniffer's head is 64 KiB). */
const SPECULATIVE_CHUNK = 64 * 1024;

const CALLABLE_NAME = /^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+$/;

/**
 * Whether a finding of a speculative reading that broke still counts: a dangerous name (high or
 * critical), or a call of a well-formed name (a loader imports and calls it before it reaches the
 * break). Names that are not identifiers (text read as GLOBAL lines) cannot be imported.
 */
function countsBeforeBreak(ctx: AnalysisContext, f: FindingInput): boolean {
  if (f.ruleId === "pickle/malformed" || f.ruleId === "pickle/trailing-data") return false;
  // what the pickle hands to a loader is read by that loader in full, whatever this reading's status
  if (f.ruleId === "pickle/nested-payload" || f.evidence?.nested !== undefined) return true;
  if (f.ruleId === "scan/budget-exceeded" && f.evidence?.via !== undefined) return true;
  const severity = ctx.severityOf(f);
  if (severity === "critical" || severity === "high") return true;
  const callee = f.evidence?.callee;
  return f.evidence?.use === "call" && typeof callee === "string" && CALLABLE_NAME.test(callee);
}

/** Analyses pickles: every concatenated pickle, nested payloads, trailing data. */
export const pickleAnalyzer: Analyzer = {
  name: "pickle",
  formats: ["pickle"],
  async analyze(ctx) {
    const context = ctx.formats.pickleContext(ctx.lineage);
    const start = ctx.detection.offset;
    // Beside a candidate known by its name alone (ONNX external data under a name the model
    // chooses), nothing in the bytes rules a pickle out: the reading is as firm as a weak one
    // (complete when it parses whole), not beside-only.
    const claim =
      ctx.detection.claim === "beside" && ctx.detections.some((d) => d.offset === 0 && NAME_ONLY.has(d.format))
        ? "weak"
        : ctx.detection.claim;
    const speculative = claim === "weak" || claim === "beside";
    // A speculative reading starts from the sniffer's head and reads no further ahead than it needs.
    const input = speculative
      ? new SourceInput(new HeadFirstSource(ctx.source, ctx.head), start, undefined, SPECULATIVE_CHUNK, false)
      : new SourceInput(ctx.source, start);
    // whose persistent_load: a legacy torch tar's `pickle` member (legacy_load), a torch.package pickle
    const torchLayout =
      ctx.lineage.at(-1) === "pytorch-tar" && ctx.name === "pickle"
        ? "tar"
        : ctx.lineage.at(-1) === "torch-package"
          ? "package"
          : undefined;
    const analysis = await analyzePickleStream(input, {
      context,
      policy: ctx.policy.options.pickle,
      ...pickleBudgets(ctx),
      // a guess sweeps after a stop only what it read (a remote file is not read whole for it)
      ...(speculative ? { afterStopEnd: ctx.head.length } : {}),
      torchLayout,
    });
    // A weak reading that stops at once and leaves the rest unread ("N." opening a README) found
    // no pickle: nothing was imported or called, and the bytes are what the other candidates say.
    const trivial =
      claim === "weak" &&
      analysis.trailingOffset !== undefined &&
      analysis.embedded.length === 0 &&
      analysis.findings.every((f) => f.ruleId === "pickle/trailing-data");
    if (trivial) return;
    if ((claim === "weak" && analysis.invalid) || claim === "beside") {
      // A speculative reading (the sniffer's guess, or unknown/text content that opens with an
      // opcode) that broke: the stream is not a pickle a loader would finish, but whatever it would
      // run before the break still runs, so dangerous findings count.
      // A beside reading that parses whole is a pickle a loader finishes: what it imports outside
      // the allowlist counts as it would in a plain pickle (allowlist-first), not only the dangerous.
      const complete = claim === "beside" && !analysis.invalid;
      for (const f of analysis.findings) {
        if (countsBeforeBreak(ctx, f) || (complete && f.ruleId === "pickle/unknown-global")) ctx.report(f);
      }
      // payloads handed to loaders (nested zips, arrays) are scanned whatever this reading's status
      await scanEmbedded(ctx, analysis);
      if (complete) await scanTrailing(ctx, analysis, start);
      return;
    }
    if (claim !== undefined && !analysis.invalid) ctx.refineFormat("pickle");
    if (context === "pickle" && analysis.facts["numpy.arrays"] !== undefined) {
      const globals = analysis.facts["pickle.globals"];
      if (Array.isArray(globals) && globals.includes("joblib.numpy_pickle.NumpyArrayWrapper"))
        ctx.refineFormat("joblib");
    }
    await reportPickleAnalysis(ctx, analysis);
    // Whatever hides after the pickle is sniffed and analysed on its own.
    await scanTrailing(ctx, analysis, start);
  },
};

/** TorchScript operators that read or write files, or load code. */
const RISKY_TORCHSCRIPT = new Set([
  "torch.save",
  "torch.load",
  "torch.from_file",
  "ops.aten.save",
  "ops.aten.load",
  "ops.aten.from_file",
  "torch.ops.aten.save",
  "torch.ops.aten.from_file",
  "torch.classes.load_library",
  "torch.ops.load_library",
  "ops.prim.RaiseException",
]);
/** Operator namespaces that ship with PyTorch (shared with the mobile flatbuffer analyzer). */
export const STANDARD_NAMESPACES = new Set([
  "aten",
  "prim",
  "quantized",
  "_quantized",
  "profiler",
  "cuda",
  "_caffe2",
  "onednn",
  "mkldnn",
  "prepacked",
  "_test",
]);

/** Most characters of a `code/` member the source scanner reads (past it: `scan/budget-exceeded`). */
export const TORCHSCRIPT_CODE_MAX_CHARS = 1 << 20;

/** Most `RaiseException(` calls whose class argument is read (past it: judged as risky). */
const MAX_RAISES = 10_000;

/**
 * Whether every `ops.prim.RaiseException(msg, cls)` call in TorchScript code names a built-in
 * exception class (`"builtins.RuntimeError"`: a name of Python's exception classes) or none. The class name is resolved in Python when
 * the exception reaches it, so only a `builtins.` name is known to import nothing; every scripted
 * LSTM or Transformer raises `builtins.RuntimeError`/`AssertionError`. The first argument (a string
 * literal or an expression) is skipped with strings and brackets balanced.
 * @param text - the code member
 */
export function raisesOnlyBuiltins(text: string): boolean {
  const marker = "ops.prim.RaiseException(";
  let at = text.indexOf(marker);
  for (let n = 0; at >= 0; n++) {
    if (n >= MAX_RAISES) return false;
    let p = at + marker.length;
    // the first argument, up to a comma or the closing parenthesis at depth 0
    let depth = 0;
    while (p < text.length) {
      const c = text[p] as string;
      if (c === '"' || c === "'") {
        p = skipString(text, p);
        continue;
      }
      if (c === "(" || c === "[" || c === "{") depth++;
      else if (c === ")" || c === "]" || c === "}") {
        if (depth === 0) break;
        depth--;
      } else if (c === "," && depth === 0) break;
      p++;
    }
    if (text[p] === ",") {
      const rest =
        /^\s*(["'])builtins\.(?:\w*(?:Error|Exception|Warning)|StopIteration|StopAsyncIteration|KeyboardInterrupt|SystemExit|GeneratorExit)\1\s*\)/.exec(
          text.slice(p + 1, p + 200),
        );
      if (rest === null) return false;
    } else if (text[p] !== ")") return false;
    // from just past this marker: a call nested in the first argument is checked too
    at = text.indexOf(marker, at + marker.length);
  }
  return true;
}

/** The index just past the string literal that opens at `start` (backslash escapes honoured). */
function skipString(text: string, start: number): number {
  const quote = text[start];
  let p = start + 1;
  while (p < text.length && text[p] !== quote) p += text[p] === "\\" ? 2 : 1;
  return p + 1;
}

/** Reports what TorchScript `code/` members call (only inside a TorchScript archive). */
export const torchscriptCodeAnalyzer: Analyzer = {
  name: "torchscript-code",
  formats: ["python"],
  async analyze(ctx) {
    if (!ctx.lineage.includes("torchscript")) return; // other Python: the repository-files analyzer
    const max = 4 << 20;
    const bytes = await ctx.source.read(0, Math.min(ctx.source.size, max));
    // torch.jit.load lexes the bytes whatever their encoding: invalid UTF-8 is replaced, not refused
    const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes);
    const scan = scanPythonSource(text, TORCHSCRIPT_CODE_MAX_CHARS, "torchscript");
    const ops = new Set<string>();
    const findings: FindingInput[] = [];
    let builtinRaises: boolean | undefined;
    for (const n of scan.names) {
      const name = n.name;
      const ns = /^(?:torch\.)?ops\.([A-Za-z_]\w*)\./.exec(name)?.[1];
      if (name.startsWith("torch.") || name.startsWith("ops.") || name.startsWith("__torch__.")) {
        if (ops.size < 500) ops.add(name);
      }
      if (name.endsWith("ops.prim.RaiseException")) {
        builtinRaises ??= raisesOnlyBuiltins(text);
        if (builtinRaises) continue;
      }
      if (RISKY_TORCHSCRIPT.has(name)) {
        findings.push({
          ruleId: "pickle/torchscript-op",
          message: `TorchScript code calls ${name}, which touches the file system or loads code`,
          evidence: { callee: name, member: ctx.name },
        });
      } else if (ns !== undefined && !STANDARD_NAMESPACES.has(ns)) {
        findings.push({
          ruleId: "pickle/torchscript-op",
          severity: "medium",
          message: `TorchScript code calls ${name} from the non-standard operator namespace "${ns}" (needs a native library)`,
          evidence: { callee: name, namespace: ns, member: ctx.name },
        });
      }
    }
    if (scan.defs.includes("__setstate__")) {
      findings.push({
        ruleId: "pickle/torchscript-op",
        severity: "medium",
        message: "TorchScript class defines __setstate__, which runs while torch.jit.load reads the archive",
        evidence: { callee: "__setstate__", member: ctx.name },
      });
    }
    const truncated = scan.truncated || ctx.source.size > max;
    ctx.report({
      ruleId: "pickle/torchscript-code",
      message: `TorchScript code uses ${ops.size} operator/call name(s)`,
      evidence: {
        member: ctx.name,
        calls: [...ops].slice(0, 60).join(", "),
        functions: scan.defs.slice(0, 40).join(", "),
        ...(truncated ? { truncated: true } : {}),
      },
    });
    for (const f of findings) ctx.report(f);
    if (truncated) {
      // what lies past the budget was not read: the archive cannot be called clean
      ctx.report({
        ruleId: "scan/budget-exceeded",
        message: `TorchScript code member ${ctx.name} (${ctx.source.size} bytes) is past the source scan budget (${TORCHSCRIPT_CODE_MAX_CHARS} characters, 200000 tokens): the rest was not analysed`,
        evidence: { budget: "torchscriptCodeChars", limit: TORCHSCRIPT_CODE_MAX_CHARS, member: ctx.name },
      });
    }
  },
};

/** Most opcodes of a `bytecode.pkl` read for its operator table (past it: `scan/budget-exceeded`). */
const BYTECODE_MAX_OPS = 4_000_000;
/** An operator name as the lite interpreter's operator table spells it (`aten::save`). */
const OPERATOR_NAME = /^([A-Za-z_]\w*)::([A-Za-z_]\w*)$/;
/** Operators of the bytecode that only report errors (every `raise` and `assert` compiles to one). */
const BYTECODE_ORDINARY = new Set(["prim::RaiseException"]);

/**
 * Every str literal of a pickle (the operator table, method names and type names of a lite
 * interpreter `bytecode.pkl` are str literals of nested tuples), up to `maxOps` opcodes.
 */
async function pickleStrings(
  ctx: AnalysisContext,
  maxOps: number,
): Promise<{ strings: Set<string>; truncated: boolean; error?: string }> {
  const strings = new Set<string>();
  let count = 0;
  let truncated = false;
  const add = (s: string): void => {
    if (s.length <= 512 && strings.size < 100_000) strings.add(s);
  };
  const sink = {
    op(code: number, _offset: number, a: OpArg): SinkAction {
      if (++count > maxOps) {
        truncated = true;
        return SinkAction.Stop;
      }
      if ((count & 0xffff) === 0) ctx.checkpoint();
      if (code === OP.STOP) return SinkAction.Stop;
      const info = opcodeInfo(code);
      if (info === undefined || a.blob !== undefined) return SinkAction.Continue;
      if (info.arg === "counted1" || info.arg === "counted4" || info.arg === "counted8") {
        if (a.end - a.start <= 512) add(decodeUtf8(a.buf, a.start, a.end).text);
      } else if (info.arg === "line") {
        if (a.end - a.start <= 512)
          add(code === OP.UNICODE ? unicodeLine(a.buf, a.start, a.end) : latin1(a.buf, a.start, a.end));
      }
      return SinkAction.Continue;
    },
    async special(): Promise<SinkAction> {
      return SinkAction.Continue;
    },
  };
  try {
    await decodePickle(new SourceInput(ctx.source, 0), sink);
  } catch (e) {
    if (e instanceof PickleError) return { strings, truncated, error: e.message };
    throw e;
  }
  return { strings, truncated };
}

/**
 * Reports the operator table of a TorchScript Lite archive (`_save_for_lite_interpreter`, `.ptl`):
 * `torch.jit.mobile._load_for_lite_interpreter` runs the bytecode of `bytecode.pkl`, whose
 * operators (`aten::save` ...) are judged as those TorchScript code calls; `code/` may not match it.
 */
export const torchscriptBytecodeAnalyzer: Analyzer = {
  name: "torchscript-bytecode",
  formats: ["pickle"],
  async analyze(ctx) {
    // the lite interpreter looks `bytecode.pkl` up ignoring ASCII case (`BYTECODE.PKL` is it)
    if (!ctx.lineage.includes("torchscript") || recordBase(ctx.name) !== "bytecode.pkl") return;
    const { strings, truncated } = await pickleStrings(ctx, BYTECODE_MAX_OPS);
    const operators: string[] = [];
    const findings: FindingInput[] = [];
    for (const s of strings) {
      const m = OPERATOR_NAME.exec(s);
      if (m !== null) {
        operators.push(s);
        const [, ns, op] = m as unknown as [string, string, string];
        const dotted = `torch.ops.${ns}.${op}`;
        if (BYTECODE_ORDINARY.has(s)) continue;
        if (RISKY_TORCHSCRIPT.has(dotted) || RISKY_TORCHSCRIPT.has(`ops.${ns}.${op}`)) {
          findings.push({
            ruleId: "pickle/torchscript-op",
            message: `TorchScript Lite bytecode calls ${s}, which touches the file system or loads code`,
            evidence: { callee: s, member: ctx.name },
          });
        } else if (!STANDARD_NAMESPACES.has(ns)) {
          findings.push({
            ruleId: "pickle/torchscript-op",
            severity: "medium",
            message: `TorchScript Lite bytecode calls ${s} from the non-standard operator namespace "${ns}" (needs a native library)`,
            evidence: { callee: s, namespace: ns, member: ctx.name },
          });
        }
      } else if (/^__torch__\.[\w.]*\.__setstate__$/.test(s)) {
        findings.push({
          ruleId: "pickle/torchscript-op",
          severity: "medium",
          message: `TorchScript Lite bytecode defines ${s}, which runs while the lite interpreter loads the archive`,
          evidence: { callee: s, member: ctx.name },
        });
      }
    }
    ctx.report({
      ruleId: "pickle/torchscript-code",
      message: `TorchScript Lite bytecode uses ${operators.length} operator(s)`,
      evidence: { member: ctx.name, operators: operators.slice(0, 60).join(", ") },
    });
    for (const f of findings) ctx.report(f);
    if (truncated) {
      ctx.report({
        ruleId: "scan/budget-exceeded",
        message: `TorchScript Lite bytecode ${ctx.name} was read for its first ${BYTECODE_MAX_OPS} opcodes only`,
        evidence: { budget: "torchscriptBytecodeOps", limit: BYTECODE_MAX_OPS, member: ctx.name },
      });
    }
  },
};

/** A UNICODE line's text, or its bytes as they are when CPython's codec would raise on it. */
function unicodeLine(buf: Uint8Array, start: number, end: number): string {
  try {
    return rawUnicodeEscape(buf, start, end);
  } catch (e) {
    if (e instanceof PickleError) return latin1(buf, start, end);
    throw e;
  }
}
