/**
 * The LightGBM module: text models (`model.txt`).
 * @module
 */
import { type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { detectLightgbm } from "./detect.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    lightgbm: true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "lightgbmRules");

/** LightGBM models. */
export const lightgbmModule = {
  name: "lightgbm",
  formats: [{ id: "lightgbm", description: "LightGBM text model", textual: true, hintExtensions: ["txt"] }],
  detectors: [{ rank: 184, detect: detectLightgbm }],
  analyzers: [lazyAnalyzer("lightgbm", ["lightgbm"], async () => (await import("./analyzer.js")).lightgbmAnalyzer)],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
