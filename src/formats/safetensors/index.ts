/**
 * The safetensors module: a JSON header and raw tensor bytes; the header and its metadata are
 * checked, tensor bytes never read.
 * @module
 */
import { type FormatModule, lazyAnalyzer } from "../../core/module.js";
import { detectSafetensors } from "./detect.js";
import { safetensorsRules } from "./rules.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    safetensors: true;
  }
}

/** safetensors files. */
export const safetensorsModule = {
  name: "safetensors",
  formats: [{ id: "safetensors", description: "safetensors file", claimExtensions: ["safetensors"] }],
  detectors: [{ rank: 130, detect: detectSafetensors }],
  analyzers: [
    lazyAnalyzer("safetensors", ["safetensors"], async () => (await import("./analyzer.js")).safetensorsAnalyzer),
  ],
  rules: safetensorsRules,
} as const satisfies FormatModule;
