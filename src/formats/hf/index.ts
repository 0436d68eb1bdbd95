/**
 * The Hugging Face module: what a model repository carries besides weights: configs (facts,
 * recorded library versions, `auto_map` remote code), Python files, notebooks and shell scripts,
 * and the relationships between them (`trust_remote_code` imports, weight-format mixes).
 * @module
 */
import type { Analyzer } from "../../core/analyzer.js";
import type { FormatModule } from "../../core/module.js";
import { notebookAnalyzer, pythonAnalyzer, shellAnalyzer } from "./code-analyzers.js";
import { configAnalyzer, configFactsAnalyzer } from "./configs.js";
import { hfJsonAnalyzer } from "./json-analyzer.js";
import { hfRepoAnalyzer } from "./repo-analyzer.js";
import { repoRules } from "./rules.js";

/**
 * TorchScript `code/` members are TorchScript, not Python shipped to be run: the PyTorch
 * module's `torchscriptCodeAnalyzer` reports them, the repository Python analyzer skips them.
 */
const pythonOutsideTorchScript: Analyzer = {
  ...pythonAnalyzer,
  analyze: (ctx) => (ctx.lineage.includes("torchscript") ? Promise.resolve() : pythonAnalyzer.analyze(ctx)),
};

/** Repository files and their relationships. */
export const hfModule = {
  name: "hf",
  analyzers: [configFactsAnalyzer, hfJsonAnalyzer, pythonOutsideTorchScript, notebookAnalyzer, shellAnalyzer],
  repoAnalyzers: [configAnalyzer, hfRepoAnalyzer],
  rules: repoRules,
} as const satisfies FormatModule;
