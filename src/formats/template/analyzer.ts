/**
 * Analyzer for standalone Jinja template files (`chat_template.jinja`, `additional_chat_templates/*.jinja`).
 * @module
 */
import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { readText } from "../hf/text.js";
import { reportTemplate } from "./report.js";

/** Largest template file analysed (8 MiB). */
const MAX_TEMPLATE_BYTES = 8 * 1024 * 1024;

/** Analyses `.jinja` template files. */
export const jinjaAnalyzer: Analyzer = {
  name: "jinja",
  formats: ["jinja"],
  async analyze(ctx: AnalysisContext): Promise<void> {
    const text = await readText(ctx.source, MAX_TEMPLATE_BYTES, ctx.head);
    reportTemplate(
      (f) => ctx.report(f),
      text,
      { where: ctx.name },
      () => ctx.checkpoint(),
    );
  },
};
