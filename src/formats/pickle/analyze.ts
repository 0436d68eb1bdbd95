/**
 * Pickle analysis: runs the symbolic machine over one or more concatenated pickles, turns what
 * it saw into findings under the policy, and analyses nested payloads recursively.
 * @module
 */

import type { FormatCatalog } from "../../core/analyzer.js";
import { maxOf } from "../../core/arrays.js";
import { isModelgateError, ModelgateError } from "../../core/errors.js";
import type { FindingInput, RuleId } from "../../core/findings.js";
import { FindingList } from "../../core/findings.js";
import { DEFAULT_LIMITS } from "../../core/limits.js";
import type { Severity } from "../../core/severity.js";
import { sha256Hex } from "../../core/sha256.js";
import { BufferSource, type ByteSource, readClamped, readExact } from "../../sources/byte-source.js";
import { dangerousNames, parseMarshal } from "../marshal/marshal.js";
import { importsAfterStop } from "./after-stop.js";
import { type DecodeResult, type DecoderOptions, decodePickle, PickleError } from "./decoder.js";
import { type PickleInput, SourceInput } from "./input.js";
import { opcodeInfo } from "./opcodes.js";
import {
  type Classification,
  type PickleContext,
  PicklePolicy,
  type PicklePolicyOptions,
  picklePolicy,
} from "./policy/index.js";
import { applyTransform, isPayloadSink, isResolver, type NestedPayload, type SharedState } from "./pymodel.js";
import { scanPythonSource } from "./pysource.js";
import { type Rereading, unpeekableReading } from "./unpeekable.js";
import {
  intOf,
  PyBytes,
  PyCall,
  PyLargeStr,
  type PyPersistent,
  PyRef,
  PySeq,
  preview,
  type RefSite,
  seqItems,
  strOf,
  type Value,
} from "./values.js";
import {
  defaultMachineOptions,
  type MachineEventKind,
  type MachineOptions,
  type PersistentLayout,
  PickleMachine,
} from "./vm.js";

/** Settings of a pickle analysis. */
export interface PickleAnalysisOptions {
  /** Artifact kind (selects allowlist profiles and loader behaviour). */
  context: PickleContext;
  /** Caller policy settings (`PolicyOptions.pickle`). */
  policy?: PicklePolicyOptions | undefined;
  /** Decoder budgets. */
  decoder?: Partial<DecoderOptions>;
  /** Machine budgets. */
  machine?: Partial<MachineOptions>;
  /**
   * Where the sweep after a stopped analysis ends at the latest (an offset of the input): a
   * speculative reading (a pickle guess beside another format) sweeps only the bytes it already
   * holds, so that a guess never reads a remote file whole. Default: no bound but the sweep's own.
   */
  afterStopEnd?: number | undefined;
  /**
   * How long one machine runs at most (default {@link MachineOptions.maxMillis}); `machine`
   * overrides it. The analyzers pass half the file's time budget, so that a machine stopped by it
   * leaves time for the sweep of what follows and for the findings so far to be reported.
   */
  maxMillis?: number | undefined;
  /**
   * The stream is the `pickle` member of a legacy PyTorch tar checkpoint (`tar`: `legacy_load`'s
   * persistent_load) or a pickle of a torch.package archive (`package`: PackageImporter's), not a
   * payload nested in one (see {@link MachineOptions.persistentLayout}); default torch.load's.
   */
  torchLayout?: "tar" | "package" | undefined;
  /**
   * Nested payload depth budget (default 4): pickles handed to loaders inside the pickle, joblib
   * object arrays and embedded members all count against it. The analyzers pass what the scan's
   * `maxDepth` leaves at the file's depth.
   */
  maxNesting?: number;
  /**
   * Counts the bytes the analysis decompresses (zlib/gzip data the pickle decodes, compressed
   * joblib payloads) against one budget, and throws `BUDGET_EXCEEDED` past it. The analyzers pass
   * the scan's (`ctx.chargeDecompressed`); without one, an analysis and everything nested in it
   * share a budget of `DEFAULT_LIMITS.maxDecompressedBytes`.
   */
  chargeDecompressed?: ((bytes: number) => void) | undefined;
  /** Most concatenated pickles analysed (default 1,000). */
  maxPickles?: number;
  /** Analyse pickles that follow the first one (default true). */
  concatenated?: boolean;
  /** Data after the last pickle is expected (legacy PyTorch storages): no trailing-data finding. */
  ignoreTrailing?: boolean;
  /** Called regularly; throws to abort. */
  checkpoint?: (() => void) | undefined;
  /**
   * The scan's format catalogue (`AnalysisContext.formats`): payloads handed to loaders are sniffed
   * with it, and the ones that are not pickles go to the engine as members. Without it only zip
   * and `.npy` payloads are recognised as such (everything else is read as a pickle).
   */
  formats?: FormatCatalog | undefined;
  /**
   * Registries shared with other pickles of the same file, and with the payloads they hand to
   * loaders (CPython's registries are process-wide: a nested `pickle.loads` sees them).
   */
  shared?: SharedState;
  /**
   * Nested payloads already analysed in this analysis tree (every nested analysis and the reading
   * from a file object without `peek` share it); made by the top-level analysis when not given.
   */
  analysed?: AnalysedPayloads;
  /** Evidence prefix for findings of nested payloads (internal). */
  nestedPath?: string;
  /** Current nesting depth (internal). */
  depth?: number;
  /**
   * Also analyse the stream as read from a file object without `peek` when it reads differently
   * there (default true; see `unpeekable.ts`).
   */
  unpeekableReading?: boolean;
}

/** A payload to hand to the engine as a member (zip, npy ... inside a pickle). */
export interface PickleEmbeddedPayload {
  /** Member name (`@offset:via`). */
  readonly name: string;
  /** Offset of the opcode that carries it. */
  readonly offset: number;
  /** The bytes. */
  readonly source: ByteSource;
  /**
   * What the analysis says of it (`zip data handed to ...; analysed as an embedded member`): it
   * travels with the payload and is reported where the payload is handed to the engine, so that
   * it is never said of a payload a caller drops.
   */
  readonly finding: FindingInput;
  /** Evidence path of the nested analysis that found it (undefined: the analysis it is part of). */
  readonly nested?: string | undefined;
}

/** One analysed pickle. */
export interface PickleRun {
  /** The machine after the run (stack, memo, references, events). */
  readonly machine: PickleMachine;
  /** Decoder result when the pickle ended with STOP. */
  readonly result: DecodeResult | undefined;
  /** The error that ended it, otherwise. */
  readonly error: PickleError | undefined;
  /** Offset where it started. */
  readonly start: number;
  /** The context it was analysed in. */
  readonly context: PickleContext;
}

/** Result of {@link analyzePickleStream}. */
export interface PickleAnalysis {
  /** Findings, ready for `ctx.report`. */
  readonly findings: FindingInput[];
  /** Facts about the model. */
  readonly facts: Record<string, unknown>;
  /** The pickles analysed, in order. */
  readonly runs: PickleRun[];
  /** Offset just after the last byte consumed. */
  readonly end: number;
  /** Offset of data after the last pickle that is not another pickle, if any. */
  readonly trailingOffset: number | undefined;
  /** Payloads for the engine to scan as members. */
  readonly embedded: PickleEmbeddedPayload[];
  /** The stream could not be analysed to its end. */
  readonly invalid: boolean;
  /**
   * The analysis of the bytes the C unpickler consumes from a file object without `peek`
   * (`io.BytesIO`), when an opcode crossed a frame end so that they differ; its findings that the
   * main reading lacks are included in {@link PickleAnalysis.findings}.
   */
  readonly unpeekable?: PickleAnalysis;
}

