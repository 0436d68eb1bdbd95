/**
 * The ggml module: pre-GGUF llama.cpp (`ggml`, `ggmf`, `ggjt`) and whisper.cpp (`ggml`) files.
 * @module
 */
import { type FormatModule, lazyAnalyzer } from "../../core/module.js";
import { detectGgml } from "./detect.js";
import { ggmlRules } from "./rules.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    ggml: true;
  }
}

/**
 * ggml files. They were mostly published as `.bin`, a name many formats use, so the magic is
 * recognised whatever the name; only the rare `.ggml` extension claims them.
 */
export const ggmlModule = {
  name: "ggml",
  formats: [
    {
      id: "ggml",
      description: "pre-GGUF ggml/ggmf/ggjt model file (llama.cpp, whisper.cpp)",
      claimExtensions: ["ggml"],
    },
  ],
  detectors: [{ rank: 35, detect: detectGgml }],
  analyzers: [lazyAnalyzer("ggml", ["ggml"], async () => (await import("./analyzer.js")).ggmlAnalyzer)],
  rules: ggmlRules,
} as const satisfies FormatModule;
