/**
 * The OpenVINO module: IR graphs (`.xml`, recognised by the XML module's detector) and their
 * weights (`.bin` beside the `.xml`, opaque data).
 * @module
 */
import type { FormatModule } from "../../core/module.js";
import { openvinoAnalyzer } from "./analyzer.js";
import { openvinoRules } from "./rules.js";
import { detectIrWeights, openvinoWeightsAnalyzer } from "./weights.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    "openvino-ir": true;
    "openvino-weights": true;
  }
}

/** OpenVINO IR. */
export const openvinoModule = {
  name: "openvino",
  formats: [
    { id: "openvino-ir", description: "OpenVINO IR graph (.xml)", textual: true },
    { id: "openvino-weights", description: "OpenVINO IR weights (.bin beside its .xml)" },
  ],
  // After every content detector (text is 190): only a .bin nothing else recognised is a candidate.
  detectors: [{ rank: 195, detect: detectIrWeights }],
  analyzers: [openvinoAnalyzer, openvinoWeightsAnalyzer],
  rules: openvinoRules,
} as const satisfies FormatModule;