const TORCH_CONTEXTS = new Set<PickleContext>(["pytorch", "torchscript"]);
const PROTO0_STARTS = new Set([..."(]})NIFSVLcKJMXUTGg"].map((c) => c.charCodeAt(0)));

/**
 * Runs one pickle from the input's current position through the machine.
 * @param input - positioned at the pickle's first opcode
 * @param options - analysis settings
 */
export async function runPickle(input: PickleInput, options: PickleAnalysisOptions): Promise<PickleRun> {
  const start = input.offset;
  const shared = options.shared ?? { ext: new Map(), patches: new Map() };
  const nestedRuns: PickleRun[] = [];
  const machine = new PickleMachine({
    ...defaultMachineOptions(),
    persistentLoad: TORCH_CONTEXTS.has(options.context),
    ...(options.maxMillis === undefined ? {} : { maxMillis: options.maxMillis }),
    ...options.machine,
    persistentLayout: TORCH_CONTEXTS.has(options.context) ? (options.torchLayout ?? "zip") : "zip",
    shared,
    chargeDecompressed: options.chargeDecompressed,
    inlinePickle: async (inp, at) => {
      // joblib object arrays: a complete pickle inline, read by the C unpickler (a nested load)
      const depth = (options.depth ?? 0) + 1;
      if (depth > (options.maxNesting ?? 4)) {
        throw new PickleError(
          "object array nested deeper than the nesting budget: its inline pickle was not analysed",
          at,
          "budget",
          "maxNesting",
        );
      }
      const run = await runPickle(inp, { ...options, shared, depth });
      nestedRuns.push(run);
      if (run.error !== undefined) throw run.error;
    },
  });
  try {
    const result = await decodePickle(input, machine, { ...options.decoder, checkpoint: options.checkpoint });
    return withInline({ machine, result, error: undefined, start, context: options.context }, nestedRuns);
  } catch (e) {
    const zlibCode = e instanceof Error && "code" in e && typeof e.code === "string" && e.code.startsWith("Z_");
    const error = zlibCode
      ? new PickleError(`compressed stream is corrupt: ${(e as Error).message}`, input.offset, "truncated")
      : PickleError.from(e, input.offset);
    if (error === undefined) throw e;
    return withInline({ machine, result: undefined, error, start, context: options.context }, nestedRuns);
  }
}

const INLINE = new WeakMap<PickleRun, PickleRun[]>();
function withInline(run: PickleRun, inline: PickleRun[]): PickleRun {
  if (inline.length > 0) INLINE.set(run, inline);
  return run;
}

/**
 * Analyses the pickle(s) in `input`: every concatenated pickle, each one's references under the
 * policy, events, framing divergences, errors and nested payloads.
 * @param input - positioned at the first pickle
 * @param options - analysis settings
 */
export async function analyzePickleStream(input: PickleInput, options: PickleAnalysisOptions): Promise<PickleAnalysis> {
  const shared = options.shared ?? { ext: new Map(), patches: new Map() };
  const chargeDecompressed = options.chargeDecompressed ?? decompressionBudget(DEFAULT_LIMITS.maxDecompressedBytes);
  const analysed = options.analysed ?? analysedPayloads();
  const opts: PickleAnalysisOptions = { ...options, shared, chargeDecompressed, analysed };
  const runs: PickleRun[] = [];
  const maxPickles = options.maxPickles ?? 1000;
  let trailingOffset: number | undefined;
  /** Offset of the first pickle after the first that does not begin as writers begin one. */
  let unusualAt: number | undefined;
  /** Data after the pickles read as one up to where it breaks (see below). */
  let tail: PickleRun | undefined;
  let run = await runPickle(input, opts);
  runs.push(run);
  for (;;) {
    if (run.error !== undefined) break;
    if (options.concatenated === false) break;
    if (await input.atEnd()) break;
    if (runs.length >= maxPickles) {
      if (options.ignoreTrailing !== true) trailingOffset = input.offset;
      break;
    }
    const head = await input.peek(2);
    const b0 = head[0] ?? 0;
    const firstWasOld = run.machine.maxProto < 2;
    const usual = (b0 === 0x80 && (head[1] ?? 9) <= 5) || (firstWasOld && PROTO0_STARTS.has(b0));
    const at = input.offset;
    if (!usual && opcodeInfo(b0) === undefined) {
      trailingOffset = at;
      break;
    }
    // A loader that reads several pickles (legacy torch.load reads five) starts the next one at
    // any opcode: data that starts with one is read as a pickle. One that does not begin as
    // writers begin a pickle and does not run to its STOP is trailing data, but what the C
    // unpickler would run before it breaks is reported (its error is not: data is not a pickle).
    run = await runPickle(input, opts);
    if (!usual && run.error !== undefined) {
      tail = run;
      trailingOffset = at;
      break;
    }
    runs.push(run);
    if (!usual) unusualAt ??= at;
  }
  const end = input.offset;
  let analysis = await reportRuns(runs, input, opts, trailingOffset);
  if (tail !== undefined && trailingOffset !== undefined) {
    const broken = await reportRuns([{ ...tail, error: undefined }], input, opts, undefined);
    // and what it imports after it breaks (data, not a pickle: denied names only)
    const after = tail.error === undefined ? [] : await afterStop(tail, tail.error, input, opts, false);
    // what the broken tail hands to loaders before it breaks is scanned too
    analysis = {
      ...analysis,
      findings: [...analysis.findings, ...broken.findings, ...tagNested(after, opts)],
      embedded: [...analysis.embedded, ...broken.embedded],
      end: trailingOffset,
    };
  } else analysis = { ...analysis, end };
  if (unusualAt !== undefined) {
    const first = unusualAt;
    analysis.findings.push({
      ruleId: "pickle/trailing-data",
      severity: "medium",
      message:
        "data after the first pickle is another pickle that does not begin as pickle writers begin one: loaders that read several pickles from the file (legacy torch.load reads five) run it; analysed",
      offset: first,
      evidence: withNested({ offset: first }, opts),
    });
  }
  return options.unpeekableReading === false ? analysis : withUnpeekableReading(analysis, input, opts);
}

/** A decompression budget of `max` bytes, for analyses run without the scan's. */
function decompressionBudget(max: number): (bytes: number) => void {
  let used = 0;
  return (bytes) => {
    used += bytes;
    if (used > max) {
      throw new ModelgateError("BUDGET_EXCEEDED", `decompressed more than ${max} bytes`, {
        budget: "maxDecompressedBytes",
      });
    }
  };
}

/** Findings kept per rule and severity in one pickle analysis; the rest are counted in a summary finding. */
const PICKLE_FINDINGS_PER_RULE = 100;

/** Largest stream re-read the way a file object without `peek` feeds the unpickler. */
export const UNPEEKABLE_MAX = 16 * 1024 * 1024;
/** Findings of the second reading that only restate that it is not the first one. */
const UNPEEKABLE_SKIP = new Set(["pickle/malformed", "pickle/trailing-data", "pickle/frame-mismatch"]);

/**
 * When an opcode crossed a frame end, the C unpickler reading from `io.BytesIO` (no `peek`)
 * consumes other bytes than `pickle.loads` does: analyses that reading too and adds what it finds.
 */
