/**
 * The media analyzers: the structure of images and audio (bytes behind it are trailing data,
 * scanned as a member) and the active content of SVG documents.
 * @module
 */
import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { SliceSource } from "../../core/byte-source.js";
import { FindingList } from "../../core/findings.js";
import { preview } from "../../core/preview.js";
import { type DoctypeInfo, doctypeFindings, malformedFinding, readXml, type XmlElement } from "../xml/reader.js";
import { readMedia } from "./reader.js";
import { MEDIA_FORMATS, type MediaFormat } from "./signatures.js";

/** Reads the structure of an image or audio file and reports what follows it. */
export const mediaAnalyzer: Analyzer = {
  name: "media",
  formats: MEDIA_FORMATS,
  async analyze(ctx: AnalysisContext): Promise<void> {
    const format = ctx.detection.format as MediaFormat;
    const info = await readMedia(ctx.source, format, {
      checkpoint: () => ctx.checkpoint(),
      maxUnits: Math.max(ctx.limits.maxEntries * 20, 1 << 20),
    });
    ctx.fact("media.format", format);
    if (info.width !== undefined && info.height !== undefined)
      ctx.fact("media.dimensions", `${info.width}x${info.height}`);
    if (info.sampleRate !== undefined) ctx.fact("media.sampleRate", info.sampleRate);
    if (info.channels !== undefined) ctx.fact("media.channels", info.channels);
    const trailing = ctx.source.size - info.end;
    if (trailing <= 0) return;
    ctx.report({
      ruleId: "media/trailing-data",
      message: `${trailing} bytes follow the end of the ${format} structure at offset ${info.end}`,
      offset: info.end,
      evidence: { format, end: info.end, trailingBytes: trailing },
    });
    // Another reading of the same bytes (an appended zip found by its trailer) already covers them.
    if (ctx.detections.length === 1) {
      await ctx.scanMember("trailing-data", new SliceSource(ctx.source, info.end, trailing), { offset: info.end });
    }
  },
};

/** Elements that run or embed active content in a browser. */
const ACTIVE_ELEMENTS = new Set(["script", "iframe", "object", "embed", "handler"]);
/** URL schemes that run code when followed or loaded (a nested SVG or XML document can carry script). */
const ACTIVE_URL =
  /(?:^|[;\s,(])(?:(?:javascript|vbscript):|data:(?:text\/html|application\/xhtml|image\/svg\+xml|text\/xml|application\/xml))/i;
/** The value without whitespace and control characters (URL parsers drop them inside a scheme). */
function withoutControls(value: string): string {
  let out = "";
  for (const c of value) if (c.charCodeAt(0) > 0x20) out += c;
  return out;
}

/** The W3C's SVG 1.0/1.1 DTDs, which SVG editors name in the DOCTYPE (no browser fetches them). */
const SVG_DTD =
  /^https?:\/\/www\.w3\.org\/(?:Graphics\/SVG\/1\.1\/DTD\/svg11(?:-[a-z]+)?|TR\/2001\/REC-SVG-20010904\/DTD\/svg10)\.dtd$/;

/**
 * A DOCTYPE that only names the standard SVG DTD (what matplotlib, Inkscape and Illustrator
 * write): no internal subset, no entity. Anything else gets the `xml/*` findings.
 */
function isPlainSvgDoctype(d: DoctypeInfo): boolean {
  return (
    !d.internalSubset &&
    d.entities.length === 0 &&
    d.parameterReferences.length === 0 &&
    d.externalSubset !== undefined &&
    SVG_DTD.test(d.externalSubset)
  );
}

/** Most bytes of an SVG read. */
const MAX_SVG_BYTES = 64 * 1024 * 1024;

/** Reports the active content of an SVG document. */
export const svgAnalyzer: Analyzer = {
  name: "svg",
  formats: ["image-svg"],
  async analyze(ctx: AnalysisContext): Promise<void> {
    const found = new FindingList();
    const flag = (element: XmlElement, what: string, value?: string): void => {
      found.add({
        ruleId: "media/svg-script",
        message: `SVG ${what} in <${preview(element.name, 60)}> (line ${element.line})`,
        evidence: {
          element: preview(element.name, 60),
          what,
          line: element.line,
          ...(value === undefined ? {} : { value: preview(value, 120) }),
        },
      });
    };
    const doc = await readXml(
      ctx.source,
      {
        open(element) {
          if (ACTIVE_ELEMENTS.has(element.local.toLowerCase())) flag(element, `<${element.local}> element`);
          for (const a of element.attributes) {
            const local = a.local.toLowerCase();
            if (local.startsWith("on")) flag(element, `event handler ${a.name}`, a.value);
            // Control characters and whitespace inside a scheme are dropped by URL parsers.
            else if (ACTIVE_URL.test(withoutControls(a.value))) flag(element, `active URL in ${a.name}`, a.value);
            else if (local === "attributename" && /^\s*(?:on|(?:xlink:)?href\s*$)/i.test(a.value)) {
              flag(element, `animation of ${a.value.trim()}`, a.value);
            }
          }
        },
      },
      {
        budgets: { maxBytes: MAX_SVG_BYTES },
        checkpoint: () => ctx.checkpoint(),
        // a stylesheet the renderer fetches and applies: XSLT can rewrite the document into one
        // with scripts, CSS can fetch URLs (browsers honour both in a standalone SVG)
        onProcessingInstruction: (target, body, line) => {
          if (target.toLowerCase() !== "xml-stylesheet") return;
          found.add({
            ruleId: "media/svg-script",
            message: `SVG stylesheet processing instruction (line ${line}): ${preview(body, 120)}`,
            evidence: { what: "xml-stylesheet", line, value: preview(body, 120) },
          });
        },
        onDoctype: (doctype) => {
          if (isPlainSvgDoctype(doctype)) return;
          for (const finding of doctypeFindings(doctype)) ctx.report(finding);
        },
      },
    );
    const broken = malformedFinding(doc);
    if (broken !== undefined) ctx.report(broken);
    for (const finding of found.list()) ctx.report(finding);
    if (doc.root !== undefined) ctx.fact("media.format", "image-svg");
  },
};
