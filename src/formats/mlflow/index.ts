/**
 * The MLflow module: MLflow model directories. The `MLmodel` file (YAML, recognised by its exact
 * name and a `flavors:` key) gets the YAML analysis and its flavours are checked (custom
 * `loader_module`, shipped code); the repository analyzer reads the environment files beside it.
 * Pickled models (`model.pkl`, `python_model.pkl`) are pickles by name: the pickle engine reads them.
 * @module
 */
import type { FormatModule } from "../../core/module.js";
import { mlmodelAnalyzer } from "./analyzer.js";
import { mlflowRepoAnalyzer } from "./repo-analyzer.js";
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
  analyzers: [mlmodelAnalyzer],
  repoAnalyzers: [mlflowRepoAnalyzer],
  rules: mlflowRules,
} as const satisfies FormatModule;