async function withUnpeekableReading(
  analysis: PickleAnalysis,
  input: PickleInput,
  opts: PickleAnalysisOptions,
): Promise<PickleAnalysis> {
  if (!analysis.runs.some((r) => r.result?.rereads === true || r.error?.rereads === true)) return analysis;
  const start = analysis.runs[0]?.start ?? 0;
  const source = input.slice(start, Math.max(0, (input.size ?? analysis.end) - start));
  if (source === undefined) return analysis;
  // another load of the file: registries of its own; the payloads analysed are shared (same bytes,
  // same findings), so that a chain of payloads is not analysed again at every level
  const { shared: _, ...rest } = opts;
  return withRereading(
    analysis,
    source,
    start,
    (reread) => analyzePickleStream(reread, { ...rest, unpeekableReading: false }),
    opts.nestedPath,
  );
}

/**
 * Adds to `analysis` the reading of `source` (the stream from `start` on) as a file object without
 * `peek` feeds the unpickler (`io.BytesIO`): rereads its first {@link UNPEEKABLE_MAX} bytes that
 * way, analyses them with `analyze` and merges what that finds ({@link mergeUnpeekableReading}).
 * Shared by the pickle analysis and the legacy PyTorch analyzer (its five pickles).
 * @param analysis - the main reading
 * @param source - the input from the first pickle on
 * @param start - offset of `source` in the input (findings are mapped back to it)
 * @param analyze - analyses the reread bytes
 * @param nestedPath - evidence path of the analysis
 */
export async function withRereading(
  analysis: PickleAnalysis,
  source: ByteSource,
  start: number,
  analyze: (reread: SourceInput) => Promise<PickleAnalysis>,
  nestedPath?: string,
): Promise<PickleAnalysis> {
  const reread = unpeekableReading(await readClamped(source, 0, Math.min(source.size, UNPEEKABLE_MAX)));
  const alt = await analyze(new SourceInput(new BufferSource(reread.bytes), 0));
  return mergeUnpeekableReading(analysis, alt, { start, reread, size: source.size, nestedPath });
}

/** Where a reading from a file object without `peek` came from (see {@link mergeUnpeekableReading}). */
interface UnpeekableOrigin {
  /** Offset in the input of the reread's first byte. */
  readonly start: number;
  /** The reread bytes and their offsets in the input. */
  readonly reread: Rereading;
  /** Bytes of the input from `start` on (past {@link UNPEEKABLE_MAX} only the head was reread). */
  readonly size: number;
  /** Evidence path of the analysis (its embedded payloads found at this level are remapped). */
  readonly nestedPath?: string | undefined;
}

const BYTESIO = "read from a file object without peek (io.BytesIO, as pickle.load(BytesIO) does)";

/**
 * Adds to `analysis` what the reading from a file object without `peek` (`alt`) found that it
 * lacks: findings, embedded payloads (a zip handed to `torch.storage._load_from_bytes` there is
 * scanned like one of the main reading) and facts, offsets mapped back to the input.
 * @param analysis - the main reading
 * @param alt - the analysis of `origin.reread`
 * @param origin - where the reread came from
 */
async function mergeUnpeekableReading(
  analysis: PickleAnalysis,
  alt: PickleAnalysis,
  origin: UnpeekableOrigin,
): Promise<PickleAnalysis> {
  const { start, reread } = origin;
  const seen = new Set(analysis.findings.map((f) => `${f.ruleId}\0${f.message}`));
  const extra: FindingInput[] = [];
  for (const f of alt.findings) {
    if (UNPEEKABLE_SKIP.has(f.ruleId) || seen.has(`${f.ruleId}\0${f.message}`)) continue;
    // a payload this reading met again was analysed (and reported) by the main reading
    if (f.evidence?.sameAs !== undefined) continue;
    extra.push({
      ...f,
      message: `${BYTESIO}: ${f.message}`,
      ...(f.offset === undefined ? {} : { offset: start + reread.sourceOffset(f.offset) }),
      evidence: { ...f.evidence, reading: "io.BytesIO" },
    });
  }
  if (origin.size > UNPEEKABLE_MAX) {
    extra.push({
      ruleId: "scan/budget-exceeded",
      message: `pickle analysis stopped: the reading from a file object without peek (io.BytesIO) was analysed for its first ${UNPEEKABLE_MAX} bytes only`,
      offset: start + UNPEEKABLE_MAX,
      evidence: { budget: "unpeekableReading", limit: UNPEEKABLE_MAX, reading: "io.BytesIO" },
    });
  }
  const embedded = [...analysis.embedded];
  for (const e of alt.embedded) {
    // payloads found at this level have reread offsets; deeper ones have their payload's own
    const here = e.nested === origin.nestedPath;
    const offset = here ? start + reread.sourceOffset(e.offset) : e.offset;
    const name = here ? e.name.replace(/@\d+$/, `@${offset}`) : e.name;
    if (await holdsPayload(embedded, name, e.source)) continue;
    embedded.push({
      ...e,
      name,
      offset,
      finding: {
        ...e.finding,
        message: `${BYTESIO}: ${e.finding.message}`,
        ...(here ? { offset } : {}),
        evidence: { ...e.finding.evidence, reading: "io.BytesIO" },
      },
    });
  }
  const facts: Record<string, unknown> = { ...alt.facts, ...analysis.facts };
  const globals = [analysis.facts["pickle.globals"], alt.facts["pickle.globals"]];
  if (globals.every(Array.isArray)) facts["pickle.globals"] = [...new Set(globals.flat())].slice(0, 200);
  return { ...analysis, findings: [...analysis.findings, ...extra], embedded, facts, unpeekable: alt };
}

/** Largest embedded payload compared byte for byte with one already found (larger: both are scanned). */
const SAME_PAYLOAD_MAX = 16 << 20;

/** Whether `list` already holds a payload of this name with the same bytes. */
async function holdsPayload(
  list: readonly PickleEmbeddedPayload[],
  name: string,
  source: ByteSource,
): Promise<boolean> {
  for (const e of list) {
    if (e.name !== name || e.source.size !== source.size || source.size > SAME_PAYLOAD_MAX) continue;
    const [a, b] = [await readExact(e.source, 0, source.size), await readExact(source, 0, source.size)];
    if (Buffer.from(a.buffer, a.byteOffset, a.length).equals(b)) return true;
  }
  return false;
}

/**
 * Findings, facts and embedded payloads of runs already made (each under its own context's
 * policy), plus a trailing-data finding when `trailingOffset` is given.
 * @param runs - the runs, in stream order
 * @param input - the input they were read from (for nested payload slices)
 * @param opts - analysis settings
 * @param trailingOffset - offset of data after the last pickle, if any
 */
