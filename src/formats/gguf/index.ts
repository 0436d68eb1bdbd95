/**
 * The GGUF module: llama.cpp model files (metadata, chat templates, tensor table).
 *
 * Detection: recognises GGUF files by their magic and version.
 * @module
 */
import { type Detector, type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { ascii, startsWith } from "../../core/sniffing.js";

export const detectGguf: Detector = ({ head }) => {
  if (!startsWith(head, ascii("GGUF")) || head.length < 8) return undefined;
  const le = head[4]! | (head[5]! << 8) | (head[6]! << 16) | (head[7]! << 24);
  const be = (head[4]! << 24) | (head[5]! << 16) | (head[6]! << 8) | head[7]!;
  const plausible = (v: number) => v >= 1 && v <= 3;
  return plausible(le) || plausible(be)
    ? { format: "gguf", offset: 0, reason: `GGUF magic, version ${plausible(le) ? le : be}` }
    : { format: "gguf", offset: 0, reason: "GGUF magic, unknown version" };
};

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
