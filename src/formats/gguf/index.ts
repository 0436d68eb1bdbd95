/**
 * The GGUF module: llama.cpp model files (metadata, chat templates, tensor table).
 * @module
 */
import { type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { detectGguf } from "./detect.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    gguf: true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "ggufRules");

/** GGUF files. */
export const ggufModule = {
  name: "gguf",
  formats: [{ id: "gguf", description: "GGUF model file", claimExtensions: ["gguf"] }],
  detectors: [{ rank: 30, detect: detectGguf }],
  analyzers: [lazyAnalyzer("gguf", ["gguf"], async () => (await import("./analyzer.js")).ggufAnalyzer)],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