export async function reportRuns(
  runs: PickleRun[],
  input: PickleInput,
  options: PickleAnalysisOptions,
  trailingOffset: number | undefined,
): Promise<PickleAnalysis> {
  const opts = options.analysed === undefined ? { ...options, analysed: analysedPayloads() } : options;
  // a million distinct unknown globals must not become a million findings
  const findings = new FindingList(PICKLE_FINDINGS_PER_RULE);
  const embedded: PickleEmbeddedPayload[] = [];
  let invalid = false;
  // every run, with the inline pickles of joblib object arrays at any depth after their run
  const all: PickleRun[] = [];
  const pending = [...runs].reverse();
  for (let run = pending.pop(); run !== undefined; run = pending.pop()) {
    all.push(run);
    const inner = INLINE.get(run);
    if (inner !== undefined) for (let i = inner.length - 1; i >= 0; i--) pending.push(inner[i] as PickleRun);
  }
  const reported = new Set<PickleError>();
  for (const run of all) {
    const dup = run.error !== undefined && reported.has(run.error);
    if (run.error !== undefined) reported.add(run.error);
    const own = runFindings(run, picklePolicy(run.context, opts.policy), { ...opts, context: run.context });
    for (const f of dup ? own.slice(0, -1) : own) findings.add(f);
    if (run.error !== undefined) invalid = true;
    // a stop must not hide what the stream imports after it
    if (run.error !== undefined && !dup)
      for (const f of await afterStop(run, run.error, input, opts, true)) findings.add(f);
    const loaded = new Set(run.machine.nested.filter((p) => p.kind !== "literal").map((p) => p.value));
    for (const p of run.machine.nested) {
      if (p.kind === "literal" && loaded.has(p.value)) continue; // analysed as what it is handed to
      const out = await nestedFindings(p, input, opts, embedded).catch((e: unknown) => {
        if (!isModelgateError(e, "BUDGET_EXCEEDED")) throw e;
        // the scan's decompression budget ran out on this payload: the analysis goes on without it
        const finding: FindingInput = {
          ruleId: "scan/budget-exceeded",
          message: `nested payload at offset ${p.offset} (${p.via}) was not analysed: ${e.message}`,
          offset: p.offset,
          evidence: { budget: e.budget ?? "maxDecompressedBytes", via: p.via },
        };
        return { findings: [finding], invalid: true };
      });
      for (const f of out.findings) findings.add(f);
      if (out.invalid) invalid = true;
    }
  }
  if (trailingOffset !== undefined) {
    findings.add({
      ruleId: "pickle/trailing-data",
      message: `${(input.size ?? trailingOffset) - trailingOffset > 0 ? `${(input.size ?? 0) - trailingOffset} bytes` : "data"} after the last pickle (STOP) that do not start another pickle`,
      offset: trailingOffset,
      evidence: withNested({ offset: trailingOffset }, opts),
    });
  }
  return {
    findings: tagNested(findings.list(), opts),
    facts: collectFacts(all),
    runs,
    end: input.offset,
    trailingOffset,
    // payloads found at this level carry its evidence path (deeper ones carry theirs)
    embedded:
      opts.nestedPath === undefined
        ? embedded
        : embedded.map((e) =>
            e.nested !== undefined
              ? e
              : { ...e, nested: opts.nestedPath, finding: tagNested([e.finding], opts)[0] ?? e.finding },
          ),
    invalid,
  };
}

/** The imports in the rest of a run's stream after the error that stopped it (see `after-stop.ts`). */
function afterStop(
  run: PickleRun,
  error: PickleError,
  input: PickleInput,
  opts: PickleAnalysisOptions,
  unknown: boolean,
): Promise<FindingInput[]> {
  return importsAfterStop(input, run.start, error, {
    policy: picklePolicy(run.context, opts.policy),
    end: opts.afterStopEnd,
    memo: (index) => run.machine.memoString(index),
    machineMemo: { get: (index) => run.machine.memoString(index), size: run.machine.memoSize() },
    seen: (name) => run.machine.refs.has(name),
    unknown,
    checkpoint: opts.checkpoint,
  });
}

function withNested(
  e: Record<string, string | number | boolean>,
  opts: PickleAnalysisOptions,
): Record<string, string | number | boolean> {
  return opts.nestedPath === undefined ? e : { ...e, nested: opts.nestedPath };
}

function tagNested(findings: FindingInput[], opts: PickleAnalysisOptions): FindingInput[] {
  if (opts.nestedPath === undefined) return findings;
  return findings.map((f) =>
    f.evidence?.nested !== undefined ? f : { ...f, evidence: { ...f.evidence, nested: opts.nestedPath ?? "" } },
  );
}

function useOf(site: RefSite): "ref" | "new" | "call" {
  let use: "ref" | "new" | "call" = "ref";
  for (const c of site.calls) {
    if (c.use === "call") return "call";
    use = "new";
  }
  return site.callCount > 0 && use === "ref" ? "call" : use;
}

/** The rule of each machine event kind that is a finding (joblib array markers are not). */
const EVENT_RULES: Readonly<Record<MachineEventKind, RuleId | undefined>> = {
  monkeypatch: "pickle/monkeypatch",
  "dynamic-import": "pickle/dynamic-import",
  "dynamic-call": "pickle/dynamic-call",
  "ext-unregistered": "pickle/ext-unregistered",
  "persistent-id": "pickle/persistent-id",
  "protocol-method": "pickle/protocol-method",
  "joblib-array": undefined,
};

/** Turns one run's references, events and error into findings. */
export function runFindings(run: PickleRun, policy: PicklePolicy, opts: PickleAnalysisOptions): FindingInput[] {
  const out: FindingInput[] = [];
  const m = run.machine;
  for (const site of m.refs.values()) {
    const f = refFinding(site, policy);
    if (f !== undefined) out.push(f);
  }
  for (const e of m.events) {
    const count = m.eventCount(e);
    const evidence = { opcode: e.opcode, ...e.evidence, ...(count > 1 ? { occurrences: count } : {}) };
    const ruleId = EVENT_RULES[e.kind];
    if (ruleId === undefined) continue;
    out.push({
      ruleId,
      message: e.message,
      offset: e.offset,
      evidence,
      ...(e.severity !== undefined ? { severity: e.severity } : {}),
    });
  }
  if (TORCH_CONTEXTS.has(opts.context))
    for (const f of torchPersistentFindings(m, policy, opts.torchLayout ?? "zip")) out.push(f);
  const div = run.result?.divergence ?? undefined;
  if (div !== undefined) {
    out.push({
      ruleId: "pickle/frame-mismatch",
      message: div.message,
      offset: div.offset,
      evidence: { offset: div.offset },
    });
  }
  if (run.error !== undefined) out.push(errorFinding(run.error));
  return out;
}

function errorFinding(err: PickleError): FindingInput {
  if (err.kind === "budget" && err.budget === "maxCompressionRatio") {
    return {
      ruleId: "container/decompression-bomb",
      message: err.message,
      offset: err.offset,
      evidence: { budget: err.budget },
    };
  }
  if (err.kind === "budget") {
    return {
      ruleId: "scan/budget-exceeded",
      message: `pickle analysis stopped: ${err.message}`,
      offset: err.offset,
      evidence: { budget: err.budget ?? "pickle", offset: err.offset },
    };
  }
  if (err.message.startsWith("joblib")) {
    return {
      ruleId: "joblib/array-layout",
      message: err.message,
      offset: err.offset,
      evidence: { offset: err.offset },
    };
  }
  return {
    ruleId: "pickle/malformed",
    message: `${err.kind === "truncated" ? "truncated pickle" : "malformed pickle"}: ${err.message} (everything before offset ${err.offset} was analysed)`,
    offset: err.offset,
    evidence: { error: err.message, kind: err.kind, offset: err.offset },
  };
}

