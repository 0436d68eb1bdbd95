/**
 * The ExecuTorch module: `.pte` programs (execution plans, operators, backend delegates).
 *
 * Detection: recognises ExecuTorch programs by the flatbuffer file identifier at bytes 4–8: `ET` followed by
 * two ASCII digits (the runtime accepts `ET12`; the analyzer reports other versions).
 * @module
 */
import { type Detector, type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";

const digit = (b: number | undefined) => b !== undefined && b >= 0x30 && b <= 0x39;

export const detectExecutorch: Detector = ({ head }) => {
  if (head.length < 8 || head[4] !== 0x45 || head[5] !== 0x54 || !digit(head[6]) || !digit(head[7])) return undefined;
  const id = String.fromCharCode(head[4]!, head[5]!, head[6]!, head[7]!);
  const extended = head.length >= 12 && head[8] === 0x65 && head[9] === 0x68 && digit(head[10]) && digit(head[11]);
  return {
    format: "executorch",
    offset: 0,
    reason: `ExecuTorch program identifier ${id}${extended ? " with an extended header" : ""}`,
  };
};

declare module "../../core/formats.js" {
  interface FormatRegistry {
    executorch: true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "executorchRules");

/** ExecuTorch programs. */
export const executorchModule = {
  name: "executorch",
  formats: [{ id: "executorch", description: "ExecuTorch program (.pte)", claimExtensions: ["pte"] }],
  detectors: [{ rank: 127, detect: detectExecutorch }],
  analyzers: [
    lazyAnalyzer("executorch", ["executorch"], async () => (await import("./analyzer.js")).executorchAnalyzer),
  ],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
