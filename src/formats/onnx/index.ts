/**
 * The ONNX module: `ModelProto` graphs (operators, custom domains, external data). Recognised by
 * the protobuf module's detector.
 * @module
 */
import type { FormatModule } from "../../core/module.js";
import { onnxAnalyzer } from "./analyzer.js";
import { onnxRules } from "./rules.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    onnx: true;
  }
}

/** ONNX models. */
export const onnxModule = {
  name: "onnx",
  formats: [{ id: "onnx", description: "ONNX model", claimExtensions: ["onnx"] }],
  analyzers: [onnxAnalyzer],
  rules: onnxRules,
} as const satisfies FormatModule;
