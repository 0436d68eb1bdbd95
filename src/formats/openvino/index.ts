/**
 * The OpenVINO module: IR graphs (`.xml`, recognised by the XML module's detector) and their
 * weights (`.bin` beside the `.xml`, opaque data).
 * @module
 */
import { type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { detectIrWeights } from "./detect.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    "openvino-ir": true;
    "openvino-weights": true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "openvinoRules");

/** OpenVINO IR. */
export const openvinoModule = {
  name: "openvino",
  formats: [
    { id: "openvino-ir", description: "OpenVINO IR graph (.xml)", textual: true },
    { id: "openvino-weights", description: "OpenVINO IR weights (.bin beside its .xml)" },
  ],
  // After every content detector (text is 190): only a .bin nothing else recognised is a candidate.
  detectors: [{ rank: 195, detect: detectIrWeights }],
  analyzers: [
    lazyAnalyzer("openvino", ["openvino-ir"], async () => (await import("./analyzer.js")).openvinoAnalyzer),
    lazyAnalyzer(
      "openvino-weights",
      ["openvino-weights"],
      async () => (await import("./weights.js")).openvinoWeightsAnalyzer,
    ),
  ],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
