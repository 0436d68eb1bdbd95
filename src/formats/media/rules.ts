/**
 * Rules of the media area (images and audio).
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

/** media rules. */
export const mediaRules = [
  {
    id: "media/trailing-data",
    title: "Bytes after the end of an image or audio file",
    severity: "low",
    description:
      "The image or audio structure (PNG chunks up to IEND, JPEG segments up to EOI, GIF blocks up to the trailer, the RIFF size of a WebP or WAV, Ogg pages, MPEG frames) ends before the file does. Viewers ignore what follows, which makes the tail of an image a place to hide a payload (an appended pickle or archive). The trailing bytes are scanned as a member (`file!trailing-data`) unless another format was already recognised in them (an appended zip is analysed as a polyglot).",
    references: ["https://www.w3.org/TR/png-3/#5Chunk-layout"],
  },
  {
    id: "media/svg-script",
    title: "SVG image with active content",
    severity: "medium",
    description:
      "An SVG image holds a `<script>` element, an event-handler attribute (`onload`, `onclick` ...), a `javascript:` URL, an embedded `<iframe>`/`<object>`/`<embed>`, or an `xml-stylesheet` processing instruction (an XSLT stylesheet can rewrite the document into one with scripts; CSS can fetch URLs). A browser that renders the file in a page (a model card, a repository viewer) runs that code in the page's origin. Model repositories have no need for scripted images.",
    references: ["https://www.w3.org/TR/SVG2/interact.html#ScriptElement"],
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  // the ids above are registered rule ids (`RuleId`)
  interface RuleRegistry extends Record<(typeof mediaRules)[number]["id"], true> {}
}
