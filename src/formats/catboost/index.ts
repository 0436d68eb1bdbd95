/**
 * The CatBoost module: binary models (`.cbm`).
 * @module
 */
import { type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { magic } from "../../core/sniffing.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    catboost: true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "catboostRules");

/** CatBoost models. */
export const catboostModule = {
  name: "catboost",
  formats: [{ id: "catboost", description: "CatBoost binary model (.cbm)", claimExtensions: ["cbm"] }],
  detectors: [{ rank: 56, detect: magic("catboost", [0x43, 0x42, 0x4d, 0x31], "CatBoost CBM1 magic") }],
  analyzers: [lazyAnalyzer("catboost", ["catboost"], async () => (await import("./analyzer.js")).catboostAnalyzer)],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
