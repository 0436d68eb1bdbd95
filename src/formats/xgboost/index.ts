/**
 * The XGBoost module: boosters saved as JSON, UBJSON (`.ubj`) or the legacy binary format.
 * Pickled boosters are pickles and go to the pickle engine.
 * @module
 */
import { type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { detectXgboostBinary, detectXgboostJson } from "./detect.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    xgboost: true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "xgboostRules");

/** XGBoost models. */
export const xgboostModule = {
  name: "xgboost",
  formats: [
    {
      id: "xgboost",
      description: "XGBoost model (JSON, UBJSON or legacy binary)",
      claimExtensions: ["ubj"],
      hintExtensions: ["json"],
    },
  ],
  detectors: [
    { rank: 135, detect: detectXgboostBinary },
    { rank: 185, detect: detectXgboostJson },
  ],
  analyzers: [lazyAnalyzer("xgboost", ["xgboost"], async () => (await import("./analyzer.js")).xgboostAnalyzer)],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
