/**
 * The GGUF module: llama.cpp model files (metadata, chat templates, tensor table).
 * @module
 */
import type { FormatModule } from "../../core/module.js";
import { ggufAnalyzer } from "./analyzer.js";
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
  analyzers: [ggufAnalyzer],
  rules: ggufRules,
} as const satisfies FormatModule;
