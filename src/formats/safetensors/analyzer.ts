/**
 * The safetensors analyzer: strict header validation, metadata and tensor-name checks, unclaimed
 * bytes scanned as members, and model facts.
 * @module
 */

import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { BufferSource, SliceSource } from "../../core/byte-source.js";
import { type FindingInput, FindingList } from "../../core/findings.js";
import { preview } from "../../core/preview.js";
import type { Severity } from "../../core/severity.js";
import { analyzePickleStream } from "../pickle/analyze.js";
import { pickleBudgets } from "../pickle/analyzer.js";
import { SourceInput } from "../pickle/input.js";
import { reportCredentials } from "../secrets/analyzer.js";
import { looksLikeTemplate, reportTemplate } from "../template/report.js";
import { readSafetensorsHeader } from "./parser.js";
import { findCode, findEncodedBlobs, findUrls, suspiciousTensorName } from "./text-inspect.js";

/** Unclaimed ranges scanned as members, at most. */
const MAX_UNCLAIMED_MEMBERS = 8;
/** Encoded metadata blobs analysed (pickles) or scanned as members (anything else), at most. */
const MAX_BLOB_MEMBERS = 16;
/** Suspicious tensor names reported, at most (the rest are counted in one more finding). */
const MAX_NAME_FINDINGS = 20;

/**
 * Facts-friendly number: exact bigint as a number when safe, else its decimal string.
 * @param n - value
 */
export function factNumber(n: bigint): number | string {
  return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString();
}

const SEVERITY_RANK: Record<Severity, number> = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };

/** A finding about inert metadata: its severity capped at medium. */
function capSeverity(ctx: AnalysisContext, f: FindingInput): FindingInput {
  const severity = ctx.severityOf(f);
  return SEVERITY_RANK[severity] > SEVERITY_RANK.medium ? { ...f, severity: "medium" } : f;
}

/** What an inert pickle would do if someone unpickled it. */
interface InertPickle {
  /** Dotted names it would import or call at high or critical severity (at most 5). */
  readonly callees: string[];
  /** The worst severity of its findings, when any is above info. */
  readonly severity: Severity | undefined;
  /** Rule ids of its findings above info (at most 5). */
  readonly rules: string[];
}

async function inertPickle(ctx: AnalysisContext, bytes: Uint8Array): Promise<InertPickle> {
  const analysis = await analyzePickleStream(new SourceInput(new BufferSource(bytes)), {
    context: "pickle",
    policy: ctx.policy.options.pickle,
    ...pickleBudgets(ctx),
  });
  const callees = new Set<string>();
  const rules = new Set<string>();
  let worst: Severity | undefined;
  for (const f of analysis.findings) {
    const severity = ctx.severityOf(f);
    if (severity === "info") continue;
    rules.add(f.ruleId);
    if (worst === undefined || SEVERITY_RANK[severity] > SEVERITY_RANK[worst]) worst = severity;
    const callee = f.evidence?.callee;
    if (SEVERITY_RANK[severity] >= SEVERITY_RANK.high && typeof callee === "string") callees.add(preview(callee, 80));
  }
  return { callees: [...callees].slice(0, 5), severity: worst, rules: [...rules].slice(0, 5) };
}

