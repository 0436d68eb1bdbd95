/**
 * The safetensors module: a JSON header and raw tensor bytes; the header and its metadata are
 * checked, tensor bytes never read.
 * @module
 */
import type { FormatModule } from "../../core/module.js";
import { safetensorsAnalyzer } from "./analyzer.js";
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
  analyzers: [safetensorsAnalyzer],
  rules: safetensorsRules,
} as const satisfies FormatModule;
