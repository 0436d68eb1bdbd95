/**
 * The safetensors module: a JSON header and raw tensor bytes; the header and its metadata are
 * checked, tensor bytes never read.
 * @module
 */
import { type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { detectSafetensors } from "./detect.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    safetensors: true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "safetensorsRules");

/** safetensors files. */
export const safetensorsModule = {
  name: "safetensors",
  formats: [{ id: "safetensors", description: "safetensors file", claimExtensions: ["safetensors"] }],
  detectors: [{ rank: 130, detect: detectSafetensors }],
  analyzers: [
    lazyAnalyzer("safetensors", ["safetensors"], async () => (await import("./analyzer.js")).safetensorsAnalyzer),
  ],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
