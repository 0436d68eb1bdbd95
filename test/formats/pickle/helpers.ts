/**
 * Test helpers for the pickle engine: opcode builders, a minimal zip member reader (for the
 * zip-based samples until the zip container is merged) and one-call analysis.
 */
import { inflateRawSync } from "node:zlib";
import {
  analyzePickleStream,
  type PickleAnalysis,
  type PickleAnalysisOptions,
} from "../../../src/formats/pickle/analyze.js";
import { SourceInput } from "../../../src/formats/pickle/input.js";
import { resolvePolicy } from "../../../src/policy/policy.js";
import { getRule } from "../../../src/policy/rules/index.js";
import type { Format, Verdict } from "../../../src/report/schema.js";
import { verdictOfFinding, worstVerdict } from "../../../src/report/verdict.js";
import { type AnalysisContext, DEFAULT_LIMITS, type Detection, type FindingInput } from "../../../src/scan/types.js";
import { BufferSource } from "../../../src/sources/byte-source.js";

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

/** Analyses in-memory pickle bytes. */
export function analyze(data: Uint8Array, options: Partial<PickleAnalysisOptions> = {}): Promise<PickleAnalysis> {
  return analyzePickleStream(new SourceInput(new BufferSource(data)), { context: "pickle", ...options });
}

/** Rule ids of an analysis. */
export function rules(a: PickleAnalysis): string[] {
  return [...new Set(a.findings.map((f) => f.ruleId))].sort();
}

/** Resolved callees named by an analysis's findings. */
export function callees(a: PickleAnalysis): string[] {
  return [...new Set(a.findings.map((f) => f.evidence?.callee).filter((c): c is string => typeof c === "string"))];
}

/** Members of a zip archive (stored or deflated), read from the central directory. */
export function zipMembers(zip: Uint8Array): Map<string, Uint8Array> {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 65_557); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error("no end of central directory");
  const count = view.getUint16(eocd + 10, true);
  let p = view.getUint32(eocd + 16, true);
  const out = new Map<string, Uint8Array>();
  for (let k = 0; k < count; k++) {
    const method = view.getUint16(p + 10, true);
    const csize = view.getUint32(p + 20, true);
    const nlen = view.getUint16(p + 28, true);
    const xlen = view.getUint16(p + 30, true);
    const clen = view.getUint16(p + 32, true);
    const local = view.getUint32(p + 42, true);
    const name = Buffer.from(zip.subarray(p + 46, p + 46 + nlen)).toString("utf8");
    const lnlen = view.getUint16(local + 26, true);
    const lxlen = view.getUint16(local + 28, true);
    const data = zip.subarray(local + 30 + lnlen + lxlen, local + 30 + lnlen + lxlen + csize);
    out.set(name, method === 0 ? data : new Uint8Array(inflateRawSync(data)));
    p += 46 + nlen + xlen + clen;
  }
  return out;
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
    detections: options.detections ?? [detection],
    detection,
    depth: 0,
    lineage: options.lineage ?? [],
    limits: DEFAULT_LIMITS,
    policy: resolvePolicy(),
    signal: new AbortController().signal,
    root: undefined as unknown as AnalysisContext["root"],
    report: (f) => findings.push(f),
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
