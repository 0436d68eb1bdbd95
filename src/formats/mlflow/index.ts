/**
 * The MLflow module: MLflow model directories. The `MLmodel` file (YAML, recognised by its exact
 * name and a `flavors:` key) gets the YAML analysis and its flavours are checked (custom
 * `loader_module`, shipped code); the repository analyzer reads the environment files beside it.
 * Pickled models (`model.pkl`, `python_model.pkl`) are pickles by name: the pickle engine reads them.
 * @module
 */
import { type FormatModule, lazyAnalyzer, lazyRepoAnalyzer } from "../../core/module.js";
import { mlflowRules } from "./rules.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    mlflow: true;
  }
}

/** MLflow models. */
export const mlflowModule = {
  name: "mlflow",
  formats: [{ id: "mlflow", description: "MLflow MLmodel file", textual: true }],
  analyzers: [lazyAnalyzer("mlflow", ["mlflow"], async () => (await import("./analyzer.js")).mlmodelAnalyzer)],
  repoAnalyzers: [lazyRepoAnalyzer("mlflow", async () => (await import("./repo-analyzer.js")).mlflowRepoAnalyzer)],
  rules: mlflowRules,
} as const satisfies FormatModule;
