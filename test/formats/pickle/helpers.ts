/**
 * Test helpers for the pickle engine: opcode builders, one-call analysis, a recording analysis
 * context, and the fast path's comparison with the machine alone.
 */
import { expect } from "vitest";

import {
  analyzePickleStream,
  type PickleAnalysis,
  type PickleAnalysisOptions,
} from "../../../src/formats/pickle/analyze.js";
import { SourceInput } from "../../../src/formats/pickle/input.js";
import { PyCall, PyDict, PyElidedSeq, PySeq, preview, type Value } from "../../../src/formats/pickle/values.js";
import { resolvePolicy } from "../../../src/policy/policy.js";
import { FORMAT_CATALOG } from "../../../src/registry/catalog.js";
import { getRule } from "../../../src/registry/rules.js";
import type { Format, Verdict } from "../../../src/report/schema.js";
import { verdictOfFinding, worstVerdict } from "../../../src/report/verdict.js";
import { type AnalysisContext, DEFAULT_LIMITS, type Detection, type FindingInput } from "../../../src/scan/types.js";
import { BufferSource, type ByteSource } from "../../../src/sources/byte-source.js";

/** Concatenates byte chunks given as arrays, strings (latin-1) or Uint8Arrays. */
export function bytes(...parts: (string | number[] | Uint8Array)[]): Uint8Array {
  const chunks = parts.map((p) => (typeof p === "string" ? Buffer.from(p, "latin1") : Uint8Array.from(p)));
  return new Uint8Array(Buffer.concat(chunks));
}

const u32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];

/** Opcode builders (byte-exact, as pickle.py writes them). */
export const op = {
  proto: (n: number) => [0x80, n],
  sbu: (s: string) => {
    const b = Buffer.from(s, "utf8");
    return bytes([0x8c, b.length], b);
  },
  bu: (s: string) => {
    const b = Buffer.from(s, "utf8");
    return bytes([0x58, ...u32(b.length)], b);
  },
  bb: (b: Uint8Array) => bytes([0x42, ...u32(b.length)], b),
  global: (m: string, n: string) => bytes(`c${m}\n${n}\n`),
  sglobal: (m: string, n: string) => bytes(op.sbu(m), op.sbu(n), [0x93]),
  frame: (n: number) => [0x95, ...u32(n), 0, 0, 0, 0],
  call1: [0x85, 0x52],
  stop: [0x2e],
};

/** Analyses a pickle as the analyzers do (with the scan's format catalogue for nested payloads). */
export function analyze(data: Uint8Array, options: Partial<PickleAnalysisOptions> = {}): Promise<PickleAnalysis> {
  return analyzePickleStream(new SourceInput(new BufferSource(data)), {
    context: "pickle",
    formats: FORMAT_CATALOG,
    ...options,
  });
}

/** Rule ids of an analysis. */
export function rules(a: PickleAnalysis): string[] {
  return [...new Set(a.findings.map((f) => f.ruleId))].sort();
}

/** Resolved callees named by an analysis's findings. */
export function callees(a: PickleAnalysis): string[] {
  return [...new Set(a.findings.map((f) => f.evidence?.callee).filter((c): c is string => typeof c === "string"))];
}

/** A fake analysis context that records what an analyzer reports (no engine). */
export interface Recorded {
  /** The context to pass to an analyzer. */
  readonly ctx: AnalysisContext;
  /** Findings reported. */
  readonly findings: FindingInput[];
  /** Facts recorded. */
  readonly facts: Record<string, unknown>;
  /** Members handed to scanMember, with their bytes. */
  readonly members: { name: string; bytes: Uint8Array; opaque: boolean }[];
  /** Formats passed to refineFormat. */
  readonly refined: Format[];
}

