/**
 * The zip module: zip archives (and the container of every zip-based format, whose modules
 * recognise them by member names: PyTorch, TorchScript, NumPy `.npz`, Keras `.keras`).
 * @module
 */
import { type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { detectZip } from "./detect.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    zip: true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "zipRules");

/** Zip archives. */
export const zipModule = {
  name: "zip",
  formats: [{ id: "zip", description: "zip archive", claimExtensions: ["zip", "npz"] }],
  detectors: [{ rank: 0, detect: detectZip, trailer: true }],
  analyzers: [lazyAnalyzer("zip", ["zip"], async () => (await import("./analyzer.js")).zipAnalyzer)],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
