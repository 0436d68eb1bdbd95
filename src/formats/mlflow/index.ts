/**
 * The MLflow module: MLflow model directories. The `MLmodel` file (YAML, recognised by its exact
 * name) gets the YAML analysis and its flavours are checked (custom `loader_module`, shipped code,
 * no `flavors` at all); the repository analyzer reads the environment files beside it and the
 * modules of the `code` directory. Pickled models (`model.pkl`, `python_model.pkl`) are pickles by
 * name: the pickle engine reads them.
 *
 * Detection: MLflow's `MLmodel` file by its exact base name, whatever YAML shape it has (`Model.load`
 * reads that name with `yaml.safe_load`: block or flow/JSON style, quoted or explicit keys, a `---`
 * document start, any indentation all read the same). The analyzer decides after parsing.
 * @module
 */
import type { Detection } from "../../core/formats.js";
import { type FormatModule, lazyAnalyzer, lazyRepoAnalyzer, lazyRules } from "../../core/module.js";

/** The model description file of an MLflow model directory. */
export const MLMODEL = "MLmodel";

/** The fact naming an MLmodel's `code` directories (a list of strings, as the MLmodel says them). */
export const CODE_DIRS_FACT = "mlflow.codeDirs";

/**
 * `MLmodel` by name: MLflow reads a file of that name whatever its YAML looks like, so its content
 * decides nothing here (the analyzer reports an MLmodel without `flavors` as invalid).
 * @param name - file or member name
 * @param text - its text (only for the reason given)
 */
export function detectMlmodel(name: string, text: string): Detection | undefined {
  if (name.slice(name.lastIndexOf("/") + 1) !== MLMODEL) return undefined;
  return { format: "mlflow", offset: 0, reason: /flavors/.test(text) ? "MLmodel naming flavors" : "MLmodel name" };
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
