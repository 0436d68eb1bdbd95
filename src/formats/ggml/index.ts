/**
 * The ggml module: pre-GGUF llama.cpp (`ggml`, `ggmf`, `ggjt`) and whisper.cpp (`ggml`) files.
 * @module
 */
import { type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { detectGgml } from "./detect.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    ggml: true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "ggmlRules");

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
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
