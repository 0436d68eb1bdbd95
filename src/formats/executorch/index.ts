/**
 * The ExecuTorch module: `.pte` programs (execution plans, operators, backend delegates).
 * @module
 */
import { type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { detectExecutorch } from "./detect.js";

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