/** Builds a {@link Recorded} context over bytes. */
export function fakeContext(
  data: Uint8Array,
  format: Format,
  options: { lineage?: Format[]; name?: string; detections?: Detection[] } = {},
): Recorded {
  const findings: FindingInput[] = [];
  const facts: Record<string, unknown> = {};
  const members: Recorded["members"] = [];
  const refined: Format[] = [];
  const source = new BufferSource(data);
  const detection: Detection = { format, offset: 0, reason: "test" };
  const ctx: AnalysisContext = {
    path: options.name ?? "test",
    name: options.name ?? "test",
    source,
    head: data.subarray(0, 65_536),
    opaque: false,
    detections: options.detections ?? [detection],
    detection,
    depth: 0,
    lineage: options.lineage ?? [],
    limits: DEFAULT_LIMITS,
    policy: resolvePolicy(),
    formats: FORMAT_CATALOG,
    signal: new AbortController().signal,
    root: undefined as unknown as AnalysisContext["root"],
    report: (f) => findings.push(f),
    severityOf: (f) => f.severity ?? getRule(f.ruleId)?.severity ?? "medium",
    refineFormat: (f) => refined.push(f),
    fact: (k, v) => {
      facts[k] = v;
    },
    scanMember: async (name, src, o) => {
      members.push({ name, bytes: await src.read(0, src.size), opaque: o?.opaqueData === true });
      return "clean";
    },
    checkpoint: () => undefined,
    chargeDecompressed: () => undefined,
  };
  return { ctx, findings, facts, members, refined };
}

/** A finding as reports or analyzers give it. */
export interface LooseFinding {
  /** Rule id. */
  readonly ruleId: string;
  /** Severity, when set. */
  readonly severity?: string | undefined;
  /** Message. */
  readonly message: string;
  /** Evidence. */
  readonly evidence?: Record<string, unknown> | undefined;
}

/** The verdict a list of findings implies (worst finding; `invalidates` rules at least invalid). */
export function verdictOf(
  findings: readonly Pick<FindingInput, "severity" | "ruleId">[] | readonly LooseFinding[],
): Verdict {
  return worstVerdict(
    ...findings.map((f) => {
      const rule = getRule(f.ruleId);
      const sev = (f.severity ?? rule?.severity ?? "medium") as Parameters<typeof verdictOfFinding>[0];
      return verdictOfFinding(sev, rule?.invalidates === true);
    }),
  );
}

/** A source that reads into the caller's buffers (as files do). */
export class ReusingSource implements ByteSource {
  readonly size: number;
  constructor(readonly data: Uint8Array) {
    this.size = data.length;
  }
  read(offset: number, length: number): Promise<Uint8Array> {
    return Promise.resolve(this.data.slice(offset, Math.min(this.size, offset + length)));
  }
  readInto(offset: number, target: Uint8Array): Promise<number> {
    const n = Math.max(0, Math.min(target.length, this.size - offset));
    target.set(this.data.subarray(offset, offset + n));
    return Promise.resolve(n);
  }
}

/** Analysis options of the fast-path comparisons (the context is always `pickle`). */
export type StreamOptions = Omit<PickleAnalysisOptions, "context">;

/** Reference analysis: the machine alone (no fast path), over fresh buffers. */
export function referenceAnalysis(data: Uint8Array, o: StreamOptions = {}, chunk = 1 << 20): Promise<PickleAnalysis> {
  return analyzePickleStream(new SourceInput(new BufferSource(data), 0, data.length, chunk), {
    context: "pickle",
    ...o,
    decoder: { ...o.decoder, fastPath: false },
  });
}

/** The analysis with the fast path, over reused buffers (as files are read). */
export function fastPathAnalysis(data: Uint8Array, o: StreamOptions = {}, chunk = 1 << 20): Promise<PickleAnalysis> {
  return analyzePickleStream(new SourceInput(new ReusingSource(data), 0, data.length, chunk), {
    context: "pickle",
    ...o,
  });
}

/**
 * A value in full, for comparing two analyses: sequences (elided or not) and dicts with their items (and a dict's
 * dunder keys past its budget), calls with their callee, opcode, offset, arguments, state and
 * attributes; six levels deep.
 */
