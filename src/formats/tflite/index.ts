/**
 * The TFLite module: TensorFlow Lite / LiteRT flatbuffer models (operator codes, custom and Flex
 * operators, metadata).
 * @module
 */
import { type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { detectTflite } from "./detect.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    tflite: true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "tfliteRules");

/** TFLite models. */
export const tfliteModule = {
  name: "tflite",
  formats: [{ id: "tflite", description: "TensorFlow Lite (LiteRT) flatbuffer model", claimExtensions: ["tflite"] }],
  detectors: [{ rank: 125, detect: detectTflite }],
  analyzers: [lazyAnalyzer("tflite", ["tflite"], async () => (await import("./analyzer.js")).tfliteAnalyzer)],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
