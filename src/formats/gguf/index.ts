/**
 * The GGUF module: llama.cpp model files (metadata, chat templates, tensor table).
 * @module
 */
import { type FormatModule, lazyAnalyzer } from "../../core/module.js";
import { detectGguf } from "./detect.js";
import { ggufRules } from "./rules.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    gguf: true;
  }
}

/** GGUF files. */
export const ggufModule = {
  name: "gguf",
  formats: [{ id: "gguf", description: "GGUF model file", claimExtensions: ["gguf"] }],
  detectors: [{ rank: 30, detect: detectGguf }],
  analyzers: [lazyAnalyzer("gguf", ["gguf"], async () => (await import("./analyzer.js")).ggufAnalyzer)],
  rules: ggufRules,
} as const satisfies FormatModule;
