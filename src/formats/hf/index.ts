/**
 * The Hugging Face module: what a model repository carries besides weights: configs (facts,
 * recorded library versions, `auto_map` remote code), Python files, notebooks and shell scripts,
 * and the relationships between them (`trust_remote_code` imports, weight-format mixes).
 * @module
 */
import { type FormatModule, lazyAnalyzer, lazyRepoAnalyzer } from "../../core/module.js";
import { repoRules } from "./rules.js";

/**
 * TorchScript `code/` members are TorchScript, not Python shipped to be run: the PyTorch
 * module's `torchscriptCodeAnalyzer` reports them, the repository Python analyzer skips them.
 */
const pythonOutsideTorchScript = lazyAnalyzer("python", ["python"], async () => {
  const { pythonAnalyzer } = await import("./code-analyzers.js");
  return {
    ...pythonAnalyzer,
    analyze: (ctx) => (ctx.lineage.includes("torchscript") ? Promise.resolve() : pythonAnalyzer.analyze(ctx)),
  };
});

/** Repository files and their relationships. */
export const hfModule = {
  name: "hf",
  analyzers: [
    lazyAnalyzer("config-facts", ["json"], async () => (await import("./configs.js")).configFactsAnalyzer),
    lazyAnalyzer("hf-json", ["json"], async () => (await import("./json-analyzer.js")).hfJsonAnalyzer),
    pythonOutsideTorchScript,
    lazyAnalyzer("notebook", ["notebook"], async () => (await import("./code-analyzers.js")).notebookAnalyzer),
    lazyAnalyzer("shell", ["shell"], async () => (await import("./code-analyzers.js")).shellAnalyzer),
  ],
  repoAnalyzers: [
    lazyRepoAnalyzer("tool-versions", async () => (await import("./configs.js")).configAnalyzer),
    lazyRepoAnalyzer("hf-repo", async () => (await import("./repo-analyzer.js")).hfRepoAnalyzer),
  ],
  rules: repoRules,
} as const satisfies FormatModule;
