/**
 * The XML module: the strict reading layer the XML-based model formats share (no DTD processing,
 * budgets, namespaces), the detector of those formats' documents (OpenVINO IR, PMML) and the
 * `xml/*` rules (external entities, expansion bombs, DOCTYPEs, malformed documents). The format
 * ids belong to their modules (`openvino`, `pmml`); generic XML stays text.
 *
 * Detection: recognises the XML-based model formats by their root element: OpenVINO IR (`<net>`) and PMML
 * (`<PMML>`). The prolog (XML declaration, comments, processing instructions, a DOCTYPE) is
 * skipped; a DOCTYPE naming one of these roots is enough (an XXE attempt may push the root past
 * the sniffed bytes). Any other XML stays text. UTF-16 and UTF-32 documents (with or without a
 * byte order mark) are decoded first: loaders read them like UTF-8 ones.
 * @module
 */
import type { Format } from "../../core/formats.js";
import { type Detector, type FormatModule, lazyRules } from "../../core/module.js";
import { decodeXmlHead } from "./detect.js";

export { decodeXmlHead } from "./detect.js";

const NAME = /^[A-Za-z_][\w.:-]*/;

/** The format a root element name (local part) stands for, given its start tag's text. */
function formatOfRoot(qname: string, tag: string, rest: string): Format | undefined {
  const local = qname.slice(qname.indexOf(":") + 1);
  if (local === "PMML") return "pmml";
  if (local === "net" && (/\sversion\s*=/.test(tag) || /<layers[\s>/]/.test(rest))) return "openvino-ir";
  return undefined;
}

/**
 * Finds the root element of an XML prolog: `{ root, doctype }` names, or undefined when the text
 * does not look like XML.
 * @param text - the first bytes, as Latin-1 or as {@link decodeXmlHead} decodes them
 */
export function xmlRoot(text: string): { root?: string; tag?: string; at?: number; doctype?: string } | undefined {
  let at = text.charCodeAt(0) === 0xef && text.startsWith("\u00ef\u00bb\u00bf") ? 3 : 0;
  let doctype: string | undefined;
  for (let steps = 0; steps < 1000; steps++) {
    while (at < text.length && /\s/.test(text[at] ?? "")) at++;
    if (text[at] !== "<") return steps === 0 ? undefined : { ...(doctype === undefined ? {} : { doctype }) };
    if (text.startsWith("<?", at)) {
      const end = text.indexOf("?>", at + 2);
      if (end < 0) return doctype === undefined ? {} : { doctype };
      at = end + 2;
    } else if (text.startsWith("<!--", at)) {
      const end = text.indexOf("-->", at + 4);
      if (end < 0) return doctype === undefined ? {} : { doctype };
      at = end + 3;
    } else if (text.startsWith("<!DOCTYPE", at)) {
      doctype = NAME.exec(text.slice(at + 9).trimStart())?.[0];
      const end = doctypeEnd(text, at + 9);
      if (end < 0) return doctype === undefined ? {} : { doctype };
      at = end + 1;
    } else {
      const root = NAME.exec(text.slice(at + 1, at + 257))?.[0];
      if (root === undefined) return undefined;
      const close = text.indexOf(">", at);
      const tag = text.slice(at, close < 0 ? Math.min(text.length, at + 4096) : close + 1);
      return { root, tag, at, ...(doctype === undefined ? {} : { doctype }) };
    }
  }
  return undefined;
}

/** Index of the `>` ending a DOCTYPE (quotes and an internal subset skipped), or -1. */
function doctypeEnd(text: string, from: number): number {
  let quote = "";
  let subset = false;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (quote !== "") {
      if (c === quote) quote = "";
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "[") subset = true;
    else if (c === "]") subset = false;
    else if (c === ">" && !subset) return i;
  }
  return -1;
}

/** Detector of OpenVINO IR and PMML documents. */
export const detectXmlModel: Detector = ({ head }) => {
  if (head.length === 0) return undefined;
  const text = decodeXmlHead(head);
  if (text === undefined) return undefined;
  const found = xmlRoot(text);
  if (found === undefined) return undefined;
  if (found.root !== undefined && found.tag !== undefined) {
    const format = formatOfRoot(found.root, found.tag, text.slice(found.at ?? 0, (found.at ?? 0) + 65536));
    if (format !== undefined) return { format, offset: 0, reason: `XML root element <${found.root}>` };
  }
  if (found.doctype !== undefined) {
    const local = found.doctype.slice(found.doctype.indexOf(":") + 1);
    if (local === "PMML") return { format: "pmml", offset: 0, reason: "XML DOCTYPE PMML" };
    if (local === "net") return { format: "openvino-ir", offset: 0, reason: "XML DOCTYPE net" };
  }
  return undefined;
};

const rules = lazyRules(import.meta.url, "./rules.js", "xmlRules");

/** XML layer. */
export const xmlModule = {
  name: "xml",
  detectors: [{ rank: 185, detect: detectXmlModel }],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
