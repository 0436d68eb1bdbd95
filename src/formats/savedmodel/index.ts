/**
 * The TensorFlow SavedModel module: `saved_model.pb` graphs (file-system and Python ops).
 * Recognised by the protobuf module's detector and by name.
 *
 * Detection: name-based recognition of TensorFlow SavedModel files whose bytes are not valid protobuf.
 * @module
 */
import type { Detection } from "../../core/formats.js";
import { type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";

/**
 * A `saved_model.pb` or `keras_metadata.pb` is a SavedModel file by name even when its content
 * does not parse (truncated, corrupted): it must be analysed and reported invalid, never passed
 * over as unknown content.
 * @param name - file or member name
 */
export function detectSavedModelByName(name: string): Detection | undefined {
  const base = name.slice(name.lastIndexOf("/") + 1).toLowerCase();
  return base === "saved_model.pb" || base === "keras_metadata.pb"
    ? { format: "tf-savedmodel", offset: 0, reason: `named ${base} (not valid protobuf)` }
    : undefined;
}

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
