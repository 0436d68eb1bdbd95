/**
 * The LightGBM module: text models (`model.txt`).
 * @module
 */
import { type FormatModule, lazyAnalyzer } from "../../core/module.js";
import { detectLightgbm } from "./detect.js";
import { lightgbmRules } from "./rules.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    lightgbm: true;
  }
}

/** LightGBM models. */
export const lightgbmModule = {
  name: "lightgbm",
  formats: [{ id: "lightgbm", description: "LightGBM text model", textual: true, hintExtensions: ["txt"] }],
  detectors: [{ rank: 184, detect: detectLightgbm }],
  analyzers: [lazyAnalyzer("lightgbm", ["lightgbm"], async () => (await import("./analyzer.js")).lightgbmAnalyzer)],
  rules: lightgbmRules,
} as const satisfies FormatModule;
