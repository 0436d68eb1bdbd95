/**
 * The Core ML module: `.mlmodel` protobufs (also `Data/com.apple.CoreML/model.mlmodel` inside an
 * `.mlpackage` directory, recognised by the same name and content) and the ML Program weight files
 * beside them (`weights/weight.bin`, MIL blob storage, recognised by content).
 * @module
 */
import { type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { detectCoreml, detectMilWeights } from "./detect.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    coreml: true;
    "coreml-weights": true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "coremlRules");

/** Core ML models. */
export const coremlModule = {
  name: "coreml",
  formats: [
    { id: "coreml", description: "Core ML model (.mlmodel protobuf)", claimExtensions: ["mlmodel"] },
    { id: "coreml-weights", description: "Core ML ML Program weight file (MIL blob storage v2)" },
  ],
  // before the generic protobuf detector (180): only Core ML's own top-level field numbers match
  // weights: a binary header (version 2, zero reserved bytes) and the first record's sentinel
  detectors: [
    { rank: 175, detect: detectCoreml },
    { rank: 32, detect: detectMilWeights },
  ],
  analyzers: [
    lazyAnalyzer("coreml", ["coreml"], async () => (await import("./analyzer.js")).coremlAnalyzer),
    lazyAnalyzer(
      "coreml-weights",
      ["coreml-weights"],
      async () => (await import("./weights-analyzer.js")).coremlWeightsAnalyzer,
    ),
  ],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
