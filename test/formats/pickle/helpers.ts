/**
 * Test helpers for the pickle engine: opcode builders, one-call analysis, a recording analysis
 * context.
 */

import {
  analyzePickleStream,
  type PickleAnalysis,
  type PickleAnalysisOptions,
} from "../../../src/formats/pickle/analyze.js";
import { SourceInput } from "../../../src/formats/pickle/input.js";
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
