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
import { latin1 } from "../../core/sniffing.js";
import { HEADER_TRUNCATED, parseRHeader, type RHeader, rVersionString } from "./header.js";
import { RInspector } from "./inspect.js";
import { DANGEROUS_CALLS } from "./names.js";
import { type RNode, RWalker, SXP, typeName } from "./reader.js";
import { RInput } from "./stream.js";
import { V1Walker } from "./v1.js";

/** Bytes of the head read for the header first, and at most (an ASCII header padded with whitespace). */
const HEAD_BYTES = 4096;
const MAX_HEAD_BYTES = 1 << 20;
/** Bytes of a pre-1.0 workspace searched for names. */
const PRE1_SCAN_BYTES = 1 << 20;

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
    const header = await readHeader(ctx, start);
    ctx.fact("r.format", header.format);
    ctx.fact("r.version", header.version);
    if (header.magic !== undefined) ctx.fact("r.magic", header.magic);
    if (header.legacy === undefined) {
      ctx.fact("r.writer", rVersionString(header.writer));
      ctx.fact("toolVersions", { R: rVersionString(header.writer) });
    }
    if (header.encoding !== undefined) ctx.fact("r.encoding", preview(header.encoding, 64));
    if (header.anomalies.length > 0)
      ctx.report({
        ruleId: "r/header-anomaly",
        message: `R reads this header, but R never writes it: ${preview(header.anomalies.join("; "), 200)}`,
        offset: start,
        evidence: { anomalies: preview(header.anomalies.join("; "), 240) },
      });
    if (header.legacy === "pre-1.0") {
      await reportPre1(ctx, start, header);
      return;
    }

    const checkpoint = (): void => ctx.checkpoint();
    const input = new RInput(ctx.source, start + header.itemStart, header.format, checkpoint);
    const inspector = new RInspector();
    const walker =
      header.legacy === "v1"
        ? new V1Walker(input, inspector, { checkpoint })
        : new RWalker(input, inspector, { checkpoint });
    let top: RNode;
    try {
      top = await walker.top(header.kind === "rdata");
    } finally {
      // What was found before a break still counts (a promise followed by garbage is malicious).
      for (const finding of inspector.findings.list()) ctx.report(finding);
      reportRdCode(ctx, input);
      const { items, closures, promises, environments, bytecode } = walker.stats;
      ctx.fact("r.items", items);
      if (closures > 0) ctx.fact("r.closures", closures);
      if (inspector.knownClosures > 0) ctx.fact("r.knownClosures", inspector.knownClosures);
      if (promises > 0) ctx.fact("r.promises", promises);
      if (environments > 0) ctx.fact("r.environments", environments);
      if (bytecode > 0) ctx.fact("r.bytecode", bytecode);
      if (inspector.namespaces.size > 0) ctx.fact("r.namespaces", [...inspector.namespaces].sort());
    }
    recordTop(ctx, top, header.kind);
    await scanTrailing(ctx, input.offset, header.format === "ascii");
  },
};

/** Strings holding Rd markup that runs R when rendered (`\\Sexpr`), wherever they are. */
function reportRdCode(ctx: AnalysisContext, input: RInput): void {
  if (input.bibentry && input.quotedCall !== undefined)
    ctx.report({
      ruleId: "r/rd-code",
      message: `a bibentry with ${input.quotedCallCount} string(s) holding a ( after a ": printing it renders its fields as Rd, where a field (doi) ends up inside the R code of a system macro's \\Sexpr`,
      offset: input.quotedCall,
      evidence: { count: input.quotedCallCount, kind: "bibentry" },
    });
  if (input.rdCodeCount === 0) return;
  ctx.report({
    ruleId: "r/rd-code",
    message: `${input.rdCodeCount} string(s) hold Rd markup that runs R code when rendered (\\Sexpr, \\newcommand): printing a bibentry or citation holding it runs the code`,
    offset: input.rdCode[0]!,
    evidence: { count: input.rdCodeCount, offsets: input.rdCode.join(", ") },
  });
}

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

/** The header, read from more bytes when an ASCII header is padded past the first ones. */
async function readHeader(ctx: AnalysisContext, start: number): Promise<RHeader> {
  for (let n = HEAD_BYTES; ; n *= 16) {
    const head = await readClamped(ctx.source, start, n);
    const header = parseRHeader(head);
    if (typeof header !== "string") return header;
    if (header !== HEADER_TRUNCATED || head.length < n || n >= MAX_HEAD_BYTES)
      throw new ModelgateError("MALFORMED", `R ${ctx.detection.format} header: ${header}`, { offset: start });
  }
}

/**
 * A pre-1.0 workspace (magics 1971–1977): R still restores it (`load()`, `.RData` at startup) and
 * it can bind `.First` and carry closures and promises, but it is not parsed here. The names it
 * holds (quoted in the ASCII forms, printable runs in the binary ones) are searched for startup
 * hooks and dangerous functions.
 */
async function reportPre1(ctx: AnalysisContext, start: number, header: RHeader): Promise<void> {
  const bytes = await readClamped(ctx.source, start, PRE1_SCAN_BYTES);
  const text = latin1(bytes);
  const words = new Set(text.match(/[A-Za-z.][A-Za-z0-9._]*/g) ?? []);
  const named = [...words].filter((w) => DANGEROUS_CALLS.has(w) || STARTUP_NAMES.has(w)).sort();
  ctx.report({
    ruleId: "r/legacy-workspace",
    message: `pre-1.0 R workspace (magic ${header.magic ?? "?"}): R still restores it, and it is not parsed${named.length > 0 ? `; it names ${preview(named.slice(0, 8).join(", "), 160)}` : ""}`,
    offset: start,
    ...(named.length > 0 ? { severity: "critical" as const } : {}),
    evidence: { magic: header.magic ?? "", ...(named.length > 0 ? { callee: preview(named.join(", "), 240) } : {}) },
  });
}

const STARTUP_NAMES: ReadonlySet<string> = new Set([".First", ".Last"]);