/** The finding about one referenced name, if the policy calls for one. */
function refFinding(site: RefSite, policy: PicklePolicy): FindingInput | undefined {
  const moduleParts = site.origin === "resolver" ? 1 : site.module.split(".").length;
  const cls = policy.classify(site.name, moduleParts);
  const use = useOf(site);
  if (cls.status === "allowed") {
    if (site.escaped && isPayloadSink(site.name)) return escapedSinkFinding(site, cls);
    if (PicklePolicy.permits(cls, use)) return undefined;
  } else if (isResolver(site.name) && site.callCount > 0 && site.unresolvedCalls === 0 && !site.escaped) {
    // getattr/__import__/... whose every call resolved to allowed names: transparent
    if (site.resolvedTo.every((n) => PicklePolicy.permits(policy.classify(n), "call") || n.startsWith("vars("))) {
      if (site.resolvedTo.length + site.boundMethods > 0) return undefined;
    }
  }
  if (cls.status !== "denied" && site.consumed && site.callCount === 0 && !site.escaped && !site.mutated) {
    return undefined; // only used as the base of a resolved attribute; that attribute is reported
  }
  const first = site.calls[0];
  const evidence: Record<string, string | number | boolean> = {
    callee: site.name,
    opcode: first?.opcode ?? site.origin,
    use,
    importedBy: site.origin,
    importOffset: site.offset,
    protocol: site.proto,
  };
  if (first !== undefined) evidence.args = first.args;
  if (site.callCount > 1) evidence.calls = site.callCount;
  if (site.refCount > 1) evidence.references = site.refCount;
  if (site.rawName !== undefined) evidence.rawName = site.rawName;
  const via = first?.via ?? site.via;
  if (via !== undefined) evidence.via = via;
  if (cls.category !== undefined) evidence.category = cls.category;
  if (cls.matched !== undefined) evidence.matched = cls.matched;
  if (site.qualname.includes(".") && site.proto < 4 && site.origin !== "resolver") {
    evidence.note = "dotted name below protocol 4: CPython <= 3.13 imports the module, then raises AttributeError";
  }
  const verb = use === "call" ? "calls" : use === "new" ? "instantiates" : "imports";
  const argText = first !== undefined && use !== "ref" ? `(${first.args})` : "";
  if (cls.status === "denied") {
    return {
      ruleId: "pickle/dangerous-global",
      severity: cls.severity,
      message: `pickle ${verb} ${site.name}${argText}: ${cls.reason}${via !== undefined ? ` (via ${via})` : ""}`,
      offset: first?.offset ?? site.offset,
      evidence,
    };
  }
  const why =
    cls.status === "allowed"
      ? `${cls.profile ?? "the policy"} allows ${site.name} only to be instantiated, but the pickle calls it`
      : cls.reason;
  return {
    ruleId: "pickle/unknown-global",
    message: `pickle ${verb} ${site.name}${argText}, which is not allowlisted: ${why}`,
    offset: first?.offset ?? site.offset,
    evidence,
  };
}

/**
 * An allowed deserializer, evaluator or resolver handed to a call the machine does not model (or
 * set as an attribute): the callee may call it on data the analysis never sees, so its allowance,
 * which rests on analysing its calls, does not hold (numpy's `__randomstate_ctor(b, f)` calls
 * `f(b)`).
 */
function escapedSinkFinding(site: RefSite, cls: Classification): FindingInput {
  return {
    ruleId: "pickle/dangerous-global",
    severity: "critical",
    message: `pickle hands ${site.name} to a call whose behaviour is not modelled, which may call it on data the analysis never sees (${cls.reason} allows it only for calls the analysis follows)`,
    offset: site.offset,
    evidence: {
      callee: site.name,
      use: "escaped",
      importedBy: site.origin,
      importOffset: site.offset,
      protocol: site.proto,
      ...(cls.matched !== undefined ? { matched: cls.matched } : {}),
    },
  };
}

/**
 * PyTorch's persistent_load accepts ('storage', storage_type, key, location, numel[, view]) and
 * ('module', class, ...); the legacy tar loader's (`tar`) a tuple whose first item it returns (a
 * module's class) and the key of an object read from `storages` or `tensors` (`int(id)`).
 */
function torchPersistentFindings(m: PickleMachine, policy: PicklePolicy, layout: PersistentLayout): FindingInput[] {
  const tar = layout === "tar";
  const pkg = layout === "package";
  const out: FindingInput[] = [];
  let bad = 0;
  for (const p of m.persistentIds) {
    const items = seqItems(p.pid);
    const typename = strOf(items?.[0]);
    let ok = false;
    if (tar) {
      if (p.pid instanceof PySeq) ok = p.pid.kind === "tuple" && items?.[0] instanceof PyRef;
      else {
        const key = typeof p.pid === "number" ? p.pid : strOf(p.pid);
        ok = typeof key === "number" ? Number.isInteger(key) : key !== undefined && /^[0-9]{1,18}$/.test(key);
      }
    } else if (typename === "storage" && items !== undefined && items.length >= 5) {
      const st = items[1];
      const stOk =
        (st instanceof PyRef && PicklePolicy.permits(policy.classify(st.name), "ref")) ||
        (st instanceof PyCall && st.calleeName !== undefined);
      // torch.package writes the storage key as an int, and both loaders format it into the record
      // name (torch.load `f"data/{key}"`, PackageImporter `f"{key}.storage"`): either reads it (a
      // torch.package pickle in an archive that is also a torch.save zip is read by PackageImporter,
      // not torch.load, and torch.load itself loads int keys: checked with torch 1.13)
      const keyOk = strOf(items[2]) !== undefined || intOf(items[2]) !== undefined;
      ok = stOk && keyOk && strOf(items[3]) !== undefined && intOf(items[4]) !== undefined;
    } else if (pkg) {
      // a reduce_package id is a call, judged as one (the callee's own findings)
      ok = typename === "reduce_package" && items !== undefined && (items.length === 3 || items.length === 4);
    } else if (typename === "module") {
      ok = items !== undefined && items[1] instanceof PyRef;
    }
    if (!ok) {
      bad++;
      if (bad <= 3) {
        out.push({
          ruleId: "pickle/persistent-id",
          message: "persistent id is not a PyTorch storage reference",
          offset: p.offset,
          evidence: { pid: preview(p.pid, 160) },
        });
      }
    }
  }
  if (m.persistentCount > m.persistentIds.length) {
    // the machine keeps a bounded number of ids: the ones past it were never judged
    out.push({
      ruleId: "scan/budget-exceeded",
      message: `the pickle passes ${m.persistentCount} persistent ids; only the first ${m.persistentIds.length} were judged`,
      evidence: { budget: "pickle.persistentIds", limit: m.persistentIds.length, count: m.persistentCount },
    });
  }
  return out;
}

// ---------------------------------------------------------------- nested payloads
//
// Pickle streams handed to a loader (`pickle.loads`, `torch.load`, `joblib.load`, a literal that
// looks like one) are analysed here, one level deeper, with what only the hand-over knows: the
// loader's context (its allowlist profiles and persistent_load), the legacy torch layout, literals
// that are only data unless they parse, and the `nested` evidence path. Every other payload the
// engine's sniffer recognises goes to the engine as a member (`embedded`). Both draw on the same
// budgets: the nesting depth left by the scan's maxDepth and the scan's decompression budget.
// A payload handed to a loader whose bytes the model cannot compute fails closed (high): the loader
// unpickles whatever it turns out to be. A literal too large to hold is analysed from the input.

const MAX_NESTED_BYTES = 64 << 20;

/** Where a nested payload was analysed, for the payloads that repeat it. */
interface AnalysedAt {
  /** Evidence path of its analysis (`via@offset`, nested paths joined by ` > `). */
  readonly label: string;
  /** Nesting depth it was analysed at (a repeat higher up, with more depth left, is analysed again). */
  readonly depth: number;
  /** Its analysis did not reach the end. */
  readonly invalid: boolean;
}

/** Most payload digests remembered in one analysis tree (past it, repeats are analysed again). */
const MAX_ANALYSED_DIGESTS = 100_000;

