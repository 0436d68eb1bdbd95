/**
 * The tensorrt module: serialized TensorRT engines (`.engine`, `.plan`, `.trt`).
 *
 * No extension claims the format: `.engine` and `.plan` name many unrelated files, and TensorRT
 * itself refuses bytes without its tag, so a file that does not open like an engine cannot be
 * loaded as one. The content detector recognises engines whatever their name.
 * @module
 */
import { type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { detectTensorrt } from "./detect.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    tensorrt: true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "tensorrtRules");

/** TensorRT engines. */
export const tensorrtModule = {
  name: "tensorrt",
  formats: [{ id: "tensorrt", description: "serialized TensorRT engine (proprietary; strings scanned)" }],
  detectors: [{ rank: 125, detect: detectTensorrt }],
  analyzers: [lazyAnalyzer("tensorrt", ["tensorrt"], async () => (await import("./analyzer.js")).tensorrtAnalyzer)],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
