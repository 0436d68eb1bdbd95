/**
 * The TensorFlow SavedModel module: `saved_model.pb` graphs (file-system and Python ops).
 * Recognised by the protobuf module's detector and by name.
 * @module
 */
import { type FormatModule, lazyAnalyzer } from "../../core/module.js";
import { savedmodelRules } from "./rules.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    "tf-savedmodel": true;
  }
}

/** TensorFlow SavedModels. */
export const savedModelModule = {
  name: "savedmodel",
  formats: [{ id: "tf-savedmodel", description: "TensorFlow SavedModel protobuf" }],
  analyzers: [
    lazyAnalyzer("tf-savedmodel", ["tf-savedmodel"], async () => (await import("./analyzer.js")).savedModelAnalyzer),
  ],
  rules: savedmodelRules,
} as const satisfies FormatModule;
