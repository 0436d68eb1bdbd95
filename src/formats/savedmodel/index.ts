/**
 * The TensorFlow SavedModel module: `saved_model.pb` graphs (file-system and Python ops).
 * Recognised by the protobuf module's detector and by name.
 * @module
 */
import type { FormatModule } from "../../core/module.js";
import { savedModelAnalyzer } from "./analyzer.js";
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
  analyzers: [savedModelAnalyzer],
  rules: savedmodelRules,
} as const satisfies FormatModule;
