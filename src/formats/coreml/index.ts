/**
 * The Core ML module: `.mlmodel` protobufs (also `Data/com.apple.CoreML/model.mlmodel` inside an
 * `.mlpackage` directory, recognised by the same name and content).
 * @module
 */
import type { FormatModule } from "../../core/module.js";
import { coremlAnalyzer } from "./analyzer.js";
import { detectCoreml } from "./detect.js";
import { coremlRules } from "./rules.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    coreml: true;
  }
}

/** Core ML models. */
export const coremlModule = {
  name: "coreml",
  formats: [{ id: "coreml", description: "Core ML model (.mlmodel protobuf)", claimExtensions: ["mlmodel"] }],
  // before the generic protobuf detector (180): only Core ML's own top-level field numbers match
  detectors: [{ rank: 175, detect: detectCoreml }],
  analyzers: [coremlAnalyzer],
  rules: coremlRules,
} as const satisfies FormatModule;