/** Analyses safetensors files. */
export const safetensorsAnalyzer: Analyzer = {
  name: "safetensors",
  formats: ["safetensors"],
  async analyze(ctx: AnalysisContext): Promise<void> {
    const start = ctx.detection.offset;
    const source = start > 0 ? new SliceSource(ctx.source, start, ctx.source.size - start) : ctx.source;
    const head = start > 0 ? ctx.head.subarray(Math.min(start, ctx.head.length)) : ctx.head;
    const header = await readSafetensorsHeader(source, { head, checkpoint: () => ctx.checkpoint() });
    for (const issue of header.issues) {
      ctx.report({
        ruleId: issue.ruleId,
        message: issue.message,
        ...(issue.offset === undefined ? {} : { offset: start + issue.offset }),
        ...(issue.evidence === undefined ? {} : { evidence: issue.evidence }),
      });
    }

    const named = new FindingList(MAX_NAME_FINDINGS);
    for (const t of header.tensors) {
      const why = suspiciousTensorName(t.name);
      if (why === undefined) continue;
      named.add({
        ruleId: "safetensors/suspicious-tensor-name",
        message: `tensor name "${preview(t.name)}": ${why}`,
        offset: start + 8,
        evidence: { tensor: preview(t.name), reason: why },
      });
    }
    for (const f of named.list()) ctx.report(f);

    // Metadata is inert: no safetensors loader executes, evaluates, renders or unpickles it. Code,
    // pickles and templates found there are reported, at most at medium severity (suspicious).
    const reportInert = (f: FindingInput): void => ctx.report(capSeverity(ctx, f));
    let blobs = 0;
    for (const [key, value] of header.metadata ?? []) {
      ctx.checkpoint();
      reportCredentials(ctx, value, `__metadata__["${preview(key, 60)}"]`);
      for (const hit of findCode(value)) {
        reportInert({
          ruleId: "safetensors/metadata-code",
          message: `__metadata__["${preview(key, 60)}"] contains code (${hit.kind}): ${preview(hit.match, 80)}`,
          offset: start + 8,
          evidence: { key: preview(key, 60), kind: hit.kind, match: preview(hit.match, 80) },
        });
      }
      for (const url of findUrls(value)) {
        ctx.report({
          ruleId: "safetensors/metadata-url",
          message: `__metadata__["${preview(key, 60)}"] contains a URL: ${preview(url.url, 120)}`,
          offset: start + 8,
          evidence: { key: preview(key, 60), url: preview(url.url, 200), host: url.host },
          ...(url.documentation ? { severity: "info" as const } : {}),
        });
      }
      for (const blob of findEncodedBlobs(value)) {
        if (blob.pickle) {
          // Analysed here rather than as a member, whose findings would rate the stream as if a
          // loader unpickled it: what it would import or call is evidence of this finding.
          let payload: InertPickle = { callees: [], severity: undefined, rules: [] };
          if (blobs < MAX_BLOB_MEMBERS) {
            blobs++;
            ctx.chargeDecompressed(blob.bytes.length);
            payload = await inertPickle(ctx, blob.bytes);
          }
          const what = payload.callees.length > 0 ? `; unpickled, it would run ${payload.callees.join(", ")}` : "";
          reportInert({
            ruleId: "safetensors/metadata-pickle",
            message: `__metadata__["${preview(key, 60)}"] is a ${blob.encoding}-encoded pickle (${blob.bytes.length} bytes)${what}; safetensors loaders never unpickle metadata`,
            offset: start + 8,
            evidence: {
              key: preview(key, 60),
              encoding: blob.encoding,
              bytes: blob.bytes.length,
              ...(payload.callees[0] === undefined ? {} : { callee: payload.callees[0] }),
              ...(payload.callees.length > 1 ? { callees: payload.callees.join(",") } : {}),
              ...(payload.severity === undefined ? {} : { payloadSeverity: payload.severity }),
              ...(payload.rules.length > 0 ? { payloadRules: payload.rules.join(",") } : {}),
            },
          });
          continue;
        }
        if (blob.bytes.length >= 64 && blobs < MAX_BLOB_MEMBERS) {
          blobs++;
          ctx.chargeDecompressed(blob.bytes.length);
          await ctx.scanMember(`__metadata__/${preview(key, 60)}`, new BufferSource(blob.bytes), {
            offset: start + 8,
            opaqueData: true,
          });
        }
      }
      if (looksLikeTemplate(value)) {
        reportTemplate(reportInert, value, { where: `__metadata__.${key}`, offset: start + 8 }, () => ctx.checkpoint());
      }
    }

    for (const range of header.unclaimed.slice(0, MAX_UNCLAIMED_MEMBERS)) {
      if (range.length <= 0) continue;
      await ctx.scanMember(
        range.kind === "trailing" ? "trailing-data" : `gap@${range.offset}`,
        new SliceSource(source, range.offset, range.length),
        {
          offset: start + range.offset,
          opaqueData: true,
        },
      );
    }

    if (header.headerLength !== undefined) {
      // Canonical keys (docs/architecture.md, "Facts"), then details under `safetensors.`.
      ctx.fact("tensorCount", header.tensors.length);
      ctx.fact("parameterCount", factNumber(header.parameterCount));
      ctx.fact("dtypes", Object.keys(header.dtypeCounts));
      ctx.fact("safetensors.dtypeCounts", header.dtypeCounts);
      const format = header.metadata?.get("format");
      if (format !== undefined) ctx.fact("safetensors.format", preview(format, 40));
      if (header.metadata !== undefined && header.metadata.size > 0) {
        ctx.fact(
          "safetensors.metadataKeys",
          [...header.metadata.keys()].slice(0, 50).map((k) => preview(k, 80)),
        );
      }
    }
  },
};
