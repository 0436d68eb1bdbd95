/**
 * The zip module: zip archives (and the container of every zip-based format, whose modules
 * recognise them by member names: PyTorch, TorchScript, NumPy `.npz`, Keras `.keras`).
 * @module
 */
import { type FormatModule, lazyAnalyzer } from "../../core/module.js";
import { detectZip } from "./detect.js";
import { zipRules } from "./rules.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    zip: true;
  }
}

/** Zip archives. */
export const zipModule = {
  name: "zip",
  formats: [{ id: "zip", description: "zip archive", claimExtensions: ["zip", "npz"] }],
  detectors: [{ rank: 0, detect: detectZip, trailer: true }],
  analyzers: [lazyAnalyzer("zip", ["zip"], async () => (await import("./analyzer.js")).zipAnalyzer)],
  rules: zipRules,
} as const satisfies FormatModule;
