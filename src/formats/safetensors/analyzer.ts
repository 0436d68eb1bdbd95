/**
 * The safetensors analyzer: strict header validation, metadata and tensor-name checks, unclaimed
 * bytes scanned as members, and model facts.
 * @module
 */

import type { AnalysisContext, Analyzer } from "../../scan/types.js";
import { BufferSource, SliceSource } from "../../sources/byte-source.js";
import { looksLikeTemplate, reportTemplate } from "../template/report.js";
import { preview, readSafetensorsHeader } from "./parser.js";
import { findCode, findEncodedBlobs, findUrls, suspiciousTensorName } from "./text-inspect.js";

/** Unclaimed ranges scanned as members, at most. */
const MAX_UNCLAIMED_MEMBERS = 8;
/** Encoded metadata blobs scanned as members, at most. */
const MAX_BLOB_MEMBERS = 16;
/** Suspicious tensor names reported, at most. */
const MAX_NAME_FINDINGS = 20;

/**
 * Facts-friendly number: exact bigint as a number when safe, else its decimal string.
 * @param n - value
 */
export function factNumber(n: bigint): number | string {
  return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString();
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

    let named = 0;
    for (const t of header.tensors) {
      const why = suspiciousTensorName(t.name);
      if (why === undefined) continue;
      if (++named > MAX_NAME_FINDINGS) break;
      ctx.report({
        ruleId: "safetensors/suspicious-tensor-name",
        message: `tensor name "${preview(t.name)}": ${why}`,
        offset: start + 8,
        evidence: { tensor: preview(t.name), reason: why },
      });
    }

    let blobs = 0;
    for (const [key, value] of header.metadata ?? []) {
      ctx.checkpoint();
      for (const hit of findCode(value)) {
        ctx.report({
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
          ctx.report({
            ruleId: "safetensors/metadata-pickle",
            message: `__metadata__["${preview(key, 60)}"] is a ${blob.encoding}-encoded pickle (${blob.bytes.length} bytes)`,
            offset: start + 8,
            evidence: { key: preview(key, 60), encoding: blob.encoding, bytes: blob.bytes.length },
          });
        }
        if ((blob.pickle || blob.bytes.length >= 64) && blobs < MAX_BLOB_MEMBERS) {
          blobs++;
          ctx.chargeDecompressed(blob.bytes.length);
          await ctx.scanMember(`__metadata__/${preview(key, 60)}`, new BufferSource(blob.bytes), {
            offset: start + 8,
            opaqueData: true,
          });
        }
      }
      if (looksLikeTemplate(value)) {
        reportTemplate(
          (f) => ctx.report(f),
          value,
          { where: `__metadata__.${key}`, offset: start + 8 },
          () => ctx.checkpoint(),
        );
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
