/**
 * The TensorFlow SavedModel module: `saved_model.pb` graphs (file-system and Python ops).
 * Recognised by the protobuf module's detector and by name.
 * @module
 */
import { type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    "tf-savedmodel": true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "savedmodelRules");

/** TensorFlow SavedModels. */
export const savedModelModule = {
  name: "savedmodel",
  formats: [{ id: "tf-savedmodel", description: "TensorFlow SavedModel protobuf" }],
  analyzers: [
    lazyAnalyzer("tf-savedmodel", ["tf-savedmodel"], async () => (await import("./analyzer.js")).savedModelAnalyzer),
  ],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
