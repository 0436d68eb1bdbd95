/**
 * The ExecuTorch module: `.pte` programs (execution plans, operators, backend delegates).
 * @module
 */
import { type FormatModule, lazyAnalyzer } from "../../core/module.js";
import { detectExecutorch } from "./detect.js";
import { executorchRules } from "./rules.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    executorch: true;
  }
}

/** ExecuTorch programs. */
export const executorchModule = {
  name: "executorch",
  formats: [{ id: "executorch", description: "ExecuTorch program (.pte)", claimExtensions: ["pte"] }],
  detectors: [{ rank: 127, detect: detectExecutorch }],
  analyzers: [
    lazyAnalyzer("executorch", ["executorch"], async () => (await import("./analyzer.js")).executorchAnalyzer),
  ],
  rules: executorchRules,
} as const satisfies FormatModule;
