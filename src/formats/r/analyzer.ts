/**
 * The R analyzer: reads the header, walks the object tree (never evaluating it) and reports what
 * would run code: promises, closures, bytecode, dangerous language objects, environment hooks.
 * Findings made before a stream breaks are kept; the break itself makes the file `invalid`.
 * @module
 */
import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { readClamped, SliceSource } from "../../core/byte-source.js";
import { ModelgateError } from "../../core/errors.js";
import { preview } from "../../core/preview.js";
import { parseRHeader, rVersionString } from "./header.js";
import { RInspector } from "./inspect.js";
import { type RNode, RWalker, SXP, typeName } from "./reader.js";
import { RInput } from "./stream.js";

/** Names of a workspace's objects kept as a fact. */
const OBJECT_NAMES = 50;

/** The `class` attribute of an item, if it has one. */
export function classOf(node: RNode): string[] | undefined {
  const cell = node.attr?.cells?.find((c) => c.tag === "class");
  return cell?.value.type === SXP.STR ? cell.value.strings : undefined;
}

/** Analyses R serialization streams and workspaces. */
export const rAnalyzer: Analyzer = {
  name: "r",
  formats: ["rds", "rdata"],
  async analyze(ctx: AnalysisContext): Promise<void> {
    const start = ctx.detection.offset;
    const head = start === 0 ? ctx.head.subarray(0, 512) : await readClamped(ctx.source, start, 512);
    const header = parseRHeader(head);
    if (typeof header === "string")
      throw new ModelgateError("MALFORMED", `R ${ctx.detection.format} header: ${header}`, { offset: start });
    ctx.fact("r.format", header.format);
    ctx.fact("r.version", header.version);
    ctx.fact("r.writer", rVersionString(header.writer));
    ctx.fact("toolVersions", { R: rVersionString(header.writer) });
    if (header.encoding !== undefined) ctx.fact("r.encoding", preview(header.encoding, 64));

    const checkpoint = (): void => ctx.checkpoint();
    const input = new RInput(ctx.source, start + header.itemStart, header.format, checkpoint);
    const inspector = new RInspector();
    const walker = new RWalker(input, inspector, { checkpoint });
    let top: RNode;
    try {
      top = await walker.top(header.kind === "rdata");
    } finally {
      // What was found before a break still counts (a promise followed by garbage is malicious).
      for (const finding of inspector.findings.list()) ctx.report(finding);
      const { items, closures, promises, environments, bytecode } = walker.stats;
      ctx.fact("r.items", items);
      if (closures > 0) ctx.fact("r.closures", closures);
      if (promises > 0) ctx.fact("r.promises", promises);
      if (environments > 0) ctx.fact("r.environments", environments);
      if (bytecode > 0) ctx.fact("r.bytecode", bytecode);
      if (inspector.namespaces.size > 0) ctx.fact("r.namespaces", [...inspector.namespaces].sort());
    }
    recordTop(ctx, top, header.kind);
    await scanTrailing(ctx, input.offset, header.format === "ascii");
  },
};

function recordTop(ctx: AnalysisContext, top: RNode, kind: "rds" | "rdata"): void {
  if (kind === "rdata") {
    if (top.type !== SXP.LIST && top.type !== SXP.NILVALUE && top.type !== SXP.VEC)
      throw new ModelgateError("MALFORMED", `R workspace holds a ${typeName(top.type)}, not a list of objects`, {
        offset: top.offset,
      });
    const names = (top.cells ?? []).flatMap((c) => (c.tag === undefined ? [] : [preview(c.tag, 80)]));
    ctx.fact("r.objects", names.slice(0, OBJECT_NAMES));
    return;
  }
  ctx.fact("r.type", typeName(top.type));
  const cls = classOf(top);
  if (cls !== undefined)
    ctx.fact(
      "r.class",
      cls.map((c) => preview(c, 80)),
    );
}

async function scanTrailing(ctx: AnalysisContext, end: number, ascii: boolean): Promise<void> {
  const left = ctx.source.size - end;
  if (left <= 0) return;
  if (ascii && left <= 64) {
    const rest = await readClamped(ctx.source, end, left);
    if (rest.every((b) => b === 0x20 || (b >= 0x09 && b <= 0x0d))) return;
  }
  ctx.report({
    ruleId: "r/trailing-data",
    message: `${left} bytes after the serialized object`,
    offset: end,
    evidence: { trailingBytes: left },
  });
  await ctx.scanMember(`@${end}`, new SliceSource(ctx.source, end, left), { offset: end, opaqueData: true });
}