/**
 * The nested payloads one analysis tree has analysed, by value (a payload the pickle hands on
 * again, through its memo, is the same object) and by the SHA-256 of its bytes (the same bytes
 * built twice, or met again in another reading of the file), each under the loader's kind and the
 * registries it was analysed with. A pickle that hands one 100 MB blob to `_load_from_bytes` N
 * times had it read and analysed N times, and a chain of payloads that each read otherwise from a
 * file object without `peek` was analysed twice at every level (2^depth).
 */
export class AnalysedPayloads {
  readonly #byValue = new WeakMap<object, Map<string, AnalysedAt>>();
  readonly #byDigest = new Map<string, AnalysedAt>();

  /**
   * The analysis a payload repeats, by its value object or by the digest of its bytes, when it was
   * made at this depth or above (as deep or deeper into what the payload hands on).
   * @param key - the payload's value (objects only), or `{ digest }` of its bytes
   * @param context - the loader's kind and the registries' state ({@link stateKey})
   * @param depth - the repeat's nesting depth
   */
  lookup(
    key: NestedPayload["value"] | { readonly digest: string },
    context: string,
    depth: number,
  ): AnalysedAt | undefined {
    let at: AnalysedAt | undefined;
    if (key instanceof PyBytes || key instanceof PyLargeStr) at = this.#byValue.get(key)?.get(context);
    else if (typeof key === "object") at = this.#byDigest.get(`${context}|${key.digest}`);
    return at !== undefined && at.depth <= depth ? at : undefined;
  }

