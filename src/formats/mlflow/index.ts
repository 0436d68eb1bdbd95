/**
 * The MLflow module: MLflow model directories. The `MLmodel` file (YAML, recognised by its exact
 * name and a `flavors:` key) gets the YAML analysis and its flavours are checked (custom
 * `loader_module`, shipped code); the repository analyzer reads the environment files beside it.
 * Pickled models (`model.pkl`, `python_model.pkl`) are pickles by name: the pickle engine reads them.
 *
 * Detection: recognising MLflow's `MLmodel` file: that exact base name, YAML with a top-level `flavors:` key.
 * @module
 */
import type { Detection } from "../../core/formats.js";
import { type FormatModule, lazyAnalyzer, lazyRepoAnalyzer, lazyRules } from "../../core/module.js";

/** The model description file of an MLflow model directory. */
export const MLMODEL = "MLmodel";

/**
 * `MLmodel` by name and content (a file so named without `flavors:` is plain YAML).
 * @param name - file or member name
 * @param text - its text
 */
export function detectMlmodel(name: string, text: string): Detection | undefined {
  if (name.slice(name.lastIndexOf("/") + 1) !== MLMODEL) return undefined;
  return /^flavors[ \t]*:/m.test(text)
    ? { format: "mlflow", offset: 0, reason: "MLmodel with flavors" }
    : { format: "yaml", offset: 0, reason: "MLmodel name" };
}

declare module "../../core/formats.js" {
  interface FormatRegistry {
    mlflow: true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "mlflowRules");

/** MLflow models. */
export const mlflowModule = {
  name: "mlflow",
  formats: [{ id: "mlflow", description: "MLflow MLmodel file", textual: true }],
  analyzers: [lazyAnalyzer("mlflow", ["mlflow"], async () => (await import("./analyzer.js")).mlmodelAnalyzer)],
  repoAnalyzers: [
    lazyRepoAnalyzer(
      "mlflow",
      async () => (await import("./repo-analyzer.js")).mlflowRepoAnalyzer,
      // no MLmodel file: no model directory whose environment files to read
      (ctx) => !ctx.files.some((f) => f.format === "mlflow"),
    ),
  ],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
