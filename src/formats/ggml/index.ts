/**
 * The ggml module: pre-GGUF llama.cpp (`ggml`, `ggmf`, `ggjt`) and whisper.cpp (`ggml`) files.
 *
 * Detection: recognises pre-GGUF ggml files by their little-endian uint32 magic (`lmgg`, `fmgg`, `tjgg`).
 * @module
 */
import { type Detector, type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";

/** Magic values (uint32) and their names. */
export const GGML_MAGICS: ReadonlyMap<number, string> = new Map([
  [0x67676d6c, "ggml"],
  [0x67676d66, "ggmf"],
  [0x67676a74, "ggjt"],
]);

export const detectGgml: Detector = ({ head }) => {
  if (head.length < 8) return undefined;
  const magic = GGML_MAGICS.get((head[0]! | (head[1]! << 8) | (head[2]! << 16) | (head[3]! << 24)) >>> 0);
  if (magic === undefined) return undefined;
  return { format: "ggml", offset: 0, reason: `${magic} magic (pre-GGUF ggml file)` };
};

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
