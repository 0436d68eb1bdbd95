/**
 * The TFLite module: TensorFlow Lite / LiteRT flatbuffer models (operator codes, custom and Flex
 * operators, metadata).
 * @module
 */
import type { FormatModule } from "../../core/module.js";
import { tfliteAnalyzer } from "./analyzer.js";
import { detectTflite } from "./detect.js";
import { tfliteRules } from "./rules.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    tflite: true;
  }
}

/** TFLite models. */
export const tfliteModule = {
  name: "tflite",
  formats: [{ id: "tflite", description: "TensorFlow Lite (LiteRT) flatbuffer model", claimExtensions: ["tflite"] }],
  detectors: [{ rank: 125, detect: detectTflite }],
  analyzers: [tfliteAnalyzer],
  rules: tfliteRules,
} as const satisfies FormatModule;
