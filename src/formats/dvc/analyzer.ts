/**
 * The DVC analyzer. The name decides (see `./index.ts`): a `*.dvc`, `dvc.yaml` or `dvc.lock` file
 * is read whole as YAML (safe composition, budgets: see `../yaml/parse.ts`), as DVC's loader reads
 * it (one document, aliases and merge keys resolved: `./plain.ts`), and what DVC would act on is
 * reported wherever it is in the file: outputs `dvc pull` fetches and where they land, commands
 * `dvc repro` runs (`./stage.ts`). `.dvc` files are single stages (`./pointer.ts`), `dvc.yaml` and
 * `dvc.lock` pipelines (`./pipeline.ts`). A file DVC cannot read (not YAML, several documents, not
 * a mapping), or one this analysis cannot read whole, is `dvc/malformed`: never clean.
 * @module
 */
import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import type { FindingInput } from "../../core/findings.js";
import { preview } from "../../core/preview.js";
import type { YamlAnalysis } from "../yaml/analyze.js";
import { analyzeYamlFile } from "../yaml/analyzer.js";
import { pipelineKind } from "./index.js";
import { pipelineFindings } from "./pipeline.js";
import { dvcPlain, MAX_PLAIN_NODES } from "./plain.js";
import { pointerFindings } from "./pointer.js";

export { escapeReason } from "./paths.js";

/** The findings of a DVC file's YAML analysis. */
function dvcFileFindings(analysis: YamlAnalysis, name: string): FindingInput[] {
  const pipeline = pipelineKind(name);
  const what = pipeline ?? ".dvc";
  if (!analysis.ok) return [{ ruleId: "dvc/malformed", message: `the ${what} file is not YAML DVC reads` }];
  if (analysis.docs.length > 1) {
    return [
      {
        ruleId: "dvc/malformed",
        message: `the ${what} file holds ${analysis.docs.length} YAML documents: DVC reads one and refuses the file`,
      },
    ];
  }
  const root = analysis.docs[0]?.contents;
  // an empty file (or comments only) is an empty mapping to DVC: nothing to fetch or run
  if (root === undefined || root === null) return [];
  const { value: doc, cut, unreadKeys, unreadCount, undefinedAliases } = dvcPlain(root);
  const findings = pipeline === undefined ? pointerFindings(doc) : pipelineFindings(doc, pipeline);
  if (cut) {
    findings.push({
      ruleId: "dvc/malformed",
      message: `the ${what} file expands past ${MAX_PLAIN_NODES} nodes or nests too deeply once its aliases and merge keys are resolved: DVC reads it whole, this analysis did not`,
    });
  }
  if (unreadCount > 0) {
    findings.push({
      ruleId: "dvc/malformed",
      message: `${unreadCount} mapping key(s) of the ${what} file could not be read (${unreadKeys.map((k) => preview(k, 80)).join("; ")}): what they hold was not analysed`,
      evidence: { keys: unreadCount },
    });
  }
  if (undefinedAliases > 0) {
    findings.push({
      ruleId: "dvc/malformed",
      message: `${undefinedAliases} alias(es) of the ${what} file name no anchor before them: DVC refuses the file`,
      evidence: { aliases: undefinedAliases },
    });
  }
  return findings;
}

/** Analyses DVC pointer files (`*.dvc`) and pipeline files (`dvc.yaml`, `dvc.lock`). */
export const dvcAnalyzer: Analyzer = {
  name: "dvc",
  formats: ["dvc"],
  async analyze(ctx: AnalysisContext): Promise<void> {
    await analyzeYamlFile(ctx, (analysis) => dvcFileFindings(analysis, ctx.name));
  },
};