  /** Records where a payload (its value, and the digest of its bytes when known) was analysed. */
  record(p: NestedPayload, context: string, digest: string | undefined, at: AnalysedAt): void {
    if (p.value instanceof PyBytes || p.value instanceof PyLargeStr) {
      const contexts = this.#byValue.get(p.value) ?? new Map<string, AnalysedAt>();
      contexts.set(context, at);
      this.#byValue.set(p.value, contexts);
    }
    if (digest !== undefined && this.#byDigest.size < MAX_ANALYSED_DIGESTS)
      this.#byDigest.set(`${context}|${digest}`, at);
  }
}

/** A new record of analysed payloads (one per analysis tree; analyses nested in it share it). */
export function analysedPayloads(): AnalysedPayloads {
  return new AnalysedPayloads();
}

/** Ids of registry objects, for {@link stateKey}. */
const STATE_IDS = new WeakMap<SharedState, number>();
let nextStateId = 0;

/**
 * The registries a payload is analysed with, as a key: empty ones are all alike (the usual case,
 * and what lets another reading of the file reuse this one's analyses); otherwise which
 * registries (each load of a file has its own) and how many entries they hold (a payload met again
 * after more registrations is analysed again, since what it resolves may differ).
 */
function stateKey(shared: SharedState | undefined): string {
  if (shared === undefined || (shared.ext.size === 0 && shared.patches.size === 0)) return "-";
  let id = STATE_IDS.get(shared);
  if (id === undefined) {
    id = nextStateId++;
    STATE_IDS.set(shared, id);
  }
  return `${id}:${shared.ext.size}:${shared.patches.size}`;
}

/**
 * The findings of a payload that repeats one already analysed: where that analysis is (its findings
 * and members are reported there, once), and whether it was complete.
 */
function repeated(
  p: NestedPayload,
  at: AnalysedAt,
  info: (message: string, severity: Severity, extra?: Record<string, string | number | boolean>) => FindingInput,
): { findings: FindingInput[]; invalid: boolean } {
  // a literal that only looks like a pickle says nothing unless its analysis found something
  if (p.kind === "literal") return { findings: [], invalid: false };
  return {
    findings: [
      info(
        `payload handed to ${p.via} at offset ${p.offset} is the one analysed at ${at.label}; its findings are reported there`,
        "info",
        {
          sameAs: at.label,
        },
      ),
    ],
    invalid: at.invalid,
  };
}

/**
 * The format of payload bytes the engine should analyse as a member (`undefined`: a pickle
 * stream, or data the sniffer does not recognise, analysed here as a pickle).
 */
function memberFormat(bytes: Uint8Array, name: string, formats: FormatCatalog | undefined): string | undefined {
  const head = bytes.subarray(0, 64 * 1024);
  const tail = bytes.subarray(Math.max(0, bytes.length - (64 * 1024 + 22)));
  const primary = formats?.sniff({ head, tail, size: bytes.length, name })[0]?.format;
  if (primary === undefined || primary === "unknown" || primary === "empty" || formats?.isTextual(primary) === true) {
    // zip local headers and .npy magic without what the sniffer wants to see: still members
    if (bytes[0] === 0x50 && bytes[1] === 0x4b) return "zip";
    if (bytes[0] === 0x93 && bytes[1] === 0x4e && bytes[2] === 0x55) return "numpy";
    return undefined;
  }
  return primary === "pickle" || primary === "pytorch-legacy" ? undefined : primary;
}
/** LONG1 of the legacy PyTorch magic number 0x1950a86a20f9469cfc6c. */
const LEGACY_MAGIC_PICKLE = [0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

function startsWith(b: Uint8Array, prefix: readonly number[], at: number): boolean {
  return prefix.every((x, i) => b[at + i] === x);
}

async function payloadBytes(
  v: NestedPayload["value"],
  input: PickleInput,
  charge: ((bytes: number) => void) | undefined,
): Promise<Uint8Array | undefined> {
  if (v instanceof PyBytes) {
    // a bytearray changed in a way the machine does not model: what the loader reads is not known
    if (v.mutated) return undefined;
    let data = v.data;
    if (data === undefined && v.blob !== undefined) {
      if (v.blob.length > MAX_NESTED_BYTES) return undefined;
      const src = input.slice(v.blob.offset, v.blob.length);
      if (src === undefined) return undefined;
      data = await readExact(src, 0, v.blob.length);
    }
    if (data === undefined) return undefined;
    for (const t of v.transforms) {
      const next = applyTransform(t, data, charge);
      if (next === undefined) return undefined;
      data = next;
    }
    return data;
  }
  if (v instanceof PyLargeStr) return undefined;
  if (typeof v === "string") return Buffer.from(v, "latin1");
  return undefined;
}

/**
 * The input range of a literal bytes payload too large to hold in memory (no decoding applied to
 * it, or the latin-1 encoding of a str): analysed straight from the input instead.
 */
async function largeBlob(
  v: NestedPayload["value"],
  input: PickleInput,
  checkpoint?: () => void,
): Promise<ByteSource | undefined> {
  if (!(v instanceof PyBytes) || v.mutated || v.data !== undefined || v.blob === undefined) return undefined;
  if (v.blob.length <= MAX_NESTED_BYTES) return undefined;
  const src = input.slice(v.blob.offset, v.blob.length);
  if (v.transforms.length === 0 || src === undefined) return src;
  // `_codecs.encode(<str>, 'latin1')` (bytes as protocols 0-2 write them): decoded as it is read
  if (v.transforms.length === 1 && v.transforms[0] === "latin1" && v.blob.encoding === "utf8")
    return (await import("./latin1-source.js")).latin1Source(src, checkpoint); // rare: loaded when needed
  return undefined;
}

/**
 * A payload handed to a loader that is a literal too large to hold (a storage of a plain-pickled
 * tensor: `torch.storage._load_from_bytes(b'...')`): sniffed from its head and tail, then
 * analysed as an embedded member or as a pickle read from the input.
 */
async function largeNestedFindings(
  p: NestedPayload,
  src: ByteSource,
  label: string,
  depth: number,
  opts: PickleAnalysisOptions,
  embedded: PickleEmbeddedPayload[],
  info: (message: string, severity: Severity, extra?: Record<string, string | number | boolean>) => FindingInput,
): Promise<{ findings: FindingInput[]; invalid: boolean }> {
  const name = `${p.via}@${p.offset}`;
  const head = await readClamped(src, 0, 64 * 1024);
  const tailAt = Math.max(0, src.size - (64 * 1024 + 22));
  const tail = await readClamped(src, tailAt, src.size - tailAt);
  const primary = opts.formats?.sniff({ head, tail, size: src.size, name })[0]?.format;
  const known = primary !== undefined && primary !== "unknown" && primary !== "empty";
  const format =
    known && primary !== "pickle" && primary !== "pytorch-legacy" && opts.formats?.isTextual(primary) !== true
      ? primary
      : head[0] === 0x50 && head[1] === 0x4b
        ? "zip"
        : undefined;
  if (format !== undefined) {
    const finding = info(`${format} data handed to ${p.via}; analysed as an embedded member`, "info", { format });
    embedded.push({ name, offset: p.offset, source: src, finding });
    return { findings: [], invalid: false };
  }
  const legacyTorch = p.kind === "torch" && startsWith(head, LEGACY_MAGIC_PICKLE, head[0] === 0x80 ? 2 : 0);
  // read again from the input (decoded, for latin-1 text) and analysed: charged as decompressed
  // bytes are (each distinct blob once: repeats are answered from `opts.analysed`)
  opts.chargeDecompressed?.(src.size);
  const nested = await analyzePickleStream(new SourceInput(src), {
    ...opts,
    torchLayout: undefined,
    context: nestedContext(p.kind),
    shared: opts.shared ?? { ext: new Map(), patches: new Map() },
    nestedPath: label,
    depth,
    // a payload is a stream of its own, read by its loader from a BytesIO: both readings count
    unpeekableReading: true,
    ...(legacyTorch ? { maxPickles: 5, ignoreTrailing: true } : {}),
  });
  for (const e of nested.embedded) embedded.push(e);
  return {
    findings: [
      info(`pickle handed to ${p.via} at offset ${p.offset}; analysed (${src.size} bytes)`, "info"),
      ...nested.findings,
    ],
    invalid: nested.invalid,
  };
}

function nestedContext(kind: NestedPayload["kind"]): PickleContext {
  switch (kind) {
    case "torch":
      return "pytorch";
    case "numpy":
      return "numpy";
    case "joblib":
      return "joblib";
    default:
      return "pickle";
  }
}

async function nestedFindings(
  p: NestedPayload,
  input: PickleInput,
  opts: PickleAnalysisOptions,
  embedded: PickleEmbeddedPayload[],
): Promise<{ findings: FindingInput[]; invalid: boolean }> {
  const label = `${opts.nestedPath !== undefined ? `${opts.nestedPath} > ` : ""}${p.via}@${p.offset}`;
  const info = (
    message: string,
    severity: Severity,
    extra: Record<string, string | number | boolean> = {},
  ): FindingInput => ({
    ruleId: "pickle/nested-payload",
    message,
    offset: p.offset,
    severity,
    evidence: { via: p.via, kind: p.kind, ...extra },
  });
  if (p.kind === "code") {
    const text =
      typeof p.value === "string"
        ? p.value
        : p.value instanceof PyBytes && p.value.data !== undefined
          ? Buffer.from(p.value.data).toString("utf8")
          : undefined;
    if (text === undefined)
      return {
        findings: [info(`code handed to ${p.via} is computed at run time and was not analysed`, "medium")],
        invalid: false,
      };
    return { findings: codeFindings(text, p, opts), invalid: false };
  }
  if (p.kind === "marshal") {
    const data = await payloadBytes(p.value, input, opts.chargeDecompressed);
    if (data === undefined) {
      return {
        findings: [
          info(
            `marshal payload handed to ${p.via} is computed at run time and could not be evaluated: the loader runs whatever it is`,
            "high",
            { computed: true },
          ),
        ],
        invalid: false,
      };
    }
    try {
      const m = parseMarshal(data);
      const names = [...new Set(m.codeObjects.flatMap((c) => c.names))];
      const danger = dangerousNames(m.codeObjects);
      return {
        findings: [
          info(
            `marshal payload handed to ${p.via}: ${m.codeObjects.length} code object(s) (Python ${m.pythonVersion})${danger.length > 0 ? ` using ${danger.join(", ")}` : ""}`,
            danger.length > 0 ? "high" : "info",
            {
              codeObjects: m.codeObjects.length,
              pythonVersion: m.pythonVersion,
              names: names.slice(0, 60).join(", "),
              dangerous: danger.join(", "),
              functions: m.codeObjects
                .map((c) => c.qualname)
                .slice(0, 20)
                .join(", "),
            },
          ),
        ],
        invalid: false,
      };
    } catch (error) {
      return {
        findings: [
          info(`marshal payload handed to ${p.via} could not be decoded: ${(error as Error).message}`, "medium"),
        ],
        invalid: false,
      };
    }
  }
  const depth = (opts.depth ?? 0) + 1;
  if (depth > (opts.maxNesting ?? 4)) {
    return {
      findings: [
        {
          ruleId: "scan/budget-exceeded",
          message: `nested payload at offset ${p.offset} (${p.via}) is deeper than the nesting budget and was not analysed`,
          offset: p.offset,
          evidence: { budget: "maxNesting", via: p.via },
        },
      ],
      invalid: true,
    };
  }
  if (typeof p.value === "string" && p.kind !== "literal") {
    // torch.load('x.pt'), joblib.load('x.joblib'), numpy.load(...): a path, read at load time
    return {
      findings: [
        info(
          `${p.via} loads ${JSON.stringify(p.value.slice(0, 200))} at load time; that file was not analysed`,
          "medium",
          { file: p.value.slice(0, 200) },
        ),
      ],
      invalid: false,
    };
  }
  const memo = opts.analysed ?? analysedPayloads();
  const context = `${p.kind}|${stateKey(opts.shared)}`;
  const sameValue = memo.lookup(p.value, context, depth);
  if (sameValue !== undefined) return repeated(p, sameValue, info);
  const large = p.kind === "literal" ? undefined : await largeBlob(p.value, input, opts.checkpoint);
  if (large !== undefined) {
    const out = await largeNestedFindings(p, large, label, depth, opts, embedded, info);
    memo.record(p, context, undefined, { label, depth, invalid: out.invalid });
    return out;
  }
  const bytes = await payloadBytes(p.value, input, opts.chargeDecompressed);
  if (bytes === undefined) {
    if (p.kind === "literal") return { findings: [], invalid: false };
    // Fail closed: the loader unpickles whatever these bytes turn out to be at load time.
    return {
      findings: [
        info(
          `payload handed to ${p.via} is computed at run time and could not be evaluated: the loader runs whatever it is`,
          "high",
          { computed: true },
        ),
      ],
      invalid: false,
    };
  }
  const digest = sha256Hex(bytes);
  const sameBytes = memo.lookup({ digest }, context, depth);
  if (sameBytes !== undefined) {
    memo.record(p, context, undefined, sameBytes);
    return repeated(p, sameBytes, info);
  }
  const out = await analyseNestedBytes(p, bytes, label, depth, opts, embedded, info);
  memo.record(p, context, digest, { label, depth, invalid: out.invalid });
  return out;
}

/** Analyses the bytes of a payload handed to a loader (or of a literal that may be a pickle). */
async function analyseNestedBytes(
  p: NestedPayload,
  payload: Uint8Array,
  label: string,
  depth: number,
  opts: PickleAnalysisOptions,
  embedded: PickleEmbeddedPayload[],
  info: (message: string, severity: Severity, extra?: Record<string, string | number | boolean>) => FindingInput,
): Promise<{ findings: FindingInput[]; invalid: boolean }> {
  let bytes = payload;
  if (p.kind === "literal") {
    // base64 / hex text of a pickle
    const text = Buffer.from(bytes.subarray(0, 4)).toString("latin1");
    if (/^gA[JNSU]/.test(text)) bytes = applyTransform("base64", bytes) ?? bytes;
    else if (/^800[2-5]/.test(text)) bytes = applyTransform("hex", bytes) ?? bytes;
  }
  if (bytes[0] === 0x78 && p.kind === "joblib") {
    // joblib's own zlib compression (joblib.load reads it whole)
    bytes = applyTransform("zlib", bytes, opts.chargeDecompressed) ?? bytes;
  }
  const name = `${p.via}@${p.offset}`;
  const format = memberFormat(bytes, name, opts.formats);
  if (format !== undefined) {
    // Not a pickle stream (a zip, an .npy array, a compressed stream ...): the engine sniffs it,
    // decompresses it under the scan's budget and analyses it as a member, one level deeper.
    const finding = info(`${format} data handed to ${p.via}; analysed as an embedded member`, "info", { format });
    embedded.push({ name, offset: p.offset, source: new BufferSource(bytes), finding });
    return { findings: [], invalid: false };
  }
  // torch.load of a legacy file: five pickles, then raw storages (not trailing garbage)
  const legacyTorch = p.kind === "torch" && startsWith(bytes, LEGACY_MAGIC_PICKLE, bytes[0] === 0x80 ? 2 : 0);
  const nested = await analyzePickleStream(new SourceInput(new BufferSource(bytes)), {
    ...opts,
    torchLayout: undefined,
    context: nestedContext(p.kind),
    shared: opts.shared ?? { ext: new Map(), patches: new Map() },
    nestedPath: label,
    depth,
    // a payload is a stream of its own, read by its loader from a BytesIO: both readings count
    unpeekableReading: true,
    ...(legacyTorch ? { maxPickles: 5, ignoreTrailing: true } : {}),
  });
  for (const e of nested.embedded) embedded.push(e);
  const findings = nested.findings;
  if (p.kind === "literal") {
    // data that merely looks like a pickle: keep only findings about what it would import/call
    const kept = findings.filter((f) => f.ruleId !== "pickle/malformed" && f.ruleId !== "pickle/trailing-data");
    if (nested.runs[0]?.error !== undefined && nested.runs[0].machine.refs.size === 0)
      return { findings: [], invalid: false };
    if (kept.length === 0) return { findings: [], invalid: false };
    return {
      findings: [info(`literal at offset ${p.offset} holds an embedded pickle; analysed`, "info"), ...kept],
      invalid: false,
    };
  }
  return {
    findings: [
      info(`pickle handed to ${p.via} at offset ${p.offset}; analysed (${bytes.length} bytes)`, "info"),
      ...findings,
    ],
    invalid: nested.invalid,
  };
}

/** Findings for code text handed to an evaluator: what it imports and calls. */
function codeFindings(text: string, p: NestedPayload, opts: PickleAnalysisOptions): FindingInput[] {
  const scan = scanPythonSource(text);
  const policy = picklePolicy("pickle", opts.policy);
  const out: FindingInput[] = [
    {
      ruleId: "pickle/nested-payload",
      message: `code handed to ${p.via}: ${preview(text, 120)}`,
      offset: p.offset,
      evidence: {
        via: p.via,
        kind: "code",
        code: preview(text, 200),
        imports: scan.names
          .filter((n) => n.kind === "import")
          .slice(0, 100)
          .map((n) => n.name)
          .join(", ")
          .slice(0, 400),
        calls: scan.names
          .filter((n) => n.kind === "call")
          .slice(0, 100)
          .map((n) => n.name)
          .join(", ")
          .slice(0, 400),
      },
    },
  ];
  if (scan.truncated) {
    // the code past the scanner's budget was not read: what it calls was never judged
    out.push({
      ruleId: "scan/budget-exceeded",
      message: `code handed to ${p.via} (${text.length} characters) is past the source scan budget: the rest was not analysed`,
      offset: p.offset,
      evidence: { budget: "pickle.nestedCodeChars", via: p.via, length: text.length },
    });
  }
  for (const n of scan.names) {
    if (n.kind === "import") continue;
    const c: Classification = policy.classify(n.name);
    if (c.status !== "denied") continue;
    out.push({
      ruleId: "pickle/dangerous-global",
      severity: c.severity,
      message: `code handed to ${p.via} ${n.kind === "call" ? "calls" : "references"} ${n.name}: ${c.reason}`,
      offset: p.offset,
      evidence: {
        callee: n.name,
        opcode: "REDUCE",
        via: `${p.via} source`,
        use: n.kind === "call" ? "call" : "ref",
        category: c.category ?? "",
        code: preview(text, 160),
      },
    });
  }
  return out;
}

// ---------------------------------------------------------------- facts

function collectFacts(runs: PickleRun[]): Record<string, unknown> {
  let opcodes = 0;
  let tensors = 0;
  let elements = 0;
  const dtypes = new Set<string>();
  let arrays = 0;
  let storages = 0;
  const protocols = new Set<number>();
  const globals = new Set<string>();
  const estimators = new Set<string>();
  for (const r of runs) {
    opcodes += r.result?.opcodes ?? 0;
    protocols.add(r.machine.maxProto);
    for (const site of r.machine.refs.values()) {
      if (globals.size < 200) globals.add(site.name);
      if (site.name.endsWith("multiarray._reconstruct") || site.name.endsWith("numeric._frombuffer"))
        arrays += site.callCount;
      if (site.name.startsWith("sklearn.") && site.callCount > 0 && /\.[A-Z]/.test(site.name))
        estimators.add(site.name);
    }
    for (const p of r.machine.persistentIds) if (strOf(seqItems(p.pid)?.[0]) === "storage") storages++;
    elements += r.machine.tensors.elements;
    tensors += r.machine.tensors.count;
    for (const d of r.machine.tensors.dtypes) dtypes.add(d);
    // object arrays are counted by the inline pickle that rebuilds them
    for (const e of r.machine.events) if (e.kind === "joblib-array" && e.evidence.object !== true) arrays++;
  }
  const facts: Record<string, unknown> = {
    "pickle.protocol": Math.max(0, maxOf(protocols)),
    "pickle.count": runs.length,
    "pickle.globals": [...globals],
  };
  if (opcodes > 0) facts["pickle.opcodes"] = opcodes;
  if (tensors > 0) {
    facts.tensorCount = tensors;
    facts.parameterCount = elements;
    if (dtypes.size > 0) facts.dtypes = [...dtypes].sort();
  }
  if (storages > 0) facts["pytorch.storages"] = storages;
  if (arrays > 0) facts["numpy.arrays"] = arrays;
  if (estimators.size > 0) facts["sklearn.estimators"] = [...estimators].slice(0, 50);
  return facts;
}

/** Items of the list a pickle returned (STOP value), when kept in full. */
export function resultList(v: Value | undefined): Value[] | undefined {
  return v instanceof PySeq && v.count === v.items.length ? [...v.items] : undefined;
}

/** The persistent ids one run saw. */
export function persistentIds(run: PickleRun): readonly PyPersistent[] {
  return run.machine.persistentIds;
}
