/**
 * The YAML analyzer: YAML files anywhere in a model tree (hparams, hydra configs, NeMo's
 * `model_config.yaml`, `conda.yaml`), read whole under a byte budget and analysed without
 * constructing anything (`./analyze.ts`).
 * @module
 */
import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import type { FindingInput } from "../../core/findings.js";
import { readText } from "../hf/text.js";
import { NEMO_CONFIG } from "../nemo/index.js";
import { picklePolicy } from "../pickle/policy/index.js";
import { reportYamlTemplates } from "../template/embedded-yaml.js";
import { analyzeYamlText, type YamlAnalysis } from "./analyze.js";
import { YAML_BUDGETS } from "./parse.js";

/**
 * Reads and analyses a YAML file or member, reports the findings and records facts; throws the
 * budget error the text exceeded once its findings are reported.
 * @param ctx - the analysis context
 * @param extra - findings the caller adds from the composed documents (MLflow's flavours)
 */
export async function analyzeYamlFile(
  ctx: AnalysisContext,
  extra?: (analysis: YamlAnalysis) => readonly FindingInput[],
): Promise<YamlAnalysis> {
  const text = await readText(ctx.source, YAML_BUDGETS.maxBytes, ctx.head);
  const analysis = analyzeYamlText(text, {
    policy: picklePolicy("pickle", ctx.policy.options.pickle),
    checkpoint: () => ctx.checkpoint(),
    // By base name: `m/model_config.yaml` of a scanned folder (an extracted .nemo, which
    // restore_from also takes) is NeMo's config as much as the archive member is.
    topLevelTarget:
      ctx.name.slice(ctx.name.lastIndexOf("/") + 1) !== NEMO_CONFIG
        ? undefined
        : ctx.lineage.includes("nemo")
          ? "all"
          : "dotted",
  });
  for (const finding of analysis.findings) ctx.report(finding);
  for (const finding of extra?.(analysis) ?? []) ctx.report(finding);
  // Jinja templates in any value (`chat_template`, `prompt_template` ...), as in JSON configs
  await reportYamlTemplates(
    (f) => ctx.report(f),
    analysis.docs,
    () => ctx.checkpoint(),
  );
  if (analysis.exceeded !== undefined) throw analysis.exceeded;
  ctx.fact("yaml.documents", analysis.docs.length);
  return analysis;
}

/** Analyses YAML files and members. */
export const yamlAnalyzer: Analyzer = {
  name: "yaml",
  formats: ["yaml"],
  async analyze(ctx: AnalysisContext): Promise<void> {
    await analyzeYamlFile(ctx);
  },
};
