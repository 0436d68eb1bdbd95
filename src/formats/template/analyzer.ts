/**
 * Analyzer for standalone Jinja template files (`chat_template.jinja`, `additional_chat_templates/*.jinja`),
 * and for other text files whose content merely contains Jinja syntax.
 *
 * A file named as a template (`.jinja`, `.j2`) or opening with a Jinja delimiter is what a renderer
 * takes as a template: every finding is reported. A file detected only because `{{ ... }}` or
 * `{% ... %}` occurs somewhere in it (an XPM image, a README, C source) is not rendered by any
 * loader for its name: it is judged like a Jinja-looking string in a config (embedded.ts
 * `judgeLoose`), reported when it reaches Python internals or Jinja's gadget globals, not for
 * placeholders or a parse failure.
 * @module
 */
import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import type { FindingInput } from "../../core/findings.js";
import { extensionOf } from "../../core/sniffing.js";
import { readText } from "../hf/text.js";
import { judgeLoose } from "./embedded.js";
import { startsLikeJinja, TEMPLATE_EXTENSIONS } from "./index.js";
import { reportTemplate } from "./report.js";

/** Largest template file analysed (8 MiB). */
const MAX_TEMPLATE_BYTES = 8 * 1024 * 1024;

/** Analyses Jinja template files. */
export const jinjaAnalyzer: Analyzer = {
  name: "jinja",
  formats: ["jinja"],
  async analyze(ctx: AnalysisContext): Promise<void> {
    const text = await readText(ctx.source, MAX_TEMPLATE_BYTES, ctx.head);
    const template =
      TEMPLATE_EXTENSIONS.has(extensionOf(ctx.name)) || startsLikeJinja(text.replace(/^\uFEFF/, "").trimStart());
    if (template) {
      reportTemplate(
        (f) => ctx.report(f),
        text,
        { where: ctx.name },
        () => ctx.checkpoint(),
      );
      return;
    }
    const found: FindingInput[] = [];
    reportTemplate(
      (f) => found.push(f),
      text,
      { where: ctx.name },
      () => ctx.checkpoint(),
    );
    for (const f of judgeLoose(found)) ctx.report(f);
  },
};
