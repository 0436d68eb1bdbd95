/**
 * Recognising MLflow's `MLmodel` file: that exact base name, YAML with a top-level `flavors:` key.
 * @module
 */
import type { Detection } from "../../core/formats.js";

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