export function deepValue(v: Value | undefined, depth = 0): unknown {
  if (depth > 6) return "…";
  if (v instanceof PySeq)
    return [v.kind, v.count, v instanceof PyElidedSeq, v.items.map((x) => deepValue(x, depth + 1))];
  if (v instanceof PyDict) {
    return [
      "dict",
      v.count,
      v.keys.map((k, i) => [deepValue(k, depth + 1), deepValue(v.values[i], depth + 1)]),
      (v.overflowDunders ?? []).map(([k, x]) => [k, deepValue(x, depth + 1)]),
    ];
  }
  if (v instanceof PyCall) {
    return [
      "call",
      v.calleeName,
      v.opcode,
      v.offset,
      deepValue(v.args, depth + 1),
      deepValue(v.state, depth + 1),
      [...(v.attrs ?? [])].map(([k, x]) => [k, deepValue(x, depth + 1)]),
    ];
  }
  return typeof v === "bigint" ? `${v}n` : preview(v, 1000);
}

/** Which items of a sequence are one object: each item's first identical item. */
function sharing(v: Value | undefined): number[] {
  if (!(v instanceof PySeq)) return [];
  return v.items.map((x) => (typeof x === "object" && x !== null ? v.items.indexOf(x) : -1));
}

/**
 * What an analysis reports and leaves, for comparing two: findings, facts, and for each run its
 * error, result, value in full (and which of its items are one object), stack and marks (when
 * `withStack`), each site's counts and flags, and its events.
 */
export function analysisSummary(a: PickleAnalysis, withStack = true): unknown {
  return {
    findings: a.findings,
    facts: a.facts,
    end: a.end,
    invalid: a.invalid,
    runs: a.runs.map((r) => ({
      error: r.error === undefined ? undefined : [r.error.message, r.error.offset, r.error.kind, r.error.budget],
      decoded: r.result,
      value: deepValue(r.machine.result),
      sharing: sharing(r.machine.result),
      ...(withStack ? { stack: r.machine.stack.map((v) => deepValue(v)), marks: [...r.machine.marks] } : {}),
      refs: [...r.machine.refs.values()].map((s) => [
        s.name,
        s.refCount,
        s.callCount,
        s.calls,
        s.escaped,
        s.consumed,
        s.mutated,
      ]),
      events: r.machine.events,
    })),
  };
}

/**
 * Expects the analysis with the fast path to report and leave what the reference leaves on `data`
 * (cut in buffers of `chunk` bytes); returns it. A deferred run is not built when the analysis ends
 * in an error, so the stack and marks are compared only when both end without one.
 */
export async function expectSameAnalyses(data: Uint8Array, o: StreamOptions, chunk = 1 << 20): Promise<PickleAnalysis> {
  const a = await fastPathAnalysis(data, o, chunk);
  const b = await referenceAnalysis(data, o, chunk);
  const withStack = a.runs.every((r) => r.error === undefined) && b.runs.every((r) => r.error === undefined);
  expect(analysisSummary(a, withStack)).toEqual(analysisSummary(b, withStack));
  return a;
}

/** A 32-bit little-endian number's bytes. */
export const u32le = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
/** `BINGET i` or `LONG_BINGET i`. */
export const binget = (i: number): number[] => (i < 256 ? [0x68, i] : [0x6a, ...u32le(i)]);
/** `BINPUT i` or `LONG_BINPUT i`. */
export const binput = (i: number): number[] => (i < 256 ? [0x71, i] : [0x72, ...u32le(i)]);

/**
 * Protocol 2, a list (full under `containerCap` 1) and callees at memo 0-3: two safe ones (0 and 1),
 * os.system (2), builtins.getattr (3, modelled: its calls are never only counted). The sites of 0
 * and 1 then keep no more call records (their calls may be counted by the fast path).
 */
export const LIST_AND_CALLEES = bytes(
  op.proto(2),
  [0x5d, 0x4b, 0, 0x61],
  op.global("collections", "OrderedDict"),
  [0x71, 0, 0x30],
  op.global("argparse", "Namespace"),
  [0x71, 1, 0x30],
  op.global("os", "system"),
  [0x71, 2, 0x30],
  op.global("builtins", "getattr"),
  [0x71, 3, 0x30],
  ...[0, 1].flatMap((c) => Array.from({ length: 4 }, () => [...binget(c), 0x29, 0x52, 0x30])),
);
