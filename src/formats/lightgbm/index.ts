/**
 * The LightGBM module: text models (`model.txt`).
 *
 * Detection: recognises LightGBM text models: a first line `tree` and a second line `version=...`.
 * @module
 */

import { type Detector, type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { latin1 } from "../../core/sniffing.js";

/** `tree` then a `version=` line. */
export function startsLikeLightgbm(head: Uint8Array): boolean {
  const text = latin1(head.subarray(0, 32));
  return /^tree\r?\nversion=/.test(text);
}

export const detectLightgbm: Detector = ({ head }) =>
  startsLikeLightgbm(head) ? { format: "lightgbm", offset: 0, reason: "`tree` then `version=` lines" } : undefined;

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
