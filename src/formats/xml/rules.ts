/**
 * Rules of the xml area: what the shared XML layer reports for every XML-based model format
 * (OpenVINO IR, PMML).
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

const XXE = "https://owasp.org/www-community/vulnerabilities/XML_External_Entity_(XXE)_Processing";
const XML = "https://www.w3.org/TR/xml/";

/** xml rules. */
export const xmlRules = [
  {
    id: "xml/malformed",
    title: "XML is not well-formed",
    severity: "medium",
    invalidates: true,
    description:
      "The document breaks XML well-formedness (unclosed or mismatched tags, a duplicate attribute, an unbound namespace prefix, a reference to an undeclared entity, bytes the document's encoding cannot decode, a declared encoding modelgate does not decode or that contradicts the bytes). The encoding is found as XML parsers find it: a byte order mark, the UTF-16/UTF-32 pattern of `<?`, else the XML declaration (UTF-8, ISO-8859-1 and the other ASCII-compatible encodings), else UTF-8. Lenient loaders recover from such documents in different ways, so what they load is not what was checked.",
    references: [XML],
  },
  {
    id: "xml/external-entity",
    title: "XML external entity or external DTD (XXE)",
    severity: "high",
    description:
      "The DOCTYPE names an external DTD (`SYSTEM`/`PUBLIC`), declares an external entity or a parameter entity. A loader whose XML parser resolves them reads local files (`file:///etc/passwd`) into the model, or makes network requests (SSRF, out-of-band exfiltration through parameter entities). No model format needs a DTD; modelgate never resolves one.",
    references: [XXE, "https://cwe.mitre.org/data/definitions/611.html"],
  },
  {
    id: "xml/entity-expansion",
    title: "XML entity expansion bomb (billion laughs)",
    severity: "high",
    description:
      "The DOCTYPE declares general entities whose values reference other entities, or very many entities: expanding them grows exponentially (the 'billion laughs' attack) and exhausts the memory or time of a loader whose parser expands entities. modelgate does not expand them.",
    references: ["https://cwe.mitre.org/data/definitions/776.html", XML],
  },
  {
    id: "xml/dtd",
    title: "XML document type declaration",
    severity: "medium",
    description:
      "The document has a DOCTYPE (with no external part or nested entities). No model format uses one, and a DTD-processing loader sees content modelgate does not: internal entity text substituted for references, attribute defaults from `<!ATTLIST>`. Remove the DOCTYPE.",
    references: [XML],
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  // the ids above are registered rule ids (`RuleId`)
  interface RuleRegistry extends Record<(typeof xmlRules)[number]["id"], true> {}
}
