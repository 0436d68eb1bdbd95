/**
 * The Hugging Face module: what a model repository carries besides weights: configs (facts,
 * recorded library versions, `auto_map` remote code), Python files, notebooks and shell scripts,
 * and the relationships between them (`trust_remote_code` imports, weight-format mixes).
 * @module
 */
import type { RepoContext } from "../../core/analyzer.js";
import { canonicalFacts } from "../../core/facts.js";
import { type FormatModule, lazyAnalyzer, lazyRepoAnalyzer, lazyRules } from "../../core/module.js";

/**
 * TorchScript `code/` members are TorchScript, not Python shipped to be run: the PyTorch
 * module's `torchscriptCodeAnalyzer` reports them, the repository Python analyzer skips them.
 */
/** Whether a file's facts hold library versions (`toolVersions`, or a key that stands for it). */
function hasToolVersions(facts: Readonly<Record<string, unknown>> | undefined): boolean {
  const versions = canonicalFacts(facts).toolVersions;
  return versions !== null && typeof versions === "object" && !Array.isArray(versions);
}

/**
 * Whether the repository analyzer has nothing to judge: it reads JSON files (`auto_map` configs,
 * checkpoint indexes) and template files the sniffer took for another format, reports pickle
 * weights only in a folder that also holds safetensors weights, and loading scripts only of Hub
 * datasets. A wider net than its own: any `.json` or `.jinja` name, any safetensors file.
 */
function noRepositoryToJudge(ctx: RepoContext): boolean {
  if (ctx.root.target.hub?.repoType === "dataset") return false;
  if (ctx.entries.some((e) => /\.(?:json|safetensors|jinja|j2)$/i.test(e.path))) return false;
  return !ctx.files.some((f) => f.formats.includes("safetensors"));
}

const pythonOutsideTorchScript = lazyAnalyzer("python", ["python"], async () => {
  const { pythonAnalyzer } = await import("./code-analyzers.js");
  return {
    ...pythonAnalyzer,
    analyze: (ctx) => (ctx.lineage.includes("torchscript") ? Promise.resolve() : pythonAnalyzer.analyze(ctx)),
  };
});

const rules = lazyRules(import.meta.url, "./rules.js", "repoRules");

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
    lazyRepoAnalyzer(
      "tool-versions",
      async () => (await import("./configs.js")).configAnalyzer,
      // no file recorded a library version (the analyzer reads nothing else)
      (ctx) => !ctx.files.some((f) => hasToolVersions(f.facts)),
    ),
    lazyRepoAnalyzer("hf-repo", async () => (await import("./repo-analyzer.js")).hfRepoAnalyzer, noRepositoryToJudge),
  ],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
