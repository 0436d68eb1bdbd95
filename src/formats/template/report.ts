/**
 * Turns template analysis results into findings, for every analyzer that meets a chat template.
 * @module
 */
import type { Evidence, FindingInput } from "../../core/findings.js";
import { analyzeTemplate, type TemplateAnalysis } from "./analyze.js";

/** Where a template was found, added to each finding's evidence. */
export interface TemplateLocation {
  /** Metadata key or JSON path (`tokenizer.chat_template`, `chat_template[tool_use]`). */
  readonly where: string;
  /** Byte offset of the template's record, when known. */
  readonly offset?: number;
}

/**
 * Analyses a template and reports its findings.
 * @param report - the context's `report`
 * @param text - template source
 * @param location - where it was found
 * @param checkpoint - abort/timeout check
 * @param variables - template variables the renderer passes whose values are known (special tokens)
 * @returns the analysis
 */
export function reportTemplate(
  report: (finding: FindingInput) => void,
  text: string,
  location: TemplateLocation,
  checkpoint?: () => void,
  variables?: ReadonlyMap<string, string>,
): TemplateAnalysis {
  const analysis = analyzeTemplate(text, { checkpoint, variables });
  for (const f of analysis.findings) {
    const evidence: Evidence = { ...f.evidence, template: location.where };
    const finding: FindingInput = { ruleId: f.ruleId, message: `${location.where}: ${f.message}`, evidence };
    if (f.severity !== undefined) finding.severity = f.severity;
    if (location.offset !== undefined) finding.offset = location.offset;
    report(finding);
  }
  return analysis;
}

/**
 * Whether a string looks like a Jinja template (has a statement or expression delimiter).
 * @param text - candidate
 */
export function looksLikeTemplate(text: string): boolean {
  return text.includes("{{") || text.includes("{%");
}
